/** `dws/report/lineage`: the 1.6 lineage table (lineage.md §9), current or as of a snapshot. */
import type { reportLineage as ReportLineage, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import { lineageTable } from '../../lineage/queries.js';
import type { Context } from '../context.js';
import { Workspace } from '../workspace/workspace.js';
import { openLineage } from './lineage-common.js';

export async function reportLineage(ctx: Context, p: ValidParamsOf<typeof ReportLineage>): Promise<ResultOf<typeof ReportLineage>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const { store } = openLineage(ws, p.snapshot, false);
  return { title: p.snapshot === undefined ? 'Lineage for current state' : `Lineage for ${p.snapshot}`, rows: lineageTable(store) };
}
