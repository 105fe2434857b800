/**
 * Restoring local-files and rclone resources from the content store, for restore, clone, pull and
 * `dws store checkout`: every check and download for every resource first, then the changes.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, ConflictError, DwsError } from '../../protocol/errors.js';
import type { Workspace } from '../workspace/workspace.js';
import { fetchOrFail, RemoteFetcher } from './remote.js';
import { Repairs } from './repair.js';
import { applyRestore, PartlyRestoredError, planRestore, planWithTrees, saveCurrent, scanTree, type RestorePlan, type ScannedTree } from './restore-files.js';
import type { ContentStore } from './store.js';
import { messageIn } from './advice.js';
import { Trash } from './trash.js';
import { EMPTY_TREE, MODE_DIR, readTree } from './trees.js';
import { withStoreLock, workspaceStore } from './workspace-store.js';
import { keptRoots, reachableFrom } from './gc.js';
import { knownTrees } from './share.js';
import { faultPoint } from '../workspace/fault.js';

export interface FilesTarget {
  name: string;
  /** The directory to make equal to the tree. */
  root: string;
  cacheFile: string | null;
  tree: string;
}

export interface PreparedFiles {
  target: FilesTarget;
  current: ScannedTree;
  plan: RestorePlan;
  /** With `force`: the store tree that keeps the files the plan would lose (`plan.unsaved`). */
  kept?: string;
}

const SHOWN = 10;

/**
 * Scan, download what is missing, and check every target; nothing is changed (except, with
 * `force`, the store, which first gets the content that would be lost).
 */
export async function prepareFiles(ws: Workspace, store: ContentStore, targets: FilesTarget[], opts: { force: boolean; what: string }): Promise<PreparedFiles[]> {
  const prepared: PreparedFiles[] = [];
  const fetcher = new RemoteFetcher(ws, store); // one download of the remote's indexes for every target
  const repairs = new Repairs(ws, store); // a corrupt tree met while planning
  for (const t of targets) {
    const current = await scanTree(t.root, t.cacheFile, (m) => ws.ctx.log.warn(m), { deferCacheSave: true, resource: t.name });
    const plan = await repairs.retrying(() => planTarget(ws, store, fetcher, current, t, opts.what));
    // Worth keeping only when nothing is replaced: else its new entries are for files about to go.
    if (plan.actions.length === 0) current.saveCache();
    prepared.push({ target: t, current, plan });
  }
  inNoSnapshot(ws, store, prepared);
  const unsaved = prepared.flatMap((p) => p.plan.unsaved.map((rel) => join(p.target.root, rel)));
  if (unsaved.length > 0 && !opts.force) {
    const shown = unsaved.slice(0, SHOWN).join(', ');
    throw new ConflictError(
      `${unsaved.length} file(s) hold changes that are in no snapshot and would be lost by the ${opts.what}: ${shown}${unsaved.length > SHOWN ? ', ...' : ''}. Take a snapshot first ('${ws.ctx.command('dws/snapshot')}'), or run again with ${ws.ctx.option('force')}, which keeps their content in the store before it replaces them.`,
      { files: unsaved.slice(0, SHOWN), count: unsaved.length },
    );
  }
  for (const p of prepared) if (p.plan.unsaved.length > 0) p.kept = keepUnsaved(ws, store, p.current, p.plan.unsaved, p.target.name);
  return prepared;
}

/**
 * Move to `unsaved` the files that go whose content the store has but no snapshot (nor a kept
 * tree, nor the run cache) reaches: a deleted snapshot's files stay in the store until gc, which
 * removes them once the restore has replaced them. A folder that is one of its resource's
 * snapshots is settled at once; else each file is looked up at its path in the resource's
 * snapshots, and what is still not found in everything gc keeps.
 */
