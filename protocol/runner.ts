/**
 * The pipeline runner's methods (issue 6): `dws/run` runs step files or one command as a DAG of
 * steps, and `dws/run/progress` notifications report each step's progress while it runs.
 */
import { z } from 'zod';
import { defineMethod, defineNotification } from './method.js';

/** A place in a step's own source (workspace-relative when inside the workspace), from a source-mapped stack. */
export const SourceFrame = z.object({ file: z.string(), line: z.number().int(), column: z.number().int(), function: z.string().nullable() });
export type SourceFrame = z.infer<typeof SourceFrame>;

/** The earlier run whose outputs a step got from the run cache (server/store/run-cache.ts). */
export const RestoredFrom = z.object({
  runId: z.string(),
  /** The lineage start time of that run (`YYYY-MM-DDTHH:MM:SS.ffffff`, local time). */
  startTime: z.string(),
  /** The snapshot that run ended in, or null. */
  snapshot: z.string().nullable(),
});
export type RestoredFrom = z.infer<typeof RestoredFrom>;

/** One step's progress: the same events drive the terminal lines, the notifications and watch mode. */
export const RunEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('queued'), step: z.string() }),
  /** `at`: ISO time the step started. */
  z.object({ type: z.literal('started'), step: z.string(), at: z.string() }),
  z.object({ type: z.literal('skipped'), step: z.string(), reason: z.string() }),
  z.object({ type: z.literal('succeeded'), step: z.string(), durationMs: z.number() }),
  /** The step's outputs were restored from the run cache instead of running it: `from` is the run they came from. */
  z.object({ type: z.literal('restored'), step: z.string(), from: RestoredFrom, durationMs: z.number() }),
  /**
   * `leftInOutputs`: workspace-relative files the step wrote into its declared outputs before failing.
   * `where`: the frames of the error's stack in the step's own source files (source-mapped), innermost first.
   */
  z.object({ type: z.literal('failed'), step: z.string(), reason: z.string(), leftInOutputs: z.array(z.string()).optional(), where: z.array(SourceFrame).optional() }),
  /**
   * A write outside the running steps' declared outputs (`step`: the only step running then, if
   * one), or a declared output a symlink led out of its resource; `outside`: where a symlink led
   * it (absolute). Recorded in the lineage of the steps that ran then.
   */
  z.object({ type: z.literal('observed-write'), path: z.string(), step: z.string().optional(), outside: z.string().optional() }),
  /**
   * A line a step logged (its `log()`, its console output, or its command's output). `partial`:
   * a carriage-return update of the line in progress (a progress bar): a terminal redraws it in
   * place; the line's final text follows as an ordinary log event.
   */
  z.object({ type: z.literal('log'), step: z.string(), message: z.string(), partial: z.boolean().optional() }),
  /**
   * Where an executor that hands steps to a cluster has the step (`dws run --executor slurm`): its
   * job id and the job's state as the cluster names it (Slurm: PENDING, RUNNING, COMPLETED, FAILED,
   * CANCELLED, TIMEOUT...), sent when the state changes. `reason`: why it waits or ended (Slurm's
   * reason). `node`, `startedAt`, `endedAt` (ISO, as the job itself measured them): once known.
   */
  z.object({
    type: z.literal('job'),
    step: z.string(),
    executor: z.string(),
    jobId: z.string(),
    state: z.string(),
    reason: z.string().optional(),
    node: z.string().optional(),
    startedAt: z.string().optional(),
    endedAt: z.string().optional(),
  }),
]);
export type RunEvent = z.infer<typeof RunEvent>;

export const RunProgressParams = z.object({ workspaceDir: z.string(), event: RunEvent });
export type RunProgressParams = z.infer<typeof RunProgressParams>;

export const runProgressNotification = defineNotification({
  method: 'dws/run/progress',
  params: RunProgressParams,
  doc: "Server to the client that sent `dws/run`: one step's progress (queued, started, skipped, succeeded, failed, observed-write, log, and an executor's job: its id and state), as it happens.",
});
export const runProgress = runProgressNotification.type;

export const StepOutcome = z.object({
  step: z.string(),
  /**
   * `would-run`: dry run only. `not-run`: an upstream step failed or the run was interrupted.
   * `restored`: its outputs were restored from the run cache (`restoredFrom`) instead of running it.
   */
  status: z.enum(['succeeded', 'restored', 'skipped', 'failed', 'not-run', 'would-run']),
  /** Why it was skipped, failed, not run, or would run. */
  reason: z.string().nullable(),
  durationMs: z.number().nullable(),
  /** For a failed step: the files it left in its declared outputs (workspace-relative). */
  leftInOutputs: z.array(z.string()),
  /** The run-cache fingerprint (sha256 of code, params, input contents, upstream fingerprints). */
  fingerprint: z.string().nullable(),
  /** For a failed step: where in its own source it failed (source-mapped stack frames, innermost first); empty when unknown. */
  where: z.array(SourceFrame),
  /** For a restored step (and, in a dry run, a step the run cache would restore): the run its outputs come from. */
  restoredFrom: RestoredFrom.optional(),
});
export type StepOutcome = z.infer<typeof StepOutcome>;

