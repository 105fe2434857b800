/**
 * `dws/pull`: bring the workspace repository up to date with its origin, pull the selected
 * resources and clone those that came with the pull (cli.md pull). The origin is fetched first,
 * so the resource names and every precheck are checked before the workspace changes.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigurationError, ConflictError, DwsError, SubprocessError } from '../../protocol/errors.js';
import type { pull as Pull, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import { gitFatRepositories, refuseGitFat } from '../backends/git/git-fat.js';
import { checkMetadata, SnapshotStore, type SnapshotMetadata } from '../backends/git/snapshots.js';
import type { Context } from '../context.js';
import { clearCurrentLineage, importLineage } from '../../lineage/store.js';
import { openResource, resourceType } from '../resources/registry.js';
import { parsePyJson } from '../workspace/pyjson.js';
import { writeJsonFile } from '../workspace/files.js';
import { faultPoint } from '../workspace/fault.js';
import { Workspace, type ResourceParams } from '../workspace/workspace.js';
import { someOf } from '../workspace/paths.js';
import { readExportedLineage } from './add-common.js';
import { knownTrees, materializeLatest } from '../store/share.js';
import { checkSelection, gitRepositories, selectResources, unreachableOrigin } from './share-common.js';

export async function pull(ctx: Context, p: ValidParamsOf<typeof Pull>): Promise<ResultOf<typeof Pull>> {
  checkSelection(ctx, p);
  const ws = Workspace.open(ctx, p.workspaceDir);
  ctx.log.info('Syncing workspace');
  const changed = await ws.uncommittedChanges();
  if (changed.length > 0) {
    throw new ConfigurationError(`Data workspace metadata repo at ${ws.dir} has uncommitted changes. Please commit before pulling. Changed: ${someOf(changed)}`, { path: ws.dir, paths: changed });
  }
  const branch = await ws.branch();
  try {
    await ws.git.run(['fetch', '--quiet', 'origin', branch]);
  } catch (e) {
    if (e instanceof SubprocessError) throw unreachableOrigin(ws, String(e.data.stderr ?? '').trim());
    throw e;
  }
  // Every resource the merge will leave, as 1.6 pulls every resource of the merged resources.json:
  // those only we have (added here since) count as much as those only the origin has.
  const sel = await selectResources(ctx, await mergedResources(ws), p);
  const toPull = sel.selected.filter((r) => ws.resources.some((x) => x.name === r.name) && ws.resourceLocalParams[r.name] !== undefined);
  const toClone = sel.selected.filter((r) => !toPull.includes(r));
  const resources = await Promise.all(toPull.map((r) => openResource(ws, ws.resourceParams(r.name))));
  // The workspace may use git-fat already, or start to with the commits being pulled.
  const incomingFat = await ws.git.succeeds(['cat-file', '-e', 'FETCH_HEAD:.gitfat']);
  refuseGitFat('pull', gitFatRepositories([ws.dir, ...gitRepositories(resources)]).concat(incomingFat && !existsSync(join(ws.dir, '.gitfat')) ? [ws.dir] : []));
  for (const r of resources) await r.pullPrecheck?.();

  const snapshotted = knownTrees(ws); // before the merge: a resource at one of these has nothing unsnapshotted
  // Interrupted (Ctrl-C, SIGTERM, a cancelled request) before the merge: nothing changed. After
  // it, a download stops with its rclone, and the same pull run again completes the rest.
  ctx.signal?.throwIfAborted();
  await merge(ws);
  faultPoint('pull.after-merge');
  const pulled = Workspace.load(ctx, ws.dir);
  if (!p.onlyWorkspace) {
    ctx.log.info(resources.length > 0 ? `Updating resources: ${resources.map((r) => r.name).join(', ')}` : 'No resources to update.');
    const fromMaster = new Set<string>(); // their files are the remote's now: not a snapshot's to update
    for (const r of resources) {
      ctx.log.info(`[pull] pulling resource ${r.name}`);
      if ((await r.pull?.()) === true) fromMaster.add(r.name);
    }
    ctx.log.info('[pull] all resources pulled successfully.');
    faultPoint('pull.after-resources');
    // Their files may have changed: what we knew of how they came to be no longer holds.
    for (const r of resources) {
      clearCurrentLineage(pulled, r.name);
      if (r.params.imported === true && r.localPath) importLineage(pulled, r.name, readExportedLineage(r.localPath, r.name));
    }
    if (toClone.length > 0) ctx.log.info(`Cloning new resources: ${toClone.map((r) => r.name).join(', ')}`);
    for (const r of toClone) {
      const params = pulled.resourceParams(r.name);
      pulled.resourceLocalParams[r.name] = await (await resourceType(params.resource_type)).clone!(pulled, params);
      pulled.writeResourceLocalParams();
    }
    // Data: pulled resources to their latest snapshot (when nothing unsnapshotted is in the way), cloned ones too.
    const withFiles = await Promise.all([...toPull.filter((r) => !fromMaster.has(r.name)), ...toClone].map((r) => openResource(pulled, pulled.resourceParams(r.name))));
    await materializeLatest(pulled, withFiles.filter((r) => !toClone.some((c) => c.name === r.name)), snapshotted);
    await materializeLatest(pulled, withFiles.filter((r) => toClone.some((c) => c.name === r.name)));
    faultPoint('pull.after-materialize');
  }
  await pulled.commit('Pull command');
  warnAmbiguousTags(pulled);
  return { resources: resources.map((r) => r.name), cloned: toClone.map((r) => r.name), skippedNoLocalState: sel.noLocalState };
}

/**
 * Merge the fetched commit. A conflict (e.g. both sides added a resource to resources.json, or
 * changed the same resource file) is undone at once, so the workspace is left as it was, and the
 * message says how to merge by hand, file kind by file kind.
 */
