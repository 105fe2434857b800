/**
 * `workspace/executeCommand`: the editor's Snapshot, Restore and Run commands, each one protocol
 * method run like any `dws/*` request (same serialization, errors and cancellation), with work
 * done progress the server creates when the client did not pass a token.
 *
 * Arguments: one object, the method's params plus `uri` (a document or folder that picks the
 * workspace), e.g. `{ uri, tag: 'v1' }` for dws.snapshot, `{ uri, tagOrHash: 'v1' }` for
 * dws.restore, `{ uri }` for dws.run on a step file.
 */
import { fileURLToPath } from 'node:url';
import { ResponseError, ErrorCodes, type CancellationToken, type Connection, type ExecuteCommandParams } from 'vscode-languageserver/node.js';
import type { MethodName } from '../../../protocol/index.js';
import { isMethodName } from '../../commands/index.js';
import type { Call } from '../serve.js';
import type { Workspaces } from './workspaces.js';

const COMMANDS: Record<string, string> = { 'dws.snapshot': 'dws/snapshot', 'dws.restore': 'dws/restore', 'dws.run': 'dws/run' };

/** The commands whose method this server has. */
export function commandNames(): string[] {
  return Object.keys(COMMANDS).filter((c) => isMethodName(COMMANDS[c]!));
}

export async function executeCommand(params: ExecuteCommandParams, token: CancellationToken, d: { connection: Connection; workspaces: Workspaces; call: Call }): Promise<unknown> {
  const method = COMMANDS[params.command];
  if (method === undefined || !isMethodName(method)) {
    throw new ResponseError(ErrorCodes.InvalidParams, `Unknown command '${params.command}': this server has ${commandNames().join(', ')}`);
  }
  const { uri, ...rest } = (params.arguments?.[0] ?? {}) as { uri?: string } & Record<string, unknown>;
  const path = typeof uri === 'string' && uri.startsWith('file:') ? fileURLToPath(uri) : null;
  const cwd = (path && d.workspaces.forFile(path)) ?? d.workspaces.defaultDir();
  // Run the step file the lens sits in, unless files were given.
  if (method === 'dws/run' && path && rest.files === undefined) rest.files = [path];
  const progress = params.workDoneToken !== undefined ? d.connection.window.attachWorkDoneProgress(params.workDoneToken) : await d.connection.window.createWorkDoneProgress();
  const tokens = 'token' in progress ? [token, (progress as { token: CancellationToken }).token] : [token];
  return d.call(method as MethodName, rest, { cwd, tokens, progress });
}
