/**
 * The JSON-RPC binding (DESIGN.md): every protocol method served under its name by the same
 * handler the CLI calls, on a language-server connection that also carries the editor features
 * (lsp/). Errors become JSON-RPC errors with the code table's numbers; a bad request never stops
 * the server. Methods that change the workspace run one at a time.
 *
 * Requests need no `initialize` first (vscode-languageserver does not refuse them), so scripts
 * like clients/node may call `dws/*` methods straight away. Those after `shutdown` never get here:
 * each connection's reader refuses them (lsp/lifecycle.ts).
 */
import { resolve } from 'node:path';
import { LSPErrorCodes, ResponseError, type CancellationToken, type Connection, type WorkDoneProgressReporter } from 'vscode-languageserver/node.js';
import { DwsError, InternalError, InvalidParamsError, METHODS, runProgress, type MethodName } from '../../protocol/index.js';
import { callMethod } from '../commands/index.js';
import { createContext, type Context, type Logger, type WatchedState } from '../context.js';
import { toPlainJson } from '../workspace/pyjson.js';
import { findWorkspaceDir } from '../workspace/workspace.js';
import { serveLsp } from './lsp/index.js';
import { Workspaces } from './lsp/workspaces.js';
import { requestContext, unlessGone } from './progress.js';
import { unknownMethod } from './unknown-method.js';

export interface ServeOptions {
  /** Directory that requests without `workspaceDir` are resolved against (when the client named no workspace folder). */
  cwd: string;
  log: Logger;
  /** The file watcher's state shared by every connection of this server (watch.ts). */
  watched?: WatchedState;
}

export interface CallOptions {
  /** Cancellation of the request (`$/cancelRequest`) or of its progress (`window/workDoneProgress/cancel`). */
  tokens?: CancellationToken[];
  /** Where `$/progress` goes; absent = none. */
  progress?: WorkDoneProgressReporter;
  /** Directory the method resolves its workspace from. */
  cwd?: string;
}

/** One way to run a method for every front end of the server (`dws/*` requests, editor commands). */
export type Call = (name: MethodName, params: unknown, options?: CallOptions) => Promise<unknown>;

