/** `dws/report/status`: the workspace's resources, grouped by role (cli.md `report status`). */
import { ROLES, type ReportStatus, type ResourceInfo, type ResultOf, type ValidParamsOf, type reportStatus as ReportStatusMethod } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { openResource } from '../resources/registry.js';
import { Workspace, type ResourceParams } from '../workspace/workspace.js';

export async function reportStatus(ctx: Context, p: ValidParamsOf<typeof ReportStatusMethod>): Promise<ResultOf<typeof ReportStatusMethod>> {
  return workspaceStatus(Workspace.open(ctx, p.workspaceDir));
}

export async function workspaceStatus(ws: Workspace): Promise<ReportStatus> {
  const byRole = ROLES.flatMap((role) => ws.resources.filter((r) => r.role === role));
  const resources = await Promise.all(byRole.map((r) => resourceInfo(ws, r)));
  return {
    workspaceName: ws.name,
    workspaceDir: ws.dir,
    resources,
    missingRoles: ROLES.filter((role) => !ws.resources.some((r) => r.role === role)),
  };
}

/** A resource as the protocol shows it; the local path is null when it cannot be determined here. */
export async function resourceInfo(ws: Workspace, params: ResourceParams): Promise<ResourceInfo> {
  const { resource_type, name, role, ...rest } = params;
  let localPath: string | null = null;
  try {
    localPath = (await openResource(ws, params)).localPath;
  } catch {
    // a type we do not know or a resource not cloned here: still listed, without a path
  }
  return { name, role, resourceType: resource_type, localPath, params: rest };
}
