/**
 * `dws server` under abuse (issue 13 items 8-10), as real processes: bad frames are answered and
 * the stream recovers (stdio, and TCP after the token), or the connection is closed with a
 * message on stderr (TCP before the token); message size is bounded; idle connections without
 * the token are closed; every malformed request gets a -32600/-32602 error naming the field;
 * hover and completion never show what lies outside a resource.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, DWS, newWorkspace, tempDir, TEST_ENV } from '../helpers.js';
import { LspClient, type Message } from '../lsp-client.js';

const frame = (m: unknown) => {
  const body = JSON.stringify(m);
  return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};

const children: ChildProcess[] = [];
const clients: LspClient[] = [];
let ws: string;
beforeAll(async () => {
  ws = await newWorkspace(['--create-resources', 'source-data,code']);
  mkdirSync(join(ws, 'source-data', 'sub'));
  writeFileSync(join(ws, 'source-data', 'sub', 'a.csv'), 'x\n');
});
afterAll(() => {
  clients.forEach((c) => c.close());
  children.forEach((c) => c.kill());
  cleanup();
});

function stdioServer(args: string[] = []): LspClient {
  const c = new LspClient(ws, args);
  clients.push(c);
  return c;
}

/** The error answer that contains `text`. */
const errorWith = (c: LspClient, text: string) => c.waitFor((m) => (m.error?.message ?? '').includes(text), `an error containing '${text}'`);

describe('dws server --stdio: bad frames are answered and the stream recovers', () => {
  it('answers Content-Length: abc with a parse error, then serves the next request', async () => {
    const c = stdioServer();
    c.sendRaw('Content-Length: abc\r\n\r\n{"jsonrpc":"2.0","id":1,"method":"dws/version"}');
    const next = c.requestMessage('dws/version', {});
    c.send(next);
    const err = await errorWith(c, 'Content-Length');
    expect(err.error).toEqual({ code: -32700, message: "Parse error: Content-Length 'abc' is not a number of bytes; skipped to the next Content-Length header" });
    expect((await c.response(next.id)).result.formatVersion).toBe('1.6.0');
    expect(c.stderr).toContain("dws server: refused a message: Parse error: Content-Length 'abc' is not a number of bytes");
  });

  it('answers every other kind of bad frame and keeps serving', async () => {
    const c = stdioServer();
    const bad: Array<[string, string]> = [
      ['X-Nothing: 1\r\n\r\n', 'Parse error: a header without Content-Length (X-Nothing: 1)'],
      ['garbage line\r\n\r\n', "Parse error: a header line without 'Name: value' (garbage line)"],
      ['Content-Length: -5\r\n\r\n', "Parse error: Content-Length '-5' is not a number of bytes"],
      ['Content-Length: 5\r\n\r\n{abc}', 'Parse error: the message body is not JSON'],
      [frame([{ jsonrpc: '2.0', id: 1, method: 'dws/version' }]), 'Invalid Request: batches (a JSON array of messages) are not supported'],
      [frame(42), 'Invalid Request: a message must be a JSON object, not number'],
      [frame({ jsonrpc: '2.0', id: { a: 1 }, method: 'dws/version' }), "Invalid Request: 'id' must be a string, a number or null, not an object"],
      [frame({ jsonrpc: '2.0', id: 3 }), "Invalid Request: neither a request nor a notification ('method' is missing)"],
    ];
    for (const [raw, message] of bad) {
      c.sendRaw(raw);
      const r = c.requestMessage('dws/version', {});
      c.send(r);
      const e = await errorWith(c, message);
      expect(e.error!.code).toBe(message.startsWith('Parse') ? -32700 : -32600);
      expect(e.id).toBe(raw.includes('"id":3') ? 3 : null);
      expect((await c.response(r.id)).result.formatVersion).toBe('1.6.0');
    }
  });

  it('reads a message that arrives in many chunks (a 3 MB request), then the next one', async () => {
    const c = stdioServer();
    const big = c.requestMessage('dws/config', { name: 'x'.repeat(3 << 20) });
    const next = c.requestMessage('dws/version', {});
    c.send(big, next);
    // Read whole (the handler saw it), and not sent back: the name is cut in the reply.
    const reply = (await c.response(big.id)).error!;
    expect(reply.message).toMatch(/^No workspace parameter named 'x{80}\.\.\.'/);
    expect(JSON.stringify(reply).length).toBeLessThan(2000);
    expect((await c.response(next.id)).result.formatVersion).toBe('1.6.0');
  });

  it('answers -32600 with the request id when method is not a string, and -32602 when params are not structured', async () => {
    const c = stdioServer();
    for (const method of [5, null, ['dws/status'], { a: 1 }]) {
      c.sendRaw(frame({ jsonrpc: '2.0', id: 77, method }));
      const r = await c.waitFor((m) => m.id === 77, 'the answer to id 77');
      expect(r.error!.code).toBe(-32600);
      expect(r.error!.message).toMatch(/^Invalid Request: 'method' must be a string, not /);
      c.messages.splice(c.messages.indexOf(r), 1);
    }
    c.sendRaw(frame({ jsonrpc: '2.0', id: 78, method: 'dws/status', params: 'abc' }));
    expect((await c.waitFor((m) => m.id === 78, 'the answer to id 78')).error).toEqual({
      code: -32602,
      message: "Invalid params for dws/status: 'params' must be an object or an array, not string abc",
    });
  });

  it('refuses a message above --max-message-bytes without reading it, and serves the next one', async () => {
    const c = stdioServer(['--max-message-bytes', '1000']);
    const big = c.requestMessage('dws/config', { name: 'x'.repeat(2000) });
    c.send(big);
    const small = c.requestMessage('dws/version', {});
    c.send(small);
    expect((await errorWith(c, 'larger than')).error).toEqual({
      code: -32600,
      message: `Invalid Request: a message of ${Buffer.byteLength(JSON.stringify(big))} bytes is larger than this server's limit of 1000 bytes (dws server --max-message-bytes); skipped it`,
    });
    expect((await c.response(small.id)).result.formatVersion).toBe('1.6.0');
    expect(c.messages.some((m) => m.id === big.id)).toBe(false);
  });

  it('exits when its input ends after a bad frame, with the reason on stderr', async () => {
    const c = stdioServer();
    c.sendRaw('Content-Length: abc\r\n\r\n');
    c.child.stdin.end();
    expect(await c.exited).toBe(1); // LSP: exit without shutdown
    expect(c.stderr).toContain("Content-Length 'abc'");
    expect(c.stderr).toContain('dws server: standard input closed without shutdown; exiting');
  });
});

