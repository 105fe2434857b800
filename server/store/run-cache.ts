/**
 * The shared run cache (issue 12 item 7): every successful run of a step is remembered as its
 * fingerprint (runner/cache.ts) → the store tree of each declared output, the outputs' content
 * kept in the content store. A step whose fingerprint was seen before gets its outputs restored
 * from the store instead of running. Entries are committed, so they travel with push/pull; the
 * objects they name go to the store remote with every other object of the store (store/remote.ts
 * pushObjects) and are fetched on restore when missing here.
 *
 *   .dataworkspace/run_cache/<fingerprint>-<run id>.json   committed; Python dws 1.6 never reads
 *                                                          this folder (workspace-format.md §1)
 *
 * One file per run (not per fingerprint): two clones that ran the same step write two files, so a
 * pull never conflicts on an entry. A file output is kept as a one-entry tree (its name → its
 * content), so every entry names trees only, and gc (server/commands/gc.ts) keeps what they reach.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { computeHashTree, type WrittenFile } from '../resources/hashtree/index.js';
import { atomicWriteFile, readJsonFile, writeJsonFile } from '../workspace/files.js';
import { localCacheDir, META_DIR, type Workspace } from '../workspace/workspace.js';
import { fetchOrFail } from './remote.js';
import { LargeObjects } from './large-objects.js';
import { applyRestore, planWithTrees, pruneScan, scanTree, startEarlyCopies, type EarlyCopies, type LargeFile, type RestorePlan } from './restore-files.js';
import { encodeTree, isPathComponent, MODE_DIR, MODE_EXEC, MODE_FILE, MODE_LINK, pruneTree, readTree, type StoreTreeEntry } from './trees.js';
import type { ContentStore } from './store.js';
import { Trash } from './trash.js';
import { contentStoreEnabled, storeDirOf, withStoreLock, workspaceStore } from './workspace-store.js';

const ENTRY_DIR = 'run_cache';
const HEX40 = /^[0-9a-f]{40}$/;

/** One successful run of a step, as committed. Keys in snake case, as the other metadata files. */
export interface RunCacheEntry {
  step: string;
  /** 64 hex digits. */
  fingerprint: string;
  /** 12 hex digits. */
  run_id: string;
  /** The lineage start time of the run (`YYYY-MM-DDTHH:MM:SS.ffffff`). */
  start_time: string;
  execution_time_seconds: number | null;
  /**
   * Output ref → the store tree of what the step wrote there (`file`: the output is a file, kept
   * as a one-entry tree), and for a folder its large files (a restore copies them before it reads
   * the store: startEarlyCopies; absent in entries written before, and where there are none).
   * `hash`: the output's content hash as a fingerprint records it (runner/cache.ts pathHash), which
   * a store tree id is not: `dws run --dry-run` takes it as the input of the steps downstream of a
   * step it would restore. Absent where a restore leaves paths that are not the step's (kept), and
   * in entries written before.
   */
  outputs: Record<string, { tree: string; file: boolean; large?: LargeFile[]; hash?: string }>;
}

/**
 * `data` as an entry, or an Error naming the first field that is wrong. Checked by hand: zod's
 * first parse of the same schema cost ~1 ms of cold code, the largest part of a run-cache
 * restore's work before its copy starts (issue 12).
 */
function parseEntry(data: unknown): RunCacheEntry | Error {
  const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObject(data)) return new Error('(top): not an object');
  const wrong = (field: string, what: string) => new Error(`${field}: not ${what}`);
  if (typeof data.step !== 'string' || data.step === '') return wrong('step', 'a step name');
  if (typeof data.fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(data.fingerprint)) return wrong('fingerprint', '64 hex digits');
  if (typeof data.run_id !== 'string' || !/^[0-9a-f]{12}$/.test(data.run_id)) return wrong('run_id', '12 hex digits');
  if (typeof data.start_time !== 'string') return wrong('start_time', 'a string');
  if (data.execution_time_seconds !== null && typeof data.execution_time_seconds !== 'number') return wrong('execution_time_seconds', 'a number or null');
  if (!isObject(data.outputs)) return wrong('outputs', 'an object');
  for (const [ref, o] of Object.entries(data.outputs)) {
    if (!isObject(o) || typeof o.tree !== 'string' || !HEX40.test(o.tree) || typeof o.file !== 'boolean') return wrong(`outputs.${ref}`, '{"tree": <40 hex digits>, "file": <boolean>}');
    const bad = o.large === undefined ? -1 : Array.isArray(o.large) ? o.large.findIndex((f) => !isLargeFile(f)) : 0;
    if (bad >= 0) return wrong(`outputs.${ref}.large${Array.isArray(o.large) ? `.${bad}` : ''}`, '{"path": <a relative path>, "id": <40 hex digits>, "exec": <boolean>}');
    if (o.hash !== undefined && typeof o.hash !== 'string') return wrong(`outputs.${ref}.hash`, 'a string');
  }
  const { step, fingerprint, run_id, start_time, execution_time_seconds, outputs } = data;
  return { step, fingerprint, run_id, start_time, execution_time_seconds, outputs } as RunCacheEntry;
}