export function serve(connection: Connection, options: ServeOptions): void {
  let mutations: Promise<unknown> = Promise.resolve();
  // A method's warnings (a resource left as it is, a file it could not read) are for the person
  // who asked: the CLI prints them, so this connection's client gets them too, not only stderr.
  const log: Logger = {
    ...options.log,
    warn(m) {
      options.log.warn(m);
      unlessGone(() => connection.console.warn(m));
    },
  };
  const base: Context = createContext({ cwd: options.cwd, log, watched: options.watched });
  const workspaces = new Workspaces(options.cwd);
  // A kept answer (watch.ts) is the same object each time it is given: made plain once.
  const plain = new WeakMap<object, unknown>();
  const plainJson = (result: unknown): unknown => {
    if (typeof result !== 'object' || result === null) return toPlainJson(result);
    if (!plain.has(result)) plain.set(result, toPlainJson(result));
    return plain.get(result);
  };

  const call: Call = async (name, given, o = {}) => {
    const tokens = o.tokens ?? [];
    const { cwd, params } = requestDir(o.cwd ?? workspaces.defaultDir(), given);
    // A run's step events go to the client as `dws/run/progress` notifications.
    // (Once the client has closed its connection, sending throws: the run goes on untold.)
    let onRunEvent: Context['onRunEvent'];
    if (name === 'dws/run') {
      // The workspace's root, as in dws/workspaceChanged: a client started in a subdirectory files events under the root.
      const workspaceDir = findWorkspaceDir(cwd) ?? cwd;
      onRunEvent = (event) => unlessGone(() => void connection.sendNotification(runProgress.method, { workspaceDir, event }));
    }
    const { ctx, done } = requestContext(base, { title: name, cwd, tokens, progress: o.progress, onRunEvent });
    // A request cancelled while it waited for its turn changes nothing.
    const run = () => (tokens.some((t) => t.isCancellationRequested) ? Promise.reject(ctx.signal!.reason) : callMethod(ctx, name, params ?? {}));
    try {
      if (!METHODS[name].mutates) return plainJson(await run());
      // Serialize changes: each waits for the previous one, whatever its outcome.
      const next = mutations.then(run, run);
      mutations = next.catch(() => undefined);
      return plainJson(await next);
    } catch (e) {
      // Only a method that stopped for the cancellation changed nothing: one that failed on its
      // own (a restore under way is not stopped) says what it did.
      if (tokens.some((t) => t.isCancellationRequested) && isAbort(e)) throw new ResponseError(LSPErrorCodes.RequestCancelled, `${name} was cancelled before it changed anything`);
      throw toResponseError(e, options.log);
    } finally {
      done();
      // Whatever a change did (or half did), answers kept from before may be wrong now.
      if (METHODS[name].mutates) options.watched?.forget();
    }
  };

  for (const name of Object.keys(METHODS) as MethodName[]) {
    // vscode-jsonrpc passes (params, token), or only (token) when the request has no params.
    connection.onRequest(name, (...args: unknown[]) => {
      const token = args.at(-1) as CancellationToken;
      const params = args.length > 1 ? (args[0] as Record<string, unknown> | null) : undefined;
      const workDoneToken = params?.workDoneToken;
      if (params && workDoneToken !== undefined) delete params.workDoneToken;
      // LSP's ProgressToken: an integer or a string; another would come back in every `$/progress`.
      if (workDoneToken !== undefined && !isProgressToken(workDoneToken)) {
        return Promise.reject(toResponseError(new InvalidParamsError(`Invalid params for ${name}: workDoneToken must be a string or an integer`, { param: 'workDoneToken' }), options.log));
      }
      const progress = workDoneToken !== undefined ? connection.window.attachWorkDoneProgress(workDoneToken) : undefined;
      return call(name, params, { tokens: [token], ...(progress ? { progress } : {}) });
    });
  }
  // Any other request (a typo, an LSP feature this server does not offer): -32601 naming the nearest dws method.
  // Unknown notifications stay unanswered, as JSON-RPC asks.
  connection.onRequest((method) => Promise.reject(unknownMethod(method)));
  serveLsp(connection, { workspaces, call, log: options.log });
}

function toResponseError(e: unknown, log: Logger): ResponseError<unknown> {
  const err = e instanceof DwsError ? e : new InternalError(`unexpected exception: ${e instanceof Error ? e.message : String(e)}`);
  if (!(e instanceof DwsError)) log.warn(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  const json = err.toJSON();
  return new ResponseError(err.rpcCode, cut(json.message, MAX_ERROR_MESSAGE), bounded(json.data, 0));
}

/**
 * Error replies are for people: a message quoting a client's 2 MB parameter sent it back twice
 * (message and data), so a fuzzing client made the server build and queue 4 MB replies and its
 * memory grew with them (issue 13 item 11). Messages and the strings in `data` are cut.
 */
const MAX_ERROR_MESSAGE = 8192;
const MAX_DATA_STRING = 1024;

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}... (${s.length - max} more characters)` : s;
}

function bounded(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return cut(v, MAX_DATA_STRING);
  if (v === null || typeof v !== 'object' || depth > 8) return depth > 8 ? '...' : v;
  if (Array.isArray(v)) return v.slice(0, 200).map((x) => bounded(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bounded(x, depth + 1)]));
}

function isProgressToken(t: unknown): t is string | number {
  return typeof t === 'string' || Number.isInteger(t);
}

/** The error of a signal's abort (`throwIfAborted`, an aborted fetch). */
function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/**
 * Where a request's relative paths resolve (docs/server.md): its `workspaceDir` (made absolute
 * against `dir`), else `dir`. The server's own working directory means nothing to a client, and
 * an editor or script naming a workspace means paths in it, as the CLI means its cwd.
 */
function requestDir(dir: string, params: unknown): { cwd: string; params: unknown } {
  const ws = (params as { workspaceDir?: unknown } | null | undefined)?.workspaceDir;
  if (typeof ws !== 'string' || ws === '') return { cwd: dir, params };
  const cwd = resolve(dir, ws);
  return { cwd, params: { ...(params as object), workspaceDir: cwd } };
}