/** What a second `initialize` on a connection is answered (LSP: initialize is sent once). */
const SECOND_INITIALIZE = {
  code: -32600,
  message: "initialize refused: this connection was initialized already, and LSP sends initialize once per connection; the first initialize's settings stay. To start over, end the connection ('shutdown', then 'exit') and open a new one.",
};

describe('dws server: initialize is accepted once per connection', () => {
  it('stdio: refuses a second initialize with -32600 (InvalidRequest), keeps the first one\'s workspace folder, and keeps serving', async () => {
    const c = stdioServer();
    const folder = (dir: string) => ({ uri: pathToFileURL(dir).href, name: 'ws' });
    const first = await c.request('initialize', { processId: null, rootUri: null, capabilities: { workspace: { workspaceFolders: true } }, workspaceFolders: [folder(ws)] });
    expect(first.result.serverInfo.name).toBe('dws');
    c.notify('initialized', {});
    // The second names another folder: refused, it changes nothing.
    const other = tempDir('dws-other-');
    const second = await c.request('initialize', { processId: null, rootUri: null, capabilities: {}, workspaceFolders: [folder(other)] });
    expect(second.error).toEqual(SECOND_INITIALIZE);
    expect(second.result).toBeUndefined();
    // Requests without workspaceDir still resolve against the first initialize's folder.
    const status = await c.request('dws/report/status', {});
    expect(status.result.resources.map((r: { name: string }) => r.name)).toEqual(['source-data', 'code']);
    expect((await c.request('initialize', { processId: null, rootUri: null, capabilities: {} })).error).toEqual(SECOND_INITIALIZE);
  });

  it('socket: refuses a second initialize after the token one, and keeps serving the connection', async () => {
    const s = await tcpServer();
    const c = new Raw(s.port);
    await c.authenticate(s.tokenFile);
    const token = readFileSync(s.tokenFile, 'utf8').trim();
    c.write(frame({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {}, initializationOptions: { token } } }));
    c.write(frame({ jsonrpc: '2.0', id: 2, method: 'dws/version' }));
    expect((await c.wait((m) => m.id === 1)).error).toEqual(SECOND_INITIALIZE);
    expect((await c.wait((m) => m.id === 2)).result.formatVersion).toBe('1.6.0');
    c.socket.destroy();
  });
});

