// Benchmarks of the pipeline runner (issue 6 "Acceptance"): its own overhead per step next to
// the floor of spawning `node -e 0`, and 20 independent no-op steps with --jobs 2 against
// --jobs 1, both for the whole process and for the steps phase alone (the run's own `stepsMs`:
// first step started to last step finished, lineage written). Medians of several runs; figures
// only, nothing asserted.
//
//   npm run bench:runner            BENCH_RUNS=3 npm run bench:runner
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
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
const dws = (...args) => time(process.execPath, [DWS, ...args]);

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
