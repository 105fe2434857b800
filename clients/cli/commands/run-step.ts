/**
 * `dws run-step SPEC` (hidden): what a Slurm job runs for a step file (runner/executors/slurm.ts
 * writes SPEC): that one step, in this process, on the node. Not for people: `dws run` uses it.
 */
import type { Command } from 'commander';
import { globalOptions } from '../cli.js';
import { terminalContext } from '../terminal.js';

export function register(program: Command): void {
  program
    .command('run-step', { hidden: true })
    .description('run one step of a dws run on a cluster node (used by dws run --executor slurm)')
    .argument('<SPEC>', 'the step spec the executor wrote')
    .action(async (spec: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const { runStepJob } = await import('../../../runner/executors/slurm-job.js');
      process.exitCode = await runStepJob(terminalContext({ batch: true, verbose: g.verbose === true, json: false }), spec);
    });
}
