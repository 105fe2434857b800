/**
 * `git-subdirectory`: a directory of the workspace repository itself (resources.md §2).
 * Compare hash = git tree id of the directory at HEAD; restore hash = the workspace HEAD commit.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from '../../protocol/errors.js';
import type { Role } from '../../protocol/workspace.js';
import type { JsonObject, ResourceParams, Workspace } from '../workspace/workspace.js';
import { EMPTY_TREE, moveResultsInGit, stageTreeOfCommit } from './git-common.js';
import type { Resource, ResourceType, SnapshotHashes } from './types.js';

export class GitSubdirectoryResource implements Resource {
  readonly name: string;
  readonly role: Role;
  readonly localPath: string;
  readonly relativePath: string;

  constructor(
    readonly ws: Workspace,
    readonly params: ResourceParams,
  ) {
    this.name = params.name;
    this.role = params.role;
    this.relativePath = String(params.relative_path);
    // Always relative to the workspace, whatever resource_local_params.json says (1.6 too).
    this.localPath = join(ws.dir, this.relativePath);
  }

  async snapshotPrecheck(): Promise<void> {}

  /** The data travels with the workspace repository; only the directory must be there. */
  async pushPrecheck(): Promise<void> {
    if (!existsSync(this.localPath)) {
      throw new ConfigurationError(`Missing directory ${this.localPath} for resource ${this.name}`, { resource: this.name, path: this.localPath });
    }
  }

  async snapshot(): Promise<SnapshotHashes> {
    const git = this.ws.git;
    // Results were committed by the move just before; other roles commit their edits now.
    if (this.role !== 'results') {
      await git.commitAll('autocommit ahead of snapshot', `${this.relativePath}/`, { only: true });
    }
    const tree = await this.treeAtHead();
    return { compareHash: tree, restoreHash: await git.headCommit() };
  }

  async restorePrecheck(restoreHash: string): Promise<void> {
    if (!(await this.ws.git.succeeds(['cat-file', '-e', `${restoreHash}^{commit}`]))) {
      throw new ConfigurationError(
        `No commit found with hash '${restoreHash}' in Git repository subdirectory ${this.relativePath} in role '${this.role}'`,
        { resource: this.name, restoreHash },
      );
    }
  }

  /** The directory's tree becomes the snapshot's, as a new commit (history is never rewritten). */
  async restore(restoreHash: string): Promise<boolean> {
    const git = this.ws.git;
    const dir = `${this.relativePath}/`;
    await git.commitAll('auto-commit ahead of restore', dir, { only: true });
    if (!(await stageTreeOfCommit(git, restoreHash, this.relativePath))) return false;
    await git.run(['commit', '--quiet', '--no-verify', '-m', `Revert to commit ${restoreHash}`, '--only', '--', this.relativePath], { bulk: true });
    return true;
  }

  /** `git rm -rf` the snapshot's results directory and commit "Deleted <abs dir>". */
  async deleteSnapshotDir(relDest: string): Promise<string | null> {
    const abs = join(this.localPath, relDest);
    if (!existsSync(abs)) return null;
    await this.ws.git.run(['rm', '-r', '-f', '--quiet', '--', `${this.relativePath}/${relDest}`], { bulk: true });
    await this.ws.git.commitStaged(`Deleted ${abs}`);
    return abs;
  }

  /** Tree id of the directory at HEAD; a directory with no tracked files is the empty tree (1.6 crashed). */
  private async treeAtHead(): Promise<string> {
    const out = await this.ws.git.run(['ls-tree', '-t', '-z', 'HEAD', '--', this.relativePath]);
    for (const line of out.split('\0')) {
      const tab = line.indexOf('\t');
      if (tab > 0 && line.slice(tab + 1) === this.relativePath) return line.slice(0, tab).split(' ')[2]!;
    }
    return EMPTY_TREE;
  }

  get results() {
    if (this.role !== 'results') return undefined;
    return {
      moveCurrentFiles: (relDest: string, excludeFiles: string[], excludeDirs: RegExp, resuming: boolean) =>
        moveResultsInGit(this.ws.git, {
          root: this.localPath,
          repoRel: this.relativePath,
          resourceName: this.name,
          relDest,
          excludeFiles,
          excludeDirs,
          resuming,
          copy: this.params.export === true,
        }),
    };
  }
}

export const gitSubdirectoryType: ResourceType = {
  typeName: 'git-subdirectory',
  open: (ws: Workspace, params: ResourceParams, _local: JsonObject | undefined) => new GitSubdirectoryResource(ws, params),
  // The workspace clone or pull brings the files; a directory without tracked files is created.
  clone: async (ws: Workspace, params: ResourceParams) => {
    const dir = join(ws.dir, String(params.relative_path));
    mkdirSync(dir, { recursive: true });
    return { local_path: dir };
  },
};
