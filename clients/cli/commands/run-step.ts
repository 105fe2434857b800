/**
 * `dws run-step SPEC` (hidden): what a Slurm job runs for a step file (runner/executors/slurm.ts
 * writes SPEC): that one step, in this process, on the node. Not for people: `dws run` uses it.
 */
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('run-step', { hidden: true })
    .description('run one step of a dws run on a cluster node (used by dws run --executor slurm)')
    .argument('<SPEC>', 'the step spec the executor wrote')
    .action(runStep);
}

/**
 * Run the step of SPEC and end the process. The `dws` bin calls this without loading the rest of
 * the CLI (clients/cli/bin.ts): a Slurm job of a step file is one process per step.
 */
export async function runStep(spec: string): Promise<never> {
  const { runStepJob } = await import('../../../runner/executors/slurm-job.js');
  // The job ends with the step, as a step's thread does locally: a timer it left must not keep the job (and its CPUs) until its time limit.
  // (Its output goes to the job's output file, which Node writes synchronously: nothing is lost.)
  process.exit(await runStepJob(spec));
}
