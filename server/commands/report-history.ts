/** `dws/report/history`: snapshots, newest first (cli.md `report history`). */
import type { reportHistory as ReportHistory, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { SnapshotStore, toSnapshotInfo } from '../backends/git/snapshots.js';
import { Workspace } from '../workspace/workspace.js';

export async function reportHistory(ctx: Context, p: ValidParamsOf<typeof ReportHistory>): Promise<ResultOf<typeof ReportHistory>> {
  return snapshotHistory(Workspace.open(ctx, p.workspaceDir), p.limit);
}

export function snapshotHistory(ws: Workspace, limit: number | undefined): ResultOf<typeof ReportHistory> {
  const all = new SnapshotStore(ws).history();
  return { snapshots: all.slice(0, limit ?? all.length).map(toSnapshotInfo), total: all.length };
}