describe('dws server --stdio: LSP requests are schema-checked', () => {
  const stepText = `import { defineStep } from 'dataworkspaces';
export default defineStep({ name: 's', inputs: { up: 'source-data:/../../..', sub: 'source-data:/sub/a.csv' }, outputs: {}, async run() {} });
`;
  it('answers hover, completion and codeLens without textDocument with -32602 naming the field', async () => {
    const c = stdioServer();
    for (const method of ['textDocument/hover', 'textDocument/completion']) {
      const r = await c.request(method, { position: { line: 0, character: 0 } });
      expect(r.error).toEqual({ code: -32602, message: `Invalid params for ${method}: textDocument: Invalid input: expected object, received undefined` });
    }
    expect((await c.request('textDocument/codeLens', {})).error).toEqual({
      code: -32602,
      message: 'Invalid params for textDocument/codeLens: textDocument: Invalid input: expected object, received undefined',
    });
    expect((await c.request('textDocument/hover', { textDocument: { uri: 5 }, position: { line: -1, character: 0 } })).error!.message).toBe(
      'Invalid params for textDocument/hover: textDocument.uri: Invalid input: expected string, received number; position.line: Too small: expected number to be >=0',
    );
    expect((await c.request('initialize', { workspaceFolders: 'x' })).error!.message).toContain('Invalid params for initialize: workspaceFolders:');
    // A notification with bad params is not answered (JSON-RPC), only logged; the server goes on.
    c.notify('textDocument/didOpen', { textDocument: { uri: 'file:///x.step.ts' } });
    expect((await c.request('dws/version', {})).result.formatVersion).toBe('1.6.0');
    expect(c.stderr).toContain('Invalid params for textDocument/didOpen: textDocument.text: Invalid input: expected string, received undefined');
  });

  it('never shows or lists a path outside the resource for data:/../../..', async () => {
    const c = stdioServer();
    const file = join(ws, 'code', 'up.step.ts');
    writeFileSync(file, stepText);
    const uri = pathToFileURL(file).href;
    await c.request('initialize', { processId: null, rootUri: pathToFileURL(ws).href, capabilities: {} });
    c.notify('initialized', {});
    c.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'typescript', version: 1, text: stepText } });
    const at = (needle: string, n: number) => {
      const i = stepText.indexOf(needle) + n;
      const before = stepText.slice(0, i);
      return { line: before.split('\n').length - 1, character: i - before.lastIndexOf('\n') - 1 };
    };
    const hover = await c.request('textDocument/hover', { textDocument: { uri }, position: at('source-data:/../../..', 3) });
    const text = hover.result.contents.value as string;
    expect(text).toContain("path: '../../..' leaves the resource ('..' is not allowed in a ref)");
    expect(text).not.toContain(join(ws, '..'));
    const completion = await c.request('textDocument/completion', { textDocument: { uri }, position: at('source-data:/../../..', 'source-data:/../'.length) });
    expect(completion.result).toEqual([]);
    const diagnostics = await c.diagnostics(uri, (d) => d.some((x) => x.message.includes('leaves resource')), 'a diagnostic on the escaping ref');
    expect(diagnostics.find((d) => d.message.includes('leaves resource')).message).toBe(
      "Subpath '../../..' of input 'source-data:/../../..' leaves resource source-data ('..' is not allowed): name a path inside the resource",
    );
    // A ref inside the resource still shows its path.
    const inside = await c.request('textDocument/hover', { textDocument: { uri }, position: at('source-data:/sub/a.csv', 3) });
    expect(inside.result.contents.value).toContain(`path: ${join(ws, 'source-data', 'sub', 'a.csv')}`);
  });
});

// ------------------------------------------------------------------------------------------------
// TCP

interface Tcp {
  port: number;
  tokenFile: string;
  stderr: () => string;
}

