/**
 * `dws/run`: load the step files (or the command step), then hand them to the runner's engine.
 * Everything that can refuse the run (unknown files, syntax errors, bad declarations, bad
 * params, missing inputs) is checked before any step starts. The runner is loaded only here.
 */
import { availableParallelism } from 'node:os';
import { InvalidParamsError } from '../../protocol/errors.js';
import type { ResultOf, RunEvent, run as Run, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { Workspace } from '../workspace/workspace.js';

export async function run(ctx: Context, p: ValidParamsOf<typeof Run>): Promise<ResultOf<typeof Run>> {
  if (p.files.length === 0 && !p.command && !p.pipeline) {
    throw new InvalidParamsError('Nothing to run: give step files or folders (dws run code/), --pipeline for every step file of the code resources, or a command (dws run --name N --in R --out R -- CMD ...)');
  }
  if ([p.files.length > 0, p.command !== undefined, p.pipeline].filter(Boolean).length > 1) throw new InvalidParamsError('Give one of step files, --pipeline, or a command after --');
  if (p.dryRun && (p.tag !== undefined || p.message !== undefined)) throw new InvalidParamsError('--dry-run takes no snapshot: drop -m/--tag');
  const ws = Workspace.open(ctx, p.workspaceDir);
  const { loadStepFiles, commandStep, pipelineStepFiles } = await import('../../runner/load.js');
  const { runPipeline } = await import('../../runner/engine.js');
  const { parseParams } = await import('../../runner/plan.js');
  const params = parseParams(p.param);
  const steps = p.command ? [commandStep(ws, ctx.cwd, p.command)] : await loadStepFiles(ctx, ws, p.pipeline ? await pipelineStepFiles(ws) : p.files);
  // Observed writes (runner/observe.ts): the observer follows the run's events to name the step that was running.
  // --executor, else this machine's `runner.executor` setting (dws config), else local.
  const setting = ws.localParams['runner.executor'];
  const executor = p.executor ?? (setting === 'slurm' ? 'slurm' : 'local');
  const observer = p.observe && !p.dryRun ? new (await import('../../runner/observe.js')).WriteObserver() : undefined;
  const onEvent = observer ? (e: RunEvent) => (observer.onRunEvent(e), ctx.onRunEvent?.(e)) : ctx.onRunEvent;
  return runPipeline(ctx, ws, {
    steps,
    params,
    // A cluster runs every step the DAG makes ready (its scheduler decides when); locally, one per core.
    jobs: p.jobs ?? (executor === 'slurm' ? Math.max(1, steps.length) : availableParallelism()),
    executor,
    force: p.force,
    dryRun: p.dryRun,
    snapshot: p.snapshot,
    ...(p.message !== undefined ? { message: p.message } : {}),
    ...(p.tag !== undefined ? { tag: p.tag } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(onEvent ? { onEvent } : {}),
    // --strict also refuses outputs a symlink leads out of their resource, watched or not.
    ...(observer ? { observer } : {}),
    strict: p.strict,
  });
}
