/**
 * A bounded, seeded fuzz of `dws server` (issue 13 item 11), over stdio and TCP, as real
 * processes: random frames (bad headers, wrong lengths, non-JSON, wrong shapes) and random
 * params for every method `dws/methods` lists and for the LSP requests, a few thousand messages.
 * Afterwards the server must still answer `dws/status` (within 5 s: a hang, not a speed test),
 * must not have died, and its RSS must be back near where it started.
 *
 *   DWS_FUZZ_SEED=7 DWS_FUZZ_MESSAGES=5000 npx vitest run test/integration/server-fuzz.test.ts
 *
 * A summary line is printed: `fuzz <transport> seed S: N messages, D deaths, H hangs, RSS a -> b MB`
 * (DWS_FUZZ_TRACE=1 adds RSS after every batch).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, DWS, newWorkspace, tempDir, TEST_ENV } from '../helpers.js';

const SEED = Number(process.env.DWS_FUZZ_SEED ?? 13);
const MESSAGES = Number(process.env.DWS_FUZZ_MESSAGES ?? 1500); // per transport
const BATCH = 100;
/**
 * "RSS returns near its start" = within this, once the server has been left alone. Measured here
 * (1,500 messages, ~75 MB of large bodies each way): the live heap after a full GC stays at
 * ~14 MB from 1,500 to 4,500 messages (heap snapshots), and RSS falls back to 20-30 MB above the
 * start when V8's memory reducer runs, which it does only once the process is idle (a few to
 * ~20 s; requests keep it from running). Before the fixes this check caught, RSS did not come
 * back: chokidar followed the workspace's node_modules/dataworkspaces link into the whole dws
 * package (3,300 directory watchers, growing as it walked), and error replies quoted a 2 MB
 * parameter twice; and an unauthenticated TCP body kept 300 MB. On a loaded machine the TCP run
 * once ended 80 MB above its start after the whole idle wait (72 MB below it when run alone), and
 * once (2026-12-07, other suites running beside a CI run) 113 MB above (11 MB when run alone just
 * after), so the bound is 150 MB: still half the smallest of the leaks it is there to catch.
 */
const NEAR_MB = 150;
/** How long to leave the server idle for its memory to come back (checked every second; usually far less). */
const IDLE_WAIT_MS = 90_000;

const children: ChildProcess[] = [];
afterAll(() => {
  children.forEach((c) => c.kill());
  cleanup();
});

/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  anyOf?: Schema[];
}

class Gen {
  constructor(readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** Strings with control characters, escapes, unicode and dots, but never a '/' or a bare '.'/'..': nothing the server does with them may leave its temporary directory. */
  str(): string {
    const alphabet = ['a', 'b', 'v', '1', '-', '.', '_', ' ', 'é', '漢', '\n', '\x1b[31m', '\u0000', '"', '\\u', '{', ':', '\t', '😀'];
    let s = '';
    for (let i = this.int(12); i > 0; i--) s += this.pick(alphabet);
    if (this.int(40) === 0) s += 'x'.repeat(this.int(5000));
    return /^\.*$/.test(s) ? `x${s}` : s;
  }
  any(depth = 0): unknown {
    switch (this.int(depth > 2 ? 5 : 8)) {
      case 0:
        return null;
      case 1:
        return this.r() < 0.5;
      case 2:
        return this.pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1, 42]);
      case 3:
      case 4:
        return this.str();
      case 5:
        return Array.from({ length: this.int(4) }, () => this.any(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: this.int(4) }, () => [this.str(), this.any(depth + 1)]));
    }
  }
  /** A value for a JSON Schema: usually of the right type, sometimes not. */
  value(s: Schema): unknown {
    if (this.int(6) === 0) return this.any();
    if (s.enum) return this.pick(s.enum);
    if (s.anyOf) return this.value(this.pick(s.anyOf));
    const type = Array.isArray(s.type) ? this.pick(s.type) : s.type;
    switch (type) {
      case 'string':
        return this.str();
      case 'integer':
        return this.pick([0, 1, 5, -3, 100000]);
      case 'number':
        return this.pick([0, 0.5, -2, 1e9]);
      case 'boolean':
        return this.r() < 0.5;
      case 'array':
        return Array.from({ length: this.int(3) }, () => this.value(s.items ?? {}));
      case 'object':
        return this.params(s);
      default:
        return this.any();
    }
  }
  params(s: Schema): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(s.properties ?? {})) if (this.r() < 0.6) out[k] = this.value(v);
    if (this.int(8) === 0) out[this.str()] = this.any();
    return out;
  }
}

