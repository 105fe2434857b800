// Load on `dws server` (issue 13): 10,000 `dws/status` requests, 50 in flight, over stdio and
// over TCP (after the token), on a small workspace; prints throughput, per-request p50/p99 (time
// from send to answer, so it includes queueing behind the other 49) and the server's CPU per
// request. The floor is measured in the same run with the same client: an echo server
// (vscode-jsonrpc over stdio, echo-server.mjs) answering the same number of requests.
// Goal on a quiet machine: >= 10,000 req/s and p99 <= 5 ms over stdio. Figures only.
//
// The client is lean on purpose (its own framing, no client library): on a small machine the
// client shares the cores with the server, and a heavy client would be what is measured.
//
//   npm run build && node bench/server-load.mjs
//   BENCH_REQUESTS=2000 BENCH_IN_FLIGHT=10 node bench/server-load.mjs
//   BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' node bench/server-load.mjs
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchRoot, DWS, env } from './common.mjs';

// Options for the measured node processes, e.g. BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 50);
const root = benchRoot('server-load');
const ws = join(root, 'ws');
spawnSync('mkdir', ['-p', ws]);
const r = spawnSync(process.execPath, [DWS, '--batch', 'init', '--hostname', 'bench', '--create-resources', 'code,results'], { cwd: ws, env, encoding: 'utf8' });
if (r.status !== 0) throw new Error(r.stderr);

/** JSON-RPC over LSP framing, nothing else: requests out, answers matched by id. */
class LeanClient {
  #pending = new Map();
  #nextId = 1;
  #buf = Buffer.alloc(0);
  constructor(input, output) {
    this.output = output;
    input.on('data', (d) => this.#onData(d));
  }
  request(method, params) {
    const id = this.#nextId++;
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    this.output.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'latin1'), body]));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }
  #onData(d) {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    for (;;) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/Content-Length: (\d+)/i.exec(this.#buf.toString('latin1', 0, end))[1]);
      if (this.#buf.length < end + 4 + length) return;
      const m = JSON.parse(this.#buf.toString('utf8', end + 4, end + 4 + length));
      this.#buf = this.#buf.subarray(end + 4 + length);
      const p = this.#pending.get(m.id);
      if (p === undefined) continue; // a notification (dws/workspaceChanged)
      this.#pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error.message));
      else p.resolve(m.result);
    }
  }
}

const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** CPU seconds (user + system) a process has used so far; null where /proc is missing. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

async function load(client, method, params, pid) {
  for (let i = 0; i < 200; i++) await client.request(method, params); // warm-up
  const lat = [];
  let next = 0;
  const cpu0 = cpuSeconds(pid);
  const t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next++ < REQUESTS) {
      const s = process.hrtime.bigint();
      await client.request(method, params);
      lat.push(ms(s));
    }
  }));
  const total = ms(t);
  const cpu1 = cpuSeconds(pid);
  lat.sort((a, b) => a - b);
  return { perSecond: REQUESTS / (total / 1000), p50: pct(lat, 50), p99: pct(lat, 99), cpuMicros: cpu0 === null || cpu1 === null ? null : ((cpu1 - cpu0) / REQUESTS) * 1e6 };
}

async function overStdio(args, method, params) {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: ws, env, stdio: ['pipe', 'pipe', 'inherit'] });
  const result = await load(new LeanClient(child.stdout, child.stdin), method, params, child.pid);
  // Closing its input ends the server normally (so that --cpu-prof writes its profile).
  child.stdin.end();
  await new Promise((resolve) => child.once('exit', resolve));
  return result;
}

const loadBefore = loadavg()[0];
// The floor first, then the server, in the same conditions.
const floor = await overStdio([fileURLToPath(new URL('./echo-server.mjs', import.meta.url))], 'echo', {});
const stdio = await overStdio([DWS, 'server', '--stdio'], 'dws/status', {});

// TCP
const tokenFile = join(root, 'token');
const server = spawn(process.execPath, [DWS, 'server', '--socket', '0', '--token-file', tokenFile], { cwd: ws, env, stdio: ['ignore', 'ignore', 'pipe'] });
const port = await new Promise((resolve) => {
  let err = '';
  server.stderr.on('data', (d) => {
    err += d;
    const m = /listening: 127\.0\.0\.1:(\d+)/.exec(err);
    if (m) resolve(Number(m[1]));
  });
});
const socket = connect(port, '127.0.0.1');
socket.setNoDelay(true);
await new Promise((resolve) => socket.once('connect', resolve));
const tcpClient = new LeanClient(socket, socket);
await tcpClient.request('initialize', { processId: null, rootUri: null, capabilities: {}, initializationOptions: { token: readFileSync(tokenFile, 'utf8').trim() } });
const tcp = await load(tcpClient, 'dws/status', {}, server.pid);
socket.destroy();
server.kill();

console.log(`\n${REQUESTS} requests, ${IN_FLIGHT} in flight; load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after\n`);
console.log('transport              req/s    p50 ms  p99 ms  server CPU us/req');
const row = (name, x) =>
  console.log(`${name.padEnd(21)}  ${String(Math.round(x.perSecond)).padStart(6)}  ${x.p50.toFixed(2).padStart(6)}  ${x.p99.toFixed(2).padStart(6)}  ${x.cpuMicros === null ? '-' : Math.round(x.cpuMicros)}`);
row('echo floor (stdio)', floor);
row('dws/status stdio', stdio);
row('dws/status tcp', tcp);
console.log(`\nstdio: ${(stdio.perSecond / floor.perSecond).toFixed(2)} x the echo floor's req/s; goal >= 10,000 req/s and p99 <= 5 ms on a quiet machine`);
