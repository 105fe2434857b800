// The test suite's cost (issue: "the test suite's run time"). Figures only; nothing asserts a time.
//
// 1. CPU time (user + sys, µs-exact from the process itself) of starting dws, median of
//    BENCH_RUNS (default 10), next to `node -e 0` in the same run: `dws --version` (answered by
//    bin.ts), `dws version` (loads the CLI, one command and the protocol) and `dws status`.
// 2. Unless BENCH_SUITE=0: `vitest run` of the given test files (all when none), every Node
//    process preloading bench/cpu-at-exit.mjs: wall time, how many dws processes the tests
//    spawned and their CPU, and the same for all Node processes (vitest's workers, steps).
//
//   npm run bench:suite                                   # the whole suite (run it on a quiet machine)
//   node bench/suite.mjs test/integration/snapshot.test.ts
//   BENCH_SUITE=0 node bench/suite.mjs                    # startup figures only
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchRoot, DWS, env, median } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const repo = fileURLToPath(new URL('..', import.meta.url));
const root = benchRoot('suite');
const cpuLog = join(root, 'cpu.log');
/** `base` with every Node process reporting its CPU to cpuLog at exit. */
const withHook = (base) => ({ ...base, NODE_OPTIONS: `${base.NODE_OPTIONS ?? ''} --import=${fileURLToPath(new URL('./cpu-at-exit.mjs', import.meta.url))}`, DWS_BENCH_CPU_LOG: cpuLog });
// Start-up figures without NODE_EXTRA_CA_CERTS, as the other benches (common.mjs); the suite
// with the environment as it is: what the test setup does with it is part of what is measured.
const hookEnv = withHook(env);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/**
 * CPU seconds of this process's waited-for descendants (all of them: vitest, its workers, git,
 * dws), from /proc/self/stat's cutime + cstime in clock ticks (100 a second on Linux); null elsewhere.
 */
function childrenCpuSeconds() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' '); // from field 3 (state) on
    // fields 16 and 17 of proc(5)
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

/** The logged processes: CPU ms and script, and the log emptied. */
function takeLog() {
  let lines = [];
  try {
    lines = readFileSync(cpuLog, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    // nothing logged yet
  }
  writeFileSync(cpuLog, '');
  return lines.map((l) => {
    const [us, script, command] = l.split('\t');
    return { ms: Number(us) / 1000, script, command };
  });
}

/** Median CPU ms of a Node process running `args` in `cwd`. */
function cpuMs(args, cwd = root) {
  const ms = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, args, { cwd, env: hookEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    ms.push(takeLog()[0].ms);
  }
  return median(ms);
}

console.log(`load average ${load()}; CPU time per process (user + sys), median of ${RUNS}:`);
spawnSync(process.execPath, [DWS, '--batch', 'init', '--hostname', 'bench'], { cwd: root, env });
const floor = cpuMs(['-e', '0']);
console.log(`  node -e 0 (floor)  ${floor.toFixed(1)} ms`);
for (const args of [['--version'], ['version'], ['status']]) {
  const ms = cpuMs([DWS, ...args]);
  console.log(`  dws ${args.join(' ').padEnd(14)} ${ms.toFixed(1)} ms (${(ms - floor).toFixed(1)} ms above the floor)`);
}

if (process.env.BENCH_SUITE !== '0') {
  const files = process.argv.slice(2);
  console.log(`\nvitest run ${files.length ? files.join(' ') : '(the whole suite)'}; load average before: ${load()}`);
  takeLog();
  const cpuBefore = childrenCpuSeconds();
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(repo, 'node_modules/vitest/vitest.mjs'), 'run', ...files], { cwd: repo, env: withHook(process.env), stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuAfter = childrenCpuSeconds();
  const summary = r.stdout.trim().split('\n').pop();
  const all = takeLog();
  const dws = all.filter((p) => p.script === DWS);
  const sum = (ps) => ps.reduce((s, p) => s + p.ms, 0) / 1000;
  console.log(`  ${summary} (exit ${r.status}); wall ${wall.toFixed(1)} s; load average after: ${load()}`);
  if (cpuBefore !== null) console.log(`  CPU of the whole run (vitest, workers, git, dws...): ${(cpuAfter - cpuBefore).toFixed(1)} s`);
  console.log(`  dws processes: ${dws.length}, CPU ${sum(dws).toFixed(1)} s (median ${median(dws.map((p) => p.ms)).toFixed(0)} ms each)`);
  const byCommand = new Map();
  for (const p of dws) byCommand.set(p.command, [...(byCommand.get(p.command) ?? []), p]);
  const top = [...byCommand].sort((a, b) => sum(b[1]) - sum(a[1])).slice(0, 8);
  console.log(`  their commands by CPU: ${top.map(([c, ps]) => `${c} ${ps.length}x ${sum(ps).toFixed(1)} s`).join(', ')}`);
  console.log(`  all Node processes: ${all.length}, CPU ${sum(all).toFixed(1)} s`);
}
