/**
 * `git`: a separate local git repository (resources.md §3). Compare hash = restore hash = the
 * repository's HEAD commit after committing all its changes.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigurationError, ConflictError, InternalError, SubprocessError } from '../../protocol/errors.js';
import type { Role } from '../../protocol/workspace.js';
import { ensureGitignoreEntry } from '../backends/git/gitignore.js';
import { Git } from '../workspace/git.js';
import { isWithin, relativePosix, someOf } from '../workspace/paths.js';
import type { JsonObject, ResourceParams, Workspace } from '../workspace/workspace.js';
import { moveResultsInGit, pushState, stageTreeOfCommit } from './git-common.js';
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
    // The repository is wholly the resource's: 1.6 commits all of it.
    if (this.role !== 'results') await this.git.commitAll('autocommit ahead of snapshot', '.');
    await this.switchToBranch();
    const head = await this.git.headCommit();
    return { compareHash: head, restoreHash: head };
  }

  get readOnly(): boolean {
    return this.params.read_only === true;
  }

  async pushPrecheck(): Promise<void> {
    if (this.readOnly) return;
    await this.checkClean('pushing');
    const state = await pushState(this.git, this.branch);
    if (state === 'unreachable') throw this.unreachable();
    if (state === 'needs-pull') {
      throw new ConfigurationError(`Resource '${this.name}' requires a pull from the remote origin before pushing.`, { resource: this.name });
    }
  }

  async push(): Promise<void> {
    if (this.readOnly) return this.ws.ctx.log.info(`Skipping push of resource ${this.name}, as it is read-only`);
    await this.git.run(['push', '--quiet', 'origin', this.branch]);
  }

  async pullPrecheck(): Promise<void> {
    await this.checkClean('pulling');
    if (!(await this.git.succeeds(['ls-remote', '--quiet', 'origin']))) throw this.unreachable();
    await this.checkMerges();
  }

  /**
   * The origin's commits must merge without conflicts: met in pull(), after the workspace's own
   * merge, a conflict left the pull half done. A trial merge (git 2.38+) writes no file; when
   * git cannot make one, pull() finds out as before.
   */
  private async checkMerges(): Promise<void> {
    if (!(await this.git.succeeds(['fetch', '--quiet', 'origin', this.branch]))) return;
    try {
      await this.git.run(['merge-tree', '--write-tree', '--no-messages', `refs/heads/${this.branch}`, 'FETCH_HEAD']);
    } catch (e) {
      if (!(e instanceof SubprocessError)) throw e;
      if (e.data.exitCode !== 1) return; // not a conflict: an older git, an unrelated history...
      throw new ConflictError(
        `The commits of the origin of git resource '${this.name}' (branch ${this.branch}) conflict with those of ${this.localPath}; nothing was changed. Merge by hand: in ${this.localPath} run 'git pull --no-rebase origin ${this.branch}', resolve the conflicts, 'git commit', then '${this.ws.ctx.command('dws/pull')}' again.`,
        { resource: this.name, path: this.localPath },
      );
    }
  }

  async pull(): Promise<boolean> {
    await this.switchToBranch();
    await this.git.run(['pull', '--quiet', '--no-rebase', '--no-edit', 'origin', this.branch]);
    return false;
  }

  /** The repository's changed and new files, by path. */
  private async uncommitted(): Promise<string[]> {
    return (await this.git.status()).map((e) => e.path);
  }

  private async checkClean(doing: string): Promise<void> {
    const changed = await this.uncommitted();
    if (changed.length > 0) {
      throw new ConfigurationError(`Git repo at ${this.localPath} has uncommitted changes. Please commit your changes before ${doing}. Changed: ${someOf(changed)}`, {
        resource: this.name,
        path: this.localPath,
        paths: changed,
      });
    }
  }

  private unreachable(): ConfigurationError {
    return new ConfigurationError(
      `Problem in accessing remote repository of resource '${this.name}' (origin ${String(this.params.remote_origin_url)} of ${this.localPath}). Check that it exists and you can reach it.`,
      { resource: this.name },
    );
  }

  /** The commit must exist, the branch too, and uncommitted changes are refused unless `force`. */
  async restorePrecheck(restoreHash: string, options: { force: boolean }): Promise<void> {
    await this.snapshotPrecheck();
    if (!(await this.git.succeeds(['cat-file', '-e', `${restoreHash}^{commit}`]))) {
      throw new ConfigurationError(`No commit found with hash '${restoreHash}' in Git repository ${this.localPath} in role '${this.role}'`, {
        resource: this.name,
        restoreHash,
      });
    }
    if (!(await this.git.succeeds(['rev-parse', '--verify', '--quiet', `refs/heads/${this.branch}`]))) {
      throw new ConfigurationError(`Cannot restore resource '${this.name}': branch ${this.branch} does not exist in the git repository at ${this.localPath}`, {
        resource: this.name,
      });
    }
    const changed = options.force ? [] : await this.uncommitted();
    if (changed.length > 0) {
      throw new ConfigurationError(
        `Cannot restore resource '${this.name}': the git repository at ${this.localPath} has uncommitted changes (${someOf(changed)}). Commit or discard them, or run restore with ${this.ws.ctx.option('force')} to commit them first.`,
        { resource: this.name, path: this.localPath, paths: changed },
      );
    }
  }

  /** The repository's content becomes the recorded commit's, as a new commit on its branch. */
  async restore(restoreHash: string): Promise<boolean> {
    await this.git.commitAll('auto-commit ahead of restore', '.');
    await this.switchToBranch();
    if (!(await stageTreeOfCommit(this.git, restoreHash, ''))) return false;
    await this.git.commitStaged(`Revert to commit ${restoreHash}`);
    return true;
  }

  /** `git rm -rf` the snapshot's results directory in the resource repository, commit "Deleted <abs dir>". */
  async deleteSnapshotDir(relDest: string): Promise<string | null> {
    const abs = join(this.localPath, relDest);
    if (!existsSync(abs)) return null;
    await this.switchToBranch();
    await this.git.run(['rm', '-r', '-f', '--quiet', '--', relDest], { bulk: true });
    await this.git.commitStaged(`Deleted ${abs}`);
    return abs;
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
      moveCurrentFiles: async (relDest: string, excludeFiles: string[], excludeDirs: RegExp, resuming: boolean) => {
        await this.switchToBranch();
        return moveResultsInGit(this.git, {
          root: this.localPath,
          repoRel: '',
          resourceName: this.name,
          relDest,
          excludeFiles,
          excludeDirs,
          resuming,
          copy: this.params.export === true,
        });
      },
    };
  }
}