/** A listed large file: its path a relative one whose every part names a file (a hostile entry must not lead a copy elsewhere). */
function isLargeFile(f: unknown): f is LargeFile {
  if (typeof f !== 'object' || f === null) return false;
  const { path, id, exec } = f as Record<string, unknown>;
  return typeof path === 'string' && path.split('/').every((p) => isPathComponent(p) && !p.includes('\0')) && typeof id === 'string' && HEX40.test(id) && typeof exec === 'boolean';
}

/** How many trees of an output largeFiles reads, at most: the large files worth copying early are few, and a tree of many folders is the plan's work. */
const LARGE_LISTING_TREES = 16;

/** The large files (objects of their own) of the store tree `tree`, as far as LARGE_LISTING_TREES trees go. */
function largeFiles(store: ContentStore, tree: string): LargeFile[] {
  const found: LargeFile[] = [];
  let trees = 0;
  const visit = (id: string, prefix: string) => {
    if (++trees > LARGE_LISTING_TREES) return;
    for (const e of readTree(store, id)) {
      if (e.mode === MODE_DIR) visit(e.id, `${prefix}${e.name}/`);
      else if (e.mode !== MODE_LINK && store.locate(e.id)?.pack === -1) found.push({ path: prefix + e.name, id: e.id, exec: e.mode === MODE_EXEC });
    }
  };
  visit(tree, '');
  return found;
}

/** A declared output of a planned step: its ref (as written in the fingerprint) and local path. */
export interface OutputPlace {
  ref: string;
  path: string;
  /**
   * Paths below the output (relative to it) that are not the step's: in a results resource what a
   * snapshot leaves in place, earlier snapshots' results and the README. Entries leave them out and
   * restores leave them as they are (restoring the output as a whole removed or brought them back).
   */
  kept?: (path: string, dir: boolean) => boolean;
}

/** Whether this workspace keeps a run cache: it needs the content store. */
export function runCacheEnabled(ws: Workspace): boolean {
  return contentStoreEnabled(ws.ctx.env);
}

/** Where the entries are, relative to the workspace. */
export const RUN_CACHE_DIR = `${META_DIR}/${ENTRY_DIR}`;

function entryDir(wsDir: string): string {
  return join(wsDir, META_DIR, ENTRY_DIR);
}

/**
 * The entries recorded for `fingerprint`, newest run first. A malformed entry (edited by hand, a
 * bad merge) is skipped with a warning naming it: it only costs a rerun.
 */
export function findEntries(ws: Workspace, fingerprint: string): Array<{ file: string; entry: RunCacheEntry }> {
  const dir = entryDir(ws.dir);
  if (!existsSync(dir)) return [];
  const out: Array<{ file: string; entry: RunCacheEntry }> = [];
  for (const f of readdirSync(dir)) {
    if (!f.startsWith(`${fingerprint}-`) || !f.endsWith('.json')) continue;
    const file = join(dir, f);
    try {
      const entry = parseEntry(readJsonFile(file));
      if (entry instanceof Error) throw entry;
      if (entry.fingerprint !== fingerprint) throw new Error(`its fingerprint ${entry.fingerprint} is not the one in its name`);
      out.push({ file, entry });
    } catch (e) {
      ws.ctx.log.warn(`Run cache entry ${file} is not usable (${(e as Error).message}); ignored. Delete it, or bring back the committed version with 'git checkout -- ${file}'.`);
    }
  }
  return out.sort((a, b) => (a.entry.start_time < b.entry.start_time ? 1 : a.entry.start_time > b.entry.start_time ? -1 : 0));
}

