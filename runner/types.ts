/**
 * The runner's shared vocabulary: a loaded step, the events a run emits (STYLE.md 7: outcomes
 * are values, consumed by the terminal reporter, protocol notifications and watch mode alike),
 * the options of a run and its result.
 */
import type { RunEvent, StepOutcome } from '../protocol/runner.js';
import type { Workspace } from '../server/workspace/workspace.js';
import type { GivenParams } from './plan.js';

export type { RunEvent, RunResult, StepOutcome } from '../protocol/runner.js';

/** How a step's work is done: an exported `run` function, or a command (any language). */
export type StepWork =
  | {
      type: 'module';
      run: (ctx: import('./step.js').StepRunContext<unknown, string, string>) => Promise<void> | void;
      /** The step file bundled (runner/load.ts) and the export that is this step: what a worker thread imports (runner/step-threads.ts). Absent: run in this thread. */
      bundle?: { file: string; code: Uint8Array; exportName: string };
    }
  | { type: 'command'; argv: string[]; cwd: string };

/** What a step asks of the machine it runs on: read by executors that schedule steps (Slurm); running locally ignores it. */
export interface StepResources {
  cpus?: number;
  /** As `sbatch --mem` takes it, e.g. `4G`. */
  memory?: string;
  /** As `sbatch --time` takes it, e.g. `01:00:00`. */
  time?: string;
  partition?: string;
  /** Further `sbatch` options, passed as given. */
  sbatch?: string[];
}

/** A step ready to plan: its declaration, where it came from, and the files its code is made of. */
export interface LoadedStep {
  name: string;
  /** The step file (absolute) for a module step; the pipeline file for a step it declares; null for a command step from the command line. */
  file: string | null;
  /** Files whose content is the step's code (step file + local imports; a command's script files). Absolute, sorted. */
  codeFiles: string[];
  /** A pipeline file's step: its declaration (command, params, refs), part of its code hash, so editing it reruns the step. */
  declaration?: string;
  /** Declared refs by name (`resource` or `resource:/subpath`). */
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  /** The step's zod schema (any zod copy: only safeParse is used); null = params taken as given. */
  paramsSchema: { safeParse(v: unknown): { success: true; data: unknown } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } } | null;
  description?: string;
  /** Declared in the step or pipeline file; absent: the executor's defaults. */
  resources?: StepResources;
  work: StepWork;
}

/** Watches the workspace while steps run (runner/observe.ts); the engine starts and stops it. */
export interface RunObserver {
  /** Start watching; `outputs`: by step, the absolute paths it may write. */
  start(ws: Workspace, outputs: Map<string, string[]>): Promise<void>;
  /** Step `step` starts (to run, or to have its outputs restored): from now until it ends, writes into its outputs are its own. */
  begin?(step: string): void;
  /** Wait until the writes made so far have been seen (called as a step ends, so they are attributed to it). */
  flush?(): Promise<void>;
  /** Stop and return the writes seen outside `outputs`: `steps` were running then; `outside`: where a symlink led it. */
  stop(): Promise<Array<{ path: string; step?: string; steps: string[]; outside?: string }>>;
}

export interface RunOptions {
  steps: LoadedStep[];
  /** `--param k=v` values (already JSON-decoded); each step's schema picks its own. */
  params: GivenParams;
  /** Steps run at once (>= 1). */
  jobs: number;
  /** Rerun steps the run cache would skip. */
  force: boolean;
  /** Plan only: events say what would run or be skipped and why; nothing changes. */
  dryRun: boolean;
  /** Take one snapshot at the end when something ran and nothing failed. */
  snapshot: boolean;
  message?: string;
  tag?: string;
  /** The snapshots that carry `tag` and that the person agreed (before the run) to take it from. */
  moveTagFrom?: string[];
  /** Aborting stops the run: no new steps, running ones are abandoned, no lineage for them, no snapshot. */
  signal?: AbortSignal;
  onEvent?: (e: RunEvent) => void;
  observer?: RunObserver;
  /** Observed writes (runner/observe.ts): a write outside the declared outputs fails the run (no snapshot). */
  strict?: boolean;
  /** Where steps run (runner/executor.ts); default local. */
  executor?: import('./executor.js').ExecutorName;
}

export type StepStatus = StepOutcome['status'];
