// Load on `dws server` (issue 13): 10,000 `dws/status` requests, 50 in flight, over stdio and
// over TCP (after the token), on a small workspace; prints throughput, per-request p50/p99 (time
// from send to answer, so it includes queueing behind the other 49) and the server's CPU per
// request. The floor is an echo server (vscode-jsonrpc over stdio, echo-server.mjs) answering
// the same number of requests in the same run. Goal on a quiet machine: >= 10,000 req/s and
// p99 <= 5 ms over stdio. Figures only.
//
// Two clients drive each server, alternating, because on a 2-core machine the client shares the
// cores with the server and its own pauses land in every latency it measures:
//   lean            raw Content-Length framing on the child's pipes, every request encoded before
//                   the clock starts, answers matched by reading the id's digits (no JSON.parse),
//                   one clock reading per write and per chunk read, no promise per request
//   vscode-jsonrpc  createMessageConnection + sendRequest, as an editor extension would
//
//   npm run build && node bench/server-load.mjs
//   BENCH_RUNS=1 BENCH_REQUESTS=2000 BENCH_IN_FLIGHT=10 node bench/server-load.mjs
//   BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' node bench/server-load.mjs
//   BENCH_CASES='stdio, lean' node bench/server-load.mjs     (only the cases whose name has this)
//   BENCH_TIMELINE=/tmp/tl node bench/server-load.mjs   (send/answer times of every request, one file per case)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import { benchRoot, DWS, env, median } from './common.mjs';

// Options for the measured node processes, e.g. BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 4);
/** Requests sent before the clock starts, with the same number in flight. */
const WARM_UP = 1_000;
const TIMELINE = process.env.BENCH_TIMELINE;
const ECHO_SERVER = fileURLToPath(new URL('./echo-server.mjs', import.meta.url));

const root = benchRoot('server-load');
const ws = join(root, 'ws');
spawnSync('mkdir', ['-p', ws]);
const r = spawnSync(process.execPath, [DWS, '--batch', 'init', '--hostname', 'bench', '--create-resources', 'code,results'], { cwd: ws, env, encoding: 'utf8' });
if (r.status !== 0) throw new Error(r.stderr);

/** `count` requests framed back to back in one buffer; request i (its id) is bytes offsets[i]..offsets[i + 1]. */
function encodeRequests(method, params, count) {
  const frames = [];
  const offsets = new Uint32Array(count + 1);
  for (let id = 0, at = 0; id < count; id++) {
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    frames.push(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    offsets[id] = at;
    at += Buffer.byteLength(frames[id]);
    offsets[id + 1] = at;
  }
  return { bytes: Buffer.from(frames.join('')), offsets };
}

const HEADER = Buffer.from('Content-Length: ');
const HEADER_END = Buffer.from('\r\n\r\n');
// Both servers answer through vscode-jsonrpc's response object, whose keys come in this order.
const ANSWER_START = Buffer.from('{"jsonrpc":"2.0","id":');
const RESULT = Buffer.from(',"result":');

/**
 * The lean client: keeps `inFlight` of the pre-encoded requests from..to outstanding on
 * input/output and resolves with when each was sent and answered (ms, performance.now()).
 * Requests freed by one chunk of answers go out in one write.
 */
function leanLoad(input, output, requests, from, to, inFlight, sent, answered) {
  return new Promise((resolve, reject) => {
    let next = from;
    let done = 0;
    let rest = null;
    const send = (n) => {
      const end = Math.min(next + n, to);
      if (end === next) return;
      const now = performance.now();
      for (let id = next; id < end; id++) sent[id] = now;
      output.write(requests.bytes.subarray(requests.offsets[next], requests.offsets[end]));
      next = end;
    };
    const onData = (chunk) => {
      const now = performance.now();
      const buf = rest === null ? chunk : Buffer.concat([rest, chunk]);
      let at = 0;
      let freed = 0;
      for (;;) {
        const end = buf.indexOf(HEADER_END, at);
        if (end === -1) break;
        if (buf.compare(HEADER, 0, HEADER.length, at, at + HEADER.length) !== 0) return fail(`not a Content-Length header: ${buf.toString('latin1', at, end)}`);
        let length = 0;
        for (let k = at + HEADER.length; k < end; k++) length = length * 10 + buf[k] - 48;
        const body = end + 4;
        if (body + length > buf.length) break;
        at = body + length;
        if (buf.compare(ANSWER_START, 0, ANSWER_START.length, body, body + ANSWER_START.length) !== 0) continue; // a notification (dws/workspaceChanged)
        let id = 0;
        let k = body + ANSWER_START.length;
        for (; buf[k] >= 48 && buf[k] <= 57; k++) id = id * 10 + buf[k] - 48;
        if (buf.compare(RESULT, 0, RESULT.length, k, k + RESULT.length) !== 0) return fail(`not a result: ${buf.toString('utf8', body, at)}`);
        answered[id] = now;
        freed++;
      }
      rest = at === buf.length ? null : buf.subarray(at);
      done += freed;
      if (done === to - from) {
        input.off('data', onData);
        resolve();
      } else {
        send(freed);
      }
    };
    const fail = (message) => {
      input.off('data', onData);
      reject(new Error(message));
    };
    input.on('data', onData);
    send(inFlight);
  });
}

/** The same load through vscode-jsonrpc: one sendRequest (and its promise) per request. */
async function jsonrpcLoad(connection, method, params, from, to, inFlight, sent, answered) {
  let next = from;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < to) {
      const id = next++;
      sent[id] = performance.now();
      await connection.sendRequest(method, params);
      answered[id] = performance.now();
    }
  }));
}

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

/**
 * WARM_UP requests, then REQUESTS timed ones, with `client` ('lean' or 'vscode-jsonrpc') on the
 * streams of a server process.
 */
