/** `dws/lineage/upstream`: what produced a resource or path, back to source data and code. */
import type { lineageUpstream as Upstream, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import { refName } from '../../lineage/model.js';
import { refsOfResource, upstream } from '../../lineage/queries.js';
import type { Context } from '../context.js';
import { Workspace } from '../workspace/workspace.js';
import { openLineage, records, userRef } from './lineage-common.js';

export async function lineageUpstream(ctx: Context, p: ValidParamsOf<typeof Upstream>): Promise<ResultOf<typeof Upstream>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const target = await userRef(ws, p.ref);
  const { store } = openLineage(ws, p.snapshot);
  // A whole resource stands for every ref recorded in it.
  const start = target.subpath === null ? refsOfResource(store, target.name) : [target];
  const { lineages, warnings } = upstream(store, start, refName(target));
  return { ref: refName(target), records: lineages.flatMap(records), warnings };
}