export const RunResult = z.object({
  /** Every step succeeded, was restored from the run cache or was skipped, and the run was not interrupted. */
  ok: z.boolean(),
  interrupted: z.boolean(),
  /** In plan order (upstream first). */
  steps: z.array(StepOutcome),
  /** The snapshot taken at the end (null: none — dry run, --no-snapshot, a failure, or nothing ran). */
  snapshot: z.object({ hash: z.string(), tag: z.string().nullable(), message: z.string() }).nullable(),
  /**
   * Set when steps ran but their outputs came out identical, so the workspace is still exactly
   * this existing snapshot (full hash) and no new snapshot was needed; null otherwise.
   */
  sameAsSnapshot: z.string().nullable(),
  /**
   * Writes seen outside the declared outputs (only when observing), and declared outputs a
   * symlink led out of their resource (always). `steps`: the steps running then, whose lineage
   * records it; `step`: the only one, when one; `outside`: where a symlink led it.
   */
  observedWrites: z.array(z.object({ path: z.string(), step: z.string().optional(), steps: z.array(z.string()), outside: z.string().optional() })),
  /**
   * Wall time of the steps phase, ms: from the first step's start (its fingerprint) to the last
   * step's end, lineage recorded; null for a dry run. Start-up, loading and the snapshot are outside it.
   */
  stepsMs: z.number().nullable(),
});
export type RunResult = z.infer<typeof RunResult>;

export const run = defineMethod({
  method: 'dws/run',
  doc:
    'CLI `dws run`, editors: run the workspace\'s pipeline, step files or a pipeline file (or one command as a step) as a DAG — params validated, declared inputs/outputs checked, ' +
    'current steps skipped by the run cache, lineage recorded, one snapshot at the end. Progress arrives as `dws/run/progress`.',
  mutates: true,
  params: z.object({
    /** Workspace root; default: the nearest enclosing directory that has `.dataworkspace/`. */
    workspaceDir: z.string().optional(),
    /** Step files, folders of `*.step.ts` / `*.step.js` files, or a pipeline file (dws.yaml). None (and no command): the workspace's pipeline. */
    files: z.array(z.string()).default([]),
    /**
     * Run the workspace's pipeline (also what no files and no command mean): its pipeline file
     * dws.yaml with the step files it names, or without one every step file in its code resources.
     */
    pipeline: z.boolean().default(false),
    /** Run only these steps (of the files, or of the pipeline) and whatever upstream of them is not current. */
    steps: z.array(z.string().min(1)).default([]),
    /** `--param NAME=VALUE`: VALUE is read as JSON when it parses, else as a string. */
    param: z.array(z.string()).default([]),
    /** Steps run at once; default the number of CPU cores (with the slurm executor: every step the DAG makes ready). */
    jobs: z.number().int().min(1).optional(),
    /** Rerun steps the run cache would skip. */
    force: z.boolean().default(false),
    /** Print the plan (what would run or be skipped, and why); change nothing. */
    dryRun: z.boolean().default(false),
    /** Take a snapshot at the end (when something ran and nothing failed). */
    snapshot: z.boolean().default(true),
    message: z.string().optional(),
    tag: z.string().optional(),
    /** Watch the resources' local files while steps run and report writes outside the declared outputs (runner/observe.ts). */
    observe: z.boolean().default(true),
    /**
     * With observe: such a write fails the run (no snapshot). Observed or not: a declared output a
     * symlink leads out of its resource is refused before anything runs (or fails the step that made the link).
     */
    strict: z.boolean().default(false),
    /**
     * Where steps run: `local` (threads and processes on this machine) or `slurm` (each step an
     * `sbatch` job; docs/slurm.md). Default: the workspace's `runner.executor` setting, else local.
     */
    executor: z.enum(['local', 'slurm']).optional(),
    /** A command as a step (any language): `--name N --in REF --out REF -- CMD ARGS`. */
    command: z
      .object({
        name: z.string().min(1),
        inputs: z.array(z.string()).default([]),
        outputs: z.array(z.string()).default([]),
        argv: z.array(z.string()).min(1),
      })
      .optional(),
  }),
  result: RunResult,
});