function tcpServer(args: string[] = []): Promise<Tcp> {
  const tokenFile = join(tempDir(), 'token');
  const child = spawn(process.execPath, [DWS, 'server', '--socket', '0', '--token-file', tokenFile, ...args], { cwd: ws, env: TEST_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /^listening: 127\.0\.0\.1:(\d+)$/m.exec(err);
      if (m) resolve({ port: Number(m[1]), tokenFile, stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

/** A raw TCP connection: what came back, and a promise of its close. */
class Raw {
  readonly socket: Socket;
  readonly messages: Message[] = [];
  readonly closed: Promise<void>;
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  constructor(port: number) {
    this.socket = netConnect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const head = this.buf.indexOf('\r\n\r\n');
        if (head === -1) break;
        const n = Number(/Content-Length: (\d+)/.exec(this.buf.subarray(0, head).toString())![1]);
        if (this.buf.length < head + 4 + n) break;
        this.messages.push(JSON.parse(this.buf.subarray(head + 4, head + 4 + n).toString()) as Message);
        this.buf = this.buf.subarray(head + 4 + n);
      }
      this.waiters.forEach((w) => w());
    });
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
  }
  write(raw: string | Buffer): void {
    this.socket.write(raw);
  }
  wait(pred: (m: Message) => boolean): Promise<Message> {
    return new Promise((resolve) => {
      const check = () => {
        const m = this.messages.find(pred);
        if (m) resolve(m);
        return m !== undefined;
      };
      if (!check()) this.waiters.push(check);
    });
  }
  async authenticate(tokenFile: string): Promise<void> {
    const token = readFileSync(tokenFile, 'utf8').trim();
    this.write(frame({ jsonrpc: '2.0', id: 'init', method: 'initialize', params: { processId: null, rootUri: null, capabilities: {}, initializationOptions: { token } } }));
    expect((await this.wait((m) => m.id === 'init')).error).toBeUndefined();
  }
}

describe('dws server --socket under abuse', () => {
  it('closes a connection whose first frame is bad, answering first and saying why on stderr', async () => {
    const s = await tcpServer();
    const c = new Raw(s.port);
    c.write('Content-Length: abc\r\n\r\n{}');
    await c.closed;
    expect(c.messages).toEqual([{ jsonrpc: '2.0', id: null, error: { code: -32700, message: "Parse error: Content-Length 'abc' is not a number of bytes" } }]);
    expect(s.stderr()).toMatch(/dws server: closed the connection from 127\.0\.0\.1:\d+: Parse error: Content-Length 'abc' is not a number of bytes/);
  });

  it('refuses a declared 1,000,000,000-byte body before the token without buffering it, and closes', async () => {
    const s = await tcpServer();
    const c = new Raw(s.port);
    c.write('Content-Length: 1000000000\r\n\r\n');
    c.write(Buffer.alloc(1 << 20, 0x20)); // the server has stopped reading: this goes nowhere
    await c.closed;
    expect(c.messages[0]!.error).toEqual({
      code: -32600,
      message: "Invalid Request: a message of 1000000000 bytes is larger than this server's limit of 65536 bytes (dws server --max-message-bytes)",
    });
  });

  it('closes connections that send no token within --auth-timeout', async () => {
    const s = await tcpServer(['--auth-timeout', '300']);
    const idle = Array.from({ length: 20 }, () => new Raw(s.port));
    await Promise.all(idle.map((c) => c.closed));
    expect(s.stderr()).toMatch(/closed the connection from 127\.0\.0\.1:\d+: no token within 300 ms/);
    // Half a header, then silence: closed too.
    const slow = new Raw(s.port);
    slow.write('Content-Len');
    await slow.closed;
  });

  it('after the token, answers a bad frame and an oversized message and keeps serving', async () => {
    const s = await tcpServer(['--max-message-bytes', '500']);
    const c = new Raw(s.port);
    await c.authenticate(s.tokenFile);
    c.write('Content-Length: abc\r\n\r\n{"x":1}');
    c.write(frame({ jsonrpc: '2.0', id: 1, method: 'dws/config', params: { name: 'y'.repeat(600) } }));
    c.write(frame({ jsonrpc: '2.0', id: 2, method: 5 }));
    c.write(frame({ jsonrpc: '2.0', id: 3, method: 'textDocument/hover', params: {} }));
    c.write(frame({ jsonrpc: '2.0', id: 4, method: 'dws/version' }));
    expect((await c.wait((m) => m.id === 4)).result.formatVersion).toBe('1.6.0');
    expect(c.messages.filter((m) => m.id === null).map((m) => m.error!.code)).toEqual([-32700, -32600]);
    expect((await c.wait((m) => m.id === 2)).error!.code).toBe(-32600);
    expect((await c.wait((m) => m.id === 3)).error!.code).toBe(-32602);
    expect(c.messages.some((m) => m.id === 1)).toBe(false);
    c.socket.destroy();
  });

  it('refuses --auth-timeout without --socket and a --max-message-bytes that is not a positive number', async () => {
    const { dws } = await import('../helpers.js');
    const a = await dws(ws, ['server', '--stdio', '--auth-timeout', '5']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('Error: --auth-timeout goes with --socket (only TCP connections send a token)');
    const b = await dws(ws, ['server', '--stdio', '--max-message-bytes', '0']);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain("'0' is not a positive whole number");
  });
});
