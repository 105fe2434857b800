// Benchmarks of the content store (issue 11): each case next to its floor, measured in the same
// run on the same data. Figures only: nothing here asserts a time.
//
//   npm run bench:store
//   BENCH_RUNS=3 BENCH_FILES=10000 npm run bench:store
//   BENCH_ONLY=big npm run bench:store      (only the 20 x 50 MB case; BENCH_ONLY=small: the others)
//   BENCH_ONLY=restore BENCH_FILES=20000 node bench/store.mjs   (only the two restores, with CPU times)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchRoot, DWS, env, median } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FILES = Number(process.env.BENCH_FILES ?? 100_000);
const DIRS = Math.max(1, Math.round(FILES / 100));
const BIG_FILES = Number(process.env.BENCH_BIG_FILES ?? 20);
const BIG_MB = 50;
const root = benchRoot('store');
const noStore = { ...env, DWS_CONTENT_STORE: 'off' };
const ONLY = process.env.BENCH_ONLY ?? '';
const restoreOnly = ONLY === 'restore';
const small = ONLY === '' || ONLY === 'small' || restoreOnly;
const big = ONLY === '' || ONLY === 'big';

function time(cmd, args, cwd = root, withEnv = env) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env: withEnv, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return s;
}
const sh = (script, cwd = root) => time('bash', ['-c', script], cwd);
const dws = (cwd, args, withEnv = env) => time(process.execPath, [DWS, '--batch', ...args], cwd, withEnv);
const runs = (n, f) => Array.from({ length: n }, (_, i) => f(i));

