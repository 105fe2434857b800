/** `dws/add/api-resource`: data obtained through an API, hashed by a kit (cli.md `add`, resources.md §6). */
import { InvalidParamsError } from '../../protocol/errors.js';
import { API_RESOURCE_ROLES, type addApiResource as AddApiResource, type ResultOf, type ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { ensureResourceScratch } from '../resources/api-resource.js';
import { Workspace } from '../workspace/workspace.js';
import { chooseName, chooseRole, registerResource } from './add-common.js';

export async function addApiResource(ctx: Context, p: ValidParamsOf<typeof AddApiResource>): Promise<ResultOf<typeof AddApiResource>> {
  const role = await chooseRole(ctx, { role: p.role, name: p.name, export: p.export, imported: p.imported }, API_RESOURCE_ROLES);
  // An answer to the role question is checked here (chooseRole checks only a given --role).
  if (!(API_RESOURCE_ROLES as readonly string[]).includes(role)) {
    throw new InvalidParamsError(`Invalid resource role. Must be one of: ${API_RESOURCE_ROLES.join(', ')}`, { role });
  }
  const ws = Workspace.open(ctx, p.workspaceDir);
  const name = await chooseName(ctx, ws, p.name, `${role}-api`, role);
  await ensureResourceScratch(ws, name);
  await registerResource(ws, { resource_type: 'api-resource', name, role }, {}, null);
  return { name, role, resourceType: 'api-resource', localPath: null };
}
