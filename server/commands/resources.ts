/** `dws/resources`: resources in resources.json order with local paths (api.md `get_resource_info`). */
import type { resources as Resources, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { Workspace } from '../workspace/workspace.js';
import { resourceInfo } from './report-status.js';

export async function resources(ctx: Context, p: ValidParamsOf<typeof Resources>): Promise<ResultOf<typeof Resources>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  return Promise.all(ws.resources.map((r) => resourceInfo(ws, r)));
}
