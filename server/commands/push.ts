/** `dws/push`: push the selected resources, then the workspace repository, to their origins (cli.md push). */
import type { push as Push, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { Workspace } from '../workspace/workspace.js';
import { pushWorkspace, selectResources } from './share-common.js';

export async function push(ctx: Context, p: ValidParamsOf<typeof Push>): Promise<ResultOf<typeof Push>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const sel = await selectResources(ctx, ws.resources, p);
  const resources = await pushWorkspace(ctx, ws, sel, p.onlyWorkspace);
  return { resources, skippedNoLocalState: sel.noLocalState };
}
