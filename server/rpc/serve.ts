/**
 * The JSON-RPC binding (DESIGN.md): every protocol method served under its name by the same
 * handler the CLI calls. Errors become JSON-RPC errors with the code table's numbers; a bad
 * request never stops the server. Methods that change the workspace run one at a time.
 */
import { ResponseError, type MessageConnection } from 'vscode-jsonrpc/node.js';
import { DwsError, InternalError, METHODS, type MethodName } from '../../protocol/index.js';
import { callMethod } from '../commands/index.js';
import { createContext, type Context, type Logger } from '../context.js';
import { toPlainJson } from '../workspace/pyjson.js';

export interface ServeOptions {
  /** Directory that requests without `workspaceDir` are resolved against. */
  cwd: string;
  log: Logger;
}

export function serve(connection: MessageConnection, options: ServeOptions): void {
  let mutations: Promise<unknown> = Promise.resolve();
  const ctx: Context = createContext({ cwd: options.cwd, log: options.log });

  for (const name of Object.keys(METHODS) as MethodName[]) {
    connection.onRequest(name, async (params: unknown) => {
      const run = () => callMethod(ctx, name, params ?? {});
      try {
        if (!METHODS[name].mutates) return toPlainJson(await run());
        // Serialize changes: each waits for the previous one, whatever its outcome.
        const next = mutations.then(run, run);
        mutations = next.catch(() => undefined);
        return toPlainJson(await next);
      } catch (e) {
        throw toResponseError(e, options.log);
      }
    });
  }
}

function toResponseError(e: unknown, log: Logger): ResponseError<unknown> {
  const err = e instanceof DwsError ? e : new InternalError(`unexpected exception: ${e instanceof Error ? e.message : String(e)}`);
  if (!(e instanceof DwsError)) log.warn(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  const json = err.toJSON();
  return new ResponseError(err.rpcCode, json.message, json.data);
}
