/** `dws/lineage/diff`: the steps of two snapshots compared (parameters, inputs, code). */
import type { lineageDiff as Diff, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import { diffStores } from '../../lineage/queries.js';
import type { Context } from '../context.js';
import { Workspace } from '../workspace/workspace.js';
import { openLineage } from './lineage-common.js';

export async function lineageDiff(ctx: Context, p: ValidParamsOf<typeof Diff>): Promise<ResultOf<typeof Diff>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const a = openLineage(ws, p.from);
  const b = openLineage(ws, p.to);
  return { from: a.hash!, to: b.hash!, steps: diffStores(a.store, b.store) };
}
