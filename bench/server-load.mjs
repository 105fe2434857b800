// Load on `dws server` (issue 13): 10,000 `dws/status` requests, 50 in flight, over stdio and
// over TCP (after the token), on a small workspace; prints throughput and per-request p50/p99
// (time from send to answer, so it includes queueing behind the other 49).
// Goal on a quiet machine: >= 10,000 req/s and p99 <= 5 ms over stdio. Figures only.
//
//   npm run build && node bench/server-load.mjs
//   BENCH_REQUESTS=2000 BENCH_IN_FLIGHT=10 node bench/server-load.mjs
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import { benchRoot, DWS, env } from './common.mjs';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 10_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 50);
const root = benchRoot('server-load');
const ws = join(root, 'ws');
spawnSync('mkdir', ['-p', ws]);
const r = spawnSync(process.execPath, [DWS, '--batch', 'init', '--hostname', 'bench', '--create-resources', 'code,results'], { cwd: ws, env, encoding: 'utf8' });
if (r.status !== 0) throw new Error(r.stderr);

const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function load(connection) {
  for (let i = 0; i < 200; i++) await connection.sendRequest('dws/status', {}); // warm-up
  const lat = [];
  let next = 0;
  const t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next++ < REQUESTS) {
      const s = process.hrtime.bigint();
      await connection.sendRequest('dws/status', {});
      lat.push(ms(s));
    }
  }));
  const total = ms(t);
  lat.sort((a, b) => a - b);
  return { perSecond: REQUESTS / (total / 1000), p50: pct(lat, 50), p99: pct(lat, 99) };
}

// stdio
const child = spawn(process.execPath, [DWS, 'server', '--stdio'], { cwd: ws, env, stdio: ['pipe', 'pipe', 'inherit'] });
const stdio = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
stdio.listen();
const a = await load(stdio);
stdio.dispose();
child.kill();

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
await new Promise((resolve) => socket.once('connect', resolve));
const tcp = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
tcp.listen();
await tcp.sendRequest('initialize', { processId: null, rootUri: null, capabilities: {}, initializationOptions: { token: readFileSync(tokenFile, 'utf8').trim() } });
const b = await load(tcp);
tcp.dispose();
socket.destroy();
server.kill();

console.log(`\n${REQUESTS} dws/status requests, ${IN_FLIGHT} in flight\n`);
console.log('transport  req/s    p50 ms  p99 ms');
for (const [name, x] of [['stdio', a], ['tcp', b]]) console.log(`${name.padEnd(9)}  ${String(Math.round(x.perSecond)).padStart(6)}  ${x.p50.toFixed(2).padStart(6)}  ${x.p99.toFixed(2).padStart(6)}`);
