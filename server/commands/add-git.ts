/**
 * `dws/add/git`: a separate local git repository (`git` resource), or a directory of the
 * workspace repository (`git-subdirectory`) when the path has no `.git` of its own
 * (cli.md `add`, resources.md §2-3).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ConfigurationError, ConflictError, InvalidParamsError, NotFoundError, UserAbortError } from '../../protocol/errors.js';
import type { addGit as AddGit, ValidParamsOf, ResultOf, Role } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { importLineage } from '../../lineage/store.js';
import { Git } from '../workspace/git.js';
import { isWithin, relativePosix } from '../workspace/paths.js';
import { Workspace } from '../workspace/workspace.js';
import { checkPathConflicts, chooseName, chooseRole, readExportedLineage, realOrResolved, registerResource } from './add-common.js';

const PURPOSE: Record<Role, string> = {
  'source-data': 'source data',
  'intermediate-data': 'intermediate data',
  code: 'code',
  results: 'experimental results',
};

export async function addGit(ctx: Context, p: ValidParamsOf<typeof AddGit>): Promise<ResultOf<typeof AddGit>> {
  const path = p.path ?? '';
  if (/^(git@|https?:\/\/|ssh:\/\/)/.test(path)) {
    throw new InvalidParamsError(
      `It looks like you tried to specify a git URL (${path}). Currently, git resources only accept a local path. Try cloning your repository and then passing the local path to that repository.`,
      { path },
    );
  }
  const opts = { role: p.role, name: p.name, export: p.export, imported: p.imported };
  const role = await chooseRole(ctx, opts);
  const ws = Workspace.open(ctx, p.workspaceDir);
  const localPath = resolve(ctx.cwd, path);
  await checkPathConflicts(ws, localPath);
  if (!existsSync(join(localPath, '.git'))) return addSubdirectory(ctx, ws, p, role, localPath);

  // A separate repository.
  const repo = new Git(localPath, ctx);
  if (isWithin(realOrResolved(localPath), realOrResolved(ws.dir))) {
    const rel = relativePosix(realOrResolved(ws.dir), realOrResolved(localPath));
    if ((await ws.git.run(['ls-files', '--', rel])).trim() !== '') {
      throw new ConflictError(`${localPath} is a git repository, but also part of the parent workspace's repo`, { path: localPath });
    }
  }
  const origin = (await repo.succeeds(['config', '--get', 'remote.origin.url']))
    ? (await repo.run(['config', '--get', 'remote.origin.url'])).trim()
    : null;
  if (origin === null) {
    throw new ConfigurationError(`Remote origin is missing for git repository at ${localPath}. Please configure before adding resource (git remote add origin URL).`, {
      path: localPath,
    });
  }
  const current = await repo.currentBranch();
  const branch = p.branch ?? current;
  if (!(await repo.succeeds(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]))) {
    throw new NotFoundError(`Requested branch '${branch}' is not available for git repository at ${localPath}`, { branch });
  }
  const name = await chooseName(ctx, ws, p.name, basename(localPath), role);
  const lineages = opts.imported ? readExportedLineage(localPath, name) : null;
  if (branch !== current) {
    if (await repo.isDirty()) {
      ctx.log.warn(
        `WARNING: Git repo is currently on branch ${current} and branch ${branch} was requested. However, the current branch has uncommitted changes. Will skip changing the branch after adding the repo to workspace.`,
      );
    } else {
      await repo.run(['checkout', '--quiet', branch]);
    }
  }
  const inside = isWithin(realOrResolved(localPath), realOrResolved(ws.dir));
  const relativeLocalPath = inside ? relativePosix(realOrResolved(ws.dir), realOrResolved(localPath)) : null;
  await registerResource(
    ws,
    {
      resource_type: 'git',
      name,
      role,
      export: opts.export,
      remote_origin_url: origin,
      relative_local_path: relativeLocalPath,
      branch,
      read_only: p.readOnly || opts.imported,
      imported: opts.imported,
    },
    { local_path: relativeLocalPath ?? localPath },
    localPath,
  );
  if (lineages) importLineage(ws, name, lineages);
  return { name, role, resourceType: 'git', localPath };
}

async function addSubdirectory(
  ctx: Context,
  ws: Workspace,
  p: ValidParamsOf<typeof AddGit>,
  role: Role,
  localPath: string,
): Promise<ResultOf<typeof AddGit>> {
  const wsBranch = await ws.branch();
  if (p.branch !== undefined && p.branch !== wsBranch) {
    // These four are ConfigurationErrors in 1.6 (exit 1): the options parse, the workspace refuses them.
    throw new ConfigurationError(`Branch for subdirectory must match branch of primary dws git repository (${wsBranch})`, { branch: p.branch });
  }
  if (p.readOnly) throw new ConfigurationError(`The ${ctx.option('readOnly')} parameter is only valid for separate git repositories, not subdirectories.`);
  if (p.imported) throw new ConfigurationError(`The ${ctx.option('imported')} parameter is only valid for separate git repositories, not subdirectories.`);
  const wsReal = realOrResolved(ws.dir);
  if (!isWithin(realOrResolved(localPath), wsReal)) {
    throw new ConfigurationError(
      `${localPath} is not a git repository, and git subdirectories can only be used as resources when under the workspace repo (${ws.dir}).`,
      { path: localPath },
    );
  }
  const rel = relativePosix(wsReal, realOrResolved(localPath));
  const name = await chooseName(ctx, ws, p.name, basename(localPath), role);
  if (!existsSync(localPath)) {
    if (!ctx.prompter) {
      throw new NotFoundError(`Did not find '${localPath}'. Cannot create a resource from a git subdirectory if the directory does not already exist.`, {
        path: localPath,
      });
    }
    const ok = await ctx.prompter.confirm(
      `The subdirectory ${rel} does not currently exist, but must be a part of the workspace's git repo in order to be used as a resource. Do you want it to be created and added to git?`,
      false,
    );
    if (!ok) throw new UserAbortError();
    await createSubdirectory(ws, rel, role);
  }
  registerGitSubdirectory(ws, { name, role, relativePath: rel, export: p.export });
  await ws.commit(`add of ${name}`);
  return { name, role, resourceType: 'git-subdirectory', localPath };
}

/** Create a resource directory with a README so git tracks it, and commit it (also used by init). */
export async function createSubdirectory(ws: Workspace, rel: string, role: Role): Promise<void> {
  const dir = join(ws.dir, rel);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'README.txt'),
    `This directory is for ${PURPOSE[role]}.\nThis README file ensures the directory is added to the git repository, as git does not support empty directories.\n`,
  );
  await ws.git.run(['add', '--', `${rel}/README.txt`]);
  await ws.git.run(['commit', '--quiet', '--no-verify', '-m', `Add ${rel} to repo for storing results`, '--', `${rel}/README.txt`]);
  ws.ctx.log.info(`Added ${rel} to git repository`);
}

/** Append a git-subdirectory resource to the metadata (the caller commits). */
export function registerGitSubdirectory(ws: Workspace, r: { name: string; role: Role; relativePath: string; export: boolean }): void {
  ws.resources.push({ resource_type: 'git-subdirectory', name: r.name, role: r.role, export: r.export, relative_path: r.relativePath });
  ws.resourceLocalParams[r.name] = { local_path: join(ws.dir, r.relativePath) };
  ws.writeResources();
  ws.writeResourceLocalParams();
}
