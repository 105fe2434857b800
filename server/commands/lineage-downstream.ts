/** `dws/lineage/downstream`: every recorded step that read a resource or path, transitively. */
import type { lineageDownstream as Downstream, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import { refName } from '../../lineage/model.js';
import { downstream } from '../../lineage/queries.js';
import type { Context } from '../context.js';
import { Workspace } from '../workspace/workspace.js';
import { openLineage, records, userRef } from './lineage-common.js';

export async function lineageDownstream(ctx: Context, p: ValidParamsOf<typeof Downstream>): Promise<ResultOf<typeof Downstream>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const target = await userRef(ws, p.ref);
  const { store } = openLineage(ws, p.snapshot);
  const r = downstream(store, target);
  return { ref: refName(target), steps: r.steps.flatMap(records), outputs: r.outputs.map(refName) };
}