function inNoSnapshot(ws: Workspace, store: ContentStore, prepared: PreparedFiles[]): void {
  let known: Map<string, Set<string>> | undefined;
  let live: Set<string> | undefined;
  for (const p of prepared) {
    if (p.plan.stored.length === 0) continue;
    const trees = [...((known ??= knownTrees(ws)).get(p.target.name) ?? [])];
    if (trees.includes(p.current.tree)) continue;
    const names = new Map<string, Map<string, string>>(); // tree -> its entries by name, as looked up
    for (const { rel, id } of p.plan.stored) {
      if (trees.some((t) => idAt(store, names, t, rel) === id)) continue;
      live ??= reachableFrom(store, keptRoots(store, ws.dir));
      if (!live.has(id)) p.plan.unsaved.push(rel);
    }
  }
}

/** The id at the path `rel` of the stored tree `tree`, if the store has the trees on the way. */
function idAt(store: ContentStore, names: Map<string, Map<string, string>>, tree: string, rel: string): string | undefined {
  let id: string | undefined = tree;
  for (const name of rel.split('/')) {
    let entries = names.get(id);
    if (entries === undefined) {
      if (!store.has(id)) return undefined;
      names.set(id, (entries = new Map(readTree(store, id).map((e) => [e.name, e.id]))));
    }
    id = entries.get(name);
    if (id === undefined) return undefined;
  }
  return id;
}

/** Keep the content of the files `unsaved` of a scanned folder in the store (as a tree gc keeps), saying how to get it back; returns the tree. */
function keepUnsaved(ws: Workspace, store: ContentStore, current: ScannedTree, unsaved: string[], name: string, before = ''): string {
  const tree = saveCurrent(store, current, unsaved);
  keepSaved(store, tree, `${ws.dir} ${name} ${ws.ctx.now().toISOString()}`);
  faultPoint('restore.after-force-save');
  ws.ctx.log.warn(`Kept the unsnapshotted content of ${unsaved.length} file(s) of '${name}' in the store${before}, as tree ${tree}. To get it back: ${ws.ctx.command('dws/store/checkout', { tree, directory: 'DIR' })}`);
  return tree;
}

/**
 * Before something outside the store replaces files of `t`'s folder (an rclone pull from a master
 * remote): keep those whose content no snapshot holds, as `restore --force` does.
 */
export async function keepUnsnapshotted(ws: Workspace, t: Omit<FilesTarget, 'tree'>, before: string): Promise<void> {
  if (!existsSync(t.root)) return;
  await withStoreLock(ws, 'dws pull', async () => {
    const store = workspaceStore(ws);
    const current = await scanTree(t.root, t.cacheFile, (m) => ws.ctx.log.warn(m), { resource: t.name });
    // Planned against an empty folder, every current file is one that goes: those in no snapshot are unsaved.
    const plan = planRestore(store, current, EMPTY_TREE);
    inNoSnapshot(ws, store, [{ target: { ...t, tree: EMPTY_TREE }, current, plan }]);
    if (plan.unsaved.length > 0) keepUnsaved(ws, store, current, plan.unsaved, t.name, ` ${before}`);
  });
}

/** Fetch what the target `t` needs and plan its restore from `current`; nothing is changed but the store. */
async function planTarget(ws: Workspace, store: ContentStore, fetcher: RemoteFetcher, current: ScannedTree, t: FilesTarget, what: string): Promise<RestorePlan> {
  const fetch = (ids: Set<string>) => fetchOrFail(ws, store, ids, `${what} of '${t.name}'`, fetcher);
  let early: Promise<Set<string>> | null = null;
  if (current.tree === EMPTY_TREE) {
    // Into an empty folder (a clone): every tree is needed, then every file. When the trees came
    // from the remote, the files' download starts now and runs while the plan is made.
    for (let lacking = treesLacking(store, t.tree); lacking.length > 0; lacking = treesLacking(store, t.tree)) await fetch(new Set(lacking));
    if (fetcher.downloaded) {
      early = fetcher.fetch(fileIds(store, t.tree));
      await new Promise((started) => setImmediate(started)); // the download reaches rclone before the plan takes the thread
    }
  }
  let plan: RestorePlan;
  let missing: Set<string> | null = null;
  try {
    plan = await planWithTrees(store, current, t.tree, fetch); // fetches the trees it lacks, level by level
  } finally {
    missing = await early;
  }
  // The plan counted the files still downloading as missing; the early download says what is.
  if (missing === null || missing.size > 0) await fetch(plan.missing);
  plan.missing.clear();
  return plan;
}

