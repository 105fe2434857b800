/**
 * Where a step runs. The engine (runner/engine.ts) keeps the DAG, fingerprints, lineage, observed
 * writes and the snapshot; an executor only runs one ready step's work somewhere and says how it
 * ended: `run` resolves when the step succeeded and rejects (a StepFailure) when it did not.
 * One module per engine: runner/executors/local.ts (threads and processes, the default) and
 * runner/executors/slurm.ts (sbatch jobs); a Kubernetes or cloud-batch executor is one more
 * module and one more name here (docs/slurm.md says how).
 */
import type { Workspace } from '../server/workspace/workspace.js';
import type { LoadedStep, RunEvent } from './types.js';

export const EXECUTORS = ['local', 'slurm'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

/** One ready step handed to an executor: what its work needs, and the callbacks that stay in dws. */
export interface StepJob {
  step: LoadedStep;
  /** The step's params after validation. */
  params: unknown;
  /** Local paths of the declared inputs and outputs by their keys (a ref without local files: the ref). */
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  /** The step declares an output in a results resource (else results.write is refused). */
  hasResults: boolean;
  /** That output's local path (where results.write puts results.json), or null. */
  resultsDir: string | null;
  workspaceDir: string;
  /** A line of the step's output (`partial`: a carriage-return update of the line in progress). */
  log(message: string, partial?: boolean): void;
  /** The step's results.write: results.json written through its lineage (in this process). */
  writeResults(metrics: Record<string, unknown>): Promise<string>;
  /** A change of the step's job on a cluster (job id and state): becomes a `job` run event. */
  onJob(job: Omit<Extract<RunEvent, { type: 'job' }>, 'type' | 'step'>): void;
  /** Aborted when the run is interrupted: stop (or cancel) the step's work. */
  signal: AbortSignal;
}

export interface Executor {
  /** Run one step's work; rejects with the reason it failed. */
  run(job: StepJob): Promise<void>;
  /** After the last step: release what the executor holds; after an abort, wait until the step's work is really stopped (cancelled jobs gone). */
  close(): Promise<void>;
}

export interface ExecutorOptions {
  ws: Workspace;
  /** Steps run at once (the engine's queue); a pool may size itself by it. */
  jobs: number;
  /** The steps of the run (e.g. whether any is a step file that needs a thread pool). */
  steps: LoadedStep[];
  /** Aborted when the run is interrupted. */
  signal: AbortSignal;
}

/**
 * The named executor, ready: every check that can refuse it (Slurm's commands missing, its
 * controller down) is done here, before any step runs. Each executor is loaded only when chosen.
 */
export async function openExecutor(name: ExecutorName, o: ExecutorOptions): Promise<Executor> {
  switch (name) {
    case 'local':
      return (await import('./executors/local.js')).LocalExecutor.open(o);
    case 'slurm':
      return (await import('./executors/slurm.js')).SlurmExecutor.open(o);
  }
}