async function merge(ws: Workspace): Promise<void> {
  try {
    await ws.git.run(['merge', '--quiet', '--no-edit', 'FETCH_HEAD']);
  } catch (e) {
    if (!(e instanceof SubprocessError)) throw e;
    const conflicted = (await ws.git.run(['diff', '--name-only', '--diff-filter=U']).catch(() => '')).trim().split('\n').filter(Boolean);
    if (conflicted.length === 0) throw e;
    if (await mergeSnapshotMetadata(ws, conflicted)) return;
    await ws.git.run(['merge', '--abort']);
    throw new ConflictError(
      `The commits of the workspace's origin conflict with those of ${ws.dir} in ${conflicted.join(', ')}; nothing was changed. Merge by hand: in ${ws.dir} run 'git merge FETCH_HEAD', resolve the conflicts (${conflictHint(conflicted)}), 'git commit', then '${ws.ctx.command('dws/pull')}' again.`,
      { path: ws.dir, files: conflicted },
    );
  }
}

/** How to resolve each kind of conflicted file (paths relative to the workspace), one clause per kind present. */
const conflictKinds: Array<[test: RegExp, hint: (files: string) => string]> = [
  [/^\.dataworkspace\/resources\.json$/, (f) => `in ${f} keep both sides' entries`],
  [/^\.dataworkspace\/snapshot_metadata\//, (f) => `in ${f}, a snapshot both sides changed, keep both sides' tags (or 'git rm' it if it should stay deleted)`],
  [/^\.dataworkspace\/snapshot_lineage\//, (f) => `of ${f}, lineage both sides recorded for the same snapshot, keep one side's whole file ('git checkout --ours -- <file>' or --theirs)`],
  [/^\.dataworkspace\//, (f) => `in ${f} keep the settings both sides need`],
  [/^/, (f) => `in ${f}, resource files both sides changed, keep the content you want (a snapshot after the pull records it)`],
];

export function conflictHint(conflicted: string[]): string {
  const groups = conflictKinds.map(() => [] as string[]);
  for (const f of conflicted) groups[conflictKinds.findIndex(([test]) => test.test(f))]!.push(f);
  return conflictKinds.flatMap(([, hint], i) => (groups[i]!.length > 0 ? [hint(groups[i]!.join(', '))] : [])).join('; ');
}

/**
 * Each side gave a tag to a snapshot of its own: after the merge two carry it, and restore, diff
 * and delete-snapshot refuse it. Said now, with the way out, rather than at the next restore.
 */
function warnAmbiguousTags(ws: Workspace): void {
  let history: SnapshotMetadata[];
  try {
    history = new SnapshotStore(ws).history();
  } catch (e) {
    if (e instanceof DwsError) return; // a metadata file that cannot be read: the next command that reads it names it
    throw e;
  }
  const carriers = new Map<string, string[]>();
  for (const md of history) for (const t of md.tags) carriers.set(t, [...(carriers.get(t) ?? []), md.hash]);
  for (const [tag, hashes] of carriers) {
    if (hashes.length < 2) continue;
    ws.ctx.log.warn(
      `Tag '${tag}' is carried by ${hashes.length} snapshots: ${hashes.sort().join(', ')}. Commands refuse it until one carries it: '${ws.ctx.command('dws/restore', { tagOrHash: '<hash>' })}' the one you mean, then '${ws.ctx.command('dws/snapshot', { tag })}' and agree to move the tag (or delete the others by their hash).`,
    );
  }
}

/**
 * Both sides tagged the same snapshot (the same state, e.g. each right after a pull): its metadata
 * file is all that conflicts. Finish the merge with every tag of both sides (ours first), our
 * message unless empty, and the later update time. False (nothing done) when anything else
 * conflicts or a side's file is not there or cannot be read (a snapshot one side deleted).
 */
async function mergeSnapshotMetadata(ws: Workspace, conflicted: string[]): Promise<boolean> {
  const dir = relative(ws.dir, ws.meta('snapshot_metadata'));
  const hashOf = (f: string) => /^([0-9a-f]{40})_md\.json$/.exec(f.slice(dir.length + 1))?.[1];
  if (!conflicted.every((f) => f.startsWith(`${dir}/`) && hashOf(f) !== undefined)) return false;
  const merged = new Map<string, SnapshotMetadata>();
  try {
    for (const f of conflicted) {
      const [ours, theirs] = await Promise.all([2, 3].map(async (stage) => checkMetadata(f, parsePyJson(await ws.git.run(['show', `:${stage}:${f}`])), hashOf(f)!)));
      const later = [ours!.updated_timestamp, theirs!.updated_timestamp].filter((t) => t !== undefined).sort().pop();
      merged.set(f, {
        ...ours!,
        tags: [...ours!.tags, ...theirs!.tags.filter((t) => !ours!.tags.includes(t))],
        message: ours!.message !== '' ? ours!.message : theirs!.message,
        metrics: ours!.metrics ?? theirs!.metrics,
        ...(later !== undefined ? { updated_timestamp: later } : {}),
      });
    }
  } catch (e) {
    if (e instanceof DwsError) return false;
    throw e;
  }
  for (const [f, md] of merged) writeJsonFile(join(ws.dir, f), md);
  await ws.git.run(['add', '--', ...conflicted]);
  await ws.git.run(['commit', '--quiet', '--no-edit']);
  ws.ctx.log.info(`Both sides tagged the same snapshot: merged the tags of ${[...merged.values()].map((md) => md.hash.slice(0, 7)).join(', ')}`);
  return true;
}

/**
 * The resources the workspace will have after merging FETCH_HEAD, from the three versions of
 * resources.json (ours, the origin's, their merge base): a resource on either side is kept
 * unless it was in the base and one side has dropped it. Order: the origin's, then ours.
 */
async function mergedResources(ws: Workspace): Promise<ResourceParams[]> {
  const theirs = await resourcesAt(ws, 'FETCH_HEAD');
  if (theirs === null) return ws.resources; // unreadable at the origin: the merge will bring it; select from what we have
  const base = (await ws.git.run(['merge-base', 'HEAD', 'FETCH_HEAD']).catch(() => '')).trim();
  const baseNames = new Set(((base ? await resourcesAt(ws, base) : null) ?? []).map((r) => r.name));
  const ours = new Set(ws.resources.map((r) => r.name));
  const theirNames = new Set(theirs.map((r) => r.name));
  const dropped = (n: string) => baseNames.has(n) && !(ours.has(n) && theirNames.has(n));
  return [...theirs, ...ws.resources.filter((r) => !theirNames.has(r.name))].filter((r) => !dropped(r.name));
}

async function resourcesAt(ws: Workspace, commit: string): Promise<ResourceParams[] | null> {
  try {
    const list = parsePyJson(await ws.git.run(['show', `${commit}:.dataworkspace/resources.json`]));
    if (Array.isArray(list)) return list as ResourceParams[];
  } catch {
    // no such file at that commit
  }
  return null;
}
