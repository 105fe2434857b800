/**
 * `api-resource`: data obtained through an API (resources.md §6). It has no local files, only a
 * per-resource scratch directory where a kit writes `hashval.txt`, the hash of the data it read.
 * Compare hash = that file's content (null with a warning when missing); restore hash = null.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InternalError } from '../../protocol/errors.js';
import type { Role } from '../../protocol/workspace.js';
import { ensureGitignoreEntry } from '../backends/git/gitignore.js';
import type { ResourceParams, Workspace } from '../workspace/workspace.js';
import type { Resource, ResourceType, SnapshotHashes } from './types.js';

/** `.dataworkspace/scratch/<name>/`, git-ignored. */
export function resourceScratchDir(ws: Workspace, name: string): string {
  return ws.meta('scratch', name);
}

/** Create the scratch directory and its `.dataworkspace/.gitignore` entry, committed (workspace-format §11). */
export async function ensureResourceScratch(ws: Workspace, name: string): Promise<void> {
  mkdirSync(resourceScratchDir(ws, name), { recursive: true });
  const entry = `/scratch/${name}/`;
  if (ensureGitignoreEntry(ws.meta('.gitignore'), entry)) {
    await ws.git.run(['add', '--', join('.dataworkspace', '.gitignore')]);
    await ws.git.run(['commit', '--quiet', '--no-verify', '-m', `Add .gitignore entry for ${entry}`, '--', join('.dataworkspace', '.gitignore')]);
  }
}

export class ApiResource implements Resource {
  readonly name: string;
  readonly role: Role;
  readonly localPath = null;

  constructor(
    readonly ws: Workspace,
    readonly params: ResourceParams,
  ) {
    this.name = params.name;
    this.role = params.role;
  }

  get scratchDir(): string {
    return resourceScratchDir(this.ws, this.name);
  }

  async snapshotPrecheck(): Promise<void> {
    if (!existsSync(this.scratchDir)) {
      throw new InternalError(`Scratch path '${this.scratchDir}' for resource ${this.name} is missing`, { resource: this.name });
    }
  }

  async snapshot(): Promise<SnapshotHashes> {
    const file = join(this.scratchDir, 'hashval.txt');
    if (!existsSync(file)) {
      this.ws.ctx.log.warn(`WARNING: no hash available for resource ${this.name}`);
      return { compareHash: null, restoreHash: null };
    }
    return { compareHash: readFileSync(file, 'utf8').trimEnd(), restoreHash: null };
  }
}

export const apiResourceType: ResourceType = {
  typeName: 'api-resource',
  open: (ws, params) => new ApiResource(ws, params),
  clone: async (ws, params) => {
    await ensureResourceScratch(ws, params.name);
    return {};
  },
};
