/**
 * `dws/clone`: clone a workspace repository and recreate each resource's local state on this
 * machine (cli.md clone, workspace-format §11 for the scratch directory). Any failure removes
 * the new workspace directory, so a failed clone leaves nothing behind.
 */
import { accessSync, constants, existsSync, lstatSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigurationError, ConflictError, InternalError, NotFoundError } from '../../protocol/errors.js';
import type { clone as Clone, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import { gitFatCloneWarning, gitFatRepositories } from '../backends/git/git-fat.js';
import type { Context } from '../context.js';
import { openResource, resourceType } from '../resources/registry.js';
import type { Resource } from '../resources/types.js';
import { materializeLatest } from '../store/share.js';
import { readJsonFile, writeJsonFile } from '../workspace/files.js';
import { Git } from '../workspace/git.js';
import { isWithin } from '../workspace/paths.js';
import { linkStepTypes } from '../workspace/step-types.js';
import { META_DIR, scratchDirectory, Workspace, type JsonObject } from '../workspace/workspace.js';
import { checkGitIdentity, chooseHostname } from './init.js';
import { gitRepositories, repositoryLocation } from './share-common.js';

export async function clone(ctx: Context, p: ValidParamsOf<typeof Clone>): Promise<ResultOf<typeof Clone>> {
  const hostname = await chooseHostname(ctx, p.hostname);
  const target = p.directory === undefined ? null : resolve(ctx.cwd, p.directory);
  if (target !== null) checkTarget(target);
  const here = new Git(ctx.cwd, ctx);
  await checkGitIdentity(ctx, here);
  const repo = repositoryLocation(ctx, p.repository);
  if (!(await here.succeeds(['ls-remote', '--quiet', repo]))) {
    throw new ConfigurationError(`Unable to access remote repository '${repo}'`, { repository: repo });
  }

  // Without a target, clone under a temporary name and rename once the workspace name is known.
  const cloneDir = target ?? join(ctx.cwd, `.dws-clone-${process.pid}-${Date.now()}`);
  let dir = cloneDir;
  try {
    await here.run(['clone', '--quiet', repo, cloneDir]);
    // Interrupted (Ctrl-C in the CLI, a cancelled request): at the next step, the catch below removes the clone.
    ctx.signal?.throwIfAborted();
    const configFile = join(cloneDir, META_DIR, 'config.json');
    if (!existsSync(configFile)) throw new ConfigurationError('Did not find configuration file in remote repo', { repository: repo });
    const config = readJsonFile(configFile) as JsonObject;
    if (typeof config.name !== 'string') throw new InternalError("Missing 'name' property in configuration file", { file: configFile });
    if (target === null) {
      // Taken as the clone's only once the rename made it so: a failure below removes `dir`.
      const named = join(ctx.cwd, config.name);
      refuseExisting(named);
      renameSync(cloneDir, named);
      dir = named;
    }
    const globalParams = (config.global_params ?? {}) as JsonObject;
    const localParams: JsonObject = { hostname };
    if (typeof globalParams.scratch_directory !== 'string') localParams.local_scratch_directory = await askScratch(ctx, dir);
    const git = new Git(dir, ctx);
    const branch = globalParams.dws_git_branch;
    if (typeof branch === 'string' && (await git.currentBranch()) !== branch) await git.run(['checkout', '--quiet', branch]);
    writeJsonFile(join(dir, META_DIR, 'local_params.json'), localParams);
    writeJsonFile(join(dir, META_DIR, 'resource_local_params.json'), {});
    for (const sub of ['snapshots', 'snapshot_metadata', 'current_lineage']) mkdirSync(join(dir, META_DIR, sub), { recursive: true });

    const ws = Workspace.load(ctx, dir);
    ctx.log.info(`Completed initial clone of workspace ${ws.name}, will check for resources to clone...`);
    const withState = [];
    for (const params of ws.resources) {
      const type = await resourceType(params.resource_type);
      if (type.clone) withState.push({ params, clone: type.clone });
    }
    ctx.log.info(withState.length === 0 ? 'No resources with local state to clone.' : `Will clone the following resources: ${withState.map((r) => r.params.name).join(', ')}`);
    const resources: ResultOf<typeof Clone>['resources'] = [];
    const opened: Resource[] = [];
    for (const { params, clone: cloneResource } of withState) {
      ctx.signal?.throwIfAborted();
      ws.resourceLocalParams[params.name] = await cloneResource(ws, params);
      ws.writeResourceLocalParams();
      const r = await openResource(ws, params);
      opened.push(r);
      resources.push({ name: params.name, localPath: r.localPath });
    }
    ctx.signal?.throwIfAborted();
    await materializeLatest(ws, opened);
    ctx.signal?.throwIfAborted();
    const gitResources = await Promise.all(ws.resources.filter((r) => r.resource_type === 'git').map((r) => openResource(ws, r)));
    for (const fat of gitFatRepositories([dir, ...gitRepositories(gitResources)])) ctx.log.warn(gitFatCloneWarning(fat));
    mkdirSync(scratchDirectory(ws)!, { recursive: true });
    // A clone rarely changes what dws commits: one git status instead of git add and git diff.
    if (await ws.hasUncommittedChanges()) await ws.commit('Clone');
    await linkStepTypes(ctx, ws.git, dir);
    return { workspaceDir: dir, name: ws.name, hostname, resources };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cloneDir, { recursive: true, force: true });
    throw e;
  }
}

/** A path that is taken (by anything: a folder, a file, a link even if dangling) is never the clone's. */
function refuseExisting(path: string): void {
  if (lstatSync(path, { throwIfNoEntry: false }) !== undefined) throw new ConflictError(`Clone target directory '${path}' already exists`, { path });
}

function checkTarget(target: string): void {
  refuseExisting(target);
  const parent = dirname(target);
  if (!existsSync(parent) || !statSync(parent).isDirectory()) throw new NotFoundError(`Parent directory '${parent}' does not exist`, { path: parent });
  try {
    accessSync(parent, constants.W_OK);
  } catch {
    throw new ConfigurationError(`Unable to write into directory '${parent}'`, { path: parent });
  }
}

/** The workspace keeps its scratch directory outside: ask where it goes on this machine. */
async function askScratch(ctx: Context, dir: string): Promise<string> {
  if (!ctx.prompter) {
    throw new ConfigurationError('Scratch directory was not within workspaces and we are running in batch mode. No way to ask user for location.');
  }
  const answer = await ctx.prompter.text("Please specify a location for this workspace's scratch directory (must be outside of workspace)", {
    validate: (a) => (a === '' ? 'A path is required' : isWithin(resolve(ctx.cwd, a), dir) ? `${resolve(ctx.cwd, a)} is inside the workspace` : null),
  });
  return resolve(ctx.cwd, answer);
}
