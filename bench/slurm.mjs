// Benchmarks of the slurm executor (issue 15 "Speed") on a real one-node Slurm that this bench
// starts and stops (test/slurm-cluster.ts; 2 CPUs, its scheduler tuning and Epilog are in
// docs/slurm.md). Step files import the step API alone (`dataworkspaces/step`). Medians of several
// runs; figures only, nothing asserted. The issue's goal is the 20 × 2 s cases: their ratio to the
// ideal and to the bare-sbatch floor of the same run are the last lines.
//
//  1. Per-step overhead: a chain of N no-op step files (each waits for the one before) run with
//     --executor slurm, the run's steps phase / N, next to the floor of the same job (`dws
//     run-step` of a no-op step, the command a step file's job runs) submitted by a bare
//     `sbatch --wait`, and by sbatch with the job's end seen by polling a file every 10 ms (sbatch
//     --wait itself polls slowly, so the second floor is the tighter one).
//  2. N independent steps of 2 s, one CPU each, on the 2-CPU node: wall time of the steps phase
//     against the ideal N × 2 s / 2, and against the floor of the same N jobs (`dws run-step` of a
//     2 s step) submitted at once by bare sbatch, their ends seen by a 10 ms poll: what Slurm and
//     starting Node and dws's step API in each job cost before dws's runner adds anything.
//  3. The same N independent 2 s steps as dws.yaml command steps (`sleep 2`, `resources: { cpus: 1 }`):
//     a job runs the command alone, no Node; next to bare sbatch of the same N `sleep 2` at once.
//
//   npm run bench:slurm            BENCH_RUNS=3 BENCH_STEPS=10 npm run bench:slurm
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { benchRoot, DWS, env as baseEnv, median } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const N = Number(process.env.BENCH_STEPS ?? 20);
const root = benchRoot('slurm');

// The test harness is TypeScript: bundle it for this plain-Node script.
const harness = join(root, 'slurm-cluster.mjs');
await build({ entryPoints: [new URL('../test/slurm-cluster.ts', import.meta.url).pathname], outfile: harness, bundle: true, format: 'esm', platform: 'node', logLevel: 'warning' });
const { startSlurm } = await import(pathToFileURL(harness).href);
const cluster = await startSlurm();
const loadAtStart = spawnSync('cat', ['/proc/loadavg']).stdout.toString().trim();
const env = { ...baseEnv, SLURM_CONF: cluster.conf };

function spawnTimed(cmd, args, cwd = root) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, stdout: r.stdout.toString() };
}

