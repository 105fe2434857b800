/**
 * A typed client for scripts: starts `dws server --stdio`, or connects to a running
 * `dws server --socket PORT` (reading its token file for you) or `--pipe PATH`, and calls
 * protocol methods over JSON-RPC. Results and params are typed from protocol/, errors arrive as
 * DwsError, and the server's notifications (files changed, progress) are events.
 *
 *   const dws = await connect({ cwd: '/path/to/workspace' });              // its own server
 *   const dws = await connect({ socket: { port: 7777, tokenFile } });      // a shared one
 *   const dws = await connect({ pipe: '/run/user/1000/dws.sock' });
 *   const history = await dws.request('dws/report/history', { limit: 5 });
 *   dws.onWorkspaceChanged(({ resources }) => console.log('changed:', resources));
 *   dws.close();
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  createMessageConnection,
  ResponseError,
  SocketMessageReader,
  SocketMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
  type CancellationToken,
  type MessageConnection,
} from 'vscode-jsonrpc/node.js';
import { errorFromJSON, workspaceChanged, type METHODS, type MethodName, type ParamsOf, type ResultOf, type WorkspaceChangedParams } from '../../protocol/index.js';

export interface StdioConnectOptions {
  /** Start a server of our own on its stdin/stdout (the default). */
  stdio?: true;
  /** Directory the server resolves workspaces from; default the current directory. */
  cwd?: string;
  /** Command that starts the server; default this package's own `dws`. */
  command?: string[];
  /** Environment of the server process; default this process's. */
  env?: NodeJS.ProcessEnv;
}

export type ConnectOptions =
  | StdioConnectOptions
  /** A `dws server --socket PORT`: the token is read from `tokenFile` (the `token-file:` line it printed). */
  | { socket: { port: number; tokenFile: string; host?: string } }
  /** A `dws server --pipe PATH`. */
  | { pipe: string };

export interface DwsClient {
  /**
   * Call a method. Its errors arrive as DwsError; with `token`, cancelling it sends
   * `$/cancelRequest`, and a request the server stopped rejects with vscode-jsonrpc's
   * ResponseError, code -32800 (RequestCancelled), as do other errors that carry no dws code.
   */
  request<M extends MethodName>(method: M, params: ParamsOf<(typeof METHODS)[M]>, token?: CancellationToken): Promise<ResultOf<(typeof METHODS)[M]>>;
  /** The server saw files of a workspace change (it follows a workspace from its first `dws/status`). */
  onWorkspaceChanged(listener: (e: WorkspaceChangedParams) => void): { dispose(): void };
  /** The raw connection, for other notifications and `$/progress`. */
  readonly connection: MessageConnection;
  close(): void;
}

export async function connect(options: ConnectOptions = {}): Promise<DwsClient> {
  if ('socket' in options) {
    const { port, host = '127.0.0.1', tokenFile } = options.socket;
    const token = readFileSync(tokenFile, 'utf8').trim();
    const socket = await open(() => netConnect(port, host));
    const connection = socketConnection(socket);
    // The server answers nothing before `initialize` with the token (server/rpc/auth.ts).
    await connection.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: { token } }).catch(rethrow);
    await connection.sendNotification('initialized', {});
    return client(connection, () => socket.end());
  }
  if ('pipe' in options) {
    const path = options.pipe;
    const socket = await open(() => netConnect(path));
    return client(socketConnection(socket), () => socket.end());
  }
  // This file is bundled to dist/client.js (or a chunk below it) beside dist/dws.js.
  const dws = ['./dws.js', '../dws.js'].map((p) => fileURLToPath(new URL(p, import.meta.url))).find((p) => existsSync(p)) ?? 'dws';
  const [cmd, ...args] = options.command ?? [process.execPath, dws];
  const child = spawn(cmd!, [...args, 'server', '--stdio'], { cwd: options.cwd ?? process.cwd(), env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  connection.listen();
  return client(connection, () => {
    child.stdin.end();
    child.kill();
  });
}

function open(make: () => Socket): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = make();
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function socketConnection(socket: Socket): MessageConnection {
  const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
  connection.listen();
  return connection;
}

/**
 * A dws error (its code in `data.code`) as a DwsError; any other JSON-RPC error (a cancelled
 * request, -32800; a wrong token, -32600) as it came, with its code: made a DwsError, it was an
 * 'InternalError' (rpcCode 1099, "please report it") that could not be told from a bug.
 */
function rethrow(e: unknown): never {
  const dws = e instanceof ResponseError && typeof (e.data as { code?: unknown } | undefined)?.code === 'string';
  throw dws ? errorFromJSON({ code: e.code, message: e.message, data: e.data }) : e;
}

function client(connection: MessageConnection, end: () => void): DwsClient {
  return {
    connection,
    async request(method, params, token) {
      return (await connection.sendRequest(method, params, token).catch(rethrow)) as ResultOf<(typeof METHODS)[typeof method]>;
    },
    onWorkspaceChanged: (listener) => connection.onNotification(workspaceChanged, listener),
    close() {
      connection.dispose();
      end();
    },
  };
}
