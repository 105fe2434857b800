/**
 * A workspace's view of the content store: where it is, which remote it shares, and which store
 * tree each snapshot recorded for each local-files/rclone resource. None of this is read by
 * Python dws 1.6 (issue 11 item 10):
 *
 *   store.dir     local_params.json (this machine; 1.6 keeps unknown keys there as they are)
 *                 default: <git dir>/dws/store, never committed
 *   store.remote  config.json global_params (committed, so every clone knows it; 1.6 keeps it)
 *   .dataworkspace/snapshot_store/<HASH>.json   {"<resource>": "<store tree id>", ...}, committed
 *   <git dir>/dws/checkouts.json  {"<resource>": {"snapshot": HASH, "tree": TREE, "latest": HASH}, ...}:
 *                 the snapshot each resource's files were last made on this machine (never committed)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigurationError } from '../../protocol/errors.js';
import { withLock } from '../workspace/lock.js';
import { corrupt, readIfExists, readJsonFile, writeCacheFile, writeJsonFile } from '../workspace/files.js';
import { isWithin, shellQuote } from '../workspace/paths.js';
import { localCacheDir, META_DIR, type ResourceParams, type Workspace } from '../workspace/workspace.js';
import { messageIn } from './advice.js';
import { ContentStore } from './store.js';

export const STORE_DIR_PARAM = 'store.dir';
export const STORE_REMOTE_PARAM = 'store.remote';
const RECORD_DIR = 'snapshot_store';

/** Resource types whose files go to the content store. */
export function usesContentStore(r: ResourceParams): boolean {
  return r.resource_type === 'file' || r.resource_type === 'rclone';
}

/**
 * DWS_CONTENT_STORE=off snapshots as Python 1.6 does, without keeping file contents (such
 * snapshots cannot restore those files). For measuring what the store costs, and for data that is
 * kept safe elsewhere.
 */
export function contentStoreEnabled(env: NodeJS.ProcessEnv): boolean {
  return env.DWS_CONTENT_STORE !== 'off';
}

const opened = new WeakMap<Workspace, ContentStore>();

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/** `path` with symbolic links of its longest existing prefix resolved (the rest may not exist yet). */
function realish(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realish(parent), basename(path));
  }
}

/**
 * What is wrong with `value` as store.dir of `ws`, or null (issue 13 items 1-2 for the store): a
 * path, absolute or relative to the workspace, of a directory that is not a file, and not in
 * the workspace's files (in `.dataworkspace` its packs would be committed; in a resource's
 * directory they would be snapshotted as data). Inside the git directory is fine: the default
 * is there.
 */
export function storeDirProblem(ws: Pick<Workspace, 'dir'>, value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return 'must be a directory path (absolute, or relative to the workspace)';
  if (CONTROL.test(value)) return 'may not contain control characters';
  const dir = realish(resolve(ws.dir, value));
  if (existsSync(dir) && !statSync(dir).isDirectory()) return `${dir} exists and is not a directory`;
  const root = realish(ws.dir);
  const gitDir = localCacheDir(ws);
  if (gitDir !== null && isWithin(dir, realish(dirname(gitDir)))) return null;
  if (isWithin(dir, root)) return `${dir} is inside the workspace ${root}, where its objects would be committed or snapshotted as data: choose a directory outside it (the default is in the git directory)`;
  if (isWithin(root, dir)) return `${dir} contains the workspace ${root}: choose a directory of its own`;
  return null;
}

/**
 * What is wrong with `value` as store.remote, or null: an rclone remote (`name:path`) is taken as
 * it is; a directory (relative to the workspace) may not be in the workspace or the local store.
 */
/** Whether a store remote is an rclone remote (`name:path`) rather than a plain directory. */
export function isRcloneRemote(remote: string): boolean {
  return /^[A-Za-z0-9_. -]+:/.test(remote) && !isAbsolute(remote);
}

