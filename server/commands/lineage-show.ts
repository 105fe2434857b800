/** `dws/lineage/show`: every lineage record of a snapshot or of the current state. */
import type { lineageShow as Show, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Lineage } from '../../lineage/model.js';
import type { Context } from '../context.js';
import { Workspace } from '../workspace/workspace.js';
import { openLineage, records } from './lineage-common.js';

export async function lineageShow(ctx: Context, p: ValidParamsOf<typeof Show>): Promise<ResultOf<typeof Show>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const { store, hash } = openLineage(ws, p.snapshot);
  // A step stored at several refs is one record.
  const seen = new Set<Lineage>();
  for (const { lineage } of store.iterate()) seen.add(lineage);
  return { snapshot: hash, records: [...seen].flatMap(records) };
}
