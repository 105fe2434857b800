/** server/rpc/framing.ts: the usual `Content-Length: N` header and every other valid header section deliver the same messages. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Message } from 'vscode-jsonrpc/node.js';
import { FramedMessageReader, type Rejection } from '../../server/rpc/framing.js';

function reader() {
  const stream = new PassThrough();
  const messages: Message[] = [];
  const rejections: Rejection[] = [];
  new FramedMessageReader(stream, { maxMessageBytes: 1 << 20, strict: false }, (r) => rejections.push(r)).listen((m) => messages.push(m));
  return { stream, messages, rejections };
}

const body = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'dws/status', params: { note: 'é' } });

describe('FramedMessageReader', () => {
  it('reads plain, lower-case, spaced and multi-line headers alike, also split across chunks', () => {
    const { stream, messages, rejections } = reader();
    const headers = [
      (n: number) => `Content-Length: ${n}`,
      (n: number) => `content-length:${n}`,
      (n: number) => `Content-Length:   ${n} `,
      (n: number) => `Content-Length: ${n}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8`,
      (n: number) => `Content-Length: 00${n}`,
    ];
    const bytes = Buffer.from(headers.map((h, id) => `${h(Buffer.byteLength(body(id)))}\r\n\r\n${body(id)}`).join(''));
    for (let at = 0; at < bytes.length; at += 7) stream.write(bytes.subarray(at, at + 7));
    expect(rejections).toEqual([]);
    expect(messages.map((m) => (m as unknown as { id: number }).id)).toEqual([0, 1, 2, 3, 4]);
    expect(messages[0]).toEqual(JSON.parse(body(0)));
  });

  it('answers a Content-Length that is not a number and reads the next frame', () => {
    const { stream, messages, rejections } = reader();
    stream.write(`Content-Length: 12x\r\n\r\n{}Content-Length: ${Buffer.byteLength(body(9))}\r\n\r\n${body(9)}`);
    expect(rejections.map((r) => r.message)).toEqual([expect.stringContaining("Content-Length '12x' is not a number of bytes")]);
    expect(messages.map((m) => (m as unknown as { id: number }).id)).toEqual([9]);
  });
});