/**
 * Put the content of the outputs of each step into the content store (the stat cache
 * `statCacheFile(path)` spares reading unchanged files the store has) and return their store
 * trees, by step. One lock and one commit of the store for the whole run.
 */
export async function captureOutputs(ws: Workspace, steps: Map<string, OutputPlace[]>, statCacheFile: (path: string) => string | null): Promise<Map<string, RunCacheEntry['outputs']>> {
  return withStoreLock(ws, 'dws run', async () => {
    const store = workspaceStore(ws);
    const byStep = new Map<string, RunCacheEntry['outputs']>();
    try {
      for (const [step, outputs] of steps) byStep.set(step, await capture(store, outputs));
      store.commit();
      for (const outputs of byStep.values()) {
        for (const o of Object.values(outputs)) {
          const large = o.file ? [] : largeFiles(store, o.tree);
          if (large.length > 0) o.large = large;
        }
      }
    } catch (e) {
      store.abort();
      throw e;
    }
    return byStep;
  });

  async function capture(store: ContentStore, outputs: OutputPlace[]): Promise<RunCacheEntry['outputs']> {
    const out: RunCacheEntry['outputs'] = {};
    for (const o of outputs) {
      if (statSync(o.path).isDirectory()) {
        const cacheFile = statCacheFile(o.path);
        const r = await computeHashTree({ root: o.path, computeHash: true, treeDir: null, ...(cacheFile !== null ? { cacheFile } : {}), store: store.sink(), onWarning: (m) => ws.ctx.log.warn(m) });
        const tree = o.kept ? pruneTree(r.storeRoot!, (id) => readTree(store, id), (t) => store.putSmall(t.id, t.bytes), o.kept) : r.storeRoot!;
        out[o.ref] = { tree, file: false };
      } else {
        const id = store.putFile(o.path);
        const tree = encodeTree([{ name: basename(o.path), mode: statSync(o.path).mode & 0o111 ? MODE_EXEC : MODE_FILE, id }]);
        store.putSmall(tree.id, tree.bytes);
        out[o.ref] = { tree: tree.id, file: true };
      }
    }
    return out;
  }
}

