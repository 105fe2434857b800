/**
 * The content store in push, pull and clone: data travels with the workspace. Objects go up
 * before the metadata that names them; a clone and a pull bring each local-files/rclone resource
 * to its latest snapshot.
 */
import { existsSync, readdirSync } from 'node:fs';
import { ConfigurationError, DwsError, SubprocessError } from '../../protocol/errors.js';
import { SnapshotStore } from '../backends/git/snapshots.js';
import type { Resource } from '../resources/types.js';
import type { Workspace } from '../workspace/workspace.js';
import { applyFiles, prepareFiles, type FilesTarget } from './materialize.js';
import { pushObjects, remoteLocation, type RemoteFile } from './remote.js';
import { diffTrees, scanTree, type ScannedTree } from './restore-files.js';
import { readCheckouts, readStoreRecord, recordCheckouts, recordedSnapshots, storeRemoteOf, usesContentStore, withStoreLock, workspaceStore, type Checkout, type SnapshotTree } from './workspace-store.js';

export interface StorePushResult {
  /** The store remote, or null when none is set. */
  remote: string | null;
  /** Objects sent (0: the remote had them all). */
  objects: number;
  files: number;
}

/** Upload the objects of every snapshot that the store remote lacks (before the workspace push). */
export async function pushStore(ws: Workspace, listing?: Map<string, RemoteFile>): Promise<StorePushResult> {
  const remote = storeRemoteOf(ws);
  if (remote === null) {
    if (recordedSnapshots(ws).length > 0) {
      ws.ctx.log.warn(
        `The files of local-files and rclone resources are in this machine's content store only: set a store remote ('${ws.ctx.command('dws/config', { name: 'store.remote', value: 'REMOTE' })}') so that push sends them and clones can get them.`,
      );
    }
    return { remote: null, objects: 0, files: 0 };
  }
  return withStoreLock(ws, 'dws push', async () => {
    let r;
    try {
      r = await pushObjects(ws, workspaceStore(ws), remoteLocation(ws, remote), listing);
    } catch (e) {
      if (!(e instanceof SubprocessError)) throw e;
      // A remote that cannot be written (read-only, full, no permission): said as such, with what was not pushed.
      throw new ConfigurationError(
        `Cannot send the content store's objects to the store remote ${remote}: ${e.message.replace(/^rclone \w+ raised error \S+: /, '')}. The workspace repository was not pushed (its snapshots would name data the remote lacks): make the remote writable, or set another with '${ws.ctx.command('dws/config', { name: 'store.remote', value: 'REMOTE' })}', then run '${ws.ctx.command('dws/push')}' again.`,
        { remote },
      );
    }
    ws.ctx.log.info(r.objects > 0 ? `[push] sent ${r.objects} object(s) in ${r.files} file(s) to the store remote ${remote}` : `[push] the store remote ${remote} has every object already`);
    return { remote, ...r };
  });
}

/**
 * After `push --only-workspace`: the snapshots are published, their data maybe not. Which are
 * missing there would take a listing of the remote, the cost --only-workspace avoids: one generic line.
 */
export function warnDataNotPushed(ws: Workspace): void {
  const remote = storeRemoteOf(ws);
  if (remote === null || recordedSnapshots(ws).length === 0) return;
  ws.ctx.log.warn(
    `[push] ${ws.ctx.option('onlyWorkspace')}: no data objects were sent to the store remote ${remote}; until '${ws.ctx.command('dws/push')}' is run here, clones cannot restore the files of snapshots whose objects are not there yet.`,
  );
}

/** Each resource's newest snapshot that recorded its store tree, and that tree. */
export function latestTrees(ws: Workspace): Map<string, SnapshotTree> {
  const latest = new Map<string, SnapshotTree>();
  for (const md of new SnapshotStore(ws).history()) {
    const rec = readStoreRecord(ws, md.hash);
    if (rec === null) continue;
    for (const [name, tree] of Object.entries(rec)) if (!latest.has(name)) latest.set(name, { snapshot: md.hash, tree });
  }
  return latest;
}

