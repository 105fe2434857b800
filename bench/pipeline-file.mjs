// The pipeline file at scale (issue 12 "Speed"): 20 command steps declared in dws.yaml — 10
// independent, 10 each reading one of those — run by `dws run --jobs 2 --no-snapshot`, next to
// Snakemake 7 (`snakemake --cores 2`, Debian's `apt-get install snakemake`) on the same commands
// and files, each in its own copy, in the same run: a full run (every step forced), a no-change
// rerun, and a rerun after one input changed (two steps rerun). Medians of several runs, and
// the floor of spawning `node -e 0`; figures only, nothing asserted. Without snakemake on PATH
// only dws is measured.
//
//   npm run build && node bench/pipeline-file.mjs          BENCH_RUNS=3 node bench/pipeline-file.mjs
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchRoot, DWS, env, median } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const N = 10;
const root = benchRoot('pipeline-file');

const onPath = (name) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
// CPU time (user + sys of the process and its children, by /usr/bin/time) is steadier than wall time on a busy machine.
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const cpu = [];

/** Wall time in ms; the CPU time (ms) goes to `cpu` when /usr/bin/time is there. */
function timed(cwd, cmd, args) {
  const t = process.hrtime.bigint();
  const r = TIME ? spawnSync(TIME, ['-f', 'CPU %U %S', cmd, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }) : spawnSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const m = TIME ? /CPU ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr.toString()) : null;
  cpu.push(m ? 1000 * (Number(m[1]) + Number(m[2])) : NaN);
  return ms;
}
/** `timed`, returning { ms, cpu }. */
function timedCpu(cwd, cmd, args) {
  const ms = timed(cwd, cmd, args);
  return { ms, cpu: cpu.at(-1) };
}

// The same shell commands for both tools: a{i} upper-cases input i, b{i} counts a{i}'s bytes.
const upper = (i) => `tr a-z A-Z < source-data/i${i}.txt > intermediate-data/a${i}.txt`;
const count = (i) => `wc -c < intermediate-data/a${i}.txt > intermediate-data/b${i}.txt`;

function inputs(dir) {
  mkdirSync(join(dir, 'source-data'), { recursive: true });
  mkdirSync(join(dir, 'intermediate-data'), { recursive: true });
  for (let i = 0; i < N; i++) writeFileSync(join(dir, 'source-data', `i${i}.txt`), `input ${i}\n`.repeat(100));
}

const dwsDir = join(root, 'dws');
mkdirSync(dwsDir);
timed(dwsDir, process.execPath, [DWS, '--batch', 'init', '--hostname', 'bench', '--create-resources', 'source-data,intermediate-data']);
inputs(dwsDir);
const steps = [];
for (let i = 0; i < N; i++) {
  steps.push(`  - name: a${i}\n    command: ${upper(i)}\n    inputs: [source-data:/i${i}.txt]\n    outputs: [intermediate-data:/a${i}.txt]`);
  steps.push(`  - name: b${i}\n    command: ${count(i)}\n    inputs: [intermediate-data:/a${i}.txt]\n    outputs: [intermediate-data:/b${i}.txt]`);
}
writeFileSync(join(dwsDir, 'dws.yaml'), `steps:\n${steps.join('\n')}\n`);
const dws = (...args) => timedCpu(dwsDir, process.execPath, [DWS, 'run', '--jobs', '2', '--no-snapshot', ...args]);

const smk = onPath('snakemake') ? join(root, 'snakemake') : null;
if (smk) {
  mkdirSync(smk);
  inputs(smk);
  const rules = [`rule all:\n    input: [${Array.from({ length: N }, (_, i) => `"intermediate-data/b${i}.txt"`).join(', ')}]`];
  for (let i = 0; i < N; i++) {
    rules.push(`rule a${i}:\n    input: "source-data/i${i}.txt"\n    output: "intermediate-data/a${i}.txt"\n    shell: "${upper(i)}"`);
    rules.push(`rule b${i}:\n    input: "intermediate-data/a${i}.txt"\n    output: "intermediate-data/b${i}.txt"\n    shell: "${count(i)}"`);
  }
  writeFileSync(join(smk, 'Snakefile'), `${rules.join('\n\n')}\n`);
}
const snakemake = (...args) => timedCpu(smk, 'snakemake', ['--cores', '2', '--quiet', ...args]);

dws(); // first run: the run cache exists from here on
if (smk) snakemake();
const floor = [], full = [], none = [], one = [], sFull = [], sNone = [], sOne = [];
for (let r = 0; r < RUNS; r++) {
  floor.push(timed(root, process.execPath, ['-e', '0']));
  full.push(dws('--force'));
  none.push(dws());
  writeFileSync(join(dwsDir, 'source-data', 'i0.txt'), `changed ${r}\n`);
  one.push(dws());
  if (smk) {
    sFull.push(snakemake('--forceall'));
    sNone.push(snakemake());
    writeFileSync(join(smk, 'source-data', 'i0.txt'), `changed ${r}\n`);
    sOne.push(snakemake());
  }
}

const line = (what, ms, note = '') => console.log(`${what.padEnd(50)} ${ms.toFixed(0).padStart(7)} ms  ${note}`);
console.log(`Pipeline file benchmark: ${2 * N} command steps (${N} independent, ${N} reading one each), --jobs 2 / --cores 2, medians of ${RUNS} runs`);
console.log(`Load average when done: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on this machine (figures from a busy machine are inflated; compare ratios taken in the same run)\n`);
line('floor: spawn `node -e 0`', median(floor));
const cases = [
  ['full run (every step forced)', full, sFull],
  ['no-change rerun (every step skipped)', none, sNone],
  ['one input changed (2 steps rerun)', one, sOne],
];
const ms = (xs) => median(xs.map((x) => x.ms));
const cpuMs = (xs) => median(xs.map((x) => x.cpu));
for (const [what, d, s] of cases) {
  line(`dws: ${what}`, ms(d), TIME ? `CPU ${cpuMs(d).toFixed(0)} ms` : '');
  if (smk) line(`snakemake: ${what}`, ms(s), `${TIME ? `CPU ${cpuMs(s).toFixed(0)} ms; ` : ''}dws/snakemake = ${(ms(d) / ms(s)).toFixed(2)}x wall${TIME ? `, ${(cpuMs(d) / cpuMs(s)).toFixed(2)}x CPU` : ''} (goal <= 0.5x)`);
}
if (!smk) console.log('\n(snakemake is not on PATH: apt-get install snakemake to compare)');