async function load(client, input, output, method, params, pid, name) {
  const total = WARM_UP + REQUESTS;
  const sent = new Float64Array(total);
  const answered = new Float64Array(total);
  let run;
  if (client === 'lean') {
    const requests = encodeRequests(method, params, total);
    run = (from, to) => leanLoad(input, output, requests, from, to, IN_FLIGHT, sent, answered);
  } else {
    const connection = createMessageConnection(new StreamMessageReader(input), new StreamMessageWriter(output));
    connection.listen();
    run = (from, to) => jsonrpcLoad(connection, method, params, from, to, IN_FLIGHT, sent, answered);
  }
  await run(0, WARM_UP);
  const cpu0 = cpuSeconds(pid);
  const t = performance.now();
  await run(WARM_UP, total);
  const wall = performance.now() - t;
  const cpu1 = cpuSeconds(pid);
  const lat = [];
  for (let id = WARM_UP; id < total; id++) lat.push(answered[id] - sent[id]);
  if (TIMELINE) {
    mkdirSync(TIMELINE, { recursive: true });
    writeFileSync(join(TIMELINE, `${name}.tsv`), `# start ${(performance.timeOrigin + t).toFixed(1)}\n` + Array.from({ length: REQUESTS }, (_, i) => `${(sent[WARM_UP + i] - t).toFixed(3)}\t${lat[i].toFixed(3)}`).join('\n'));
  }
  lat.sort((a, b) => a - b);
  return { perSecond: REQUESTS / (wall / 1000), p50: pct(lat, 50), p99: pct(lat, 99), max: lat.at(-1), cpuMicros: cpu0 === null || cpu1 === null ? null : ((cpu1 - cpu0) / REQUESTS) * 1e6 };
}

async function overStdio(client, args, method, params, name) {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: ws, env, stdio: ['pipe', 'pipe', 'inherit'] });
  const result = await load(client, child.stdout, child.stdin, method, params, child.pid, name);
  // Closing its input ends the server normally (so that --cpu-prof writes its profile).
  child.stdin.end();
  await new Promise((resolve) => child.once('exit', resolve));
  return result;
}

async function overTcp(client, name) {
  const tokenFile = join(root, 'token');
  const server = spawn(process.execPath, [...NODE_ARGS, DWS, 'server', '--socket', '0', '--token-file', tokenFile], { cwd: ws, env, stdio: ['ignore', process.env.BENCH_SERVER_STDOUT ? 'inherit' : 'ignore', 'pipe'] });
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
  // The token goes first (its answer read by the lean client's loop); then the measured client.
  const token = readFileSync(tokenFile, 'utf8').trim();
  const initialize = encodeRequests('initialize', { processId: null, rootUri: null, capabilities: {}, initializationOptions: { token } }, 1);
  await leanLoad(socket, socket, initialize, 0, 1, 1, new Float64Array(1), new Float64Array(1));
  const result = await load(client, socket, socket, 'dws/status', {}, server.pid, name);
  socket.destroy();
  server.kill();
  await new Promise((resolve) => server.once('exit', resolve));
  return result;
}

const CLIENTS = ['lean', 'vscode-jsonrpc'];
const ALL_CASES = [
  ...CLIENTS.map((client) => ({ name: `echo floor, stdio, ${client}`, run: (n) => overStdio(client, [ECHO_SERVER], 'echo', {}, n) })),
  ...CLIENTS.map((client) => ({ name: `dws/status, stdio, ${client}`, run: (n) => overStdio(client, [DWS, 'server', '--stdio'], 'dws/status', {}, n) })),
  ...CLIENTS.map((client) => ({ name: `dws/status, tcp, ${client}`, run: (n) => overTcp(client, n) })),
];
const CASES = ALL_CASES.filter((c) => c.name.includes(process.env.BENCH_CASES ?? ''));

// Every case once per round, in the same order, so that drift on a shared machine hits all alike.
const results = new Map(CASES.map((c) => [c.name, []]));
const loads = [];
for (let round = 1; round <= RUNS; round++) {
  loads.push(loadavg()[0]);
  for (const c of CASES) results.get(c.name).push(await c.run(`${c.name.replace(/[^a-z]+/g, '-')}${round}`));
}
loads.push(loadavg()[0]);

const range = (xs, digits) => {
  const f = (x) => x.toFixed(digits);
  return `${f(median(xs))} (${f(Math.min(...xs))}-${f(Math.max(...xs))})`;
};
console.log(`\n${REQUESTS} requests after ${WARM_UP} of warm-up, ${IN_FLIGHT} in flight, ${RUNS} rounds; load average ${loads.map((l) => l.toFixed(2)).join(', ')} (before each round, after the last)`);
console.log('median (min-max) of the rounds\n');
console.log(`${'case'.padEnd(36)}  ${'req/s'.padEnd(20)}  ${'p50 ms'.padEnd(17)}  ${'p99 ms'.padEnd(17)}  ${'max ms'.padEnd(19)}  server CPU us/req`);
for (const [name, xs] of results) {
  const cpu = xs.map((x) => x.cpuMicros).filter((x) => x !== null);
  console.log(`${name.padEnd(36)}  ${range(xs.map((x) => x.perSecond), 0).padEnd(20)}  ${range(xs.map((x) => x.p50), 2).padEnd(17)}  ${range(xs.map((x) => x.p99), 2).padEnd(17)}  ${range(xs.map((x) => x.max), 1).padEnd(19)}  ${cpu.length ? range(cpu, 0) : '-'}`);
}
console.log('\ngoal: dws/status over stdio >= 10,000 req/s and p99 <= 5 ms on a quiet machine');
