/**
 * `dws/run`: load the step files, the pipeline file or the workspace's pipeline (or the command
 * step), select the steps asked for with their upstream, then hand them to the runner's engine.
 * Everything that can refuse the run (unknown files, syntax errors, bad declarations, bad
 * params, missing inputs) is checked before any step starts. The runner is loaded only here.
 */
import { availableParallelism } from 'node:os';
import { InvalidParamsError } from '../../protocol/errors.js';
import type { ResultOf, RunEvent, run as Run, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { SnapshotStore } from '../backends/git/snapshots.js';
import { openResources } from '../resources/registry.js';
import { checkTag, noRoomError, refuseTag } from './snapshot.js';
import { Workspace } from '../workspace/workspace.js';

export async function run(ctx: Context, p: ValidParamsOf<typeof Run>): Promise<ResultOf<typeof Run>> {
  if ([p.files.length > 0, p.command !== undefined, p.pipeline].filter(Boolean).length > 1) throw new InvalidParamsError(`Give one of ${ctx.option('files')}, ${ctx.option('pipeline')}, or ${ctx.option('command')}`);
  if (p.command !== undefined && p.steps.length > 0) throw new InvalidParamsError(`${upperFirst(ctx.option('command'))} is one step: name no steps to select with it`);
  if (p.dryRun && (p.tag !== undefined || p.message !== undefined)) throw new InvalidParamsError(`${ctx.option('dryRun')} takes no snapshot: drop ${ctx.option('message')}/${ctx.option('tag')}`);
  if (!p.snapshot && (p.tag !== undefined || p.message !== undefined)) throw new InvalidParamsError(`${ctx.option('snapshot', false)} takes no snapshot: drop ${ctx.option('message')}/${ctx.option('tag')}`);
  const ws = Workspace.open(ctx, p.workspaceDir);
  const store = new SnapshotStore(ws);
  const owners = p.tag === undefined ? [] : refuseTag(ctx, ws, store, p.tag);
  // Untagged: whether the hostname or template leave the snapshot's number no room (refused below, if a snapshot follows).
  const noRoom = p.tag === undefined && p.snapshot && !p.dryRun ? noRoomError(ctx, ws, store, false) : null;
  const { loadStepFiles, commandStep, loadWorkspacePipeline } = await import('../../runner/load.js');
  const { runPipeline } = await import('../../runner/engine.js');
  const { parseParams, planSteps, selectSteps } = await import('../../runner/plan.js');
  const params = parseParams(p.param, ctx.option);
  let steps = p.command ? [commandStep(ws, ctx.cwd, p.command)] : p.files.length > 0 ? await loadStepFiles(ctx, ws, p.files, params) : await loadWorkspacePipeline(ctx, ws, params);
  // `dws run STEP`: the step and its upstream; the engine skips what is current.
  if (p.steps.length > 0) steps = selectSteps(planSteps(steps, await openResources(ws), ctx.cwd), p.steps);
  // Observed writes (runner/observe.ts): the observer follows the run's events to name the step that was running.
  // --executor, else this machine's `runner.executor` setting (dws config), else local.
  const setting = ws.localParams['runner.executor'];
  const executor = p.executor ?? (setting === 'slurm' ? 'slurm' : 'local');
  // Whether to move a used tag is asked before any step runs (not after they all ran, as in the
  // snapshot), and the snapshot takes the answer; a no runs nothing. Batch mode refused it above.
  // Asked (and a results directory with no room refused) only when a snapshot follows: the run
  // takes one when a step runs or is restored from the run cache, which is what --dry-run's plan
  // says (every step current: no snapshot, no question; the plan's fingerprints are stat-cached
  // for the run). Should a step turn stale meanwhile, the snapshot asks, or refuses, at the end.
  let moveTagFrom: string[] = [];
  const usedTag = owners.length > 0 && p.snapshot && !p.dryRun ? p.tag : undefined;
  if (usedTag !== undefined || noRoom !== null) {
    const planned = await runPipeline(ctx, ws, { steps, params, jobs: 1, executor, force: p.force, dryRun: true, snapshot: false, strict: p.strict });
    const snapshotFollows = planned.steps.some((s) => s.status === 'would-run');
    if (snapshotFollows && noRoom !== null) throw noRoom;
    if (snapshotFollows && usedTag !== undefined) moveTagFrom = await checkTag(ctx, ws, store, usedTag);
  }
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
    ...(p.tag !== undefined ? { tag: p.tag, moveTagFrom } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(onEvent ? { onEvent } : {}),
    // --strict also refuses outputs a symlink leads out of their resource, watched or not.
    ...(observer ? { observer } : {}),
    strict: p.strict,
  });
}

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
