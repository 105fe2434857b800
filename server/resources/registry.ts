/**
 * Resource types by `resource_type` name, loaded lazily so a command pays only for the types
 * its workspace uses.
 */
import { InternalError } from '../../protocol/errors.js';
import type { ResourceParams, Workspace } from '../workspace/workspace.js';
import type { Resource, ResourceType } from './types.js';

const LOADERS: Record<string, () => Promise<ResourceType>> = {
  git: async () => (await import('./git.js')).gitType,
  'git-subdirectory': async () => (await import('./git-subdirectory.js')).gitSubdirectoryType,
  file: async () => (await import('./local-files.js')).localFilesType,
  rclone: async () => (await import('./rclone.js')).rcloneType,
  'api-resource': async () => (await import('./api-resource.js')).apiResourceType,
};

export const RESOURCE_TYPE_NAMES = Object.keys(LOADERS).sort();

export async function resourceType(name: string): Promise<ResourceType> {
  const load = LOADERS[name];
  if (!load) {
    throw new InternalError(`'${name}' not a valid resource type. Valid types are: ${RESOURCE_TYPE_NAMES.join(', ')}.`, { resourceType: name });
  }
  return load();
}

export async function openResource(ws: Workspace, params: ResourceParams): Promise<Resource> {
  const type = await resourceType(params.resource_type);
  return type.open(ws, params, ws.resourceLocalParams[params.name]);
}

/** All resources of the workspace, in resources.json order. */
export async function openResources(ws: Workspace): Promise<Resource[]> {
  return Promise.all(ws.resources.map((p) => openResource(ws, p)));
}
