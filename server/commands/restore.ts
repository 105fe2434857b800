/**
 * `dws/restore`: bring resources back to their state at a snapshot (cli.md `restore`). Results
 * resources are never restored. Every check (names, snapshot, lineage, each resource's restore
 * precheck) runs before anything changes; then each restore, the lineage, one commit.
 */
import { existsSync } from 'node:fs';
import { ConfigurationError, DwsError, InvalidParamsError, NotFoundError, UserAbortError } from '../../protocol/errors.js';
import type { restore as Restore, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { restoreLineage } from '../../lineage/store.js';
import { SnapshotStore, type SnapshotMetadata } from '../backends/git/snapshots.js';
import { openResources } from '../resources/registry.js';
import type { Resource } from '../resources/types.js';
import { applyFiles, prepareFiles, type FilesTarget } from '../store/materialize.js';
import { latestTrees } from '../store/share.js';
import { readStoreRecord, recordCheckouts, usesContentStore, withStoreLock, workspaceStore } from '../store/workspace-store.js';
import { faultPoint } from '../workspace/fault.js';
import { checkResourceNames } from '../workspace/names.js';
import { Workspace } from '../workspace/workspace.js';

export async function restore(ctx: Context, p: ValidParamsOf<typeof Restore>): Promise<ResultOf<typeof Restore>> {
  if (p.only && p.leave) throw new InvalidParamsError(`Please specify either ${ctx.option('only')} or ${ctx.option('leave')}, but not both`, { only: p.only, leave: p.leave });
  const ws = Workspace.open(ctx, p.workspaceDir);
  const current = ws.resources.map((r) => r.name);
  // 1.6's restore names the first unknown name; the others follow.
  checkResourceNames(ctx, current, { only: p.only, leave: p.leave }, (option, [first, ...more]) =>
    `A resource by the name '${first}' does not exist in this workspace (given in ${option}${more.length > 0 ? `; also unknown: ${more.join(', ')}` : ''})`,
  );
  const md = new SnapshotStore(ws).resolve(p.tagOrHash);
  // Local-files and rclone resources are restored from the content store's trees (store/).
  const storeTrees = readStoreRecord(ws, md.hash) ?? {};
  const restoreHashOf = (n: string) => md.restore_hashes[n] ?? storeTrees[n] ?? null;
  const inSnapshot = [...new Set([...Object.keys(md.restore_hashes), ...Object.keys(storeTrees)])].filter((n) => restoreHashOf(n) !== null);
  // In the snapshot, but taken without a store (by Python 1.6, or an older dws): nothing to restore from.
  const withoutStore = Object.keys(md.restore_hashes).filter((n) => restoreHashOf(n) === null && current.includes(n) && usesContentStore(ws.resourceParams(n)));
  const strict = p.strict || p.only !== undefined;

  let set: string[];
  if (p.only) set = [...new Set(p.only)];
  else set = [...new Set([...current, ...inSnapshot])].filter((n) => !p.leave?.includes(n));
  const gone = set.filter((n) => !current.includes(n));
  if (gone.length > 0) {
    throw new NotFoundError(
      `A resource by the name '${gone[0]}' does not exist in this workspace: it is in snapshot ${md.hash} but was removed since. Use ${ctx.option('leave')} ${gone.join(',')}.`,
      { resource: gone[0] },
    );
  }

  const results = set.filter((n) => ws.resourceParams(n).role === 'results');
  if (results.length > 0 && strict) {
    throw new ConfigurationError(
      `Restore set contains result resources, which cannot be restored. The following are result resources: ${results.join(', ')}`,
      { resources: results },
    );
  }
  set = set.filter((n) => !results.includes(n));
  const notInSnapshot = set.filter((n) => !inSnapshot.includes(n)).sort();
  const noStore = notInSnapshot.filter((n) => withoutStore.includes(n));
  const why = `Snapshot ${md.hash} was taken without a content store (by Python dws 1.6 or an older dws), so it holds no copy of the files of ${noStore.join(', ')}`;
  if (noStore.length > 0 && strict) throw new ConfigurationError(`${why}: they cannot be restored. Use ${ctx.option('leave')} ${noStore.join(',')}.`, { resources: noStore });
  if (notInSnapshot.length > 0) {
    if (strict) {
      throw new ConfigurationError(
        `Resources have been added to workspace since restore, and strict mode enabled. Added resources: ${notInSnapshot.join(', ')}`,
        { resources: notInSnapshot },
      );
    }
    ctx.log.warn(`Resources have been added to workspace since restore, will leave them as-is: ${notInSnapshot.join(', ')}`);
    // 1.6's words above; why, for local-files resources of a snapshot without a store:
    if (noStore.length > 0) ctx.log.warn(`(${why}.)`);
  }
  // Workspace order, as 1.6 prints and restores them.
  const toRestore = current.filter((n) => set.includes(n) && !notInSnapshot.includes(n));
  const left = current.filter((n) => !toRestore.includes(n)).sort();
  const result: ResultOf<typeof Restore> = { hash: md.hash, tags: md.tags, restored: toRestore, left, skippedResults: results, notInSnapshot, changed: [], kept: [] };
  if (toRestore.length === 0) return result;

  const resources = (await openResources(ws)).filter((r) => toRestore.includes(r.name));
  const fileTargets: FilesTarget[] = [];
  for (const r of resources) {
    if (r.storeFiles) {
      fileTargets.push({ name: r.name, root: r.storeFiles.root, cacheFile: r.storeFiles.cacheFile, tree: storeTrees[r.name]! });
      continue;
    }
    if (!r.restore || !r.restorePrecheck) {
      throw new ConfigurationError(`Resource '${r.name}' (type ${r.params.resource_type}) cannot be restored`, { resource: r.name });
    }
    await r.restorePrecheck(md.restore_hashes[r.name]!, { force: p.force });
  }
  // Interrupted (Ctrl-C, SIGTERM, a cancelled request): stopped only before any file changes (a
  // download stops with its rclone); once they have begun, the restore is completed.
  if (fileTargets.length === 0) return (ctx.signal?.throwIfAborted(), restoreResources(ctx, ws, md, resources, toRestore, result, p.force));
  return withStoreLock(ws, 'dws restore', async () => {
    const store = workspaceStore(ws);
    const prepared = await prepareFiles(ws, store, fileTargets, { force: p.force, what: 'restore' });
    ctx.signal?.throwIfAborted();
    // A client of the server sees no log line: the answer says where the work was kept.
    for (const f of prepared) if (f.kept !== undefined) result.kept.push({ resource: f.target.name, tree: f.kept, files: f.plan.unsaved.length });
    faultPoint('restore.after-prepare');
    const recordFiles = () => {
      const latest = latestTrees(ws);
      recordCheckouts(ws, new Map(fileTargets.map((t) => [t.name, { snapshot: md.hash, tree: t.tree, latest: latest.get(t.name)?.snapshot ?? md.hash }])));
    };
    let filesDone = false;
    let restored: ResultOf<typeof Restore>;
    try {
      restored = await restoreResources(ctx, ws, md, resources, toRestore, result, p.force, async () => {
        const changed = await applyFiles(ws, store, prepared);
        filesDone = true;
        return changed;
      });
    } catch (e) {
      if (!filesDone) throw e;
      // The folders are the snapshot's now (a git resource, the lineage or the commit failed
      // after): recorded as such, so that status does not list their files as changes, and said.
      recordFiles();
      const note = ` The files of ${fileTargets.map((t) => t.name).join(', ')} were restored to ${md.hash} already: run the same restore again to finish it.`;
      if (e instanceof DwsError) e.message += note;
      throw e;
    }
    recordFiles();
    return restored;
  });
}

async function restoreResources(
  ctx: Context,
  ws: Workspace,
  md: SnapshotMetadata,
  resources: Resource[],
  toRestore: string[],
  result: ResultOf<typeof Restore>,
  force: boolean,
  restoreFiles: () => Promise<string[]> = async () => [],
): Promise<ResultOf<typeof Restore>> {
  if (!existsSync(ws.meta('snapshot_lineage', md.hash))) {
    throw new NotFoundError(`Did not find lineage data for snapshot ${md.hash}`, { snapshot: md.hash });
  }
  if (ctx.prompter) {
    const plan = planText(result);
    if (!(await ctx.prompter.confirm(`${plan}Should I perform this restore?`, true))) throw new UserAbortError();
  }

  // When only content-store resources are restored, the owned paths of the workspace repository
  // are not changed by what follows (their files are outside them, the current lineage is
  // git-ignored): git stages them while the files are written, and only a commit is left at the end.
  const staging = resources.every((r) => r.storeFiles) ? ws.stageOwned() : null;
  let filesChanged: string[];
  try {
    filesChanged = await restoreFiles();
  } catch (e) {
    await staging?.catch(() => {}); // no git left running; the restore's own error is the one to tell
    throw e;
  }
  const staged = await staging;
  faultPoint('restore.after-files');
  for (const r of resources) {
    if (r.storeFiles) {
      if (filesChanged.includes(r.name)) result.changed.push(r.name);
    } else if (await r.restore!(md.restore_hashes[r.name]!, { force })) result.changed.push(r.name);
  }
  faultPoint('restore.after-resources');
  restoreLineage(ws, md.hash, toRestore);
  faultPoint('restore.after-lineage');
  const message = `Restore to ${md.hash}`;
  if (staged === null) await ws.commit(message);
  else if (staged) await ws.git.commit(message);
  return result;
}

/** What 1.6 prints before restoring (also the CLI's output). */
export function planText(r: { hash: string; tags: string[]; restored: string[]; left: string[] }): string {
  const tags = r.tags.length > 0 ? ` (${r.tags.join(',')})` : '';
  return `Restoring snapshot ${r.hash}${tags}\n  Resources to restore: ${r.restored.join(', ')}\n  Resources to leave: ${r.left.length > 0 ? r.left.join(', ') : 'None'}\n`;
}