try {
  const ws = join(root, 'ws');
  mkdirSync(ws);
  spawnTimed(process.execPath, [DWS, '--batch', 'init', '--hostname', 'bench', '--create-resources', 'code,intermediate-data'], ws);
  const step = (name, body, inputs = {}, outputs = {}) =>
    `import { defineStep } from 'dataworkspaces/step';\nimport { writeFileSync } from 'node:fs';\nexport const ${name} = defineStep({ name: '${name}', inputs: ${JSON.stringify(inputs)}, outputs: ${JSON.stringify(outputs)}, async run({ outputs }) { ${body} } });\n`;
  // A chain: s<i> reads what s<i-1> wrote, so the steps run one after another.
  mkdirSync(join(ws, 'code', 'chain'));
  for (let i = 0; i < N; i++) {
    const ins = i === 0 ? {} : { prev: `intermediate-data:/c${i - 1}` };
    writeFileSync(join(ws, 'code', 'chain', `s${i}.step.mjs`), step(`s${i}`, 'writeFileSync(outputs.out, "x");', ins, { out: `intermediate-data:/c${i}` }));
  }
  // The pipeline file of case 3: N command steps, nothing else (run as `dws run dws.yaml`, so the step files above stay out of it).
  const yamlSteps = Array.from({ length: N }, (_, i) => `  - name: y${i}\n    command: sleep 2\n    resources: { cpus: 1 }\n`);
  writeFileSync(join(ws, 'dws.yaml'), `steps:\n${yamlSteps.join('')}`);
  mkdirSync(join(ws, 'code', 'wide'));
  for (let i = 0; i < N; i++) writeFileSync(join(ws, 'code', 'wide', `w${i}.step.mjs`), step(`w${i}`, 'await new Promise((r) => setTimeout(r, 2000));'));

  // The floor's job: what a no-op step file's job runs (a spec and a bundle like the executor's).
  const floorDir = join(ws, '.git', 'dws', 'floor');
  mkdirSync(floorDir, { recursive: true });
  const stepApi = JSON.stringify(new URL('../dist/step.js', import.meta.url).pathname);
  writeFileSync(join(floorDir, 'noop.mjs'), `import { defineStep } from ${stepApi};\nexport const noop = defineStep({ name: 'noop', run() {} });\n`);
  writeFileSync(join(floorDir, 'wait.mjs'), `import { defineStep } from ${stepApi};\nexport const wait = defineStep({ name: 'wait', run: () => new Promise((r) => setTimeout(r, 2000)) });\n`);
  for (const name of ['noop', 'wait']) {
    const spec = { workspaceDir: ws, module: join(floorDir, `${name}.mjs`), exportName: name, stepName: name, params: {}, inputs: {}, outputs: {}, hasResults: false, resultsCalls: join(floorDir, 'r'), resultsFile: null };
    writeFileSync(join(floorDir, `${name}.json`), JSON.stringify(spec));
  }
  const runStep = (name) => `${process.execPath} ${DWS} --batch run-step ${join(floorDir, `${name}.json`)}`;
  const jobCmd = runStep('noop');
  const sbatchWait = () => spawnTimed('sbatch', ['--wait', '--quiet', '--output=/dev/null', `--wrap=${jobCmd}`]).ms;
  const sbatchPoll = () => {
    const done = join(floorDir, 'done');
    rmSync(done, { force: true });
    const t = process.hrtime.bigint();
    spawnTimed('sbatch', ['--quiet', '--output=/dev/null', `--wrap=${jobCmd} && touch ${done}`]);
    while (!existsSync(done)) spawnSync('sleep', ['0.01']);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  // N jobs of `command` submitted at once by bare sbatch; their ends seen by a 10 ms poll.
  const sbatchMany = (command) => {
    const done = (i) => join(floorDir, `done-${i}`);
    for (let i = 0; i < N; i++) rmSync(done(i), { force: true });
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) spawnTimed('sbatch', ['--quiet', '--output=/dev/null', `--wrap=${command} && touch ${done(i)}`]);
    for (let i = 0; i < N; i++) while (!existsSync(done(i))) spawnSync('sleep', ['0.01']);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  // The run's own steps phase, and the wall time of the whole dws process (start-up, plan, lineage).
  const dwsRun = (what) => {
    const r = spawnTimed(process.execPath, [DWS, '--json', 'run', '--executor', 'slurm', '--force', '--no-snapshot', what], ws);
    return { stepsMs: JSON.parse(r.stdout).stepsMs, wallMs: r.ms };
  };

  const wait = [], poll = [], chain = [], many = [], wide = [], sleeps = [], yaml = [], wideWall = [], yamlWall = [];
  for (let i = 0; i < RUNS; i++) {
    wait.push(sbatchWait());
    poll.push(sbatchPoll());
    chain.push(dwsRun('code/chain').stepsMs / N);
    many.push(sbatchMany(runStep('wait')));
    const wr = dwsRun('code/wide');
    wide.push(wr.stepsMs);
    wideWall.push(wr.wallMs);
    sleeps.push(sbatchMany('sleep 2'));
    const yr = dwsRun('dws.yaml');
    yaml.push(yr.stepsMs);
    yamlWall.push(yr.wallMs);
  }
  const [w, p, c, m, d, sl, y] = [median(wait), median(poll), median(chain), median(many), median(wide), median(sleeps), median(yaml)];
  const ideal = (N * 2000) / cluster.cpus;
  const line = (what, ms, note = '') => console.log(`${what.padEnd(66)} ${ms.toFixed(0).padStart(7)} ms  ${note}`);
  console.log(`dws run --executor slurm: medians of ${RUNS} runs, a one-node Slurm with ${cluster.cpus} CPUs on this machine (shared, busy: see the load below)\n`);
  line('floor: `sbatch --wait` of a no-op step file\'s job', w);
  line('floor: sbatch of the same job, its end seen by a 10 ms poll', p);
  line(`per step, a chain of ${N} no-op step files (steps phase / ${N})`, c, `${(c - w).toFixed(0)} ms over sbatch --wait (target ≤ +100 ms: ${c <= w + 100 ? 'met' : 'NOT met'}), ${(c - p).toFixed(0)} ms over the polled floor`);
  line(`floor: ${N} bare sbatch of the same 2 s step's job, at once, 10 ms poll`, m, `${(m / ideal).toFixed(2)}x the ideal ${ideal} ms`);
  line(`${N} independent 2 s step files, 1 CPU each (steps phase)`, d, `${(d / ideal).toFixed(2)}x the ideal (target ≤ 1.2x: ${d <= 1.2 * ideal ? 'met' : 'NOT met'}), ${(d / m).toFixed(2)}x the floor`);
  line(`floor: ${N} bare sbatch of \`sleep 2\`, at once, 10 ms poll`, sl, `${(sl / ideal).toFixed(2)}x the ideal ${ideal} ms`);
  line(`${N} independent dws.yaml command steps \`sleep 2\`, cpus: 1 (steps phase)`, y, `${(y / ideal).toFixed(2)}x the ideal (target ≤ 1.2x: ${y <= 1.2 * ideal ? 'met' : 'NOT met'}), ${(y / sl).toFixed(2)}x the floor`);
  console.log(`\nissue 15 goal, ${N} × 2 s on ${cluster.cpus} CPUs, ≤ 1.2x the ideal ${ideal} ms:`);
  console.log(`  dws.yaml command steps ${(y / ideal).toFixed(2)}x the ideal, ${(y / sl).toFixed(2)}x bare sbatch (the floor: ${(sl / ideal).toFixed(2)}x the ideal)`);
  console.log(`  step files             ${(d / ideal).toFixed(2)}x the ideal, ${(d / m).toFixed(2)}x bare sbatch of the same job (the floor: ${(m / ideal).toFixed(2)}x the ideal)`);
  const [dw, yw] = [median(wideWall), median(yamlWall)];
  console.log(`  whole dws run process (start-up, plan, lineage; --no-snapshot): command steps ${yw.toFixed(0)} ms = ${(yw / ideal).toFixed(2)}x the ideal, step files ${dw.toFixed(0)} ms = ${(dw / ideal).toFixed(2)}x`);
  console.log(`\nload average at the start: ${loadAtStart}; at the end: ${spawnSync('cat', ['/proc/loadavg']).stdout.toString().trim()}`);
} finally {
  await cluster.stop();
}
