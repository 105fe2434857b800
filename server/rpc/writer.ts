/**
 * The server's message writer: LSP framing (`Content-Length: N`, blank line, N bytes of JSON),
 * with the answers queued in one turn of the event loop sent together, up to MAX_BATCH messages
 * per write. vscode-jsonrpc's writer made two writes per message and waited for each to finish
 * before starting the next one, so with 50 requests in flight the server spent its time in
 * write calls (issue 13, load).
 */
import type { Writable } from 'node:stream';
import { AbstractMessageWriter, type Message, type MessageWriter } from 'vscode-jsonrpc/node.js';

/** Messages joined into one write at most. */
const MAX_BATCH = 16;
/** Bytes joined into one write at most: a larger answer goes alone, without being copied. */
const MAX_BATCH_BYTES = 64 * 1024;
/**
 * Turns of the event loop a batch waits for more answers before it is written. vscode-jsonrpc
 * handles one incoming message per turn (setImmediate), so the answers to a burst of requests
 * are produced one turn apart; an idle loop runs these turns in microseconds. Measured (load
 * ~9): 1 turn = 1.9 answers per write, 4 = 4.3, 8 = 6.8; server CPU per request 142 -> 122 us.
 */
const WAIT_TURNS = 8;

const CLOSE = Buffer.from('}');

interface Queued {
  frame: Buffer;
  message: Message;
  resolve(): void;
}

export class BatchingMessageWriter extends AbstractMessageWriter implements MessageWriter {
  private queue: Queued[] = [];
  private flushing = false;
  private errors = 0;
  /** Turns the queued batch has waited so far. */
  private turns = 0;
  /** Object result -> its JSON (frame()). */
  private readonly results = new WeakMap<object, Buffer>();

  constructor(private readonly stream: Writable) {
    super();
    stream.on('error', (e) => this.fireError(e));
    stream.on('close', () => this.fireClose());
  }

  /**
   * A message for a peer that is gone (a client that closed its connection while its restore
   * ran) is dropped, and a failed write reported through onError only: the promise never
   * rejects. vscode-jsonrpc logs a rejected answer through the connection's own console, which
   * throws once the connection is disposed, and that unhandled rejection ended the whole server.
   */
  write(message: Message): Promise<void> {
    if (this.stream.destroyed || this.stream.writableEnded) return Promise.resolve();
    const frame = this.frame(message);
    return new Promise((resolve) => {
      this.queue.push({ frame, message, resolve });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * The message's bytes with their header. The JSON of an object result is made once per
   * object: serve.ts gives a kept answer (watch.ts) as the same, never changed, object each
   * time, and stringifying it again for every request was most of what an answer allocated
   * (garbage collection pauses are the server's latency tail).
   */
  private frame(message: Message): Buffer {
    const { id, result } = message as { id?: unknown; result?: unknown };
    if (typeof result !== 'object' || result === null || id === undefined || 'error' in message) {
      const json = JSON.stringify(message);
      return Buffer.from(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`, 'utf8');
    }
    let body = this.results.get(result);
    if (body === undefined) {
      body = Buffer.from(JSON.stringify(result), 'utf8');
      this.results.set(result, body);
    }
    const start = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":`;
    const head = Buffer.from(`Content-Length: ${Buffer.byteLength(start) + body.length + 1}\r\n\r\n${start}`, 'utf8');
    return Buffer.concat([head, body, CLOSE], head.length + body.length + 1);
  }

  end(): void {
    this.stream.end();
  }

  private flush(): void {
    if (this.queue.length < MAX_BATCH && ++this.turns < WAIT_TURNS) {
      setImmediate(() => this.flush());
      return;
    }
    this.turns = 0;
    this.flushing = false;
    while (this.queue.length > 0) {
      let n = 1;
      for (let bytes = this.queue[0]!.frame.length; n < Math.min(MAX_BATCH, this.queue.length); n++) {
        bytes += this.queue[n]!.frame.length;
        if (bytes > MAX_BATCH_BYTES) break;
      }
      const batch = this.queue.splice(0, n);
      this.stream.write(batch.length === 1 ? batch[0]!.frame : Buffer.concat(batch.map((q) => q.frame)), (e) => {
        for (const q of batch) {
          if (e) this.fireError(e, q.message, ++this.errors);
          q.resolve();
        }
      });
    }
  }
}
