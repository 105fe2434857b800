// Benchmark of `dws server --stdio` (issue 7): latency (p50/p99) and throughput (64 requests in
// flight) of `dws/status` on a workspace with a 10,000-file local-files resource read by a
// recorded step (so status must know the resource's current hash), next to the floor of an
// empty vscode-jsonrpc echo request to a tiny server process, measured in the same run.
// Target: dws/status p50 within 2 ms of the floor. Figures only: nothing here asserts a time.
//
//   npm run bench:server
//   BENCH_FILES=20000 BENCH_REQUESTS=1000 npm run bench:server
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import { benchRoot, DWS, env } from './common.mjs';

const FILES = Number(process.env.BENCH_FILES ?? 10_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 500);
const IN_FLIGHT = 64;

const root = benchRoot('server');
const dws = (...args) => {
  const r = spawnSync(process.execPath, [DWS, '--batch', ...args], { cwd: ws, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dws ${args.join(' ')}: ${r.stderr}`);
};

// --- the workspace: data/ with FILES files of 100 bytes, a step that read it, a snapshot
const ws = join(root, 'ws');
const data = join(ws, 'data');
mkdirSync(ws);
console.log(`generating ${FILES} files...`);
for (let d = 0; d < FILES / 100; d++) {
  mkdirSync(join(data, `d${d}`), { recursive: true });
  for (let f = 0; f < 100; f++) writeFileSync(join(data, `d${d}`, `f${f}.txt`), `${d}/${f}\n`.padEnd(100, '.'));
}
dws('init', '--hostname', 'bench', '--create-resources', 'intermediate-data');
dws('add', 'local-files', '--role', 'source-data', '--compute-hash', '--name', 'data', data);
const { recordStep } = await import('../dist/index.js');
await recordStep({ workspaceDir: ws, name: 'prepare', inputs: ['data'], outputs: ['intermediate-data'], commandLine: null }, async () => {});
dws('snapshot', 'S1');

/** A connection to a server process started with `args` on its stdio. */
function start(args, cwd) {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  connection.listen();
  return { connection, stop: () => (connection.dispose(), child.kill()) };
}

const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function measure(send) {
  for (let i = 0; i < 20; i++) await send(); // warm-up
  const lat = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t = process.hrtime.bigint();
    await send();
    lat.push(ms(t));
  }
  const t = process.hrtime.bigint();
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next++ < REQUESTS) await send();
  }));
  return { p50: pct(lat, 50), p99: pct(lat, 99), perSecond: REQUESTS / (ms(t) / 1000) };
}

const echo = start([fileURLToPath(new URL('./echo-server.mjs', import.meta.url))], root);
const floor = await measure(() => echo.connection.sendRequest('echo', {}));
echo.stop();

const server = start([DWS, 'server', '--stdio'], ws);
let t = process.hrtime.bigint();
const first = await server.connection.sendRequest('dws/status', {});
const firstMs = ms(t);
if (first.stale.steps.length !== 0) throw new Error('the step should not be stale yet');
const status = await measure(() => server.connection.sendRequest('dws/status', {}));
// One change: the next status rehashes that resource only once, then answers from the cache again.
writeFileSync(join(data, 'd0', 'f0.txt'), 'changed');
const changed = await new Promise((resolve) => server.connection.onNotification('dws/workspaceChanged', resolve));
t = process.hrtime.bigint();
const after = await server.connection.sendRequest('dws/status', {});
const afterMs = ms(t);
server.stop();

const row = (what, r) => [what, r.p50.toFixed(2), r.p99.toFixed(2), Math.round(r.perSecond).toString()];
const rows = [
  ['request', 'p50 ms', 'p99 ms', `req/s (${IN_FLIGHT} in flight)`],
  row('echo (vscode-jsonrpc floor)', floor),
  row(`dws/status (${FILES} files, cached)`, status),
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
console.log(`\n${REQUESTS} requests each over stdio\n`);
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
console.log(`\ndws/status p50 - floor p50: ${(status.p50 - floor.p50).toFixed(2)} ms (target: within 2 ms)`);
console.log(`first dws/status (starts watching, hashes ${FILES} files): ${firstMs.toFixed(0)} ms`);
console.log(`dws/status after one file changed (notified: ${changed.resources.join(', ')}; step stale: ${after.stale.steps.map((s) => s.step).join(', ')}): ${afterMs.toFixed(1)} ms`);