/** Every store tree any snapshot recorded for a resource. */
export function knownTrees(ws: Workspace): Map<string, Set<string>> {
  const known = new Map<string, Set<string>>();
  for (const hash of recordedSnapshots(ws)) {
    for (const [name, tree] of Object.entries(readStoreRecord(ws, hash) ?? {})) {
      if (!known.has(name)) known.set(name, new Set());
      known.get(name)!.add(tree);
    }
  }
  return known;
}

/** Files made the latest snapshot's. */
const atLatest = (s: SnapshotTree): Checkout => ({ ...s, latest: s.snapshot });

/**
 * Bring `resources` to their latest snapshot's files (clone: into missing or empty directories;
 * pull: resources whose files are exactly one of their snapshots, `unchangedSince`, unless they
 * were made an older snapshot when the latest was already this one, as a restore does: those stay
 * until a newer snapshot comes). Returns the names updated; the others are named in a message.
 */
export async function materializeLatest(ws: Workspace, resources: Resource[], unchangedSince?: Map<string, Set<string>>): Promise<string[]> {
  const latest = latestTrees(ws);
  const checkouts = readCheckouts(ws);
  const candidates = storedResources(resources).filter((r) => latest.has(r.name) && r.role !== 'results');
  if (candidates.length === 0) return [];
  return withStoreLock(ws, 'dws materialize', async () => {
    const store = workspaceStore(ws);
    const targets: FilesTarget[] = [];
    const already = new Map<string, Checkout>(); // their latest snapshot's files already
    let knownNow: Map<string, Set<string>> | undefined;
    for (const r of candidates) {
      const { root, cacheFile } = r.storeFiles!;
      const { snapshot, tree } = latest.get(r.name)!;
      if (unchangedSince === undefined) {
        if (existsSync(root) && readdirSync(root).length > 0) {
          ws.ctx.log.info(`Resource '${r.name}': ${root} already has files, left as it is (restore a snapshot to replace them)`);
          continue;
        }
      } else {
        const current = (await scanTree(root, cacheFile, undefined, { resource: r.name })).tree;
        if (current === tree) {
          already.set(r.name, atLatest(latest.get(r.name)!));
          continue;
        }
        // A snapshot the pull deleted (delete-snapshot in another clone) no longer holds them: replaced, they would be lost at the next gc.
        const deleted = unchangedSince.get(r.name)?.has(current) === true && !(knownNow ??= knownTrees(ws)).get(r.name)?.has(current);
        if (!unchangedSince.get(r.name)?.has(current) || deleted) {
          const history = ws.ctx.command('dws/report/history');
          const restore = `restore the latest snapshot ('${ws.ctx.command('dws/restore', { tagOrHash: 'SNAPSHOT' })}', with its tag or hash from '${history}')`;
          // Files in no snapshot make a plain restore refuse: the advice names the option that replaces them.
          const force = `restore the latest snapshot with ${ws.ctx.option('force')}, which keeps them in the store first ('${ws.ctx.command('dws/restore', { force: true, tagOrHash: 'SNAPSHOT' })}', with its tag or hash from '${history}'),`;
          ws.ctx.log.warn(
            deleted
              ? `Resource '${r.name}': its files are those of a snapshot that the pull deleted (by '${ws.ctx.command('dws/delete-snapshot')}' in another clone), so they are in no snapshot now: left as it is. Snapshot them to keep them, or ${force} to get the pulled files.`
              : existsSync(root)
                ? `Resource '${r.name}' has changes that are in no snapshot: left as it is. Snapshot them, or ${force} to get the pulled files.`
                : `Resource '${r.name}': its folder ${root} does not exist: left as it is. To get the pulled files, ${restore}.`,
          );
          continue;
        }
        const made = checkouts.get(r.name);
        if (made?.tree === current && made.latest === snapshot) {
          ws.ctx.log.info(`Resource '${r.name}' was restored to an older snapshot than its latest (${snapshot.slice(0, 7)}), and no newer one came: left as it is ('${ws.ctx.command('dws/restore', { tagOrHash: snapshot.slice(0, 7) })}' brings it).`);
          continue;
        }
      }
      targets.push({ name: r.name, root, cacheFile, tree });
    }
    recordCheckouts(ws, already);
    if (targets.length === 0) return [];
    if (storeRemoteOf(ws) === null && targets.some((t) => !store.has(t.tree))) {
      ws.ctx.log.warn('This workspace has no store remote, so the files of its local-files resources cannot be fetched; set one with dws config store.remote REMOTE, then restore.');
      return [];
    }
    const prepared = await prepareFiles(ws, store, targets, { force: false, what: 'update' });
    const changed = await applyFiles(ws, store, prepared);
    recordCheckouts(ws, new Map(targets.map((t) => [t.name, atLatest(latest.get(t.name)!)])));
    for (const name of changed) ws.ctx.log.info(`[store] ${name}: files of the latest snapshot written`);
    return changed;
  });
}

