/**
 * The store remote (`dws config store.remote VALUE`): any rclone remote (`name:path`, so S3, GCS,
 * SFTP, ... through rclone's own configuration) or a plain directory. It holds the same layout as
 * a local store (packs/, objects/), so packs travel whole, as few files, and only the files the
 * other side lacks are copied (rclone's parallel transfers). As in the local store, a pack's index
 * is copied after the pack: a pack is visible on either side only once complete.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConfigurationError, NotFoundError } from '../../protocol/errors.js';
import { exec as rclone } from '../resources/rclone-binary.js';
import type { ProgressTask } from '../context.js';
import type { Workspace } from '../workspace/workspace.js';
import { ID_BYTES } from './known-ids.js';
import { readPackIndex } from './pack.js';
import { readPushed, writePushed } from './pushed.js';
import type { ContentStore } from './store.js';
import { storeRemoteOf } from './workspace-store.js';
import { faultPoint } from '../workspace/fault.js';

/** The remote as rclone takes it: `name:path` as is, a directory made absolute. */
export function remoteLocation(ws: Workspace, remote: string): string {
  if (/^[A-Za-z0-9_. -]+:/.test(remote) && !isAbsolute(remote)) return remote;
  return resolve(ws.dir, remote);
}

export function requireRemote(ws: Workspace, what: string): string {
  const remote = storeRemoteOf(ws);
  if (remote === null) {
    throw new ConfigurationError(`${what}, but this workspace has no store remote. Set one with 'dws config store.remote REMOTE' (an rclone remote such as 's3:bucket/path', or a directory).`);
  }
  return remoteLocation(ws, remote);
}

/**
 * Files on the remote, relative paths (`packs/<name>.idx`, `objects/ab/...`); empty when it does
 * not exist yet. The listing becomes the push record of the remote (pushed.ts).
 */
export async function listRemote(ws: Workspace, remote: string): Promise<Set<string>> {
  let out: string;
  try {
    out = await rclone(ws.ctx, ws.dir, ['lsf', '-R', '--files-only', remote]);
  } catch (e) {
    if (/directory not found|not found/i.test((e as Error).message)) out = '';
    else throw new ConfigurationError(`Cannot list the store remote ${remote}: ${(e as Error).message}`, { remote });
  }
  const there = new Set(out.split('\n').filter((l) => l !== ''));
  writePushed(ws, remote, there);
  return there;
}

/**
 * Copy `files` (relative paths) from `src` to `dest` with one rclone call, reporting bytes to
 * `task`; files the other side has already (same size and time) are skipped. `inOrder`: one file
 * at a time, in descending name order (so `X.pack` before `X.idx`). Returns the files copied.
 */
