// Benchmarks of the pipeline runner (issue 6 "Acceptance"): its own overhead per step next to
// the floor of spawning `node -e 0`, and 20 independent no-op steps with --jobs 2 against
// --jobs 1, both for the whole process and for the steps phase alone (the run's own `stepsMs`:
// first step started to last step finished, lineage written). Issue 12 item 7: a run that skips
// one step reading BENCH_FILES small files against a no-change snapshot of them, and the run
// cache's restore of a 100 MB output against `cp` of it. Medians of several runs; figures only,
// nothing asserted.
//
//   npm run bench:runner            BENCH_RUNS=3 npm run bench:runner
//   BENCH_ONLY=cache npm run bench:runner     only the issue 12 cases (BENCH_FILES=100000, BENCH_MB=100)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { benchRoot, DWS, env, median } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const N = Number(process.env.BENCH_STEPS ?? 20);

const root = benchRoot('runner');

/** Wall time of a process, ms, and its stdout. */
function spawnTimed(cmd, args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, stdout: r.stdout.toString() };
}

const time = (cmd, args) => spawnTimed(cmd, args).ms;
const ONLY = process.env.BENCH_ONLY ?? '';
const dws = (...args) => time(process.execPath, [DWS, ...args]);

if (ONLY !== 'cache') runnerOverhead();
if (ONLY === '' || ONLY === 'cache') runCache();

function runnerOverhead() {
  time(process.execPath, [DWS, '--batch', 'init', '--hostname', 'bench', '--create-resources', 'code,intermediate-data']);
  const noop = (name) => `import { defineStep } from 'dataworkspaces';\nexport const ${name} = defineStep({ name: '${name}', run() {} });\n`;
  mkdirSync(join(root, 'code', 'one'));
  writeFileSync(join(root, 'code', 'one', 'noop.step.mjs'), noop('noop'));
  mkdirSync(join(root, 'code', 'many'));
  for (let i = 0; i < N; i++) writeFileSync(join(root, 'code', 'many', `s${i}.step.mjs`), noop(`s${i}`));
  // Steps that wait 100 ms each (I/O-bound work): what --jobs buys when steps take time.
  mkdirSync(join(root, 'code', 'wait'));
  for (let i = 0; i < N; i++) {
    writeFileSync(join(root, 'code', 'wait', `w${i}.step.mjs`), `import { defineStep } from 'dataworkspaces';\nexport const w${i} = defineStep({ name: 'w${i}', run: () => new Promise((r) => setTimeout(r, 100)) });\n`);
}
const run = (dir, jobs) => dws('run', `code/${dir}`, '--force', '--no-snapshot', '--jobs', String(jobs));
// The same run with --json (no progress lines): the whole process, and the steps phase as the run timed it.
const runJson = (dir, jobs) => {
  const r = spawnTimed(process.execPath, [DWS, '--json', 'run', `code/${dir}`, '--force', '--no-snapshot', '--jobs', String(jobs)]);
  return { ms: r.ms, steps: JSON.parse(r.stdout).stepsMs };
};

const floor = [], one = [], seq = [], par = [], wseq = [], wpar = [], jseq = [], jpar = [];
for (let i = 0; i < RUNS; i++) {
  floor.push(time(process.execPath, ['-e', '0']));
  one.push(run('one', 1));
  seq.push(run('many', 1));
  par.push(run('many', 2));
  jseq.push(runJson('many', 1));
  jpar.push(runJson('many', 2));
  wseq.push(run('wait', 1));
  wpar.push(run('wait', 2));
}
const f = median(floor), o = median(one), s = median(seq), p = median(par);
const ss = median(jseq.map((r) => r.steps)), sp = median(jpar.map((r) => r.steps));
const perStep = (s - o) / (N - 1);
const line = (what, ms, note) => console.log(`${what.padEnd(58)} ${ms.toFixed(1).padStart(8)} ms  ${note}`);
console.log(`dws run benchmarks: medians of ${RUNS} runs, ${N} no-op steps, --force --no-snapshot\n`);
line('floor: spawn `node -e 0`', f, '');
line('`dws run` of one no-op step (whole process)', o, `${(o - f).toFixed(1)} ms over the floor`);
line(`runner overhead per step (${N} steps, --jobs 1, (T${N}-T1)/${N - 1})`, perStep, `target: within 50 ms of the floor: ${perStep <= 50 ? 'met' : 'NOT met'}`);
line(`${N} independent no-op steps, --jobs 1`, s, '');
line(`${N} independent no-op steps, --jobs 2`, p, `${((100 * p) / s).toFixed(0)}% of sequential; target < 60%: ${p < 0.6 * s ? 'met' : 'NOT met'}`);
line(`  steps phase (run's stepsMs, --json), --jobs 1`, ss, `whole process ${median(jseq.map((r) => r.ms)).toFixed(1)} ms`);
line(`  steps phase (run's stepsMs, --json), --jobs 2`, sp, `${((100 * sp) / ss).toFixed(0)}% of sequential; target < 60%: ${sp < 0.6 * ss ? 'met' : 'NOT met'}`);
line(`${N} independent 100 ms steps, --jobs 1`, median(wseq), '');
line(`${N} independent 100 ms steps, --jobs 2`, median(wpar), `${((100 * median(wpar)) / median(wseq)).toFixed(0)}% of sequential`);
}

