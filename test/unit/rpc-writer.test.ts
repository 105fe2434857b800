/** server/rpc/writer.ts: answers queued in one turn of the event loop leave in as few writes as MAX_BATCH allows, framed and in order. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Message } from 'vscode-jsonrpc/node.js';
import { BatchingMessageWriter } from '../../server/rpc/writer.js';

/** A real stream that keeps each write it is given. */
function recordingStream(): { stream: Writable; writes: Buffer[] } {
  const writes: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk);
      done();
    },
  });
  return { stream, writes };
}

/** Split LSP-framed bytes back into messages, checking each Content-Length. */
function unframe(bytes: Buffer): unknown[] {
  const out: unknown[] = [];
  let off = 0;
  while (off < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', off);
    const m = /^Content-Length: (\d+)$/.exec(bytes.toString('ascii', off, end));
    expect(m).not.toBeNull();
    const length = Number(m![1]);
    out.push(JSON.parse(bytes.toString('utf8', end + 4, end + 4 + length)));
    off = end + 4 + length;
  }
  return out;
}

describe('BatchingMessageWriter', () => {
  it('sends 20 answers queued together in two writes (16 + 4), each framed, in order', async () => {
    const { stream, writes } = recordingStream();
    const writer = new BatchingMessageWriter(stream);
    const messages = Array.from({ length: 20 }, (_, i) => ({ jsonrpc: '2.0', id: i, result: { text: `é ${i}` } }) as Message);
    await Promise.all(messages.map((m) => writer.write(m)));
    expect(writes).toHaveLength(2);
    expect(unframe(writes[0]!)).toHaveLength(16);
    expect(unframe(Buffer.concat(writes))).toEqual(messages);
  });

  it('writes an answer larger than 64 KiB on its own, between batches of small ones', async () => {
    const { stream, writes } = recordingStream();
    const writer = new BatchingMessageWriter(stream);
    const big = { jsonrpc: '2.0', id: 'big', result: 'x'.repeat(100_000) } as Message;
    const messages = [{ jsonrpc: '2.0', id: 1, result: 1 }, { jsonrpc: '2.0', id: 2, result: 2 }, big, { jsonrpc: '2.0', id: 3, result: 3 }] as Message[];
    await Promise.all(messages.map((m) => writer.write(m)));
    expect(writes.map((w) => unframe(w).length)).toEqual([2, 1, 1]);
    expect(unframe(Buffer.concat(writes))).toEqual(messages);
  });

  it('writes a lone answer without waiting for more', async () => {
    const { stream, writes } = recordingStream();
    await new BatchingMessageWriter(stream).write({ jsonrpc: '2.0', id: 7, result: 'alone' } as Message);
    expect(unframe(Buffer.concat(writes))).toEqual([{ jsonrpc: '2.0', id: 7, result: 'alone' }]);
  });

  it('reports a batch the stream failed through onError only, and drops writes to a stream that is gone', async () => {
    const stream = new Writable({ write: (_chunk, _encoding, done) => done(new Error('EPIPE: the client went away')) });
    const writer = new BatchingMessageWriter(stream);
    const errors: string[] = [];
    writer.onError(([e]) => errors.push(e.message));
    // A rejected write is logged by vscode-jsonrpc through the connection, which throws once it is disposed: never reject.
    const results = await Promise.allSettled([writer.write({ jsonrpc: '2.0', id: 1, result: null } as Message), writer.write({ jsonrpc: '2.0', id: 2, result: null } as Message)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(errors).toContain('EPIPE: the client went away');
    stream.destroy();
    const failures = errors.length;
    await writer.write({ jsonrpc: '2.0', id: 3, result: null } as Message);
    expect(errors).toHaveLength(failures);
  });

  it('makes the JSON of a result given again (a kept status answer) once, and frames it with each id', async () => {
    const { stream, writes } = recordingStream();
    const writer = new BatchingMessageWriter(stream);
    let serialized = 0;
    const kept = {
      toJSON() {
        serialized++;
        return { workspaceName: 'ws é', stale: [] };
      },
    };
    await Promise.all([1, 'two', 3].map((id) => writer.write({ jsonrpc: '2.0', id, result: kept } as Message)));
    expect(unframe(Buffer.concat(writes))).toEqual([1, 'two', 3].map((id) => ({ jsonrpc: '2.0', id, result: { workspaceName: 'ws é', stale: [] } })));
    expect(serialized).toBe(1);
  });
});