export async function copyFiles(ws: Workspace, src: string, dest: string, files: string[], tmpDir: string, task?: ProgressTask, inOrder = false): Promise<string[]> {
  if (files.length === 0) return [];
  const list = join(tmpDir, `files-${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(list, files.join('\n') + '\n');
  const parallel = inOrder ? ['--check-first', '--order-by', 'name,descending', '--transfers', '1'] : ['--transfers', '8'];
  const args = ['copy', '--files-from-raw', list, '--no-traverse', ...parallel, '--checkers', '16', '--verbose', src, dest];
  const copied: string[] = [];
  try {
    await rclone(ws.ctx, ws.dir, args, (s) => task?.report(s.bytes, s.totalBytes), (f) => copied.push(f));
  } finally {
    rmSync(list, { force: true });
  }
  return copied;
}

/**
 * Upload every pack and large object of the local store that the remote lacks: those not in the
 * push record (pushed.ts; none: no rclone at all), of which rclone skips the files the remote has
 * (no listing first). Large objects go in parallel; packs one after the other, each before its
 * index, so that a pack is visible on the remote only once complete. Returns the files and
 * objects sent.
 */
export async function pushObjects(ws: Workspace, store: ContentStore, remote: string): Promise<{ files: number; objects: number }> {
  const local = [
    ...[...store.looseIds].map((id) => `objects/${id.slice(0, 2)}/${id.slice(2)}`),
    ...store.packIndexes.flatMap((p) => [`packs/${p.name}.pack`, `packs/${p.name}.idx`]),
  ];
  const pushed = readPushed(ws, remote);
  const unrecorded = local.filter((f) => !pushed.has(f));
  if (unrecorded.length === 0) return { files: 0, objects: 0 };
  const loose = unrecorded.filter((f) => f.startsWith('objects/'));
  const packs = unrecorded.filter((f) => f.startsWith('packs/'));
  const task = ws.ctx.progress.begin('Uploading to the store remote', 'bytes');
  const sent: string[] = [];
  try {
    sent.push(...(await copyFiles(ws, store.dir, remote, loose, store.tmpDir, task)));
    faultPoint('push.store-large-objects-before-packs');
    sent.push(...(await copyFiles(ws, store.dir, remote, packs, store.tmpDir, task, true)));
  } finally {
    task.end();
  }
  writePushed(ws, remote, [...pushed, ...unrecorded]);
  const sentIdx = new Set(sent.filter((f) => f.endsWith('.idx')));
  let objects = sent.filter((f) => f.startsWith('objects/')).length;
  for (const p of store.packIndexes) if (sentIdx.has(`packs/${p.name}.idx`)) objects += p.count;
  return { files: sent.length, objects };
}

/**
 * Download the objects `ids` from the remote: the packs that hold them (whole) and large objects.
 * Returns the ids the remote does not have either.
 */
export async function fetchObjects(ws: Workspace, store: ContentStore, remote: string, ids: Set<string>): Promise<Set<string>> {
  const want = new Set([...ids].filter((id) => !store.has(id)));
  if (want.size === 0) return want;
  const there = await listRemote(ws, remote);
  const local = new Set(store.packIndexes.map((p) => p.name));
  const remoteIdx = [...there].filter((f) => /^packs\/[0-9a-f]{40}\.idx$/.test(f) && !local.has(f.slice(6, 46)));
  const stage = join(store.tmpDir, `fetch-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(stage, { recursive: true });
  const task = ws.ctx.progress.begin('Downloading from the store remote', 'bytes');
  try {
    await copyFiles(ws, remote, stage, remoteIdx, store.tmpDir);
    const packs: string[] = [];
    for (const f of remoteIdx) {
      const name = f.slice(6, 46);
      const idx = readPackIndex(join(stage, 'packs'), name);
      let needed = false;
      for (let i = 0; i < idx.count; i++) {
        const id = idx.ids.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES);
        if (want.delete(id)) needed = true;
      }
      if (needed) packs.push(name);
    }
    const loose = [...want].filter((id) => there.has(`objects/${id.slice(0, 2)}/${id.slice(2)}`));
    for (const id of loose) want.delete(id);
    await copyFiles(ws, remote, stage, [...packs.map((n) => `packs/${n}.pack`), ...loose.map((id) => `objects/${id.slice(0, 2)}/${id.slice(2)}`)], store.tmpDir, task);
    // Into the store: large objects, then each pack before its index.
    for (const id of loose) {
      mkdirSync(join(store.objectDir, id.slice(0, 2)), { recursive: true });
      renameSync(join(stage, 'objects', id.slice(0, 2), id.slice(2)), store.loosePath(id));
    }
    for (const n of packs) {
      renameSync(join(stage, 'packs', `${n}.pack`), join(store.packDir, `${n}.pack`));
      faultPoint('pull.store-fetch-partial');
      renameSync(join(stage, 'packs', `${n}.idx`), join(store.packDir, `${n}.idx`));
    }
    store.reload();
  } finally {
    task.end();
    rmSync(stage, { recursive: true, force: true });
  }
  return want;
}

/** Of `ids`, the ones the remote lacks (nothing is downloaded but its indexes; the remote is listed even for none). */
export async function fetchObjectsDryRun(ws: Workspace, remote: string, ids: Set<string>): Promise<Set<string>> {
  const want = new Set(ids);
  const there = await listRemote(ws, remote); // even when nothing is wanted: it resets the push record
  if (want.size === 0) return want;
  const idx = [...there].filter((f) => /^packs\/[0-9a-f]{40}\.idx$/.test(f));
  const stage = join(tmpdir(), `dws-fsck-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(stage, { recursive: true });
  try {
    await copyFiles(ws, remote, stage, idx, stage);
    for (const f of idx) {
      const p = readPackIndex(join(stage, 'packs'), f.slice(6, 46));
      for (let i = 0; i < p.count; i++) want.delete(p.ids.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES));
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  for (const id of [...want]) if (there.has(`objects/${id.slice(0, 2)}/${id.slice(2)}`)) want.delete(id);
  return want;
}

/** Fetch `ids` or fail naming how many are missing and what gets them. */
export async function fetchOrFail(ws: Workspace, store: ContentStore, ids: Set<string>, what: string): Promise<void> {
  const missing = [...ids].filter((id) => !store.has(id));
  if (missing.length === 0) return;
  const remote = storeRemoteOf(ws);
  if (remote === null) {
    throw new NotFoundError(
      `${missing.length} object(s) needed for ${what} are not in the content store at ${store.dir}, and no store remote is set. If another copy of this workspace pushed them, set its remote with 'dws config store.remote REMOTE' and run the command again.`,
      { missing: missing.length },
    );
  }
  const still = await fetchObjects(ws, store, remoteLocation(ws, remote), new Set(missing));
  if (still.size > 0) {
    throw new NotFoundError(
      `${still.size} object(s) needed for ${what} are neither in the content store at ${store.dir} nor on the store remote ${remote}. Run 'dws push' in the workspace that took the snapshot, then run this command again.`,
      { missing: still.size, remote },
    );
  }
}
