/**
 * The server's message reader (issue 13 items 8-10): LSP framing (`Content-Length: N` headers,
 * then N bytes of JSON) read defensively. vscode-jsonrpc's own reader lost its place after one
 * bad header and never answered again, buffered whatever body size a client declared, and
 * dropped messages whose `method` was not a string without a reply. This one:
 *
 *   header --Content-Length ok--> body --N bytes--> JSON --shape ok--> delivered
 *     |  bad header                 |  N > limit: skip N bytes unread      \-- bad JSON / shape: error reply
 *     v                             v
 *   resync: drop bytes up to the next "Content-Length: <digits>", answer a -32700 error
 *
 * In `strict` mode (a TCP connection that has not sent its token yet) any bad frame is fatal:
 * the owner answers and closes the connection instead. Nothing larger than the limit is ever
 * buffered, so a declared 1 GB body costs nothing.
 */
import type { Readable } from 'node:stream';
import { AbstractMessageReader, Disposable, type DataCallback, type Message, type MessageReader } from 'vscode-jsonrpc/node.js';

/** The JSON-RPC 2.0 error codes the reader answers with. */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INVALID_PARAMS = -32602;

/** A header section longer than this without its blank line is not LSP framing. */
const MAX_HEADER_BYTES = 8192;

/** The default limit on one message's body; `dws server --max-message-bytes` changes it. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface ReaderLimits {
  /** Largest body accepted; a larger one is skipped unread (or fatal when strict). */
  maxMessageBytes: number;
  /** Every bad frame ends the connection (an unauthenticated TCP client). */
  strict: boolean;
}

/** A message the reader refuses: the error reply to send, and whether the stream can go on. */
export interface Rejection {
  id: string | number | null;
  code: number;
  message: string;
  /** The stream cannot be trusted any more: answer, then close the connection. */
  fatal: boolean;
  /** False for a notification: JSON-RPC never answers those, the owner only logs it. */
  reply?: boolean;
}

/**
 * Extra checks on a well-formed message before it is delivered: a string is the -32602 message
 * (the LSP params schemas); a refusal with another code says so (a second `initialize`).
 */
export type MessageCheck = (m: Message) => string | { code: number; message: string } | null;

type State = 'header' | 'body' | 'skip' | 'resync' | 'closed';

let arrived = 0;

/**
 * Messages delivered so far by every reader of this process. While it has not moved, every
 * request being handled was read before any given moment since (watch.ts uses it to reuse a
 * stat check for the requests that were already waiting when it was made).
 */
export function arrivals(): number {
  return arrived;
}

export class FramedMessageReader extends AbstractMessageReader implements MessageReader {
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  /** Parts of a body larger than what has arrived so far (kept apart so `buf` stays small). */
  private bodyChunks: Buffer[] = [];
  private bodyHave = 0;
  private state: State = 'header';
  /** Bytes still to read (body) or to drop (skip). */
  private remaining = 0;
  private callback: DataCallback | null = null;
  private closed = false;

  constructor(
    private readonly stream: Readable,
    private limits: ReaderLimits,
    private readonly reject: (r: Rejection) => void,
    private readonly check: MessageCheck = () => null,
  ) {
    super();
  }

  /** Change the limits, e.g. once a TCP client has proved it holds the token. */
  setLimits(limits: ReaderLimits): void {
    this.limits = limits;
  }

  /** Stop reading and let go of every buffered byte (the connection is being closed). */
  stop(): void {
    this.state = 'closed';
    this.buf = Buffer.alloc(0);
    this.off = 0;
    this.bodyChunks = [];
    this.bodyHave = 0;
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (d: Buffer | string) => this.onData(typeof d === 'string' ? Buffer.from(d, 'utf8') : d);
    const onError = (e: Error) => this.fireError(e);
    const onClose = () => {
      if (this.closed) return;
      this.closed = true;
      this.stop();
      this.fireClose();
    };
    this.stream.on('data', onData);
    this.stream.on('error', onError);
    this.stream.on('end', onClose);
    this.stream.on('close', onClose);
    return Disposable.create(() => {
      this.stream.off('data', onData);
      this.stream.off('error', onError);
      this.stream.off('end', onClose);
      this.stream.off('close', onClose);
    });
  }

