/**
 * `dws/lineage/forget` (issue 12 item 6): drop a step that `dws status` lists as removed — its
 * step file is gone, or its pipeline file no longer declares it — so it stops being reported. What goes: its run-cache record and its step
 * records in the current lineage. A results step whose lineage a snapshot moved away is read
 * from that snapshot (LineageStore.withFallback); its runs there are hidden from that view, and
 * the snapshot itself is never rewritten. A step whose file still exists is refused without
 * `force` (the next `dws run` would just run it again).
 */
import { basename } from 'node:path';
import { ConflictError, NotFoundError } from '../../protocol/errors.js';
import type { lineageForget as Forget, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Lineage, StepLineage } from '../../lineage/model.js';
import { PIPELINE_FILE } from '../../protocol/step-file.js';
import { forgetFallbackRuns, LineageStore } from '../../lineage/store.js';
import type { Context } from '../context.js';
import { Workspace } from '../workspace/workspace.js';

export async function lineageForget(ctx: Context, p: ValidParamsOf<typeof Forget>): Promise<ResultOf<typeof Forget>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const { RunCache } = await import('../../runner/cache.js');
  const { recordedStepFile } = await import('../../runner/reproduce.js');
  const cache = new RunCache(ws);
  const cached = cache.get(p.step);

  const current = new LineageStore(ws);
  const named = (l: Lineage): l is StepLineage => l.type === 'step' && l.stepName === p.step;
  const inCurrent = current.resourceNames().filter((r) => current.fileLineages(r).some(named));
  const view = LineageStore.withFallback(ws);
  const inFallback = view.resourceNames().filter((r) => view.isFallback(r)).flatMap((r) => view.fileLineages(r).filter(named));

  if (cached === undefined && inCurrent.length === 0 && inFallback.length === 0) {
    const known = new Set([...cache.steps(), ...view.resourceNames().flatMap((r) => view.fileLineages(r).flatMap((l) => (l.type === 'step' ? [l.stepName] : [])))]);
    throw new NotFoundError(
      `No recorded step named ${p.step} in the run cache or the current lineage${known.size > 0 ? ` (recorded steps: ${[...known].sort().join(', ')})` : ''}`,
      { step: p.step },
    );
  }

  // Where its step file was: the run cache knows; else the command line `dws run FILE` recorded.
  const recorded = [...inCurrent.flatMap((r) => current.fileLineages(r).filter(named)), ...inFallback];
  const file = cached?.facts?.file ?? recorded.map(recordedStepFile).find((f) => f !== null) ?? null;
  const { stepGone } = await import('../../runner/freshness.js');
  if (file !== null && !stepGone(ws, p.step, file) && !p.force) {
    throw new ConflictError(
      `Step ${p.step} is not removed: its step file ${file} still ${basename(file) === PIPELINE_FILE ? 'declares it' : 'exists'}. Delete the step first, or pass ${ctx.option('force')} to forget its runs anyway (the next dws run records it afresh).`,
      { step: p.step, file },
    );
  }

  if (cached !== undefined) {
    cache.set(p.step, null);
    cache.save();
  }
  let records = 0;
  for (const r of inCurrent) {
    const all = current.fileLineages(r);
    const kept = all.filter((l) => !named(l));
    records += all.length - kept.length;
    current.writeFile(r, kept);
  }
  if (inFallback.length > 0) forgetFallbackRuns(ws, inFallback.map((l) => ({ step: l.stepName, startTime: l.startTime })));
  return { step: p.step, runCache: cached !== undefined, records, resources: inCurrent, hidden: inFallback.length };
}