export const gitType: ResourceType = {
  typeName: 'git',
  open: (ws, params, local) => new GitRepoResource(ws, params, local),
  clone: cloneGitRepo,
};

/**
 * Clone the resource's origin to `<ws>/<relative_local_path>` (or `<ws>/<name>`), or where the
 * person says; an existing repository there must have the same origin and is pulled instead.
 */
async function cloneGitRepo(ws: Workspace, params: ResourceParams): Promise<JsonObject> {
  const { ctx } = ws;
  const url = String(params.remote_origin_url);
  const branch = String(params.branch);
  const rel = params.relative_local_path;
  const defaultPath = resolve(ws.dir, typeof rel === 'string' ? rel : params.name);
  const path = ctx.prompter
    ? resolve(ctx.cwd, await ctx.prompter.text(`Git resource '${params.name}' is being added to your workspace. Where do you want to clone it?`, { default: defaultPath }))
    : defaultPath;
  const git = new Git(path, ctx);
  if (existsSync(path)) {
    if (!existsSync(join(path, '.git'))) {
      throw new ConfigurationError(`Unable to add resource '${params.name}' as local path '${path}' exists but is not a git repository.`, { resource: params.name, path });
    }
    const origin = (await git.succeeds(['config', '--get', 'remote.origin.url'])) ? (await git.run(['config', '--get', 'remote.origin.url'])).trim() : '(none)';
    if (origin !== url) {
      throw new ConfigurationError(`Unable to add resource '${params.name}' as remote origin in local path '${path}' is ${origin}, but data workspace has '${url}'`, {
        resource: params.name,
        path,
      });
    }
    await git.run(['pull', '--quiet', '--no-rebase', '--no-edit', 'origin', branch]);
  } else {
    mkdirSync(dirname(path), { recursive: true });
    await new Git(dirname(path), ctx).run(['clone', '--quiet', url, path]);
  }
  if ((await git.currentBranch()) !== branch) await git.run(['checkout', '--quiet', branch]);
  if (isWithin(path, ws.dir)) ensureGitignoreEntry(join(ws.dir, '.gitignore'), `/${relativePosix(ws.dir, path)}/`);
  // Relative when it is the recorded place inside the workspace (it moves with the workspace).
  return { local_path: typeof rel === 'string' && resolve(ws.dir, rel) === path ? rel : path };
}
