// Benchmarks of the workspace core (issue: "Hashing that scales"). Prints medians of several
// runs, each next to a floor measured in the same run on the same data (../shared/PERF-NOTES.md
// explains the floors). Figures only: nothing here asserts a time.
//
//   npm run bench                 # all
//   BENCH_RUNS=3 npm run bench    # fewer runs
//   BENCH_FILES=20000 npm run bench
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchRoot, caCertsRemoved, DWS, env, median } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const FILES = Number(process.env.BENCH_FILES ?? 100_000);
const DIRS = Math.max(1, Math.round(FILES / 100));
const BIG_FILES = Number(process.env.BENCH_BIG_FILES ?? 20);
const BIG_MB = 50;

const root = benchRoot('core');

const NODE_FLOOR = fileURLToPath(new URL('./node-floor.mjs', import.meta.url));

/** Seconds taken by a command (it must succeed). */
function time(cmd, args, cwd = root, withEnv = env) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env: withEnv, stdio: ['ignore', 'ignore', 'pipe'], shell: false });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return s;
}
const sh = (script, cwd = root) => time('bash', ['-c', script], cwd);

const runs = (n, f) => Array.from({ length: n }, (_, i) => f(i));
const dws = (cwd, ...args) => time(process.execPath, [DWS, '--batch', ...args], cwd);

const rows = [];
function report(what, seconds, floorName, floor, target) {
  rows.push({ what, seconds, floorName, floor, target });
  const ratio = floor ? ` (${(seconds / floor).toFixed(2)}x ${floorName} ${floor.toFixed(3)} s)` : '';
  console.log(`${what}: ${seconds.toFixed(3)} s${ratio}${target ? `  target: ${target}` : ''}`);
}

function newWorkspace(name, dataDir) {
  const ws = join(root, name);
  mkdirSync(ws);
  dws(ws, 'init', '--hostname', 'bench');
  dws(ws, 'add', 'local-files', '--role', 'source-data', '--compute-hash', '--name', 'data', dataDir);
  return ws;
}

function peakRssMb(args, cwd) {
  if (!existsSync('/usr/bin/time')) return null;
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, DWS, '--batch', ...args], { cwd, env, encoding: 'utf8' });
  const kb = Number(r.stderr.trim().split('\n').pop());
  return Number.isFinite(kb) ? kb / 1024 : null;
}

console.log(`dws benchmarks: ${RUNS} runs each, medians; ${FILES} files of 1 KB in ${DIRS} dirs; ${BIG_FILES} x ${BIG_MB} MB\n`);

// --- startup
const nodeFloor = median(runs(Math.max(RUNS, 10), () => time(process.execPath, ['-e', '0'])));
if (caCertsRemoved) {
  const withCa = median(runs(Math.max(RUNS, 10), () => time(process.execPath, ['-e', '0'], root, { ...env, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS })));
  console.log(`(measured without this machine's NODE_EXTRA_CA_CERTS: node -e 0 takes ${withCa.toFixed(3)} s with it, ${nodeFloor.toFixed(3)} s without)`);
}
report('dws --version', median(runs(Math.max(RUNS, 10), () => time(process.execPath, [DWS, '--version']))), 'node -e 0', nodeFloor, 'within 50 ms of node -e 0');

// --- 100k small files
const small = join(root, 'small');
console.log(`\ngenerating ${FILES} files...`);
for (let d = 0; d < DIRS; d++) {
  const dir = join(small, `d${String(d).padStart(4, '0')}`);
  mkdirSync(dir, { recursive: true });
  const buf = randomBytes(1024 * Math.ceil(FILES / DIRS));
  for (let f = 0; f < FILES / DIRS; f++) writeFileSync(join(dir, `f${f}.bin`), buf.subarray(f * 1024, (f + 1) * 1024));
}
// Floor and dws alternate, so drift on this noisy machine hits both alike. Workspaces are removed
// only at the end: deleting thousands of files just before a run slows the next file creations.
const sha1Times = [];
const nodeSmall = [];
const first = median(runs(RUNS, (i) => {
  sha1Times.push(sh(`find small -type f -print0 | xargs -0 -P2 sha1sum > /dev/null`));
  nodeSmall.push(time(process.execPath, [NODE_FLOOR, small]));
  return dws(newWorkspace(`first${i}`, small), 'snapshot');
}));
const sha1Floor = median(sha1Times);
report(`Node floor: walk + SHA-1 of ${FILES} x 1 KB in 2 threads`, median(nodeSmall), 'find|xargs -P2 sha1sum', sha1Floor);
report(`first snapshot, ${FILES} x 1 KB`, first, 'find|xargs -P2 sha1sum', sha1Floor, '<= 1.6x sha1sum');

const ws = join(root, `first${RUNS - 1}`);
// (no-change and one-file-changed reuse the last first-snapshot workspace)
const walkScript = `const fs=require('fs'),p=require('path');let n=0;(function w(d){for(const e of fs.readdirSync(d,{withFileTypes:true})){const f=p.join(d,e.name);fs.lstatSync(f);n++;if(e.isDirectory())w(f)}})(${JSON.stringify(small)});`;
const walkFloor = median(runs(RUNS, () => time(process.execPath, ['-e', walkScript])));
report('no-change snapshot (re-tag)', median(runs(RUNS, (i) => dws(ws, 'snapshot', `nc${i}`))), 'walk+lstat', walkFloor, '<= 1.0 s');
report('one-file-changed snapshot', median(runs(RUNS, (i) => {
  appendFileSync(join(small, 'd0000', `f${i}.bin`), 'x');
  return dws(ws, 'snapshot');
})), 'walk+lstat', walkFloor, '<= 1.1 s');
report('status', median(runs(RUNS, () => dws(ws, 'status'))), 'node -e 0', nodeFloor);
const rss = peakRssMb(['snapshot', 'rss'], newWorkspace('rss', small));
if (rss !== null) console.log(`peak RSS, first snapshot of ${FILES} files: ${rss.toFixed(0)} MB  target: <= 250 MB`);

// --- 20 x 50 MB
const big = join(root, 'big');
mkdirSync(big);
console.log(`\ngenerating ${BIG_FILES} x ${BIG_MB} MB...`);
const chunk = randomBytes(BIG_MB * 1024 * 1024);
for (let i = 0; i < BIG_FILES; i++) {
  chunk[0] = i; // distinct contents
  writeFileSync(join(big, `big${i}.bin`), chunk);
}
const opensslTimes = [];
const nodeBig = [];
const bigFirst = median(runs(RUNS, (i) => {
  opensslTimes.push(sh(`openssl sha1 big/*.bin > /dev/null`));
  nodeBig.push(time(process.execPath, [NODE_FLOOR, big]));
  return dws(newWorkspace(`big${i}`, big), 'snapshot');
}));
const opensslFloor = median(opensslTimes);
report(`Node floor: SHA-1 of ${BIG_FILES} x ${BIG_MB} MB in 2 threads`, median(nodeBig), 'openssl sha1 (1 core)', opensslFloor);
report(`first snapshot, ${BIG_FILES} x ${BIG_MB} MB`, bigFirst, 'openssl sha1 (1 core)', opensslFloor, '<= 0.8x openssl');

console.log('\n| what | dws (s) | floor | floor (s) | ratio | target |\n|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.what} | ${r.seconds.toFixed(3)} | ${r.floorName ?? ''} | ${r.floor?.toFixed(3) ?? ''} | ${r.floor ? (r.seconds / r.floor).toFixed(2) + 'x' : ''} | ${r.target ?? ''} |`);
}
