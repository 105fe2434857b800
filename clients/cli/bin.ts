#!/usr/bin/env node
/**
 * The `dws` executable. `--version` is answered here without loading anything else, so it
 * starts as fast as node itself; `run-step` (a Slurm job's step) loads the step runner alone;
 * everything else loads the CLI on demand (STYLE.md 10).
 */
import { commandOf, workspaceDirOf } from './argv.js';

const argv = process.argv.slice(2);
const command = commandOf(argv);
const stepSpec = command === 'run-step' ? argv[argv.indexOf('run-step') + 1] : undefined;
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(`${__DWS_VERSION__}\n`);
} else if (stepSpec !== undefined && !stepSpec.startsWith('-')) {
  // A Slurm job of a step file (runner/executors/slurm.ts): the step runner alone, as the step
  // file imports `dataworkspaces/step` alone; the CLI's commands would double the job's start.
  await (await import('./commands/run-step.js')).runStep(stepSpec);
} else {
  if (command === 'snapshot' || command === 'restore') {
    // Hashing threads start on the other cores while this one loads the CLI (~80 ms); the walk
    // of a large tree and a large restore's writes use them.
    const { knowsLargeTree } = await import('../../server/resources/hashtree/stat-cache.js');
    if (knowsLargeTree(workspaceDirOf(argv) ?? process.cwd())) (await import('../../server/resources/hashtree/threads.js')).prestartHashThreads();
  }
  const { main } = await import('./main.js');
  process.exitCode = await main(argv);
}