/**
 * Issue 12 item 7, in a workspace of its own: local-files resources `data` (BENCH_FILES files of
 * 1 KB in 100 folders) and `out`, and two command steps: `count` reads all of data, `big` writes a
 * BENCH_MB MB file (its content depends on the param `v`).
 */
function runCache() {
  const FILES = Number(process.env.BENCH_FILES ?? 100_000);
  const MB = Number(process.env.BENCH_MB ?? 100);
  const ws = join(root, 'cache');
  mkdirSync(join(ws, 'data'), { recursive: true });
  mkdirSync(join(ws, 'out'), { recursive: true });
  const per = Math.ceil(FILES / 100);
  for (let d = 0; d < 100; d++) {
    const sub = join(ws, 'data', `d${String(d).padStart(3, '0')}`);
    mkdirSync(sub);
    const buf = randomBytes(1024 * per);
    for (let f = 0; f < per && d * per + f < FILES; f++) writeFileSync(join(sub, `f${f}.bin`), buf.subarray(f * 1024, (f + 1) * 1024));
  }
  writeFileSync(join(ws, 'count.mjs'), "import { readdirSync, writeFileSync } from 'node:fs';\nconst o = JSON.parse(process.env.DWS_OUTPUTS)['out:/count.txt'];\nwriteFileSync(o, String(readdirSync('data', { recursive: true }).length));\n");
  writeFileSync(join(ws, 'big.mjs'), `import { mkdirSync, writeFileSync } from 'node:fs';\nimport { createHash } from 'node:crypto';\nconst o = JSON.parse(process.env.DWS_OUTPUTS)['out:/big'];\nconst v = JSON.parse(process.env.DWS_PARAMS).v;\nconst seed = createHash('sha256').update(String(v)).digest();\nconst block = Buffer.alloc(1 << 20);\nfor (let i = 0; i < block.length; i += 32) seed.copy(block, i);\nmkdirSync(o, { recursive: true });\nconst parts = [];\nfor (let i = 0; i < ${MB}; i++) { block.writeUInt32LE(i, 0); parts.push(Buffer.from(block)); }\nwriteFileSync(o + '/big.bin', Buffer.concat(parts));\n`);
  const at = (args) => spawnTimedIn(ws, process.execPath, [DWS, '--batch', ...args]);
  at(['init', '--hostname', 'bench']);
  at(['add', 'local-files', '--role', 'source-data', '--name', 'data', 'data']);
  at(['add', 'local-files', '--role', 'intermediate-data', '--name', 'out', 'out']);
  const count = ['run', '--name', 'count', '--in', 'data', '--out', 'out:/count.txt', '--', process.execPath, 'count.mjs'];
  const big = (v) => ['--json', 'run', '--name', 'big', '--out', 'out:/big', '--param', `v=${v}`, '--no-snapshot', '--', process.execPath, 'big.mjs'];
  at(count); // first run: hashes everything, snapshot
  at(count); // the stat cache of the fingerprint is now warm
  const snap = [], skip = [], floor = [];
  for (let i = 0; i < RUNS; i++) {
    floor.push(spawnTimedIn(ws, process.execPath, ['-e', '0']).ms);
    snap.push(spawnTimedIn(ws, process.execPath, [DWS, '--batch', 'snapshot'], [0, 1]).ms); // "No differences": exit 1 after hashing all
    skip.push(at(count).ms);
  }
  // The write observer's memory: peak RSS of a forced run of `count` watching the files, and without watching.
  const forced = [...count.slice(0, 1), '--force', '--no-snapshot', ...count.slice(1)];
  const rssObserved = peakRssMb(ws, forced);
  const rssUnobserved = peakRssMb(ws, [...forced.slice(0, 3), '--no-observe', ...forced.slice(3)]);
  // The run cache: v=1 and v=2 run once each; then each run restores the other's output.
  at(big(1));
  at(big(2));
  // Warm-up, untimed, as for the stat cache above: the first restore of each entry checks its
  // large object's SHA-1 once (<store>/verified-large) and asks git once which snapshot took the
  // entry; these two restores ran in the timed five before, and made their median the slowest warm one.
  at(big(1));
  at(big(2));
  const restore = [], restoreSteps = [], cp = [], cpOnto = [];
  // The second floor: `cp` onto an existing file of that size, the state the restore faces (freeing the replaced file's blocks included).
  const onto = join(root, 'cp-onto.bin');
  copyFileSync(join(ws, 'out', 'big', 'big.bin'), onto);
  // A `sync` before each timed command: what one command left to write back (the copy onto an
  // existing file starts writing its 100 MB back at once) must not be paid by the next one.
  const sync = () => spawnSync('sync');
  for (let i = 0; i < RUNS; i++) {
    sync();
    const r = at(big(i % 2 === 0 ? 1 : 2));
    const res = JSON.parse(r.stdout);
    if (res.steps[0].status !== 'restored') throw new Error(`expected a restore, got ${JSON.stringify(res.steps[0])}`);
    restore.push(r.ms);
    restoreSteps.push(res.stepsMs);
    const dest = join(root, 'cp-copy.bin');
    rmSync(dest, { force: true });
    sync();
    cp.push(spawnTimedIn(ws, 'cp', [join(ws, 'out', 'big', 'big.bin'), dest]).ms);
    sync();
    cpOnto.push(spawnTimedIn(ws, 'cp', [join(ws, 'out', 'big', 'big.bin'), onto]).ms);
  }
  const line = (what, ms, note) => console.log(`${what.padEnd(66)} ${ms.toFixed(1).padStart(8)} ms  ${note}`);
  const s = median(snap), k = median(skip), f = median(floor);
  console.log(`\nrun cache and fingerprints (issue 12 item 7): medians of ${RUNS} runs, ${FILES} files of 1 KB, a ${MB} MB output`);
  console.log(`load average when done: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (compare ratios taken in the same run)\n`);
  line('floor: spawn `node -e 0`', f, '');
  line(`no-change \`dws snapshot\` of ${FILES} files`, s, '');
  line(`\`dws run\` that skips one step reading them`, k, `${(k / s).toFixed(2)}x the snapshot; target <= 1.5x: ${k <= 1.5 * s ? 'met' : 'NOT met'}`);
  if (rssObserved !== null) console.log(`${'peak RSS of a forced run of that step, observing writes'.padEnd(66)} ${rssObserved.toFixed(1).padStart(8)} MB  with --no-observe: ${rssUnobserved.toFixed(1)} MB`);
  line(`\`cp\` of the ${MB} MB output into a new file`, median(cp), '');
  line(`\`cp\` of it onto an existing file of that size`, median(cpOnto), '');
  line(`run-cache restore of it: steps phase (run's stepsMs)`, median(restoreSteps), `${(median(restoreSteps) / median(cp)).toFixed(2)}x cp, ${(median(restoreSteps) / median(cpOnto)).toFixed(2)}x cp onto a file; target <= 1.2x: ${median(restoreSteps) <= 1.2 * median(cp) ? 'met' : 'NOT met'}`);
  line(`run-cache restore of it: whole \`dws run\` process`, median(restore), `${(median(restore) / median(cp)).toFixed(2)}x cp, ${(median(restore) / median(cpOnto)).toFixed(2)}x cp onto a file (start-up, loading the workspace, the cache record and emptying the trash included)`);
}

/** Peak RSS (MB) of `dws --batch ...args` in `cwd`, by /usr/bin/time; null without it. */
function peakRssMb(cwd, args) {
  if (!existsSync('/usr/bin/time')) return null;
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, DWS, '--batch', ...args], { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dws ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return Number(r.stderr.trim().split('\n').pop()) / 1024;
}

/** spawnTimed in another directory; `okCodes`: exit codes taken as success. */
function spawnTimedIn(cwd, cmd, args, okCodes = [0]) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (!okCodes.includes(r.status)) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, stdout: r.stdout.toString() };
}
