/**
 * The server's message writer: LSP framing (`Content-Length: N`, blank line, N bytes of JSON),
 * with the answers queued in one turn of the event loop sent together, up to MAX_BATCH messages
 * per write. vscode-jsonrpc's writer made two writes per message and waited for each to finish
 * before starting the next one, so with 50 requests in flight the server spent its time in
 * write calls (issue 13, load).
 */
import type { Writable } from 'node:stream';
import { AbstractMessageWriter, type Message, type MessageWriter } from 'vscode-jsonrpc/node.js';

/** Messages joined into one write at most (bounds the buffer a batch copies). */
const MAX_BATCH = 16;

interface Queued {
  frame: Buffer;
  message: Message;
  resolve(): void;
  reject(e: Error): void;
}

export class BatchingMessageWriter extends AbstractMessageWriter implements MessageWriter {
  private queue: Queued[] = [];
  private flushing = false;
  private errors = 0;

  constructor(private readonly stream: Writable) {
    super();
    stream.on('error', (e) => this.fireError(e));
    stream.on('close', () => this.fireClose());
  }

  write(message: Message): Promise<void> {
    const body = Buffer.from(JSON.stringify(message), 'utf8');
    const frame = Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
    return new Promise((resolve, reject) => {
      this.queue.push({ frame, message, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => this.flush());
      }
    });
  }

  end(): void {
    this.stream.end();
  }

  private flush(): void {
    this.flushing = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.stream.write(batch.length === 1 ? batch[0]!.frame : Buffer.concat(batch.map((q) => q.frame)), (e) => {
        for (const q of batch) {
          if (e) {
            this.fireError(e, q.message, ++this.errors);
            q.reject(e);
          } else {
            q.resolve();
          }
        }
      });
    }
  }
}