export interface FileChanges {
  resource: string;
  /** The snapshot compared with (the one its files were last made here, else the newest that recorded them), or null. */
  snapshot: string | null;
  /** false: the snapshot's trees are not in the local store (a clone without its data); no counts. */
  known: boolean;
  /** The resource's folder does not exist: every file of the snapshot is counted as deleted. */
  folderMissing?: boolean;
  /** Why its files could not be scanned (known is false); the other resources are still reported. */
  problem?: string;
  added: string[];
  modified: string[];
  deleted: string[];
}

/** The resources whose files are kept in the content store (changesSinceSnapshot compares those). */
export function storedResources(resources: Resource[]): Resource[] {
  return resources.filter((r) => r.storeFiles && usesContentStore(r.params));
}

/**
 * The snapshot a resource's files are compared with: the one they were last made on this machine,
 * else the newest that has it. Its changes since are the user's work (status, restore).
 */
export function comparedSnapshot(ws: Workspace, name: string, checkouts: Map<string, Checkout>, latest: Map<string, SnapshotTree>): SnapshotTree | undefined {
  const made = checkouts.get(name);
  // A checkout of a snapshot deleted since (its record went with it), or of another resource by this name, is not one to compare with.
  return made !== undefined && readStoreRecord(ws, made.snapshot)?.[name] === made.tree ? made : latest.get(name);
}

/**
 * What changed in each local-files/rclone resource since the snapshot its files were last made on
 * this machine (readCheckouts), else its newest snapshot (stat cache: no content read for
 * unchanged files).
 */
export async function changesSinceSnapshot(ws: Workspace, resources: Resource[]): Promise<FileChanges[]> {
  const withFiles = storedResources(resources);
  if (withFiles.length === 0) return [];
  const checkouts = readCheckouts(ws);
  const latest = latestTrees(ws);
  const store = workspaceStore(ws);
  const out: FileChanges[] = [];
  for (const r of withFiles) {
    const last = comparedSnapshot(ws, r.name, checkouts, latest);
    // A folder that is gone scans as empty: every file of the snapshot deleted.
    const missing = existsSync(r.storeFiles!.root) ? {} : { folderMissing: true };
    const none = { resource: r.name, snapshot: last?.snapshot ?? null, ...missing, added: [], modified: [], deleted: [] };
    if (last === undefined) {
      out.push({ ...none, known: false });
      continue;
    }
    let current: ScannedTree;
    try {
      current = await scanTree(r.storeFiles!.root, r.storeFiles!.cacheFile, (m) => ws.ctx.log.debug(m), { resource: r.name });
    } catch (e) {
      if (!(e instanceof DwsError)) throw e;
      out.push({ ...none, known: false, problem: e.message });
      continue;
    }
    const changes = diffTrees(store, current, last.tree);
    out.push(changes === null ? { ...none, known: false } : { resource: r.name, snapshot: last.snapshot, known: true, ...missing, ...changes });
  }
  return out;
}
