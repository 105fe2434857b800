/**
 * `dws server --socket PORT` (127.0.0.1 only, token required: auth.ts) and `dws server --pipe PATH`
 * (a unix socket with mode 0600: only this user can connect). One process serves many clients:
 * each connection gets the same serve() binding; they share the file watcher and the workspace
 * lock, so reads run side by side and changes one at a time.
 */
import { existsSync, lstatSync, rmSync } from 'node:fs';
import { createConnection as netConnect, createServer, type Server, type Socket } from 'node:net';
import { ProposedFeatures, type Connection, type Message } from 'vscode-languageserver/node.js';
import { createConnection as createLspConnection, type WatchDog } from 'vscode-languageserver/lib/common/server.js';
import { createProtocolConnection } from 'vscode-languageserver-protocol/node.js';
import { ConflictError, InvalidParamsError } from '../../protocol/errors.js';
import { workspaceChanged } from '../../protocol/server-events.js';
import type { Logger } from '../context.js';
import { checkFirstMessage, defaultTokenFile, GuardedReader, writeTokenFile } from './auth.js';
import { DEFAULT_MAX_MESSAGE_BYTES, FramedMessageReader, type Rejection } from './framing.js';
import { connectionChecks } from './lsp/lifecycle.js';
import { serve } from './serve.js';
import { BatchingMessageWriter } from './writer.js';
import { WorkspaceWatcher } from './watch.js';

export interface SocketServerOptions {
  cwd: string;
  verbose: boolean;
  port?: number | undefined;
  pipe?: string | undefined;
  tokenFile?: string | undefined;
  /** Largest message accepted from an authenticated client (default DEFAULT_MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number | undefined;
  /** How long a TCP client may take to send its token before it is disconnected. */
  authTimeoutMs?: number | undefined;
}

/**
 * What a TCP connection may send before its token (issue 13 item 9): one `initialize` of at most
 * this many bytes; anything else, or a bad frame, closes it. Editors' initialize is ~10-20 KB.
 */
export const UNAUTHENTICATED_MAX_BYTES = 64 * 1024;
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;

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
  const limits = { maxMessageBytes: o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, authTimeoutMs: o.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS };
  const server = createServer((socket) => serveSocket(socket, { cwd: o.cwd, log, token, watcher, ...limits }));
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

function serveSocket(socket: Socket, o: { cwd: string; log: Logger; token: string | null; watcher: WorkspaceWatcher; maxMessageBytes: number; authTimeoutMs: number }): void {
  // Answers go out as soon as they are written: Nagle's algorithm held each small reply back
  // until the client's delayed ACK (~40 ms) with 50 requests in flight.
  socket.setNoDelay(true);
  const peer = `${socket.remoteAddress ?? 'pipe'}${socket.remotePort !== undefined ? `:${socket.remotePort}` : ''}`;
  const writer = new BatchingMessageWriter(socket);
  const answer = (r: Pick<Rejection, 'id' | 'code' | 'message'>) => writer.write({ jsonrpc: '2.0', id: r.id, error: { code: r.code, message: r.message } } as Message);
  let closing = false;
  /** Answer (when there is something to say), then close; a client that does not close its side is cut off. */
  const close = (why: string, reply?: Pick<Rejection, 'id' | 'code' | 'message'>) => {
    if (closing) return;
    closing = true;
    reader.stop();
    clearTimeout(authTimer);
    o.log.warn(`dws server: closed the connection from ${peer}: ${why}`);
    const end = () => {
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    if (reply) void answer(reply).then(end, end);
    else end();
  };
  const authenticated = { maxMessageBytes: o.maxMessageBytes, strict: false };
  const reader: FramedMessageReader = new FramedMessageReader(
    socket,
    o.token === null ? authenticated : { maxMessageBytes: Math.min(UNAUTHENTICATED_MAX_BYTES, o.maxMessageBytes), strict: true },
    (r) => {
      if (r.fatal) return close(r.message, r);
      o.log.warn(`dws server: refused a message from ${peer}: ${r.message}`);
      if (r.reply !== false) void answer(r);
    },
    connectionChecks(),
  );
  // Idle or slow connections without the token are not kept (nothing is served before it).
  const authTimer = o.token === null ? undefined : setTimeout(() => close(`no token within ${o.authTimeoutMs} ms`), o.authTimeoutMs);
  const guarded =
    o.token === null
      ? reader
      : new GuardedReader(
          reader,
          (m) => {
            const refusal = checkFirstMessage(m, o.token!);
            if (refusal === null) {
              clearTimeout(authTimer);
              reader.setLimits(authenticated);
            }
            return refusal;
          },
          (r) => close(`refused: ${r.message}`, r),
        );
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
  const connection = createLspConnection((logger) => createProtocolConnection(guarded, writer, logger), watchDog, ProposedFeatures.all) as unknown as Connection;
  serve(connection, { cwd: o.cwd, log: o.log, watched: o.watcher });
  const changed = o.watcher.onChanged((p) => void connection.sendNotification(workspaceChanged.method, p));
  socket.on('close', () => {
    clearTimeout(authTimer);
    reader.stop(); // its buffers go with the connection
    changed.dispose();
    connection.dispose();
  });
  socket.on('error', (e) => o.log.debug(`connection: ${e.message}`));
  connection.listen();
}
