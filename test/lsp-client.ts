/** A raw LSP client for tests: `dws server --stdio` as a real process, Content-Length framing by hand. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { DWS, TEST_ENV } from './helpers.js';

export interface Message {
  jsonrpc: '2.0';
  id?: number | string;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string; data?: any };
}

export class LspClient {
  readonly child: ChildProcessWithoutNullStreams;
  readonly messages: Message[] = [];
  stderr = '';
  private buf = Buffer.alloc(0);
  private nextId = 0;
  private listeners: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  /** `args`: more options for `dws server --stdio`, e.g. `--max-message-bytes`. */
  constructor(cwd: string, args: string[] = []) {
    this.child = spawn(process.execPath, [DWS, 'server', '--stdio', ...args], { cwd, env: TEST_ENV });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdout.on('data', (d: Buffer) => this.receive(d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  private receive(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const head = this.buf.indexOf('\r\n\r\n');
      if (head === -1) return;
      const length = Number(/Content-Length: (\d+)/i.exec(this.buf.subarray(0, head).toString())![1]);
      if (this.buf.length < head + 4 + length) return;
      const msg = JSON.parse(this.buf.subarray(head + 4, head + 4 + length).toString('utf8')) as Message;
      this.buf = this.buf.subarray(head + 4 + length);
      // Requests from the server (e.g. window/workDoneProgress/create) are answered with null.
      if (msg.method !== undefined && msg.id !== undefined) this.send({ jsonrpc: '2.0', id: msg.id, result: null });
      this.messages.push(msg);
      this.listeners.forEach((l) => l());
    }
  }

  /** Frame and write messages; several at once go out in one write. */
  send(...msgs: Message[]): void {
    this.child.stdin.write(
      msgs
        .map((m) => {
          const body = JSON.stringify(m);
          return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
        })
        .join(''),
    );
  }

  /** Write bytes as they are: frames a well-behaved client would never send. */
  sendRaw(raw: string | Buffer): void {
    this.child.stdin.write(raw);
  }

  requestMessage(method: string, params?: unknown): Message & { id: number } {
    return { jsonrpc: '2.0', id: ++this.nextId, method, ...(params !== undefined ? { params } : {}) };
  }

  async request(method: string, params?: unknown): Promise<Message> {
    const m = this.requestMessage(method, params);
    this.send(m);
    return this.response(m.id);
  }

  response(id: number): Promise<Message> {
    return this.waitFor((x) => x.id === id && x.method === undefined, `the response to request ${id}`);
  }

  notify(method: string, params: unknown): void {
    this.send({ jsonrpc: '2.0', method, params });
  }

  /** The first message (already received or to come) matching `pred`; fails after 20 s naming what it waited for. */
  waitFor(pred: (m: Message) => boolean, what: string): Promise<Message> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.messages.find(pred);
        if (!found) return false;
        this.listeners = this.listeners.filter((l) => l !== check);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== check);
        reject(new Error(`no ${what} from dws server; stderr: ${this.stderr}`));
      }, 20_000);
      if (!check()) this.listeners.push(check);
    });
  }

  /** The newest diagnostics published for `uri` that satisfy `pred`. */
  diagnostics(uri: string, pred: (d: any[]) => boolean, what: string): Promise<any[]> {
    return this.waitFor((m) => m.method === 'textDocument/publishDiagnostics' && m.params.uri === uri && pred(m.params.diagnostics), what).then((m) => m.params.diagnostics);
  }

  close(): void {
    this.child.kill();
  }
}
