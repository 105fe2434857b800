/**
 * The token of `dws server --socket` (issue 7 item 7): anyone on this machine can reach a
 * 127.0.0.1 port, so a connection must first prove it can read a file only this user can read.
 * The server writes a fresh random token to a mode-0600 file; the client sends it as
 * `initializationOptions.token` in `initialize`, which must be its first message.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fchmodSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataCallback, Disposable, Message, MessageReader, RequestMessage } from 'vscode-jsonrpc/node.js';

/** Outside any repository: the user's runtime directory (private to them), else the temp directory. */
export function defaultTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_RUNTIME_DIR || tmpdir(), `dws-server-${process.pid}.token`);
}

/** Write a fresh token to `file` (replacing it), readable by this user only; returns the token. */
export function writeTokenFile(file: string): string {
  const token = randomBytes(32).toString('hex');
  rmSync(file, { force: true });
  // Created with 0600 (O_EXCL: never through someone else's file or link), and chmod-ed in case of an odd umask.
  const fd = openSync(file, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return token;
}

export interface Refusal {
  /** The request to answer (null id when the first message was not a request). */
  id: RequestMessage['id'];
  code: number;
  message: string;
}

/** Why the first message of a connection is refused, or null when it is `initialize` with the token. */
export function checkFirstMessage(msg: Message, token: string): Refusal | null {
  const m = msg as Partial<RequestMessage>;
  const id = m.id ?? null;
  if (m.method !== 'initialize' || m.id === undefined) {
    return { id, code: -32002, message: `This dws server needs a token first: send 'initialize' with initializationOptions.token set to the contents of the server's token file (the 'token-file:' line it printed). Got ${m.method ? `'${m.method}'` : 'a message that is not a request'}.` };
  }
  const given = (m.params as { initializationOptions?: { token?: unknown } } | undefined)?.initializationOptions?.token;
  const a = Buffer.from(typeof given === 'string' ? given.trim() : '');
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    return { id, code: -32600, message: `${typeof given === 'string' ? 'Wrong' : 'Missing'} token in initialize's initializationOptions.token: read it from the server's token file (the 'token-file:' line it printed).` };
  }
  return null;
}

/**
 * A reader that lets messages through only after the first one passed `check`; a refused first
 * message goes to `refuse` (which answers and closes) and nothing of that connection is served.
 */
export class GuardedReader implements MessageReader {
  constructor(
    private readonly inner: MessageReader,
    private readonly check: (m: Message) => Refusal | null,
    private readonly refuse: (r: Refusal) => void,
  ) {}
  get onError() {
    return this.inner.onError;
  }
  get onClose() {
    return this.inner.onClose;
  }
  get onPartialMessage() {
    return this.inner.onPartialMessage;
  }
  listen(callback: DataCallback): Disposable {
    let state: 'first' | 'open' | 'refused' = 'first';
    return this.inner.listen((m) => {
      if (state === 'open') return callback(m);
      if (state === 'refused') return;
      const refusal = this.check(m);
      if (refusal) {
        state = 'refused';
        this.refuse(refusal);
        return;
      }
      state = 'open';
      callback(m);
    });
  }
  dispose(): void {
    this.inner.dispose();
  }
}