/** Write a new entry (atomically); returns its file. */
export function writeEntry(ws: Workspace, e: Omit<RunCacheEntry, 'run_id'>): string {
  const entry: RunCacheEntry = { step: e.step, fingerprint: e.fingerprint, run_id: randomBytes(6).toString('hex'), start_time: e.start_time, execution_time_seconds: e.execution_time_seconds, outputs: e.outputs };
  const dir = entryDir(ws.dir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${entry.fingerprint}-${entry.run_id}.json`);
  writeJsonFile(file, entry);
  return file;
}

/**
 * Commit the run cache folder alone: entries of a run whose outputs came out as an existing
 * snapshot has them (no snapshot commit takes them then), so push and pull find no uncommitted change.
 */
export async function commitEntries(ws: Workspace, steps: string[]): Promise<void> {
  await ws.git.commitAll(`dws run: run cache entries of ${steps.join(', ')}`, [`${META_DIR}/${ENTRY_DIR}`], { only: true });
}

/**
 * The snapshot whose commit added an entry (entries are written before the snapshot of their run,
 * which commits them), or null: the run took none, it is not committed yet, or it was deleted
 * since. git answers once per entry and HEAD commit; the answers are kept in the git directory
 * (entrySnapshotsFile) with the commit they hold for, so a restore does not spawn git again while
 * HEAD stays (spawning it cost a restore 4–15 ms here, issue 12).
 */
export async function entrySnapshot(ws: Workspace, file: string): Promise<string | null> {
  const head = headCommitFromFiles(ws);
  const index = head === null ? null : entrySnapshotsFile(ws);
  const known = index === null ? undefined : readEntrySnapshots(index, head!)[basename(file)];
  if (known !== undefined) return known;
  let snapshot: string | null;
  try {
    const subject = await ws.git.run(['log', '--diff-filter=A', '--format=%s', '-1', '--', file]);
    snapshot = /^Completed snapshot ([0-9a-f]{40})$/m.exec(subject)?.[1] ?? null;
    // A snapshot deleted since is not named: its commit stays in the history, the snapshot does not.
    if (snapshot !== null && !existsSync(ws.meta('snapshot_metadata', `${snapshot}_md.json`))) snapshot = null;
  } catch {
    return null;
  }
  // Kept only while HEAD is still the commit read before git ran (nothing moved it meanwhile).
  if (index !== null && headCommitFromFiles(ws) === head) {
    try {
      mkdirSync(dirname(index), { recursive: true });
      atomicWriteFile(index, JSON.stringify({ head, snapshots: { ...readEntrySnapshots(index, head!), [basename(file)]: snapshot } }));
    } catch {
      // a cache: the next restore asks git again
    }
  }
  return snapshot;
}

/** entrySnapshot's answers: `{"head": <commit>, "snapshots": {<entry file name>: <snapshot> | null}}`; null without a git directory. */
function entrySnapshotsFile(ws: Workspace): string | null {
  const dir = localCacheDir(ws);
  return dir === null ? null : join(dir, 'runner', 'entry-snapshots.json');
}

/** The answers kept for `head` (none when they were taken at another HEAD, or the file is unreadable). */
function readEntrySnapshots(file: string, head: string): Record<string, string | null> {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { head?: unknown; snapshots?: unknown };
    if (data.head !== head || typeof data.snapshots !== 'object' || data.snapshots === null) return {};
    return Object.fromEntries(Object.entries(data.snapshots).filter(([, v]) => v === null || (typeof v === 'string' && HEX40.test(v)))) as Record<string, string | null>;
  } catch {
    return {};
  }
}

/**
 * The commit HEAD names, read from `.git/HEAD` and the loose ref it points to; null whenever that
 * is not certain (a packed or missing ref, a worktree's `.git` file, GIT_DIR set...): then git is asked.
 */
function headCommitFromFiles(ws: Workspace): string | null {
  if (ws.ctx.env.GIT_DIR !== undefined || ws.ctx.env.GIT_WORK_TREE !== undefined) return null;
  const gitDir = join(ws.dir, '.git');
  try {
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    const ref = /^ref: (refs\/heads\/\S+)$/.exec(head)?.[1];
    const id = ref === undefined ? head : readFileSync(join(gitDir, ref), 'utf8').trim();
    return HEX40.test(id) ? id : null;
  } catch {
    return null;
  }
}

/**
 * Make each output what `entry` recorded, fetching missing objects from the store remote (the
 * files it replaces go to restoreTrash, which the caller empties). Every
 * object is checked (and fetched) before any output changes; throws (NotFoundError from the
 * store) when some are neither here nor on the remote, leaving the outputs as they were.
 * Returns, by output path, the files written and their ids (hashtree's `written`: the run records
 * the outputs' hashes without reading them again; '' is a file output itself). `onWriting` is
 * called once everything is checked, as the writes start (a large object's copy runs in libuv's
 * threads, and the caller's work done then overlaps it). The large files of folder outputs are
 * copied beside their place from the start, before the checks; nothing replaces an output before them.
 */
export async function restoreOutputs(ws: Workspace, entry: RunCacheEntry, outputs: OutputPlace[], statCacheFile: (path: string) => string | null, onWriting?: () => void): Promise<Map<string, Map<string, WrittenFile>>> {
  // The large files the entry lists start copying now, before the store is opened (its indexes
  // read), locked, the outputs scanned and the plan made, which took ~7 ms here before a 100 MB
  // copy of ~27 ms could start (startEarlyCopies; a copy that fails here, of an object gc took
  // meanwhile or one to fetch, is made again as any write under the lock).
  const large = new LargeObjects(storeDirOf(ws));
  const early = new Map(outputs.map((o) => [o.path, startEarlyCopies(large, o.path, entry.outputs[o.ref]!.large ?? [], statCacheFile(o.path))]));
  try {
    const store = workspaceStore(ws);
    return await withStoreLock(ws, 'dws run', () => restoreLocked(ws, store, entry, outputs, statCacheFile, early, onWriting));
  } finally {
    await Promise.all([...early.values()].map((e) => e.discard()));
  }
}

async function restoreLocked(ws: Workspace, store: ContentStore, entry: RunCacheEntry, outputs: OutputPlace[], statCacheFile: (path: string) => string | null, early: Map<string, EarlyCopies>, onWriting?: () => void): Promise<Map<string, Map<string, WrittenFile>>> {
  const trash = restoreTrash(ws);
  const what = `the run cache entry of step ${entry.step} (run ${entry.run_id})`;
  const prepared: Array<{ o: OutputPlace; plan?: RestorePlan; file?: StoreTreeEntry }> = [];
  for (const o of outputs) {
    const rec = entry.outputs[o.ref]!;
    if (rec.file) {
      await fetchOrFail(ws, store, new Set([rec.tree]), what);
      const [file] = readTree(store, rec.tree);
      if (file === undefined || file.mode === MODE_DIR) throw new Error(`Store tree ${rec.tree} of ${what} does not hold one file`);
      await fetchOrFail(ws, store, new Set([file.id]), what);
      prepared.push({ o, file });
      continue;
    }
    // A file where a directory was: the directory restore replaces it.
    if (existsSync(o.path) && !lstatSync(o.path).isDirectory()) rmSync(o.path);
    // The output is overwritten: a file the stat cache does not vouch for is rewritten, not read.
    const scanned = await scanTree(o.path, statCacheFile(o.path), (m) => ws.ctx.log.warn(m), { unreadUnlessCached: true });
    const current = o.kept ? pruneScan(scanned, o.kept) : scanned;
    const plan = await planWithTrees(store, current, rec.tree, (ids) => fetchOrFail(ws, store, ids, what));
    await fetchOrFail(ws, store, plan.missing, what);
    prepared.push({ o, plan });
  }
  const written = new Map<string, Map<string, WrittenFile>>();
  onWriting?.(); // what it starts runs at the first await below: a large object's copy is under way by then
  for (const p of prepared) {
    const files = new Map<string, WrittenFile>();
    written.set(p.o.path, files);
    if (p.plan) {
      await applyRestore(store, p.o.path, p.plan, undefined, trash, early.get(p.o.path));
      for (const a of p.plan.actions) if (a.kind === 'write' && a.entry.mode !== MODE_LINK) files.set(a.rel, { id: a.entry.id, stat: lstatSync(join(p.o.path, a.rel)) });
      continue;
    }
    // A file output is written where it is, as the step writes it (a temp file beside it would be
    // a write outside the declared outputs); a corrupt object fails the restore before the output
    // is touched, and the step runs. The file it replaces goes to the trash rather than being
    // truncated: a new file with its mode is written (freeing the old blocks waits).
    mkdirSync(dirname(p.o.path), { recursive: true });
    const old = lstatSync(p.o.path, { throwIfNoEntry: false });
    const setAside = () => {
      if (old?.isDirectory() && !trash.take(p.o.path)) rmSync(p.o.path, { recursive: true });
      if (old?.isFile()) trash.take(p.o.path);
    };
    await store.copyObjectTo(p.file!.id, p.o.path, old?.isFile() ? old.mode & 0o777 : 0o666, 'w', undefined, setAside);
    const mode = old?.isFile() ? old.mode & 0o777 : statSync(p.o.path).mode & 0o777;
    chmodSync(p.o.path, p.file!.mode === MODE_EXEC ? mode | ((mode & 0o444) >> 2) : mode & ~0o111);
    files.set('', { id: p.file!.id, stat: statSync(p.o.path) });
  }
  return written;
}

/**
 * Where restoreOutputs sets aside the files it replaces (store/trash.ts): in the store's
 * directory, outside every workspace's files. Empty it (`.empty()`) once the restores are done.
 */
export function restoreTrash(ws: Workspace): Trash {
  return new Trash(storeDirOf(ws));
}

/** The store trees named by the run cache entries of the workspace at `wsDir` (roots for gc). */
export function runCacheRoots(wsDir: string): string[] {
  const dir = entryDir(wsDir);
  if (!existsSync(dir)) return [];
  const trees: string[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    let data: unknown;
    try {
      data = readJsonFile(join(dir, f));
    } catch {
      continue; // the runner ignores such an entry too (findEntries says so)
    }
    trees.push(...entryTrees(data));
  }
  return trees;
}

/** The store trees an entry's outputs keep (none for a malformed entry). */
export function entryTrees(data: unknown): string[] {
  const entry = parseEntry(data);
  return entry instanceof Error ? [] : Object.values(entry.outputs).map((o) => o.tree);
}