// No `shutdown`: after it every request is refused (-32600, as LSP asks; server.test.ts), which
// would end the fuzzing of the methods at the first one drawn.
const LSP = ['initialize', 'textDocument/hover', 'textDocument/completion', 'textDocument/codeLens', 'workspace/executeCommand', 'textDocument/didOpen', 'textDocument/didChange', '$/cancelRequest', 'no/such/method'];

const frame = (body: string | Buffer) => Buffer.concat([Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`), Buffer.from(body)]);

/** One random frame: mostly requests for real methods, the rest broken in every way we know. */
function randomFrame(g: Gen, methods: Array<{ method: string; params: Schema }>, id: number): Buffer {
  const kind = g.int(20);
  const request = (method: unknown, params: unknown) => JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
  if (kind < 9) {
    const m = g.pick(methods);
    return frame(request(m.method, g.int(10) === 0 ? g.any() : g.params(m.params)));
  }
  if (kind < 12) {
    const uri = g.pick(['file:///nope.step.ts', 'http://x', g.str(), 'file:///tmp/../etc/passwd']);
    const lspParams = g.pick([undefined, {}, { textDocument: { uri }, position: { line: g.int(3), character: g.int(3) } }, { textDocument: { uri, text: g.str() } }, g.any()]);
    return frame(JSON.stringify({ jsonrpc: '2.0', ...(g.r() < 0.7 ? { id } : {}), method: g.pick(LSP), ...(lspParams === undefined ? {} : { params: lspParams }) }));
  }
  switch (kind) {
    case 12:
      return frame(request(g.any(), g.any())); // method not a string (mostly)
    case 13:
      return frame(JSON.stringify(g.any())); // any JSON at all
    case 14:
      return frame(Buffer.from(Array.from({ length: g.int(64) }, () => g.int(256)))); // not JSON
    case 15:
      return Buffer.from(`Content-Length: ${g.pick(['abc', '-1', '', '1e3', '0x10', ' ', '99999999999999999999'])}\r\n\r\n{}`);
    case 16: {
      // A length a little off either way: the stream must find its feet again.
      const body = request('dws/version', {});
      return Buffer.from(`Content-Length: ${Math.max(0, Buffer.byteLength(body) + g.pick([-5, -1, 1, 7]))}\r\n\r\n${body}`);
    }
    case 17:
      return Buffer.from(Array.from({ length: g.int(200) }, () => g.int(256))); // raw noise
    case 18:
      return frame(`[${request('dws/status', {})}]`); // a batch
    default:
      return frame(request('dws/config', { name: 'x'.repeat(1 + g.int(2_000_000)) })); // big but allowed
  }
}

/** The bytes that end whatever frame a fuzzed length left open (a body waits for at most this many), harmless as a header. */
const SETTLE = Buffer.from(`${' '.repeat(4096)}\r\n\r\n`);

interface Peer {
  write(b: Buffer): void;
  /** Resolves with the response to `id`, or null after `ms`. */
  answer(id: number | string, ms: number): Promise<unknown | null>;
  dead(): boolean;
  pid: number;
}

function reader(onMessage: (m: { id?: unknown }) => void): (d: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const head = buf.indexOf('\r\n\r\n');
      if (head === -1) return;
      const n = Number(/Content-Length: (\d+)/.exec(buf.subarray(0, head).toString())![1]);
      if (buf.length < head + 4 + n) return;
      onMessage(JSON.parse(buf.subarray(head + 4, head + 4 + n).toString()) as { id?: unknown });
      buf = buf.subarray(head + 4 + n);
    }
  };
}

function peer(out: Writable, onData: (f: (d: Buffer) => void) => void, child: ChildProcess): Peer {
  const waiting = new Map<unknown, (m: unknown) => void>();
  onData(reader((m) => waiting.get(m.id)?.(m)));
  let exited = false;
  child.on('exit', () => (exited = true));
  return {
    write: (b) => void out.write(b),
    answer: (id, ms) =>
      new Promise((resolve) => {
        const t = setTimeout(() => (waiting.delete(id), resolve(null)), ms);
        waiting.set(id, (m) => (clearTimeout(t), waiting.delete(id), resolve(m)));
      }),
    dead: () => exited,
    pid: child.pid!,
  };
}

/** Directories the process watches (inotify watch descriptors in /proc/PID/fdinfo). */
function inotifyWatches(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      n += (readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').match(/^inotify wd:/gm) ?? []).length;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(m![1]) / 1024);
}

async function fuzz(transport: string, peerIn: Peer, seed: number): Promise<{ messages: number; deaths: number; hangs: number; rssStart: number; rssEnd: number }> {
  const g = new Gen(prng(seed));
  let n = 0;
  // DWS_FUZZ_LOG=FILE: the frames sent go to FILE.<transport>.in, to replay a failure.
  const sent = process.env.DWS_FUZZ_LOG ? createWriteStream(`${process.env.DWS_FUZZ_LOG}.${transport}.in`) : null;
  const write = peerIn.write;
  const p: Peer = { ...peerIn, write: (b) => (sent?.write(b), write(b)) };
  const status = async (id: string) => {
    p.write(SETTLE);
    p.write(frame(JSON.stringify({ jsonrpc: '2.0', id, method: 'dws/status', params: {} })));
    return p.answer(id, 5000);
  };
  p.write(frame(JSON.stringify({ jsonrpc: '2.0', id: 'm', method: 'dws/methods', params: {} })));
  const methods = ((await p.answer('m', 30_000)) as { result: Array<{ method: string; params: Schema }> }).result;
  expect(methods.length).toBeGreaterThan(20);
  expect(await status('warm')).not.toBeNull();
  // dws/status follows the workspace's files: its resources and metadata, not node_modules/
  // (init links the dws package there) or anything else in it.
  const watches = inotifyWatches(p.pid);
  expect(watches).toBeGreaterThan(0);
  expect(watches).toBeLessThan(20);
  const rssStart = rssMb(p.pid);
  let hangs = 0;
  for (let sent = 0; sent < MESSAGES; sent += BATCH) {
    for (let i = 0; i < BATCH; i++) p.write(randomFrame(g, methods, ++n));
    // Each batch ends with a request that must be answered: the stream found its feet again.
    if ((await status(`after-${sent}`)) === null) hangs++;
    if (p.dead()) break;
    if (process.env.DWS_FUZZ_TRACE) console.log(`fuzz ${transport}: ${sent + BATCH} messages, RSS ${rssMb(p.pid)} MB`);
  }
  const last = await status('last');
  if (last === null) hangs++;
  // Garbage is collected when V8 chooses, and the heap is given back when the process is idle:
  // leave it alone (reading /proc is not a request) until RSS is near its start, or IDLE_WAIT_MS.
  let rssEnd = p.dead() ? NaN : rssMb(p.pid);
  for (let waited = 0; waited < IDLE_WAIT_MS && rssEnd >= rssStart + NEAR_MB && !p.dead(); waited += 1000) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    rssEnd = Math.min(rssEnd, rssMb(p.pid));
  }
  const alive = await status('after-idle');
  if (alive === null) hangs++;
  const deaths = p.dead() ? 1 : 0;
  console.log(`fuzz ${transport} seed ${seed}: ${n} messages, ${deaths} deaths, ${hangs} hangs, RSS ${rssStart} -> ${rssEnd} MB, ${watches} -> ${p.dead() ? NaN : inotifyWatches(p.pid)} watched directories`);
  expect(last).toMatchObject({ result: { workspaceDir: expect.any(String) } });
  return { messages: n, deaths, hangs, rssStart, rssEnd };
}


describe('dws server fuzz (seeded, bounded)', () => {
  it(`survives ${MESSAGES} random frames over stdio`, async () => {
    const ws = await newWorkspace(['--create-resources', 'code,results']);
    const child = spawn(process.execPath, [DWS, 'server', '--stdio', '--max-message-bytes', String(4 << 20)], { cwd: ws, env: TEST_ENV });
    children.push(child);
    // Every refused frame is logged there; DWS_FUZZ_LOG=FILE keeps it.
    if (process.env.DWS_FUZZ_LOG) child.stderr.pipe(createWriteStream(process.env.DWS_FUZZ_LOG));
    else child.stderr.resume();
    if (process.env.DWS_FUZZ_LOG) child.stdout.pipe(createWriteStream(`${process.env.DWS_FUZZ_LOG}.out`));
    const r = await fuzz('stdio', peer(child.stdin, (f) => child.stdout.on('data', f), child), SEED);
    expect(r).toMatchObject({ deaths: 0, hangs: 0 });
    expect(r.rssEnd).toBeLessThan(r.rssStart + NEAR_MB);
  }, 420_000);

  it(`survives ${MESSAGES} random frames over TCP, and 200 connections of noise without the token`, async () => {
    const ws = await newWorkspace(['--create-resources', 'code,results']);
    const tokenFile = join(tempDir(), 'token');
    const child = spawn(process.execPath, [DWS, 'server', '--socket', '0', '--token-file', tokenFile, '--max-message-bytes', String(4 << 20), '--auth-timeout', '2000'], { cwd: ws, env: TEST_ENV });
    children.push(child);
    const port = await new Promise<number>((resolve) => {
      let err = '';
      if (process.env.DWS_FUZZ_LOG) child.stderr.pipe(createWriteStream(`${process.env.DWS_FUZZ_LOG}.tcp.err`));
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /^listening: 127\.0\.0\.1:(\d+)$/m.exec(err);
        if (m) resolve(Number(m[1]));
      });
    });
    // Noise from clients without the token: each connection is closed, none is served.
    const g = new Gen(prng(SEED + 1));
    let open = 200;
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const s = netConnect(port, '127.0.0.1');
        s.on('error', () => {});
        s.resume(); // read what the server says, or its end is never seen
        if (i % 4 !== 0) s.write(randomFrame(g, [{ method: 'dws/status', params: {} }], i)); // every 4th just idles
        await new Promise((resolve) => s.on('close', resolve));
        if (process.env.DWS_FUZZ_LOG) console.log(`noise connection ${i} closed, ${--open} open`);
      }),
    );
    const socket = netConnect(port, '127.0.0.1');
    const p = peer(socket, (f) => socket.on('data', f), child);
    p.write(frame(JSON.stringify({ jsonrpc: '2.0', id: 'init', method: 'initialize', params: { processId: null, capabilities: {}, initializationOptions: { token: readFileSync(tokenFile, 'utf8').trim() } } })));
    expect(await p.answer('init', 30_000)).toMatchObject({ result: { serverInfo: { name: 'dws' } } });
    const r = await fuzz('tcp', p, SEED);
    socket.destroy();
    expect(r).toMatchObject({ deaths: 0, hangs: 0 });
    expect(r.rssEnd).toBeLessThan(r.rssStart + NEAR_MB);
  }, 420_000);
});
