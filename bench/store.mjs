// Benchmarks of the content store (issue 11): each case next to its floor, measured in the same
// run on the same data. Figures only: nothing here asserts a time.
//
//   npm run bench:store
//   BENCH_RUNS=3 BENCH_FILES=10000 npm run bench:store
//   BENCH_ONLY=big npm run bench:store      (only the 20 x 50 MB case; BENCH_ONLY=small: the others;
//                                            BENCH_ONLY=push: only the pushes of the 100k small files;
//                                            BENCH_ONLY=restore: only the two restores, with CPU times;
//                                            BENCH_ONLY=clone: only clones, alternating with full restores;
//                                            BENCH_SETTLE_S=370: the wait before the full restores)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchRoot, DWS, env, median } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FILES = Number(process.env.BENCH_FILES ?? 100_000);
const DIRS = Math.max(1, Math.round(FILES / 100));
const BIG_FILES = Number(process.env.BENCH_BIG_FILES ?? 20);
const BIG_MB = 50;
/** Seconds between the last mass deletion and the full restores (see restoreCases). */
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 370);
const root = benchRoot('store');
const noStore = { ...env, DWS_CONTENT_STORE: 'off' };
const ONLY = process.env.BENCH_ONLY ?? '';
const small = ONLY === '' || ONLY === 'small';
const big = ONLY === '' || ONLY === 'big';
const pushOnly = ONLY === 'push';
const restoreOnly = ONLY === 'restore';
const cloneOnly = ONLY === 'clone';

function time(cmd, args, cwd = root, withEnv = env) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env: withEnv, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return s;
}
const sh = (script, cwd = root) => time('bash', ['-c', script], cwd);

/** Wall and CPU seconds (user + sys, children included: rclone under dws) of a command. */
function timeCpu(cmd, args, cwd, withEnv) {
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', cmd, ...args], { cwd, env: withEnv, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [, user, sys] = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr) ?? [];
  return { wall: elapsed, cpu: Number(user) + Number(sys) };
}
const dws = (cwd, args, withEnv = env) => time(process.execPath, [DWS, '--batch', ...args], cwd, withEnv);
const dwsCpu = (cwd, args, withEnv = env) => timeCpu(process.execPath, [DWS, '--batch', ...args], cwd, withEnv);
/** Medians of timeCpu results. */
const wall = (xs) => median(xs.map((x) => x.wall));
const cpu = (xs) => median(xs.map((x) => x.cpu));
const runs = (n, f) => Array.from({ length: n }, (_, i) => f(i));

const rows = [];
function report(what, seconds, floorName, floor, target) {
  rows.push({ what, seconds, floorName, floor, target });
  const ratio = floor ? ` (${(seconds / floor).toFixed(2)}x ${floorName} ${floor.toFixed(3)} s)` : '';
  console.log(`${what}: ${seconds.toFixed(3)} s${ratio}${target ? `  target: ${target}` : ''}`);
}

/**
 * Seconds until the store's trash is empty: a restore sets the files it replaces or removes aside
 * there and an `rm` of its own frees them after it returns. Waited for before the next timed
 * command, which that `rm` would otherwise slow down.
 */