  private onData(data: Buffer): void {
    if (this.state === 'closed') return;
    if (this.state === 'body' && this.bodyChunks.length > 0) {
      this.appendBody(data);
    } else if (this.state === 'skip') {
      const n = Math.min(this.remaining, data.length);
      this.remaining -= n;
      if (this.remaining > 0) return;
      this.state = 'header';
      this.append(data.subarray(n));
    } else {
      this.append(data);
    }
    this.pump();
  }

  private append(data: Buffer): void {
    if (data.length === 0) return;
    if (this.off >= this.buf.length) {
      this.buf = data;
      this.off = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.off), data]);
      this.off = 0;
    }
  }

  /** A large body grows as a list of chunks; it is joined once, when complete. */
  private appendBody(data: Buffer): void {
    const n = Math.min(this.remaining - this.bodyHave, data.length);
    this.bodyChunks.push(data.subarray(0, n));
    this.bodyHave += n;
    if (this.bodyHave < this.remaining) return;
    const body = Buffer.concat(this.bodyChunks, this.remaining);
    this.bodyChunks = [];
    this.bodyHave = 0;
    this.state = 'header';
    this.buf = data.subarray(n);
    this.off = 0;
    this.deliver(body.toString('utf8'));
  }

  /** Handle every complete frame in `buf`. */
  private pump(): void {
    for (;;) {
      const state = this.state as State;
      if (state === 'closed') return;
      const available = this.buf.length - this.off;
      if (state === 'header') {
        if (available === 0) return;
        const end = this.buf.indexOf(HEADER_END, this.off);
        if (end === -1) {
          if (available > MAX_HEADER_BYTES) this.badFrame(`a header of more than ${MAX_HEADER_BYTES} bytes without the blank line that ends it`);
          return;
        }
        const start = this.off;
        this.off = end + 4;
        const length = plainContentLength(this.buf, start, end) ?? this.contentLength(this.buf.toString('latin1', start, end));
        if (length === null) continue; // badFrame() chose what happens next
        if (length > this.limits.maxMessageBytes) {
          const message = `Invalid Request: a message of ${length} bytes is larger than this server's limit of ${this.limits.maxMessageBytes} bytes (dws server --max-message-bytes)`;
          if (this.limits.strict) {
            this.fatal(INVALID_REQUEST, message);
            return;
          }
          this.reject({ id: null, code: INVALID_REQUEST, message: `${message}; skipped it`, fatal: false });
          const n = Math.min(length, this.buf.length - this.off);
          this.off += n;
          if (n < length) {
            this.state = 'skip';
            this.remaining = length - n;
            this.buf = Buffer.alloc(0);
            this.off = 0;
            return;
          }
          continue;
        }
        this.state = 'body';
        this.remaining = length;
      } else if (state === 'body') {
        if (this.bodyChunks.length > 0) return; // a large body in progress: appendBody() has it
        if (available >= this.remaining) {
          const json = this.buf.toString('utf8', this.off, this.off + this.remaining);
          this.off += this.remaining;
          this.state = 'header';
          this.deliver(json);
          continue;
        }
        // Keep what has come so far aside; the rest goes straight to appendBody().
        if (available > 0) this.bodyChunks.push(this.buf.subarray(this.off));
        this.bodyHave = available;
        this.buf = Buffer.alloc(0);
        this.off = 0;
        if (available === 0) this.bodyChunks.push(Buffer.alloc(0));
        return;
      } else if (state === 'resync') {
        // The next frame starts at the next thing that looks like a Content-Length header (a
        // body of unknown length may end right before it, on the same line).
        const text = this.buf.toString('latin1', this.off);
        const m = /content-length[ \t]*:[ \t]*\d{1,15}\r\n/i.exec(text);
        if (m === null) {
          // Keep a tail that could be the start of a split header.
          this.off = Math.max(this.off, this.buf.length - 40);
          return;
        }
        this.off += m.index;
        this.state = 'header';
      } else {
        return;
      }
    }
  }

  /** The Content-Length of a header section, or null after reporting what is wrong with it. */
  private contentLength(header: string): number | null {
    let length: string | undefined;
    for (const line of header.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) {
        this.badFrame(`a header line without 'Name: value' (${shown(line)})`);
        return null;
      }
      if (line.slice(0, colon).trim().toLowerCase() === 'content-length') length = line.slice(colon + 1).trim();
    }
    if (length === undefined) {
      this.badFrame(`a header without Content-Length (${shown(header)})`);
      return null;
    }
    if (!/^\d{1,15}$/.test(length)) {
      this.badFrame(`Content-Length '${shown(length)}' is not a number of bytes`);
      return null;
    }
    return Number(length);
  }

  /** A frame that cannot be read: answer, then find the next frame (or close, when strict). */
  private badFrame(what: string): void {
    if (this.limits.strict) {
      this.fatal(PARSE_ERROR, `Parse error: ${what}`);
      return;
    }
    this.state = 'resync';
    this.reject({ id: null, code: PARSE_ERROR, message: `Parse error: ${what}; skipped to the next Content-Length header`, fatal: false });
  }

  private fatal(code: number, message: string): void {
    this.stop();
    this.reject({ id: null, code, message, fatal: true });
  }

  private deliver(json: string): void {
    let message: unknown;
    try {
      message = JSON.parse(json);
    } catch (e) {
      if (this.limits.strict) return this.fatal(PARSE_ERROR, `Parse error: the message body is not JSON (${(e as Error).message})`);
      this.reject({ id: null, code: PARSE_ERROR, message: `Parse error: the message body is not JSON (${(e as Error).message})`, fatal: false });
      return;
    }
    const problem = shapeProblem(message);
    if (problem !== null) {
      if (this.limits.strict) return this.fatal(INVALID_REQUEST, problem.message);
      this.reject({ ...problem, fatal: false });
      return;
    }
    const m = message as Message;
    const invalid = this.check(m);
    if (invalid !== null) {
      const { code, message: why } = typeof invalid === 'string' ? { code: INVALID_PARAMS, message: invalid } : invalid;
      if (this.limits.strict) return this.fatal(code, why);
      const id = (m as { id?: string | number | null }).id;
      this.reject({ id: id === undefined ? null : id, code, message: why, fatal: false, reply: id !== undefined });
      return;
    }
    arrived++;
    this.callback?.(m);
  }
}

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const CONTENT_LENGTH = Buffer.from('Content-Length: ', 'latin1');

