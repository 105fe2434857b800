/**
 * A typed client for scripts: starts (or attaches to) `dws server --stdio` and calls protocol
 * methods over JSON-RPC. Results and params are typed from protocol/, errors arrive as DwsError.
 *
 *   const dws = await connect({ cwd: '/path/to/workspace' });
 *   const history = await dws.request('dws/report/history', { limit: 5 });
 *   dws.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node.js';
import { errorFromJSON, METHODS, type MethodName, type ParamsOf, type ResultOf } from '../../protocol/index.js';

export interface ConnectOptions {
  /** Directory the server resolves workspaces from; default the current directory. */
  cwd?: string;
  /** Command that starts the server; default this package's own `dws`. */
  command?: string[];
  /** Environment of the server process; default this process's. */
  env?: NodeJS.ProcessEnv;
}

export interface DwsClient {
  request<M extends MethodName>(method: M, params: ParamsOf<(typeof METHODS)[M]>): Promise<ResultOf<(typeof METHODS)[M]>>;
  /** The raw connection, for notifications and progress. */
  readonly connection: MessageConnection;
  close(): void;
}

export async function connect(options: ConnectOptions = {}): Promise<DwsClient> {
  // This file is bundled to dist/client.js (or a chunk below it) beside dist/dws.js.
  const dws = ['./dws.js', '../dws.js'].map((p) => fileURLToPath(new URL(p, import.meta.url))).find((p) => existsSync(p)) ?? 'dws';
  const [cmd, ...args] = options.command ?? [process.execPath, dws];
  const child: ChildProcess = spawn(cmd!, [...args, 'server', '--stdio'], { cwd: options.cwd ?? process.cwd(), env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  connection.listen();
  return {
    connection,
    async request(method, params) {
      try {
        return (await connection.sendRequest(method, params)) as ResultOf<(typeof METHODS)[typeof method]>;
      } catch (e) {
        throw e instanceof ResponseError ? errorFromJSON({ code: e.code, message: e.message, data: e.data }) : e;
      }
    },
    close() {
      connection.dispose();
      child.stdin?.end();
      child.kill();
    },
  };
}
