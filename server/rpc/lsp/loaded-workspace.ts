/** A workspace and its resources, opened for one editor request (cheap: a few small JSON files). */
import { createContext, type Logger } from '../../context.js';
import { openResource } from '../../resources/registry.js';
import type { Resource } from '../../resources/types.js';
import { Workspace } from '../../workspace/workspace.js';

export interface LoadedWorkspace {
  ws: Workspace;
  /** By name; null for a resource that cannot be opened here (unknown type). */
  resources: Map<string, Resource | null>;
}

export async function loadWorkspace(dir: string, log: Logger): Promise<LoadedWorkspace> {
  const ws = Workspace.load(createContext({ cwd: dir, log }), dir);
  const opened = await Promise.all(ws.resources.map((p) => openResource(ws, p).catch(() => null)));
  return { ws, resources: new Map(ws.resources.map((p, i) => [p.name, opened[i] ?? null])) };
}
