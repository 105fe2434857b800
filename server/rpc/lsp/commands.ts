/**
 * `workspace/executeCommand`: the editor's Snapshot, Restore and Run commands, each one protocol
 * method run like any `dws/*` request (same serialization, errors and cancellation), with work
 * done progress the server creates when the client did not pass a token.
 *
 * Arguments: one object, the method's params plus `uri` (a `file:` URI of a document or folder
 * that picks the workspace), e.g. `{ uri, tag: 'v1' }` for dws.snapshot, `{ uri, tagOrHash: 'v1' }` for
 * dws.restore, `{ uri }` for dws.run on a step file.
 */
import { fileURLToPath } from 'node:url';
import { ResponseError, ErrorCodes, type CancellationToken, type Connection, type ExecuteCommandParams } from 'vscode-languageserver/node.js';
import type { MethodName } from '../../../protocol/index.js';
import { isMethodName } from '../../commands/index.js';
import type { Call } from '../serve.js';
import { printable } from '../../workspace/names.js';
import { findWorkspaceDir } from '../../workspace/workspace.js';
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
  const arg: unknown = params.arguments?.[0] ?? {};
  if (typeof arg !== 'object' || arg === null || Array.isArray(arg)) {
    throw new ResponseError(ErrorCodes.InvalidParams, `${params.command}: arguments[0] must be an object (the params of ${method} and uri), not ${Array.isArray(arg) ? 'an array' : typeof arg}`);
  }
  const { uri, ...rest } = arg as { uri?: unknown } & Record<string, unknown>;
  // A uri that picks no workspace must not fall back to the default one: a restore or run would change another workspace.
  const path = uri === undefined ? null : filePath(uri);
  if (path === undefined) throw new ResponseError(ErrorCodes.InvalidParams, `${params.command}: uri must be a file: URI of a document or folder in a workspace`, { uri: printable(String(uri), 200) });
  const cwd = path === null ? d.workspaces.defaultDir() : (d.workspaces.forFile(path) ?? findWorkspaceDir(path));
  if (cwd === null) throw new ResponseError(ErrorCodes.InvalidParams, `${params.command}: ${printable(path!, 200)} is in no workspace`, { uri: printable(String(uri), 200) });
  // Run the step file the lens sits in, unless files were given.
  if (method === 'dws/run' && path && rest.files === undefined) rest.files = [path];
  const progress = params.workDoneToken !== undefined ? d.connection.window.attachWorkDoneProgress(params.workDoneToken) : await d.connection.window.createWorkDoneProgress();
  const tokens = 'token' in progress ? [token, (progress as { token: CancellationToken }).token] : [token];
  return d.call(method as MethodName, rest, { cwd, tokens, progress });
}

/** The local path of a `file:` URI; undefined for anything else (another scheme, a remote host, not a string). */
function filePath(uri: unknown): string | undefined {
  if (typeof uri !== 'string' || !uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}
