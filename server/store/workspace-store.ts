/**
 * A workspace's view of the content store: where it is, which remote it shares, and which store
 * tree each snapshot recorded for each local-files/rclone resource. None of this is read by
 * Python dws 1.6 (issue 11 item 10):
 *
 *   store.dir     local_params.json (this machine; 1.6 keeps unknown keys there as they are)
 *                 default: <git dir>/dws/store, never committed
 *   store.remote  config.json global_params (committed, so every clone knows it; 1.6 keeps it)
 *   .dataworkspace/snapshot_store/<HASH>.json   {"<resource>": "<store tree id>", ...}, committed
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigurationError } from '../../protocol/errors.js';
import { withLock } from '../workspace/lock.js';
import { readJsonFile, writeJsonFile } from '../workspace/files.js';
import { localCacheDir, type ResourceParams, type Workspace } from '../workspace/workspace.js';
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

export function storeDirOf(ws: Workspace): string {
  const set = ws.localParams[STORE_DIR_PARAM];
  if (typeof set === 'string' && set !== '') return resolve(ws.dir, set);
  const local = localCacheDir(ws);
  if (local === null) throw new ConfigurationError(`Workspace ${ws.dir} has no git directory for its content store; set one with 'dws config store.dir PATH'`);
  return join(local, 'store');
}

/** The workspace's content store, opened once per loaded workspace. */
export function workspaceStore(ws: Workspace): ContentStore {
  let s = opened.get(ws);
  if (s === undefined) {
    const dir = storeDirOf(ws);
    try {
      s = ContentStore.open(dir);
      s.registerWorkspace(ws.dir);
    } catch (e) {
      throw new ConfigurationError(`Cannot use the content store at ${dir}: ${(e as Error).message}`, { store: dir });
    }
    opened.set(ws, s);
  }
  return s;
}

/** Run `fn` holding the store's lock (gc against writers, also those of other workspaces sharing the store). */
export function withStoreLock<T>(ws: Workspace, command: string, fn: () => Promise<T>): Promise<T> {
  const store = workspaceStore(ws);
  return withLock(join(store.dir, 'lock'), { log: ws.ctx.log, timeoutMs: ws.ctx.lockTimeoutMs, command }, fn);
}

export function storeRemoteOf(ws: Workspace): string | null {
  const r = ws.globalParams[STORE_REMOTE_PARAM];
  return typeof r === 'string' && r !== '' ? r : null;
}

export type StoreRecord = Record<string, string>;

function recordFile(ws: Workspace, hash: string): string {
  return ws.meta(RECORD_DIR, `${hash}.json`);
}

/** The store trees a snapshot recorded (null: taken without a store, e.g. by Python 1.6). */
export function readStoreRecord(ws: Workspace, hash: string): StoreRecord | null {
  const file = recordFile(ws, hash);
  if (!existsSync(file)) return null;
  const data = readJsonFile(file);
  if (typeof data !== 'object' || data === null || Array.isArray(data) || Object.values(data).some((v) => typeof v !== 'string' || !/^[0-9a-f]{40}$/.test(v))) {
    throw new ConfigurationError(`${file} is not a store record (an object of resource name -> 40-digit store tree id). Bring back the committed version with 'git checkout -- ${file}'.`, { file });
  }
  return data as StoreRecord;
}

export function writeStoreRecord(ws: Workspace, hash: string, record: StoreRecord): void {
  mkdirSync(ws.meta(RECORD_DIR), { recursive: true });
  writeJsonFile(recordFile(ws, hash), record);
}

/** Snapshot hashes that have a store record. */
export function recordedSnapshots(ws: Workspace): string[] {
  const d = ws.meta(RECORD_DIR);
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((f) => /^[0-9a-f]{40}\.json$/.test(f))
    .map((f) => f.slice(0, 40));
}