function trashEmptied(ws) {
  const trash = join(ws, '.git', 'dws', 'store', 'trash');
  const t = process.hrtime.bigint();
  while (existsSync(trash) && readdirSync(trash).length > 0) spawnSync('sleep', ['0.01']);
  return Number(process.hrtime.bigint() - t) / 1e9;
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

/**
 * Push of the store to a local rclone remote: a first push (a new remote each run), against
 * `rclone copy` of one file of the same total size, wall and CPU; then a push with nothing new,
 * against `git push` with nothing to send. Returns the origin and the environment for the clone.
 */
function pushCases(ws) {
  const conf = join(root, 'rclone.conf');
  writeFileSync(conf, '[loc]\ntype = local\n');
  const renv = { ...env, RCLONE_CONFIG: conf };
  const origin = join(root, 'origin.git');
  sh(`git init -q --bare ${JSON.stringify(origin)}`);
  sh(`git remote add origin ${JSON.stringify(origin)}`, ws);
  const one = join(root, 'one-file');
  mkdirSync(one);
  sh(`head -c ${FILES * 1024} /dev/urandom > ${JSON.stringify(join(one, 'all.bin'))}`);
  const pushes = [];
  const copies = [];
  for (let i = 0; i < RUNS; i++) {
    dws(ws, ['config', 'store.remote', `loc:${join(root, `remote${i}`)}`], renv);
    pushes.push(dwsCpu(ws, ['push'], renv));
    copies.push(timeCpu('rclone', ['copy', one, `loc:${join(root, `onecopy${i}`)}`], root, renv));
  }
  report(`push of the store (${FILES} small objects) to a local rclone remote`, wall(pushes), 'rclone copy of one file of the same size', wall(copies), '<= 2x');
  report('  the same, CPU (user + sys)', cpu(pushes), 'rclone copy of one file, CPU', cpu(copies), '<= 2x');
  const nothingNew = [];
  const gitPush = [];
  for (let i = 0; i < RUNS; i++) {
    nothingNew.push(dwsCpu(ws, ['push'], renv));
    gitPush.push(timeCpu('git', ['push', '--quiet', 'origin', 'HEAD'], ws, env));
  }
  report('push with nothing new', wall(nothingNew), 'git push with nothing to send', wall(gitPush), null);
  report('  the same, CPU (user + sys)', cpu(nothingNew), 'git push, CPU', cpu(gitPush), null);
  return { origin, renv };
}

/**
 * The restores of the snapshot 'base' of `ws` (whose resource `data` it changes): after 1% of the
 * files modified, deleted and added, against `git restore` of the same change; then into an empty
 * folder, against `cp -r`; wall and CPU. Returns the full restores' wall times.
 */
function restoreCases(ws) {
  const data = join(ws, 'data');
  dws(ws, ['snapshot', 'base']);
  // --- restore after 1% modified/deleted/added, against git restore of the same change
  const gitRepo = join(root, 'gitrepo');
  cpSync(data, gitRepo, { recursive: true });
  sh('git init -q && git add -A && git commit -qm v1 && git tag v1', gitRepo);
  const restoreTimes = [];
  const freeTimes = [];
  const gitTimes = [];
  for (let i = 0; i < RUNS; i++) {
    change(data, i);
    change(gitRepo, i);
    dws(ws, ['snapshot', `changed${i}`]);
    sh('git add -A && git commit -qm changed', gitRepo);
    // Each timed command starts with nothing left to write back: the set-up just wrote thousands
    // of files (and git its objects), and their writeback would slow whichever command ran first.
    sh('sync');
    restoreTimes.push(dwsCpu(ws, ['restore', 'base']));
    freeTimes.push(trashEmptied(ws));
    sh('sync');
    gitTimes.push(sh('git restore --source=v1 --staged --worktree -- .', gitRepo));
    sh('git commit -qm back --allow-empty', gitRepo);
  }
  report('restore after 1% modified/deleted/added', wall(restoreTimes), 'git restore --source=v1', median(gitTimes), '<= 1.0x git');
  report('  the same, CPU (user + sys)', cpu(restoreTimes), null, null, null);
  report('  then the files it replaced or removed freed by its rm (after it returned)', median(freeTimes), null, null, null);

  // --- full restore into an empty folder, against cp -r of the tree
  // On this machine kind's journal-less ext4 the inode allocator steps over every inode freed in
  // the last 60 s (6 min while its inode table block is unwritten) one by one, so creating files
  // in a block group where thousands were just deleted is quadratic: a full restore or `cp -r` of
  // 20,000 files right after `rm -rf` of as many took 4-12 s instead of 0.6-0.8 s (perf:
  // recently_deleted and find_get_block 50-70% of the CPU). So the runs start BENCH_SETTLE_S
  // after the last deletion (the 1% restores above; an inode table block being written keeps its
  // freed inodes "recent" for 6 minutes), nothing is deleted while they run (trees are moved
  // away), and cp -r writes into the same folder as dws (files go to their folder's group).
  console.log(`waiting ${SETTLE_S} s for the file system to settle after the deletions (BENCH_SETTLE_S)...`);
  sh(`sync && sleep ${SETTLE_S}`);
  const fullTimes = [];
  const cpTimes = [];
  for (let i = 0; i < RUNS; i++) {
    const before = join(root, `restore-old${i}`);
    renameSync(data, before);
    sh('sync');
    fullTimes.push(dwsCpu(ws, ['restore', 'base']));
    renameSync(data, join(root, `restore-dws${i}`));
    sh('sync');
    cpTimes.push(sh(`cp -r ${JSON.stringify(before)} ${JSON.stringify(data)}`));
  }
  report('full restore into an empty folder', wall(fullTimes), 'cp -r of the tree', median(cpTimes), '<= 1.2x cp -r');
  report('  the same, CPU (user + sys)', cpu(fullTimes), null, null, null);
  return fullTimes.map((x) => x.wall);
}

/** Seconds of a clone of `origin` (the workspace `ws` pushed), made while `ws` is moved away. */
function timeClone(ws, origin, renv, i) {
  const away = `${ws}-away`;
  sh(`mv ${JSON.stringify(ws)} ${JSON.stringify(away)}`); // "another machine": the original folder is not there
  try {
    sh('sync');
    // Each clone is kept until the end: deleting 100,000 files would slow the next one's file
    // creation (see the full restores).
    return dws(root, ['clone', origin, join(root, `clone${i}`)], renv);
  } finally {
    sh(`mv ${JSON.stringify(away)} ${JSON.stringify(ws)}`);
  }
}

const source = join(root, 'source');
const copyInto = (dir) => cpSync(source, dir, { recursive: true });
if (small || pushOnly || restoreOnly || cloneOnly) {
  console.log(`generating ${FILES} files...`);
  smallFiles(source);
}

if (restoreOnly) restoreCases(workspace('restore', copyInto));

if (cloneOnly) {
  // Full restores and clones alternate, after the file system settled (see restoreCases).
  const ws = workspace('clone', copyInto);
  dws(ws, ['snapshot', 'base']);
  const { origin, renv } = pushCases(ws);
  console.log(`waiting ${SETTLE_S} s for the file system to settle (BENCH_SETTLE_S)...`);
  sh(`sync && sleep ${SETTLE_S}`);
  const fullTimes = [];
  const cloneTimes = [];
  for (let i = 0; i < RUNS; i++) {
    renameSync(join(ws, 'data'), join(root, `clone-restore-old${i}`));
    sh('sync');
    fullTimes.push(dws(ws, ['restore', 'base']));
    cloneTimes.push(timeClone(ws, origin, renv, i));
  }
  report('full restore into an empty folder', median(fullTimes), null, null, null);
  report('clone + materialize', median(cloneTimes), 'full restore', median(fullTimes), '<= 1.5x full restore');
}

if (pushOnly) {
  const ws = workspace('push', copyInto);
  dws(ws, ['snapshot', 'base']);
  pushCases(ws);
}

if (small) {
  // --- first snapshot, with and without the store (alternating, so drift hits both alike)
  const without = [];
  // Both workspaces made first and synced: the copy's writeback would otherwise compete with the
  // store's writes and fsyncs, which the snapshot without the store does not make.
  const synced = (ws) => (sh('sync'), ws);
  const withStore = median(runs(RUNS, (i) => {
    const off = workspace(`off${i}`, copyInto);
    const on = workspace(`on${i}`, copyInto);
    without.push(dws(synced(off), ['snapshot'], noStore));
    return dws(synced(on), ['snapshot']);
  }));
  report(`first snapshot with the store, ${FILES} x 1 KB`, withStore, 'same without the store', median(without), '<= 1.3x');

  const ws = join(root, `on${RUNS - 1}`);
  const data = join(ws, 'data');
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

  const fullTimes = restoreCases(ws);

  // --- push to a local rclone remote
  const { origin, renv } = pushCases(ws);

  // --- clone + materialize, against a full restore
  const cloneTimes = runs(RUNS, (i) => timeClone(ws, origin, renv, i));
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
  // The store must write a durable copy of the bytes, which a snapshot without it does not: the
  // floors are `cp -r` of the tree and the same copy made durable (fdatasync of every file).
  const bigWithout = [];
  const cpBig = [];
  const cpSyncBig = [];
  // Each case starts with nothing left to write back (`sync`): the 1 GB copied into a workspace just
  // before would otherwise be written to disk during the case that follows it, and slow its writes.
  const synced = (ws) => (sh('sync'), ws);
  const bigWith = median(runs(RUNS, (i) => {
    bigWithout.push(dws(synced(workspace(`bigoff${i}`, copyBig)), ['snapshot'], noStore));
    rmSync(join(root, `bigoff${i}`), { recursive: true, force: true });
    const q = (n) => JSON.stringify(join(root, n));
    sh('sync');
    cpBig.push(sh(`cp -r ${q('big')} ${q(`bigcp${i}`)}`));
    rmSync(join(root, `bigcp${i}`), { recursive: true, force: true });
    sh('sync');
    cpSyncBig.push(sh(`cp -r ${q('big')} ${q(`bigcps${i}`)} && sync --data ${q(`bigcps${i}`)}/*`));
    rmSync(join(root, `bigcps${i}`), { recursive: true, force: true });
    const seconds = dws(synced(workspace(`bigon${i}`, copyBig)), ['snapshot']);
    rmSync(join(root, `bigon${i}`), { recursive: true, force: true });
    return seconds;
  }));
  const what = `first snapshot with the store, ${BIG_FILES} x ${BIG_MB} MB`;
  report(what, bigWith, 'same without the store', median(bigWithout), '<= 1.3x');
  report(what, bigWith, 'cp -r of the tree', median(cpBig), null);
  report(what, bigWith, 'cp -r + fdatasync of every file', median(cpSyncBig), null);
  const bigRss = peakRssMb(['snapshot'], workspace('bigrss', copyBig));
  if (bigRss !== null) console.log(`peak RSS, first snapshot of ${BIG_FILES} x ${BIG_MB} MB with the store: ${bigRss.toFixed(0)} MB  target: <= 300 MB`);
}

console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('\n| what | dws (s) | floor | floor (s) | ratio | target |\n|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.what} | ${r.seconds.toFixed(3)} | ${r.floorName ?? ''} | ${r.floor?.toFixed(3) ?? ''} | ${r.floor ? (r.seconds / r.floor).toFixed(2) + 'x' : ''} | ${r.target ?? ''} |`);
}