export function storeRemoteProblem(ws: Workspace, value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return 'must not be empty';
  if (CONTROL.test(value)) return 'may not contain control characters';
  if (isRcloneRemote(value)) return null;
  const dir = realish(resolve(ws.dir, value));
  const root = realish(ws.dir);
  if (isWithin(dir, root) || isWithin(root, dir)) return `the directory ${dir} is inside the workspace ${root} or contains it: choose a directory outside it`;
  let store: string | null = null;
  try {
    store = realish(storeDirOf(ws));
  } catch {
    // no local store to compare with
  }
  if (store !== null && (isWithin(dir, store) || isWithin(store, dir))) return `the directory ${dir} overlaps the local content store ${store}: a remote must be another directory`;
  return null;
}

export function storeDirOf(ws: Workspace): string {
  const set = ws.localParams[STORE_DIR_PARAM];
  if (set !== undefined && set !== null) {
    // Checked on use too: local_params.json may be edited by hand.
    const problem = storeDirProblem(ws, set);
    if (problem !== null) throw corrupt(ws.meta('local_params.json'), `"${STORE_DIR_PARAM}" (${JSON.stringify(set)})`, problem, [STORE_DIR_PARAM]);
    return resolve(ws.dir, set as string);
  }
  const local = defaultStoreDir(ws);
  if (local === null) throw new ConfigurationError(`Workspace ${ws.dir} has no git directory for its content store; set one with '${ws.ctx.command('dws/config', { name: 'store.dir', value: 'PATH' })}'`);
  return local;
}

/** Where the store is when store.dir is not set (null: no git directory). */
function defaultStoreDir(ws: Workspace): string | null {
  const local = localCacheDir(ws);
  return local === null ? null : join(local, 'store');
}

/** Whether the store at `dir` holds any object (a pack or a large object). */
export function holdsObjects(dir: string): boolean {
  const nonEmpty = (d: string) => existsSync(d) && readdirSync(d).length > 0;
  return nonEmpty(join(dir, 'packs')) || nonEmpty(join(dir, 'objects'));
}

/** How to carry the objects of the store at `from` over to the one at `to` (a plain copy merges two stores). */
export function copyStoreAdvice(from: string, to: string): string {
  return `cp -a ${shellQuote(`${from}/.`)} ${shellQuote(`${to}/`)}`;
}

/**
 * A sentence for an error about objects missing from the store: when store.dir moved the store
 * away from its default place and objects are still there (stored before), say how to get them.
 */
export function strandedObjectsHint(ws: Workspace, storeDir: string): string {
  const old = defaultStoreDir(ws);
  if (old === null || resolve(old) === resolve(storeDir) || !holdsObjects(old)) return '';
  return ` The store at ${old}, used before store.dir was set, holds objects too: copy them over with ${copyStoreAdvice(old, storeDir)} and run the command again.`;
}

/**
 * Register the workspace with its store (gc reads the snapshots of every workspace sharing it).
 * The place it was registered at is kept beside its stat caches: a workspace that moved forgets
 * its old registration, so that gc elsewhere does not wait for it (a copy leaves the original's).
 */
function registerHere(ws: Workspace, store: ContentStore): void {
  store.registerWorkspace(ws.dir);
  const local = localCacheDir(ws);
  if (local === null) return;
  const record = join(local, 'store-registration');
  const before = readIfExists(record);
  if (before === ws.dir) return;
  if (before !== null && isAbsolute(before) && !existsSync(join(before, META_DIR))) store.forgetWorkspace(before);
  try {
    mkdirSync(local, { recursive: true });
    writeCacheFile(record, ws.dir);
  } catch {
    // only a record: without it, a move is not noticed and gc names the old place
  }
}

/** The workspace's content store, opened once per loaded workspace. */
export function workspaceStore(ws: Workspace): ContentStore {
  let s = opened.get(ws);
  if (s === undefined) {
    const dir = storeDirOf(ws);
    try {
      s = ContentStore.open(dir);
      registerHere(ws, s);
    } catch (e) {
      throw new ConfigurationError(`Cannot use the content store at ${dir}: ${messageIn(ws.ctx, e)}`, { store: dir });
    }
    opened.set(ws, s);
  }
  return s;
}

/** Run `fn` holding the store's lock (gc against writers, also those of other workspaces sharing the store). */
export function withStoreLock<T>(ws: Workspace, command: string, fn: () => Promise<T>): Promise<T> {
  const store = workspaceStore(ws);
  return withLock(join(store.dir, 'lock'), { log: ws.ctx.log, timeoutMs: ws.ctx.lockTimeoutMs, command, what: `content store (${store.dir})` }, fn);
}