/** CPU seconds (user + sys) of each restore, from /usr/bin/time: steadier than wall time on a shared machine. */
const cpuOf = new Map();
function dwsCpu(cwd, args, label) {
  if (!existsSync('/usr/bin/time')) return dws(cwd, args);
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, DWS, '--batch', ...args], { cwd, env, encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`dws ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [user, sys] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  cpuOf.set(label, [...(cpuOf.get(label) ?? []), user + sys]);
  return s;
}
function reportCpu(label) {
  const xs = cpuOf.get(label);
  if (xs !== undefined) console.log(`  CPU (user + sys) of ${label}: ${median(xs).toFixed(3)} s (median of ${xs.length})`);
}

const rows = [];
function report(what, seconds, floorName, floor, target) {
  rows.push({ what, seconds, floorName, floor, target });
  const ratio = floor ? ` (${(seconds / floor).toFixed(2)}x ${floorName} ${floor.toFixed(3)} s)` : '';
  console.log(`${what}: ${seconds.toFixed(3)} s${ratio}${target ? `  target: ${target}` : ''}`);
}

function peakRssMb(args, cwd) {
  if (!existsSync('/usr/bin/time')) return null;
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, DWS, '--batch', ...args], { cwd, env, encoding: 'utf8' });
  const kb = Number(r.stderr.trim().split('\n').pop());
  return Number.isFinite(kb) ? kb / 1024 : null;
}

/** A workspace whose local-files resource `data` is the folder `data` inside it. */
function workspace(name, fill) {
  const ws = join(root, name);
  mkdirSync(join(ws, 'data'), { recursive: true });
  fill(join(ws, 'data'));
  dws(ws, ['init', '--hostname', 'bench']);
  dws(ws, ['add', 'local-files', '--role', 'source-data', '--compute-hash', '--name', 'data', 'data']);
  return ws;
}

function smallFiles(dir) {
  for (let d = 0; d < DIRS; d++) {
    const sub = join(dir, `d${String(d).padStart(4, '0')}`);
    mkdirSync(sub, { recursive: true });
    const buf = randomBytes(1024 * Math.ceil(FILES / DIRS));
    for (let f = 0; f < FILES / DIRS; f++) writeFileSync(join(sub, `f${f}.bin`), buf.subarray(f * 1024, (f + 1) * 1024));
  }
}

/** 1% of the files modified, 1% deleted, 1% added. */
function change(dir, round) {
  const n = Math.max(1, Math.floor(FILES / 100));
  for (let i = 0; i < n; i++) {
    const d = `d${String(i % DIRS).padStart(4, '0')}`;
    const k = Math.floor(i / DIRS);
    appendFileSync(join(dir, d, `f${k}.bin`), `m${round}`);
    rmSync(join(dir, d, `f${k + 50}.bin`), { force: true });
    writeFileSync(join(dir, d, `new${round}-${k}.bin`), randomBytes(1024));
  }
}

console.log(`load average: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\ncontent store benchmarks: ${RUNS} runs each, medians; ${FILES} files of 1 KB in ${DIRS} dirs; ${BIG_FILES} x ${BIG_MB} MB\n`);

const fullTimes = []; // full restores, the floor of clone + materialize
if (small) {
  // --- first snapshot, with and without the store (alternating, so drift hits both alike)
  const source = join(root, 'source');
  console.log(`generating ${FILES} files...`);
  smallFiles(source);
  const copyInto = (dir) => cpSync(source, dir, { recursive: true });
  const ws = join(root, `on${RUNS - 1}`);
  const data = join(ws, 'data');
  if (restoreOnly) dws(workspace(`on${RUNS - 1}`, copyInto), ['snapshot']);
  else {
    const without = [];
    const withStore = median(runs(RUNS, (i) => {
      without.push(dws(workspace(`off${i}`, copyInto), ['snapshot'], noStore));
      return dws(workspace(`on${i}`, copyInto), ['snapshot']);
    }));
    report(`first snapshot with the store, ${FILES} x 1 KB`, withStore, 'same without the store', median(without), '<= 1.3x');

    const wsOff = join(root, `off${RUNS - 1}`);
    report('no-change snapshot with the store', median(runs(RUNS, (i) => dws(ws, ['snapshot', `nc${i}`]))), 'same without the store', median(runs(RUNS, (i) => dws(wsOff, ['snapshot', `nc${i}`], noStore))), '<= 1.0 s');
    report('one-file-changed snapshot with the store', median(runs(RUNS, (i) => {
      appendFileSync(join(data, 'd0000', `f${i}.bin`), 'x');
      return dws(ws, ['snapshot']);
    })), 'same without the store', median(runs(RUNS, (i) => {
      appendFileSync(join(wsOff, 'data', 'd0000', `f${i}.bin`), 'x');
      return dws(wsOff, ['snapshot'], noStore);
    })), '<= 1.1 s');
    report('status with changes of the data (100k walk)', median(runs(RUNS, () => dws(ws, ['status']))), null, null);
  }

  // --- restore after 1% modified/deleted/added, against git restore of the same change
  dws(ws, ['snapshot', 'base']);
  const gitRepo = join(root, 'gitrepo');
  cpSync(data, gitRepo, { recursive: true });
  sh('git init -q && git add -A && git commit -qm v1 && git tag v1', gitRepo);
  const restoreTimes = [];
  const gitTimes = [];
  for (let i = 0; i < RUNS; i++) {
    change(data, i);
    change(gitRepo, i);
    dws(ws, ['snapshot', `changed${i}`]);
    sh('git add -A && git commit -qm changed', gitRepo);
    restoreTimes.push(dwsCpu(ws, ['restore', 'base'], '1% restore'));
    gitTimes.push(sh('git restore --source=v1 --staged --worktree -- .', gitRepo));
    sh('git commit -qm back --allow-empty', gitRepo);
  }
  report('restore after 1% modified/deleted/added', median(restoreTimes), 'git restore --source=v1', median(gitTimes), '<= 1.0x git');
  reportCpu('1% restore');

  // --- full restore into an empty folder, against cp -r of the tree
  const cpTimes = [];
  for (let i = 0; i < RUNS; i++) {
    rmSync(data, { recursive: true, force: true });
    fullTimes.push(dwsCpu(ws, ['restore', 'base'], 'full restore'));
    cpTimes.push(sh(`cp -r ${JSON.stringify(data)} ${JSON.stringify(join(root, `cp${i}`))}`));
  }
  report('full restore into an empty folder', median(fullTimes), 'cp -r of the tree', median(cpTimes), '<= 1.2x cp -r');
  reportCpu('full restore');
}

if (small && !restoreOnly) {
  const ws = join(root, `on${RUNS - 1}`);
  const data = join(ws, 'data');
  const copyInto = (dir) => cpSync(join(root, 'source'), dir, { recursive: true });

  // --- push to a local rclone remote, against rclone copy of one file of the same total size
  const conf = join(root, 'rclone.conf');
  writeFileSync(conf, '[loc]\ntype = local\n');
  const renv = { ...env, RCLONE_CONFIG: conf };
  const origin = join(root, 'origin.git');
  sh(`git init -q --bare ${JSON.stringify(origin)}`);
  sh(`git remote add origin ${JSON.stringify(origin)}`, ws);
  const one = join(root, 'one-file');
  mkdirSync(one);
  sh(`head -c ${FILES * 1024} /dev/urandom > ${JSON.stringify(join(one, 'all.bin'))}`);
  const pushTimes = [];
  const copyTimes = [];
  for (let i = 0; i < RUNS; i++) {
    const remote = `loc:${join(root, `remote${i}`)}`;
    dws(ws, ['config', 'store.remote', remote], renv);
    pushTimes.push(dws(ws, ['push'], renv));
    copyTimes.push(time('rclone', ['copy', one, `loc:${join(root, `onecopy${i}`)}`], root, renv));
  }
  report(`push of the store (${FILES} small objects) to a local rclone remote`, median(pushTimes), 'rclone copy of one file of the same size', median(copyTimes), '<= 2x');

  // --- clone + materialize, against a full restore
  const cloneTimes = [];
  for (let i = 0; i < RUNS; i++) {
    const away = `${ws}-away`;
    sh(`mv ${JSON.stringify(ws)} ${JSON.stringify(away)}`); // "another machine": the original folder is not there
    try {
      cloneTimes.push(dws(root, ['clone', origin, join(root, `clone${i}`)], renv));
    } finally {
      rmSync(join(root, `clone${i}`), { recursive: true, force: true });
      rmSync(data, { recursive: true, force: true });
      sh(`mv ${JSON.stringify(away)} ${JSON.stringify(ws)}`);
    }
  }
  report('clone + materialize', median(cloneTimes), 'full restore', median(fullTimes), '<= 1.5x full restore');

  const rss = peakRssMb(['snapshot'], workspace('rss', copyInto));
  if (rss !== null) console.log(`peak RSS, first snapshot of ${FILES} files with the store: ${rss.toFixed(0)} MB  target: <= 300 MB`);
}

if (big) {
  // --- 20 x 50 MB
  const bigSource = join(root, 'big');
  mkdirSync(bigSource);
  const chunk = randomBytes(BIG_MB << 20);
  for (let i = 0; i < BIG_FILES; i++) {
    chunk[0] = i;
    writeFileSync(join(bigSource, `big${i}.bin`), chunk);
  }
  const copyBig = (dir) => cpSync(bigSource, dir, { recursive: true });
  const bigWithout = [];
  const bigWith = median(runs(RUNS, (i) => {
    bigWithout.push(dws(workspace(`bigoff${i}`, copyBig), ['snapshot'], noStore));
    return dws(workspace(`bigon${i}`, copyBig), ['snapshot']);
  }));
  report(`first snapshot with the store, ${BIG_FILES} x ${BIG_MB} MB`, bigWith, 'same without the store', median(bigWithout), '<= 1.3x');
  const bigRss = peakRssMb(['snapshot'], workspace('bigrss', copyBig));
  if (bigRss !== null) console.log(`peak RSS, first snapshot of ${BIG_FILES} x ${BIG_MB} MB with the store: ${bigRss.toFixed(0)} MB  target: <= 300 MB`);
}

console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('\n| what | dws (s) | floor | floor (s) | ratio | target |\n|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.what} | ${r.seconds.toFixed(3)} | ${r.floorName ?? ''} | ${r.floor?.toFixed(3) ?? ''} | ${r.floor ? (r.seconds / r.floor).toFixed(2) + 'x' : ''} | ${r.target ?? ''} |`);
}