/** The trees below `tree` (itself included) that the store lacks; below those, nothing is known yet. */
function treesLacking(store: ContentStore, tree: string, into: string[] = []): string[] {
  if (tree === EMPTY_TREE) return into;
  if (!store.has(tree)) into.push(tree);
  else for (const e of readTree(store, tree)) if (e.mode === MODE_DIR) treesLacking(store, e.id, into);
  return into;
}

/** The ids of every file and link below `tree` (every tree must be in the store). */
function fileIds(store: ContentStore, tree: string, into = new Set<string>()): Set<string> {
  for (const e of readTree(store, tree)) {
    if (e.mode === MODE_DIR) fileIds(store, e.id, into);
    else into.add(e.id);
  }
  return into;
}

/**
 * Carry out prepared restores; returns the names of the targets that changed. The files they
 * replace or remove go to the store's trash, emptied by a process of its own once they are done:
 * the reply does not wait for their blocks to be freed (trash.ts).
 */
export async function applyFiles(ws: Workspace, store: ContentStore, prepared: PreparedFiles[]): Promise<string[]> {
  const changed: string[] = [];
  const trash = new Trash(store.dir, 'link');
  const repairs = new Repairs(ws, store);
  try {
    for (const p of prepared) {
      if (p.plan.actions.length === 0) {
        // Already the target: only what an interrupted restore left is removed.
        for (const left of p.plan.leftovers) rmSync(left, { recursive: true, force: true });
        continue;
      }
      const task = ws.ctx.progress.begin(`Restoring ${p.target.name}`);
      try {
        // A corrupt object stops applyRestore before any file is replaced: repaired, it runs again.
        const written = () => p.plan.actions.flatMap((a) => (a.kind === 'write' ? [a.entry.id] : []));
        await repairs.retrying(() => applyRestore(store, p.target.root, p.plan, (done, total) => task.report(done, total), trash), written);
      } catch (e) {
        const state = e instanceof PartlyRestoredError ? 'Some of its files were changed: run the same command again to complete it.' : 'None of its files was changed.';
        throw writeError(ws, p.target, e, state);
      } finally {
        task.end();
      }
      changed.push(p.target.name);
    }
    faultPoint('restore.files-set-aside');
  } finally {
    trash.emptyInBackground();
  }
  return changed;
}

/**
 * Write the stored tree `t.tree` into the new or empty directory `t.root` (what the store lacks is
 * fetched from the store remote), holding the store's lock for `command`; returns the files written.
 */
export async function checkoutTree(ws: Workspace, command: string, t: Omit<FilesTarget, 'cacheFile'>, what: string): Promise<number> {
  return withStoreLock(ws, command, async () => {
    const store = workspaceStore(ws);
    const prepared = await prepareFiles(ws, store, [{ ...t, cacheFile: null }], { force: false, what });
    ws.ctx.signal?.throwIfAborted(); // interrupted while it downloaded: nothing written yet
    await applyFiles(ws, store, prepared);
    return prepared[0]!.plan.changes.added.filter((rel) => !rel.endsWith('/')).length; // empty folders are listed as 'path/'
  });
}

/**
 * A failure to write a target's files (a full or read-only disk, a corrupt object in the store) as
 * the user's error, naming the resource and saying what state its files are in.
 */
function writeError(ws: Workspace, t: FilesTarget, e: unknown, state: string): Error {
  if (e instanceof DwsError) return e;
  const message = messageIn(ws.ctx, e instanceof PartlyRestoredError ? e.cause : e);
  return new ConfigurationError(`Cannot write the files of resource '${t.name}' at ${t.root}: ${message}${/[.!]$/.test(message) ? '' : '.'} ${state}`, { resource: t.name });
}

/** Trees kept by `--force` are roots for gc (store/gc.ts), like snapshots. */
export function keepSaved(store: ContentStore, tree: string, note: string): void {
  const d = join(store.dir, 'saved');
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, tree), note + '\n');
}
