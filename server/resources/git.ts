/**
 * `git`: a separate local git repository (resources.md §3). Compare hash = restore hash = the
 * repository's HEAD commit after committing all its changes.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { InternalError } from '../../protocol/errors.js';
import type { Role } from '../../protocol/workspace.js';
import { Git } from '../workspace/git.js';
import type { JsonObject, ResourceParams, Workspace } from '../workspace/workspace.js';
import { moveResultsInGit } from './git-common.js';
import type { Resource, ResourceType, SnapshotHashes } from './types.js';

export class GitRepoResource implements Resource {
  readonly name: string;
  readonly role: Role;
  readonly localPath: string;
  readonly branch: string;
  readonly git: Git;

  constructor(
    readonly ws: Workspace,
    readonly params: ResourceParams,
    local: JsonObject | undefined,
  ) {
    this.name = params.name;
    this.role = params.role;
    this.branch = String(params.branch);
    const lp = local?.local_path;
    if (typeof lp !== 'string') {
      throw new InternalError(`Resource '${this.name}' has local state and needs to be cloned`, { resource: this.name });
    }
    // A relative local path is relative to the workspace (it moves with it).
    this.localPath = isAbsolute(lp) ? lp : resolve(ws.dir, lp);
    this.git = new Git(this.localPath, ws.ctx);
  }

  async snapshotPrecheck(): Promise<void> {
    if (!existsSync(this.localPath)) {
      throw new InternalError(`Local path ${this.localPath} of git resource '${this.name}' does not exist`, { resource: this.name });
    }
  }

  async snapshot(): Promise<SnapshotHashes> {
    if (this.role !== 'results') await this.git.commitAll('autocommit ahead of snapshot');
    await this.switchToBranch();
    const head = await this.git.headCommit();
    return { compareHash: head, restoreHash: head };
  }

  async switchToBranch(): Promise<void> {
    if ((await this.git.currentBranch()) === this.branch) return;
    if (!(await this.git.succeeds(['rev-parse', '--verify', '--quiet', `refs/heads/${this.branch}`]))) {
      throw new InternalError(`Trying to switch to branch ${this.branch} not in repo at ${this.localPath}`, { resource: this.name });
    }
    await this.git.run(['checkout', '--quiet', this.branch]);
  }

  get results() {
    if (this.role !== 'results') return undefined;
    return {
      moveCurrentFiles: async (relDest: string, excludeFiles: string[], excludeDirs: RegExp) => {
        await this.switchToBranch();
        return moveResultsInGit(this.git, {
          root: this.localPath,
          repoRel: '',
          resourceName: this.name,
          relDest,
          excludeFiles,
          excludeDirs,
          copy: this.params.export === true,
        });
      },
    };
  }
}

export const gitType: ResourceType = {
  typeName: 'git',
  open: (ws, params, local) => new GitRepoResource(ws, params, local),
};