/**
 * The length of a header section that is exactly `Content-Length: <1-15 digits>` (what every
 * client sends), read from the bytes without making strings; null for anything else, which
 * contentLength() reads. Strings made for each message's header were garbage, and garbage
 * collection pauses are the server's latency tail.
 */
function plainContentLength(buf: Buffer, start: number, end: number): number | null {
  const digits = start + CONTENT_LENGTH.length;
  if (end <= digits || end - digits > 15 || buf.compare(CONTENT_LENGTH, 0, CONTENT_LENGTH.length, start, digits) !== 0) return null;
  let length = 0;
  for (let k = digits; k < end; k++) {
    const d = buf[k]! - 48;
    if (d < 0 || d > 9) return null;
    length = length * 10 + d;
  }
  return length;
}

/** Why `m` is not a JSON-RPC request, notification or response (with the id to answer), or null. */
function shapeProblem(m: unknown): { id: string | number | null; code: number; message: string } | null {
  const bad = (id: string | number | null, what: string) => ({ id, code: INVALID_REQUEST, message: `Invalid Request: ${what}` });
  if (Array.isArray(m)) return bad(null, 'batches (a JSON array of messages) are not supported; send one message per frame');
  if (typeof m !== 'object' || m === null) return bad(null, `a message must be a JSON object, not ${m === null ? 'null' : typeof m}`);
  const o = m as Record<string, unknown>;
  const idOk = o.id === undefined || o.id === null || typeof o.id === 'string' || (typeof o.id === 'number' && Number.isFinite(o.id));
  if (!idOk) return bad(null, `'id' must be a string, a number or null, not ${describe(o.id)}`);
  const id = (o.id ?? null) as string | number | null;
  if ('method' in o) {
    if (typeof o.method !== 'string') return bad(id, `'method' must be a string, not ${describe(o.method)}`);
    if (o.params !== undefined && (typeof o.params !== 'object' || o.params === null)) {
      return { id, code: INVALID_PARAMS, message: `Invalid params for ${shown(o.method)}: 'params' must be an object or an array, not ${describe(o.params)}` };
    }
    return null;
  }
  if (o.id !== undefined && ('result' in o || 'error' in o)) return null; // a response to a request of ours
  return bad(id, "neither a request nor a notification ('method' is missing) nor a response ('result' or 'error' with an 'id')");
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${shown(String(v))}`;
}

/** A piece of client input as it may be shown in a message: short, one line, no control characters. */
export function shown(s: string, max = 60): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
