/** `dws/status`: the resources of the workspace, the recorded steps that are stale, and on request its history (cli.md `status`). */
import type { ResultOf, status as Status, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { LineageStore } from '../../lineage/store.js';
import { staleSteps } from '../../lineage/staleness.js';
import { openResource } from '../resources/registry.js';
import { changesSinceSnapshot } from '../store/share.js';
import { Workspace } from '../workspace/workspace.js';
import { snapshotHistory } from './report-history.js';
import { workspaceStatus } from './report-status.js';

export async function status(ctx: Context, p: ValidParamsOf<typeof Status>): Promise<ResultOf<typeof Status>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  await ctx.watched?.follow(ws.dir);
  // A resource that cannot be opened here (unknown type, not cloned) is still listed; it just
  // cannot make a step stale.
  const resources = (await Promise.all(ws.resources.map((r) => openResource(ws, r).catch(() => null)))).filter((r) => r !== null);
  const result = {
    ...(await workspaceStatus(ws)),
    stale: await staleSteps(new LineageStore(ws), resources, ctx.watched?.currentHash),
    ...(p.changes ? { changes: await changesSinceSnapshot(ws, resources) } : {}),
  };
  return p.history ? { ...result, history: snapshotHistory(ws, p.limit) } : result;
}