export function storeRemoteOf(ws: Workspace): string | null {
  const r = ws.globalParams[STORE_REMOTE_PARAM];
  if (r === undefined || r === null) return null;
  const problem = storeRemoteProblem(ws, r);
  if (problem !== null) throw corrupt(ws.meta('config.json'), `"global_params"."${STORE_REMOTE_PARAM}" (${JSON.stringify(r)})`, problem, ['global_params', STORE_REMOTE_PARAM]);
  return r as string;
}

export type StoreRecord = Record<string, string>;

export function storeRecordFile(ws: Workspace, hash: string): string {
  return ws.meta(RECORD_DIR, `${hash}.json`);
}

/** The store trees a snapshot recorded (null: taken without a store, e.g. by Python 1.6). */
export function readStoreRecord(ws: Workspace, hash: string): StoreRecord | null {
  const file = storeRecordFile(ws, hash);
  if (!existsSync(file)) return null;
  const data = readJsonFile(file);
  if (typeof data !== 'object' || data === null || Array.isArray(data) || Object.values(data).some((v) => typeof v !== 'string' || !/^[0-9a-f]{40}$/.test(v))) {
    throw new ConfigurationError(`${file} is not a store record (an object of resource name -> 40-digit store tree id). Bring back the committed version with 'git checkout -- ${file}'.`, { file });
  }
  return data as StoreRecord;
}

export function writeStoreRecord(ws: Workspace, hash: string, record: StoreRecord): void {
  mkdirSync(ws.meta(RECORD_DIR), { recursive: true });
  writeJsonFile(storeRecordFile(ws, hash), record);
}

/** Snapshot hashes that have a store record. */
export function recordedSnapshots(ws: Workspace): string[] {
  const d = ws.meta(RECORD_DIR);
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((f) => /^[0-9a-f]{40}\.json$/.test(f))
    .map((f) => f.slice(0, 40));
}

/** A resource's store tree in a snapshot. */
export interface SnapshotTree {
  snapshot: string;
  tree: string;
}

/** The snapshot a resource's files were made, its store tree there, and the resource's newest snapshot then. */
export interface Checkout extends SnapshotTree {
  /** A pull brings the files to the newest snapshot only when it is not this one (something newer came since). */
  latest: string;
}

function checkoutsFile(ws: Workspace): string | null {
  const dir = localCacheDir(ws);
  return dir === null ? null : join(dir, 'checkouts.json');
}

/**
 * Which snapshot each resource's files were last made on this machine: by a snapshot, a restore,
 * a clone or a pull. `dws status` compares the files with it, so that after a restore of an older
 * snapshot it reports no changes instead of the differences from the newest one, and a pull leaves
 * such a resource alone unless a newer snapshot came. A cache: when it is missing or unreadable,
 * status compares with the newest snapshot and a pull brings every resource to it.
 */
export function readCheckouts(ws: Workspace): Map<string, Checkout> {
  const file = checkoutsFile(ws);
  const out = new Map<string, Checkout>();
  try {
    const data = file === null ? {} : (JSON.parse(readFileSync(file, 'utf8')) as Record<string, Partial<Checkout>>);
    for (const [name, c] of Object.entries(data)) {
      if (typeof c?.snapshot === 'string' && typeof c.tree === 'string' && typeof c.latest === 'string') out.set(name, { snapshot: c.snapshot, tree: c.tree, latest: c.latest });
    }
  } catch {
    // none yet, or damaged: compared with the newest snapshot
  }
  return out;
}

/** Note that the files of each resource of `made` are now those of its snapshot. */
export function recordCheckouts(ws: Workspace, made: Map<string, Checkout>): void {
  const file = checkoutsFile(ws);
  if (file === null || made.size === 0) return;
  const all = readCheckouts(ws);
  for (const [name, c] of made) all.set(name, c);
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeCacheFile(file, JSON.stringify(Object.fromEntries(all)) + '\n');
  } catch (e) {
    // The command itself succeeded: only status's point of comparison is older than it could be.
    ws.ctx.log.debug(`Could not write ${file}: ${(e as Error).message}`);
  }
}
