/**
 * Make a directory exactly a store tree: the restore of local-files and rclone resources, the
 * materialization of a clone or a pull, and `dws store checkout`. Cost is O(changed files): the
 * current state is scanned with the stat cache (unchanged files are not read), its store trees
 * are compared with the target's, and identical subtrees are skipped whole.
 *
 *   scan current ──► diff trees ──► plan ──► checks (nothing changed yet) ──► write new files
 *   beside their place as .dws-restore.tmp-N (hash checked as written) ──► rename into place,
 *   remove the files that are not in the target
 *
 * Checks before anything changes: every object the target needs is in the store (else the caller
 * fetches it, or it is refused); no file that would be replaced or removed holds content the
 * store lacks (the user's unsnapshotted work), unless `force`, which stores that content first.
 * A crash leaves the old tree, the new one, or a mix that a rerun completes; never lost content
 * (with a trash that moves the files replaced, the run cache's, one may be missing: a rerun writes it).
 */
import { existsSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { ConfigurationError } from '../../protocol/errors.js';
import { join } from 'node:path';
import { computeHashTree, RESTORE_TMP, UNREAD_CONTENT } from '../resources/hashtree/index.js';
import { cachedIdIfUnchanged, StatCache } from '../resources/hashtree/stat-cache.js';
import type { LargeObjects } from './large-objects.js';
import { type ContentStore } from './store.js';
import type { Trash } from './trash.js';
import type { ApplyOp, Change } from './change-job.js';
import { applyChanges, writeFiles, type StagedWrite } from './write-files.js';
import { faultPoint } from '../workspace/fault.js';
import { EMPTY_TREE, MODE_DIR, MODE_EXEC, MODE_LINK, pairTrees, parseTree, pruneTree, readTree, readTreeBytes, type StoreTreeEntry } from './trees.js';


/** The current state of a directory as store trees (kept in memory, nothing stored). */
export interface ScannedTree {
  root: string;
  /** Store tree id of the directory (EMPTY_TREE when it does not exist). */
  tree: string;
  trees: Map<string, Buffer>;
  /** With `deferCacheSave`: save the stat cache if the scan changed it (else already done; a no-op). */
  saveCache: () => void;
  /** What an interrupted restore staged and left (absolute paths): removed by the next restore. */
  leftovers: string[];
}

/**
 * Scan `root` (hashing with the stat cache `cacheFile`, which it updates).
 * `unreadUnlessCached`: files the cache does not vouch for are not read (hashtree's option; they
 * differ from any target). `deferCacheSave`: the caller decides, by `saveCache()`, whether the
 * cache is worth writing (a restore that replaces the files just hashed would write entries that
 * are stale at once). `resource`: the resource whose folder it is, named by the error when the
 * scan fails (a folder that cannot be listed, a file that cannot be read).
 */
export async function scanTree(
  root: string,
  cacheFile: string | null,
  onWarning?: (m: string) => void,
  opts: { unreadUnlessCached?: boolean; deferCacheSave?: boolean; resource?: string } = {},
): Promise<ScannedTree> {
  const trees = new Map<string, Buffer>();
  if (!existsSync(root)) return { root, tree: EMPTY_TREE, trees, saveCache: () => {}, leftovers: [] };
  const r = await computeHashTree({
    root,
    computeHash: true,
    treeDir: null,
    ...(cacheFile !== null ? { cacheFile } : {}),
    ...(onWarning ? { onWarning } : {}),
    unreadUnlessCached: opts.unreadUnlessCached ?? false,
    deferCacheSave: opts.deferCacheSave ?? false,
    storeTreesOnly: true,
    store: {
      session: null,
      has: () => true,
      hasBinary: () => true,
      putSmall: (id, bytes) => void trees.set(id, bytes),
      adoptLarge: () => {},
      recordPacked: () => {},
    },
  }).catch((e: unknown) => {
    if (opts.resource === undefined) throw e;
    throw new ConfigurationError(`Cannot scan the files of resource '${opts.resource}' at ${root}: ${e instanceof Error ? e.message : String(e)}`, { resource: opts.resource });
  });
  return { root, tree: r.storeRoot!, trees, saveCache: r.saveCache, leftovers: r.leftovers };
}

export interface TreeChanges {
  /** Paths (relative, `/`-separated) in the target and not in the current state; an empty folder as `path/`. */
  added: string[];
  /** In both, with another content, kind or mode. */
  modified: string[];
  /** In the current state and not in the target. */
  deleted: string[];
}

/** One step of making the current tree the target. */
type Action =
  | { kind: 'write'; rel: string; entry: StoreTreeEntry; /** A file is there now (modified). */ replaces?: true }
  | { kind: 'chmod'; rel: string; exec: boolean }
  | { kind: 'mkdir'; rel: string }
  | { kind: 'remove'; rel: string; dir: boolean };

export interface RestorePlan {
  actions: Action[];
  changes: TreeChanges;
  /** File contents of the target that the store lacks. */
  missing: Set<string>;
  /** Trees of the target that the store lacks: what lies below them is not planned yet (planWithTrees). */
  missingTrees: string[];
  /** Current files that would be replaced or removed and whose content the store lacks. */
  unsaved: string[];
  /**
   * Current files that would be replaced or removed and whose content the store has: in a
   * snapshot, or only still there (a deleted snapshot's, until gc), which prepareFiles tells apart.
   */
  stored: { rel: string; id: string }[];
  /** What an interrupted restore left (the scan's `leftovers`): removed first. */
  leftovers: string[];
}

/**
 * Compare the current state with the target tree, passing over subtrees that are the same. Trees
 * of the target that the store lacks are listed in `missingTrees`, and what lies below them is left
 * out: the plan is whole only when that list is empty.
 */
export function planRestore(store: ContentStore, current: ScannedTree, target: string): RestorePlan {
  const plan: RestorePlan = { actions: [], changes: { added: [], modified: [], deleted: [] }, missing: new Set(), missingTrees: [], unsaved: [], stored: [], leftovers: current.leftovers };
  const lacks = (tree: string) => {
    if (tree === EMPTY_TREE || store.has(tree)) return false;
    plan.missingTrees.push(tree);
    return true;
  };
  // A file not read (UNREAD_CONTENT: a run-cache restore's scan) is not looked up: no object has
  // that id, and the store would read every pack index to say so.
  // A link's content is its text: one that no snapshot holds is work to keep too.
  const unsavedIfLost = (rel: string, e: StoreTreeEntry) => {
    if (e.mode === MODE_DIR) return;
    if (e.id === UNREAD_CONTENT || !store.has(e.id)) plan.unsaved.push(rel);
    else plan.stored.push({ rel, id: e.id });
  };
  /** Files below a current directory (or a current file) that go: counted, never the action. */
  const countDeleted = (rel: string, e: StoreTreeEntry) => {
    if (e.mode !== MODE_DIR) {
      plan.changes.deleted.push(rel);
      unsavedIfLost(rel, e);
      return;
    }
    if (e.id === EMPTY_TREE) plan.changes.deleted.push(`${rel}/`); // an empty folder is part of the tree too
    for (const x of currentTree(current, e.id)) countDeleted(`${rel}/${x.name}`, x);
  };
  const remove = (rel: string, e: StoreTreeEntry) => {
    countDeleted(rel, e);
    plan.actions.push({ kind: 'remove', rel, dir: e.mode === MODE_DIR });
  };
  const write = (rel: string, e: StoreTreeEntry, replaces = false) => {
    plan.actions.push(replaces ? { kind: 'write', rel, entry: e, replaces } : { kind: 'write', rel, entry: e });
    if (!store.has(e.id)) plan.missing.add(e.id);
  };
  /** A target entry where nothing is now: a file written, a directory made and filled. */
  const add = (rel: string, t: StoreTreeEntry) => {
    if (t.mode !== MODE_DIR) {
      plan.changes.added.push(rel);
      write(rel, t);
      return;
    }
    plan.actions.push({ kind: 'mkdir', rel });
    if (t.id === EMPTY_TREE) plan.changes.added.push(`${rel}/`);
    if (lacks(t.id)) return;
    for (const x of readTree(store, t.id)) add(`${rel}/${x.name}`, x);
  };
  const walk = (cur: string, tgt: string, prefix: string) => {
    if (cur === tgt || lacks(tgt)) return;
    const gone: StoreTreeEntry[] = []; // removed after the others, in name order
    pairTrees(currentBytes(current, cur), cur, readTreeBytes(store, tgt), tgt, (e, t) => {
      if (t === undefined) return void gone.push(e!);
      const rel = prefix + t.name;
      if (e === undefined) add(rel, t);
      else if (e.mode === MODE_DIR && t.mode === MODE_DIR) walk(e.id, t.id, rel + '/');
      else if (e.mode === MODE_DIR || t.mode === MODE_DIR) {
        // a directory became a file or the other way round
        remove(rel, e);
        add(rel, t);
      } else if (e.id === t.id && e.mode === t.mode) return;
      else if (e.id === t.id && e.mode !== MODE_LINK && t.mode !== MODE_LINK) {
        plan.changes.modified.push(rel);
        plan.actions.push({ kind: 'chmod', rel, exec: t.mode === MODE_EXEC });
      } else {
        plan.changes.modified.push(rel);
        unsavedIfLost(rel, e);
        write(rel, t, true);
      }
    });
    for (const e of gone) remove(prefix + e.name, e);
  };
  walk(current.tree, target, '');
  return plan;
}

/** planRestore, after fetching (by `fetchTrees`) the trees of the target that the store lacks. */
export async function planWithTrees(store: ContentStore, current: ScannedTree, target: string, fetchTrees: (ids: Set<string>) => Promise<void>): Promise<RestorePlan> {
  for (;;) {
    const plan = planRestore(store, current, target);
    if (plan.missingTrees.length === 0) return plan;
    await fetchTrees(new Set(plan.missingTrees)); // throws when they cannot be had
  }
}

/**
 * What changed from the snapshot tree `since` to the current state (status): the other direction
 * of a restore's plan. Works when file contents are missing here; null when trees are.
 */
export function diffTrees(store: ContentStore, current: ScannedTree, since: string): TreeChanges | null {
  const plan = planRestore(store, current, since);
  if (plan.missingTrees.length > 0) return null;
  const { added, modified, deleted } = plan.changes;
  return { added: deleted, modified, deleted: added };
}

/** Store the current content of the files in `rels` (restore --force), and the current trees; returns the current tree id. */
export function saveCurrent(store: ContentStore, current: ScannedTree, rels: string[]): string {
  // A link's text is among the scan's trees (stored below); what it points to is not its content.
  for (const rel of rels) if (!lstatSync(join(current.root, rel)).isSymbolicLink()) store.putFile(join(current.root, rel));
  for (const [id, bytes] of current.trees) store.putSmall(id, bytes);
  store.commit();
  return current.tree;
}

/** A large file of a restore's target, copied out of the store before the plan (startEarlyCopies). */
interface EarlyCopy {
  id: string;
  /** Its temp name beside its place. */
  path: string;
  /** Whether the copy was made: on any failure (the folder is not there, the object went...) the restore writes the file as usual. */
  made: Promise<boolean>;
  /** Set once applyRestore renamed it into place. */
  placed?: boolean;
}

/** startEarlyCopies' copies by path relative to the restored folder; whoever started them calls discard() once the restore is over. */
export class EarlyCopies {
  readonly byRel = new Map<string, EarlyCopy>();

  /** Wait for the copies and remove those not renamed into place (unused, or a failed restore's). */
  async discard(): Promise<void> {
    await Promise.all([...this.byRel.values()].map((c) => c.made));
    for (const c of this.byRel.values()) if (c.placed !== true) rmSync(c.path, { force: true });
  }
}

/** A large file of a target tree: its path in the tree (`/`-separated), its object, whether it is executable. */
export interface LargeFile {
  path: string;
  id: string;
  exec: boolean;
}

/**
 * Start copying the large files `files` of a restore's target (listed ahead, so that neither the
 * store's indexes nor its trees are read first) beside their place in `root`, before the scan
 * and plan: the kernel copies them in libuv's threads while this thread opens the store, scans
 * and plans, which otherwise all come first (the run cache's restore of a large output, issue
 * 12). A file the stat cache `cacheFile` shows unchanged with that content is not copied, nor
 * one whose folder is not a folder now (never through a symbolic link); applyRestore uses the
 * copies its plan writes, and discard() removes the others. Never throws: a check that fails
 * (a folder that cannot be read...) only leaves that file to the plan.
 */
export function startEarlyCopies(large: LargeObjects, root: string, files: readonly LargeFile[], cacheFile: string | null): EarlyCopies {
  const copies = new EarlyCopies();
  const dirs = new Map<string, boolean>();
  const isDir = (rel: string): boolean => {
    let known = dirs.get(rel);
    if (known === undefined) {
      const up = rel.lastIndexOf('/');
      known = (rel === '' || isDir(up < 0 ? '' : rel.slice(0, up))) && lstatSync(join(root, rel), { throwIfNoEntry: false })?.isDirectory() === true;
      dirs.set(rel, known);
    }
    return known;
  };
  let cache: StatCache | null | undefined; // loaded at the first file that needs it
  const unchanged = (f: LargeFile) => {
    if (cacheFile === null) return false;
    cache ??= StatCache.load(cacheFile, root);
    return cache !== null && cachedIdIfUnchanged(cache, root, f.path) === f.id;
  };
  for (const f of files) {
    const slash = f.path.lastIndexOf('/');
    const dir = slash < 0 ? '' : f.path.slice(0, slash);
    try {
      if (!isDir(dir) || unchanged(f)) continue;
    } catch {
      continue;
    }
    const path = join(root, dir, `${RESTORE_TMP}-early-${copies.byRel.size}`);
    const made = large.copyTo(f.id, path, f.exec ? 0o777 : 0o666, 'wx').then(
      () => true,
      () => (rmSync(path, { force: true }), false),
    );
    copies.byRel.set(f.path, { id: f.id, path, made });
  }
  return copies;
}

/**
 * Carry out a plan on `root` (all checks passed; every object is in the store). New contents are
 * written and checked first, each beside its final place under a temp name (RESTORE_TMP-N), so a
 * corrupt object stops the restore before any file of the resource is replaced, and the rename
 * stays within one directory. Creating the files where they belong, as git does, spreads them
 * over their directories: two threads creating in one folder wait on its lock, and on a file
 * system without a journal the inodes freed by earlier restores make one folder's allocations slow.
 * A directory that is new is built whole under a temp name and renamed into place at once (a
 * full restore renames its top directories, not every file). The files are written by
 * write-files.ts (by the hashing threads for large restores). `onProgress(done, total)`.
 * `trash`: files replaced or removed are set aside there (as its `replace` says), so that freeing
 * their blocks is not on the way; the caller empties it.
 * `early`: startEarlyCopies' copies for this plan, used where it writes them (their starter discards the rest).
 */
export async function applyRestore(store: ContentStore, root: string, plan: RestorePlan, onProgress?: (done: number, total: number) => void, trash?: Trash, early?: EarlyCopies): Promise<void> {
  store.commit(); // nothing left unpublished, so the locations taken below stay valid
  const earlyPaths = new Set([...(early?.byRel.values() ?? [])].map((c) => c.path));
  for (const p of plan.leftovers) if (!earlyPaths.has(p)) rmSync(p, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  // Paths by concatenation: the plan's are relative and normal, and path.join of thousands cost ~10 ms.
  const under = root.endsWith('/') ? root : `${root}/`;
  // Per action: where it is staged, and whether it lies in a new directory (moved with it).
  const staged: string[] = [];
  const inNewDir = new Uint8Array(plan.actions.length);
  const newDirs = new Map<string, string>();
  const writes: StagedWrite[] = [];
  const copied: Array<{ copy: EarlyCopy; entry: StoreTreeEntry }> = []; // writes an early copy makes
  const tops: string[] = []; // what is staged beside its place: removed again on failure
  try {
    plan.actions.forEach((a, i) => {
      if (a.kind !== 'mkdir' && a.kind !== 'write') return;
      const slash = a.rel.lastIndexOf('/');
      const parent = slash < 0 ? undefined : newDirs.get(a.rel.slice(0, slash));
      let path: string;
      const copy = parent === undefined ? early?.byRel.get(a.rel) : undefined;
      if (a.kind === 'write' && copy?.id === a.entry.id) {
        staged[i] = copy.path;
        copied.push({ copy, entry: a.entry });
        return;
      }
      if (parent !== undefined) {
        path = `${parent}/${a.rel.slice(slash + 1)}`;
        inNewDir[i] = 1;
      } else {
        path = `${under}${a.rel.slice(0, slash + 1)}${RESTORE_TMP}-${i}`;
        tops.push(path);
      }
      staged[i] = path;
      if (a.kind === 'mkdir') {
        mkdirSync(path);
        newDirs.set(a.rel, path);
      } else writes.push({ path, entry: a.entry });
    });
    const [, made] = await Promise.all([writeFiles(store, writes, onProgress), Promise.all(copied.map((c) => c.copy.made))]);
    await writeFiles(store, copied.filter((_, k) => !made[k]).map((c) => ({ path: c.copy.path, entry: c.entry }))); // an early copy that failed is made as any write
  } catch (e) {
    for (const p of tops) rmSync(p, { recursive: true, force: true });
    throw e;
  }
  faultPoint('restore.files-after-temp-writes');
  const changes: Change[] = [];
  const aside = trash?.holds(root) === true ? trash : undefined;
  plan.actions.forEach((a, i) => {
    if (inNewDir[i] === 1) return;
    const abs = under + a.rel;
    const setsAside = aside !== undefined && (a.kind === 'remove' || (a.kind === 'write' && a.replaces === true));
    changes.push({ op: opOf(a), abs, staged: staged[i] ?? '', ...(setsAside ? { aside: { path: aside.slot(), replace: aside.replace } } : {}) });
  });
  try {
    await applyChanges(changes, aside !== undefined);
  } catch (e) {
    throw new PartlyRestoredError(e);
  }
  for (const c of copied) c.copy.placed = true;
  onProgress?.(writes.length, writes.length);
}

/** applyRestore failed once files were being replaced: the tree is part old, part new, and a rerun completes it. */
export class PartlyRestoredError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

function opOf(a: Action): ApplyOp {
  switch (a.kind) {
    case 'remove':
      return a.dir ? 'removeDir' : 'remove';
    case 'chmod':
      return a.exec ? 'chmodExec' : 'chmodPlain';
    default:
      return a.kind;
  }
}

/** The bytes of a tree of the scan. */
function currentBytes(current: ScannedTree, id: string): Buffer {
  if (id === EMPTY_TREE) return Buffer.alloc(0);
  const bytes = current.trees.get(id);
  if (bytes === undefined) throw new Error(`Internal error: tree ${id} of the scan of ${current.root} is unknown`);
  return bytes;
}

function currentTree(current: ScannedTree, id: string): readonly StoreTreeEntry[] {
  return parseTree(currentBytes(current, id), id);
}

/** The scan without the paths `drop` names (pruneTree): a restore planned from it leaves them alone. */
export function pruneScan(current: ScannedTree, drop: (path: string, dir: boolean) => boolean): ScannedTree {
  return { ...current, tree: pruneTree(current.tree, (id) => currentTree(current, id), (t) => void current.trees.set(t.id, t.bytes), drop) };
}

/** The ids of the current files of a scan (gc keeps the content that is on disk now). */
export function scannedFileIds(current: ScannedTree): Set<string> {
  const ids = new Set<string>();
  const visit = (tree: string) => {
    for (const e of currentTree(current, tree)) {
      if (e.mode === MODE_DIR) visit(e.id);
      else ids.add(e.id);
    }
  };
  visit(current.tree);
  return ids;
}
