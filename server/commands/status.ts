/** `dws/status`: the resources of the workspace and, on request, its history (cli.md `status`). */
import type { ResultOf, status as Status, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { Workspace } from '../workspace/workspace.js';
import { snapshotHistory } from './report-history.js';
import { workspaceStatus } from './report-status.js';

export async function status(ctx: Context, p: ValidParamsOf<typeof Status>): Promise<ResultOf<typeof Status>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const result = await workspaceStatus(ws);
  return p.history ? { ...result, history: snapshotHistory(ws, p.limit) } : result;
}
