/**
 * `dws server --socket PORT` (127.0.0.1 only, token required: auth.ts) and `dws server --pipe PATH`
 * (a unix socket with mode 0600: only this user can connect). One process serves many clients:
 * each connection gets the same serve() binding; they share the file watcher and the workspace
 * lock, so reads run side by side and changes one at a time.
 */
import { existsSync, lstatSync, rmSync } from 'node:fs';
import { createConnection as netConnect, createServer, type Server, type Socket } from 'node:net';
import { ProposedFeatures, SocketMessageReader, SocketMessageWriter, type Connection } from 'vscode-languageserver/node.js';
import { createConnection as createLspConnection, type WatchDog } from 'vscode-languageserver/lib/common/server.js';
import { createProtocolConnection } from 'vscode-languageserver-protocol/node.js';
import { ConflictError, InvalidParamsError } from '../../protocol/errors.js';
import { workspaceChanged } from '../../protocol/server-events.js';
import type { Logger } from '../context.js';
import { checkFirstMessage, defaultTokenFile, GuardedReader, writeTokenFile } from './auth.js';
import { serve } from './serve.js';
import { WorkspaceWatcher } from './watch.js';

export interface SocketServerOptions {
  cwd: string;
  verbose: boolean;
  port?: number | undefined;
  pipe?: string | undefined;
  tokenFile?: string | undefined;
}

export async function runSocketServer(o: SocketServerOptions): Promise<void> {
  const err = (m: string) => process.stderr.write(`${m}\n`);
  const log: Logger = { info: o.verbose ? err : () => {}, warn: err, debug: o.verbose ? err : () => {} };
  const cleanups: Array<() => void> = [];
  let token: string | null = null;
  if (o.port !== undefined) {
    const file = o.tokenFile ?? defaultTokenFile();
    token = writeTokenFile(file);
    cleanups.push(() => rmSync(file, { force: true }));
    err(`token-file: ${file}`); // the first line on stderr: clients wait for it
  } else if (o.pipe !== undefined) {
    await clearStalePipe(o.pipe);
  }

  const watcher = new WorkspaceWatcher(log);
  const server = createServer((socket) => serveSocket(socket, { cwd: o.cwd, log, token, watcher }));
  if (o.port !== undefined) {
    await listen(server, () => server.listen(o.port, '127.0.0.1'));
    const address = server.address();
    err(`listening: 127.0.0.1:${typeof address === 'object' && address ? address.port : o.port}`);
  } else {
    // Created with mode 0600 from the start (a chmod after listen would leave a window).
    const umask = process.umask(0o177);
    try {
      await listen(server, () => server.listen(o.pipe));
    } finally {
      process.umask(umask);
    }
    cleanups.push(() => rmSync(o.pipe!, { force: true }));
    err(`listening: ${o.pipe}`);
  }

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  server.close();
  await watcher.close();
  cleanups.forEach((c) => c());
  process.exit(0); // open client connections do not keep a stopped server alive
}

function listen(server: Server, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new ConflictError(`Cannot listen: ${e.message.replace(/^listen /, '')} is in use; choose another --socket port or --pipe path`) : e),
    );
    server.once('listening', () => resolve());
    start();
  });
}

/** A socket file left by a server that is gone is removed; a live one, or any other file, is not touched. */
async function clearStalePipe(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new InvalidParamsError(`--pipe ${path}: that file exists and is not a socket; choose another path`);
  const live = await new Promise<boolean>((resolve) => {
    const s = netConnect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
  if (live) throw new ConflictError(`--pipe ${path}: another server is listening there; stop it or choose another path`);
  rmSync(path, { force: true });
}

function serveSocket(socket: Socket, o: { cwd: string; log: Logger; token: string | null; watcher: WorkspaceWatcher }): void {
  const writer = new SocketMessageWriter(socket);
  const plain = new SocketMessageReader(socket);
  const reader =
    o.token === null
      ? plain
      : new GuardedReader(plain, (m) => checkFirstMessage(m, o.token!), (r) => {
          o.log.warn(`refused a connection: ${r.message}`);
          void writer.write({ jsonrpc: '2.0', id: r.id, error: { code: r.code, message: r.message } } as never).finally(() => socket.end());
        });
  // One client's `exit` (or the death of the process it named in `initialize`) ends its own
  // connection, not the server other clients are using.
  let shutdown = false;
  const watchDog: WatchDog = {
    initialize: () => {},
    get shutdownReceived() {
      return shutdown;
    },
    set shutdownReceived(v) {
      shutdown = v;
    },
    exit: () => socket.end(),
  };
  const connection = createLspConnection((logger) => createProtocolConnection(reader, writer, logger), watchDog, ProposedFeatures.all) as unknown as Connection;
  serve(connection, { cwd: o.cwd, log: o.log, watched: o.watcher });
  const changed = o.watcher.onChanged((p) => void connection.sendNotification(workspaceChanged.method, p));
  socket.on('close', () => {
    changed.dispose();
    connection.dispose();
  });
  socket.on('error', (e) => o.log.debug(`connection: ${e.message}`));
  connection.listen();
}
