/**
 * What push, pull and publish share (cli.md push/pull): the `--only`/`--skip`/`--only-workspace`
 * rules, the choice of resources, the workspace repository's origin checks and the push itself.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigurationError, InvalidParamsError, UserAbortError } from '../../protocol/errors.js';
import { gitFatRepositories, refuseGitFat } from '../backends/git/git-fat.js';
import type { Context } from '../context.js';
import { openResource, resourceType } from '../resources/registry.js';
import { pushState } from '../resources/git-common.js';
import { faultPoint } from '../workspace/fault.js';
import type { ResourceParams, Workspace } from '../workspace/workspace.js';
import { checkLocalRcloneFolder, checkRemoteFolder, listRemote, remoteLocation } from '../store/remote.js';
import { pushStore, warnDataNotPushed } from '../store/share.js';
import { isRcloneRemote, storeRemoteOf } from '../store/workspace-store.js';
import { checkResourceNames } from '../workspace/names.js';
import { someOf } from '../workspace/paths.js';

export interface SelectionParams {
  only?: string[] | undefined;
  skip?: string[] | undefined;
  onlyWorkspace: boolean;
}

export interface Selection {
  /** Resources to push or pull, in order. */
  selected: ResourceParams[];
  /** Chosen resources without local state (never pushed or pulled). */
  noLocalState: string[];
}

/** At most one of only, skip and onlyWorkspace: pull checks it before it fetches, the names only after. */
export function checkSelection(ctx: Context, p: SelectionParams): void {
  if ([p.only !== undefined, p.skip !== undefined, p.onlyWorkspace].filter(Boolean).length > 1) {
    throw new InvalidParamsError(`Please specify at most one of ${ctx.option('only')}, ${ctx.option('skip')}, or ${ctx.option('onlyWorkspace')}`);
  }
}

/** Check the options and pick resources from `resources` (the workspace's, or the incoming ones on pull). */
export async function selectResources(ctx: Context, resources: ResourceParams[], p: SelectionParams): Promise<Selection> {
  checkSelection(ctx, p);
  // 1.6 checks the names after parsing the options: exit 1, not a usage error.
  checkResourceNames(ctx, resources.map((r) => r.name), { only: p.only, skip: p.skip });
  if (p.onlyWorkspace) return { selected: [], noLocalState: [] };
  const chosen = p.only ? p.only.map((n) => resources.find((r) => r.name === n)!) : resources.filter((r) => !p.skip?.includes(r.name));
  const selected: ResourceParams[] = [];
  const noLocalState: string[] = [];
  for (const r of chosen) {
    if ((await resourceType(r.resource_type)).clone) selected.push(r);
    else noLocalState.push(r.name);
  }
  if (noLocalState.length > 0) ctx.log.info(`Skipping the following resources, which do not have local state: ${[...noLocalState].sort().join(', ')}`);
  return { selected, noLocalState };
}

/** Local paths of the separate git repositories among `resources` (git-subdirectory ones live in the workspace's). */
export function gitRepositories(resources: Array<{ params: ResourceParams; localPath: string | null }>): Array<string | null> {
  return resources.filter((r) => r.params.resource_type === 'git').map((r) => r.localPath);
}

export function unreachableOrigin(ws: Workspace, detail = ''): ConfigurationError {
  return new ConfigurationError(
    `Problem in accessing remote repository associated with '${ws.dir}'${detail ? `: ${detail}` : ''}. Check that its origin exists and can be reached (set one with '${ws.ctx.command('dws/publish', { remoteUrl: 'URL' })}').`,
    { path: ws.dir },
  );
}

/** A local path (relative to the cwd) made absolute, so the recorded origin works from anywhere; URLs as given. */
export function repositoryLocation(ctx: Context, repo: string): string {
  const local = resolve(ctx.cwd, repo);
  return existsSync(local) ? local : repo;
}

/**
 * Push the selected resources, then the workspace repository (cli.md push). Every check, the
 * workspace's and each resource's, passes before anything is pushed. Returns the names pushed.
 */
export async function pushWorkspace(ctx: Context, ws: Workspace, sel: Selection, onlyWorkspace: boolean): Promise<string[]> {
  const names = sel.selected.map((r) => r.name);
  if (onlyWorkspace) ctx.log.info('Pushing workspace.');
  else if (names.length > 0) ctx.log.info(`Pushing workspace and resources: ${names.join(', ')}`);
  else ctx.log.info('No resources to push, will still push workspace');
  // The store remote is listed while git checks the origin (and awaited before anything is
  // pushed: a remote that cannot be used stops the push there).
  const storeRemote = onlyWorkspace ? null : storeRemoteOf(ws);
  if (storeRemote !== null) checkRemoteFolder(ws, remoteLocation(ws, storeRemote));
  let missing = false; // the store remote's folder, as its listing found it
  const listing = storeRemote === null ? Promise.resolve(undefined) : listRemote(ws, remoteLocation(ws, storeRemote), { onMissing: () => (missing = true) });
  listing.catch(() => {}); // a check below may fail first: its error is the one to tell
  const branch = await ws.branch();
  const state = await pushState(ws.git, branch);
  if (state === 'unreachable') throw unreachableOrigin(ws);
  if (state === 'needs-pull') throw new ConfigurationError(`Data workspace at ${ws.dir} requires a pull from remote origin`, { path: ws.dir });
  const changed = await ws.uncommittedChanges();
  if (changed.length > 0) {
    if (!ctx.prompter) {
      throw new ConfigurationError(`Data workspace metadata repo at ${ws.dir} has uncommitted changes. Please commit before pushing. Changed: ${someOf(changed)}`, { path: ws.dir, paths: changed });
    }
    ctx.log.info(`Data workspace metadata repo at ${ws.dir} has uncommitted changes:\n${await ws.git.run(['status'])}`);
    if (!(await ctx.prompter.confirm('Do you wish to continue anyway?', false))) throw new UserAbortError('Aborted!');
  }
  const resources = await Promise.all(sel.selected.map((r) => openResource(ws, r)));
  refuseGitFat('push', gitFatRepositories([ws.dir, ...gitRepositories(resources)]));
  for (const r of resources) await r.pushPrecheck?.();
  const listed = await listing;
  // A missing rclone remote of type local: refused as a plain directory is above, if its disk is not there.
  if (missing && storeRemote !== null && isRcloneRemote(storeRemote)) await checkLocalRcloneFolder(ws, storeRemote);
  // Interrupted (Ctrl-C, SIGTERM, a cancelled request): stopped between steps, and always before
  // the workspace's commits go, so that the origin never names data the store remote lacks.
  for (const r of resources) {
    ctx.signal?.throwIfAborted();
    ctx.log.info(`[push] pushing resource ${r.name}`);
    await r.push?.();
  }
  if (!onlyWorkspace) ctx.log.info('[push] all resources pushed successfully.');
  faultPoint('push.after-resources');
  ctx.signal?.throwIfAborted();
  if (!onlyWorkspace) await pushStore(ws, listed); // the data before the metadata that names it
  faultPoint('push.after-store');
  ctx.signal?.throwIfAborted();
  await ws.git.run(['push', '--quiet', 'origin', branch]);
  faultPoint('push.after-workspace-push');
  if (onlyWorkspace) warnDataNotPushed(ws);
  // Nothing above writes the workspace's files: a clean repository has nothing to commit (two git calls saved).
  if (changed.length > 0) await ws.commit('push command');
  return names;
}
