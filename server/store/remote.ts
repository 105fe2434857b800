/**
 * The store remote (`dws config store.remote VALUE`): any rclone remote (`name:path`, so S3, GCS,
 * SFTP, ... through rclone's own configuration) or a plain directory. It holds the same layout as
 * a local store (packs/, objects/), so packs travel whole, as few files, and only the files the
 * other side lacks are copied (rclone's parallel transfers). As in the local store, a pack's index
 * is copied after the pack: a pack is visible on either side only once complete.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConfigurationError, NotFoundError } from '../../protocol/errors.js';
import { exec as rclone } from '../resources/rclone-binary.js';
import type { ProgressTask } from '../context.js';
import type { Workspace } from '../workspace/workspace.js';
import { ID_BYTES } from './known-ids.js';
import { DamagedPackIndexError, findEntry, packMismatch, parsePackIndex, type PackIndex } from './pack.js';
import { CorruptObjectError } from './large-objects.js';
import type { ContentStore } from './store.js';
import { isRcloneRemote, storeRemoteOf, strandedObjectsHint } from './workspace-store.js';
import { faultPoint } from '../workspace/fault.js';

/** The remote as rclone takes it: `name:path` as is, a directory made absolute. */
export function remoteLocation(ws: Workspace, remote: string): string {
  return isRcloneRemote(remote) ? remote : resolve(ws.dir, remote);
}

export function requireRemote(ws: Workspace, what: string): string {
  const remote = storeRemoteOf(ws);
  if (remote === null) {
    throw new ConfigurationError(`${what}, but this workspace has no store remote. Set one with '${ws.ctx.command('dws/config', { name: 'store.remote', value: 'REMOTE' })}' (an rclone remote such as 's3:bucket/path', or a directory).`);
  }
  return remoteLocation(ws, remote);
}

/**
 * requireRemote, for a command that reads what the remote holds (fsck; gc, which fetches the
 * origin in between, calls checkRemoteThere itself): a remote that is not there lists as empty,
 * so fsck found "no problems" and gc nothing to remove.
 */
export async function requireExistingRemote(ws: Workspace, what: string): Promise<string> {
  const remote = requireRemote(ws, what);
  await checkRemoteThere(ws, remote, what);
  return remote;
}

/** The check of requireExistingRemote, on a `remote` (a location) already required. */
export async function checkRemoteThere(ws: Workspace, remote: string, what: string): Promise<void> {
  const kind = await remoteKind(ws, remote);
  if (kind === 'missing') {
    throw new NotFoundError(
      `${what}, but the store remote ${remote} does not exist: nothing was pushed there yet ('${ws.ctx.command('dws/push')}' makes it), or it is not where this machine looks (a disk that is not mounted, a path of another machine): check '${ws.ctx.command('dws/config', { name: 'store.remote' })}'.`,
      { remote },
    );
  }
  if (kind === 'file') throw new ConfigurationError(`${what}, but the store remote ${remote} is a file, not a folder: check '${ws.ctx.command('dws/config', { name: 'store.remote' })}'.`, { remote });
}

/**
 * Before a push, a plain-directory store remote must be a folder, or be made in a folder that
 * exists: rclone makes every missing folder of the path, so a remote on a disk that is not
 * mounted (/mnt/usb/store) filled the local disk below the mount point instead, unseen. An rclone
 * remote of type `local` is checked the same way once its listing found it missing
 * (checkLocalRcloneFolder).
 */
export function checkRemoteFolder(ws: Workspace, remote: string): void {
  if (!isRcloneRemote(remote)) checkLocalFolder(ws, remote, remote);
}

/** checkRemoteFolder's check of the local folder `path` of the store remote `remote` (as the user gave it). */
function checkLocalFolder(ws: Workspace, remote: string, path: string): void {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st?.isDirectory()) return;
  const parent = dirname(path);
  const fix = `or set another with '${ws.ctx.command('dws/config', { name: 'store.remote', value: 'REMOTE' })}'. Nothing was pushed.`;
  if (st !== undefined) throw new ConfigurationError(`The store remote ${remote} is not a folder (it is a file): remove it, ${fix}`, { remote });
  if (statSync(parent, { throwIfNoEntry: false })?.isDirectory() !== true) {
    throw new ConfigurationError(
      `The store remote ${remote} does not exist, and its parent folder ${parent} does not exist either (a disk that is not mounted?): push makes only the store remote's own folder. Mount the disk or create ${parent}, ${fix}`,
      { remote },
    );
  }
}

/**
 * Before a push to an rclone store remote (`name:path`) whose listing found its folder missing:
 * when rclone's configuration (the one the environment names: RCLONE_CONFIG, as for every store
 * remote call) gives the remote the type `local`, its path is a folder of this machine and gets
 * checkRemoteFolder's check (one `rclone listremotes --long`). Other backends are left to rclone.
 */
export async function checkLocalRcloneFolder(ws: Workspace, remote: string): Promise<void> {
  const colon = remote.indexOf(':');
  const name = remote.slice(0, colon).split(',')[0]!; // `name,option=value:path` sets backend options
  let listed: string;
  try {
    listed = await rclone(ws.ctx, ws.dir, ['listremotes', '--long']);
  } catch {
    return; // what rclone cannot say here, the push's copy reports
  }
  // One line per remote: `name:`, spaces, its type.
  const type = listed
    .split('\n')
    .map((line) => /^(.*):\s+(\S+)\s*$/.exec(line))
    .find((m) => m?.[1] === name)?.[2];
  if (type !== 'local') return;
  // rclone runs in the workspace directory: a relative path is taken from there.
  checkLocalFolder(ws, remote, resolve(ws.dir, remote.slice(colon + 1)));
}

/** A file listed on the remote: its size, and (when asked for) its modification time in ms. */
export interface RemoteFile {
  size: number;
  modTime: number;
}

/** Whether rclone failed because the remote's directory does not exist yet (an empty remote, not an error). */
function isMissingDirectory(e: unknown): boolean {
  // Only this message: rclone also prints 'Config file "..." not found' for an unknown remote.
  return /directory not found/i.test((e as Error).message);
}

/**
 * Whether the remote's top directory is there: 'missing', 'file' (a file at its path, which rclone
 * lists as a remote holding that one file), else 'dir' (also when rclone fails otherwise: that
 * error is another matter, met by the listing).
 */
async function remoteKind(ws: Workspace, remote: string): Promise<'missing' | 'file' | 'dir'> {
  try {
    const item = JSON.parse(await rclone(ws.ctx, ws.dir, ['lsjson', '--stat', '--no-mimetype', remote])) as { IsDir?: boolean };
    return item.IsDir === false ? 'file' : 'dir';
  } catch (e) {
    return isMissingDirectory(e) ? 'missing' : 'dir';
  }
}

function cannotList(remote: string, e: unknown): ConfigurationError {
  return new ConfigurationError(`Cannot list the store remote ${remote}: ${(e as Error).message}`, { remote });
}

/** How fsck, gc and the fetcher name a file of the remote they cannot use (`f` relative, `why` what is wrong). */
export function unusableOnRemote(remote: string, f: string, why: string): string {
  return `${f} on the store remote ${remote} cannot be used: ${why}`;
}

/** What is wrong with a remote's pack index that parsePackIndex refused. */
export function indexDamage(e: DamagedPackIndexError): string {
  return `the pack index is damaged (${e.why})`;
}

/**
 * Files on the remote by relative path (`packs/<name>.idx`, `objects/ab/...`) with their sizes;
 * empty when the remote does not exist yet, a ConfigurationError naming it when it cannot be
 * listed. `times`: modification times too (costs a look-up per file on some backends).
 */
export async function listRemote(ws: Workspace, remote: string, opts: { times?: boolean; onMissing?: () => void } = {}): Promise<Map<string, RemoteFile>> {
  const there = new Map<string, RemoteFile>();
  try {
    if (opts.times) {
      const out = await rclone(ws.ctx, ws.dir, ['lsjson', '-R', '--files-only', '--no-mimetype', remote]);
      for (const f of JSON.parse(out) as { Path: string; Size: number; ModTime: string }[]) there.set(f.Path, { size: f.Size, modTime: Date.parse(f.ModTime) });
    } else {
      const out = await rclone(ws.ctx, ws.dir, ['lsf', '-R', '--files-only', '--format', 'sp', '--separator', '\t', remote]);
      for (const line of out.split('\n')) {
        const tab = line.indexOf('\t');
        if (tab > 0) there.set(line.slice(tab + 1), { size: Number(line.slice(0, tab)), modTime: NaN });
      }
    }
  } catch (e) {
    if (!isMissingDirectory(e)) throw cannotList(remote, e);
    opts.onMissing?.();
  }
  return there;
}

/**
 * The local store's files (relative paths) whose copy on the remote is missing or has another
 * size: a push killed mid-way leaves partial files under their final names (rclone's local
 * backend writes in place), and a name is its content's hash, so the same size is the same file.
 */
export function unlikeOnRemote(store: ContentStore, there: Map<string, RemoteFile>): { missing: string[]; wrongSize: string[] } {
  const missing: string[] = [];
  const wrongSize: string[] = [];
  for (const f of storeFiles(store)) {
    const r = there.get(f);
    if (r === undefined) missing.push(f);
    else if (r.size !== statSync(join(store.dir, f)).size) wrongSize.push(f);
  }
  return { missing, wrongSize };
}

/** Every pack, pack index and large object of the local store, relative to it. */
function storeFiles(store: ContentStore): string[] {
  return [...[...store.looseIds].map(objectPath), ...store.packIndexes.flatMap((p) => [`packs/${p.name}.pack`, `packs/${p.name}.idx`])];
}

/** How copyFiles copies. */
export interface CopyOptions {
  /** Told the bytes copied so far (rclone's statistics). */
  task?: ProgressTask;
  /** One file at a time, in descending name order (so `X.pack` before `X.idx`). */
  inOrder?: boolean;
  /**
   * Into the local store: rclone's checksum of each file after the copy is skipped. Every object
   * read from the store is checked against its SHA-1 and every pack index against its own, so it
   * checked nothing more, and for 100 MB of packs it cost 0.3 s of CPU (rclone still compares sizes).
   */
  download?: boolean;
  /**
   * Onto the remote: each file's modification time there is the upload time (rclone keeps the
   * source's by default), through rclone's metadata; a backend without metadata keeps the source's.
   */
  stampNow?: boolean;
}

/**
 * Copy `files` (relative paths) from `src` to `dest` with one rclone call (parallel transfers
 * unless `inOrder`); files the other side has already (same size and time) are skipped, and so
 * are files `src` lacks. Returns the files copied.
 */
export async function copyFiles(ws: Workspace, src: string, dest: string, files: string[], tmpDir: string, opts: CopyOptions = {}): Promise<string[]> {
  if (files.length === 0) return [];
  const list = join(tmpDir, `files-${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(list, files.join('\n') + '\n');
  try {
    return await copy(ws, ['--files-from-raw', list, '--no-traverse'], src, dest, opts);
  } finally {
    rmSync(list, { force: true });
  }
}

/**
 * Copy the pack indexes of `src` (one call, listing only packs/) that the store at `local` lacks
 * (by name and size: a name is its content's hash); returns the files copied.
 */
function copyIndexes(ws: Workspace, src: string, dest: string, local: string, opts: CopyOptions): Promise<string[]> {
  return copy(ws, ['--include', '/packs/*.idx', '--compare-dest', local, '--size-only'], src, dest, opts);
}

function copy(ws: Workspace, select: string[], src: string, dest: string, opts: CopyOptions): Promise<string[]> {
  const copied: string[] = [];
  const order = opts.inOrder ? ['--check-first', '--order-by', 'name,descending', '--transfers', '1'] : ['--transfers', '8'];
  const stamp = opts.stampNow ? ['--metadata', '--metadata-set', `mtime=${new Date().toISOString()}`] : [];
  const args = ['copy', ...select, ...order, '--checkers', '16', ...(opts.download ? ['--ignore-checksum'] : []), ...stamp, '--verbose', src, dest];
  return rclone(ws.ctx, ws.dir, args, (s) => opts.task?.report(s.bytes, s.totalBytes), (f) => copied.push(f)).then(() => copied);
}

/**
 * Upload every pack and large object of the local store that the remote lacks or holds with
 * another size, by a listing of it (`listing`, listRemote's; taken now when not given) every
 * time: a record kept here of what was sent would go stale when a `gc --remote` in another
 * clone removes files, and a push trusting it would let git name objects that are gone.
 * Wrong-size files are removed there first. Large objects go in parallel; packs one after the
 * other, each before its index, so that a pack is visible on the remote only once complete.
 * Returns the files and objects sent.
 */
export async function pushObjects(ws: Workspace, store: ContentStore, remote: string, listing?: Map<string, RemoteFile>): Promise<{ files: number; objects: number }> {
  const { missing, wrongSize } = unlikeOnRemote(store, listing ?? (await listRemote(ws, remote)));
  const send = [...missing, ...wrongSize];
  if (send.length === 0) return { files: 0, objects: 0 };
  for (const f of wrongSize) await rclone(ws.ctx, ws.dir, ['deletefile', remoteFile(remote, f)]);
  const loose = send.filter((f) => f.startsWith('objects/'));
  const packs = send.filter((f) => f.startsWith('packs/'));
  const task = ws.ctx.progress.begin('Uploading to the store remote', 'bytes');
  const sent: string[] = [];
  // Stamped with the upload time (not the local file's): gc --remote spares files younger than its grace period.
  const opts = { task, stampNow: true };
  try {
    sent.push(...(await copyFiles(ws, store.dir, remote, loose, store.tmpDir, opts)));
    faultPoint('push.store-large-objects-before-packs');
    sent.push(...(await copyFiles(ws, store.dir, remote, packs, store.tmpDir, { ...opts, inOrder: true })));
  } finally {
    task.end();
  }
  const sentIdx = new Set(sent.filter((f) => f.endsWith('.idx')));
  let objects = sent.filter((f) => f.startsWith('objects/')).length;
  for (const p of store.packIndexes) if (sentIdx.has(`packs/${p.name}.idx`)) objects += p.count;
  return { files: sent.length, objects };
}

/** The path rclone takes for the store file `f` (relative) on `remote`. */
export function remoteFile(remote: string, f: string): string {
  return `${remote.replace(/\/$/, '')}/${f}`;
}

/** Where the large object `id` is, relative to the store (and to the remote). */
function objectPath(id: string): string {
  return `objects/${id.slice(0, 2)}/${id.slice(2)}`;
}

/** Objects that no index names asked for without listing the remote's objects/ first. */
const LOOSE_UNLISTED_MAX = 100;

/**
 * Downloads from the store remote for one command (a restore, a clone's or a pull's files): the
 * pack indexes of the remote that the local store lacks are downloaded once, at the first need,
 * by one rclone call that lists packs/ only; each fetch then downloads, in one more call with
 * parallel transfers, the packs that hold the wanted objects and the wanted objects that no index
 * names (large objects, files of their own: a path the remote lacks is skipped). An id found
 * nowhere makes the fetcher read the remote's indexes again once (another push may have added it).
 */
export class RemoteFetcher {
  /** Packs of the remote that the local store lacks: their index, parsed, and its bytes. */
  private indexes: Map<string, { index: PackIndex; bytes: Buffer }> | null = null;
  /** Files of the remote left aside (relative path -> what is wrong): named when objects are then missing. */
  private readonly unusable = new Map<string, string>();

  /** `remote`: a location (remoteLocation); by default the workspace's store remote, looked up at the first need. */
  constructor(
    private readonly ws: Workspace,
    private readonly store: ContentStore,
    private remote?: string | null,
  ) {}

  /** Whether this fetcher read the remote's indexes (something was missing here). */
  get downloaded(): boolean {
    return this.indexes !== null;
  }

  /** The remote's files this fetcher left aside, each with what is wrong with it. */
  get skipped(): string[] {
    return [...this.unusable].map(([f, why]) => `${f}: ${why}`);
  }

  /** Leave the remote's file `f` aside, saying so once; the objects it would give count as missing. */
  private skip(f: string, why: string): void {
    if (this.unusable.has(f)) return;
    this.unusable.set(f, why);
    this.ws.ctx.log.warn(`${unusableOnRemote(this.remote!, f, why)}; left aside ('${this.ws.ctx.command('dws/fsck', { remote: true })}' checks the remote).`);
  }

  /**
   * Download the objects `ids` that the store lacks; returns the ids the remote does not have
   * either (all of them when there is no store remote).
   */
  async fetch(ids: Iterable<string>): Promise<Set<string>> {
    const want = new Set<string>();
    for (const id of ids) if (!this.store.has(id)) want.add(id);
    if (want.size === 0) return want;
    if (this.remote === undefined) {
      const r = storeRemoteOf(this.ws);
      this.remote = r === null ? null : remoteLocation(this.ws, r);
    }
    if (this.remote === null) return want;
    const fresh = this.indexes === null;
    let missing = await this.download(await this.remoteIndexes(), want);
    if (missing.size > 0 && !fresh) {
      this.indexes = null;
      missing = await this.download(await this.remoteIndexes(), missing);
    }
    return missing;
  }

  private async remoteIndexes(): Promise<Map<string, { index: PackIndex; bytes: Buffer }>> {
    if (this.indexes !== null) return this.indexes;
    const { ws, store } = this;
    const remote = this.remote!;
    const stage = mkdtempSync(join(store.tmpDir, 'fetch-idx-'));
    const indexes = new Map<string, { index: PackIndex; bytes: Buffer }>();
    try {
      let copied: string[] = [];
      try {
        copied = await copyIndexes(ws, remote, join(stage, 'remote'), store.dir, { download: true });
      } catch (e) {
        if (!isMissingDirectory(e)) throw cannotList(remote, e);
      }
      for (const f of copied) {
        const m = /^packs\/([0-9a-f]{40})\.idx$/.exec(f);
        if (m === null) continue;
        const bytes = readFileSync(join(stage, 'remote', f));
        try {
          indexes.set(m[1]!, { index: parsePackIndex(bytes, m[1]!, `${remote}/${f}`), bytes });
        } catch (e) {
          if (!(e instanceof DamagedPackIndexError)) throw e;
          this.skip(f, indexDamage(e)); // e.g. cut short by a killed push: other files may hold its objects
        }
      }
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
    this.indexes = indexes;
    return indexes;
  }

  /** Download the packs of `indexes` that hold ids of `want`, and the others as large objects; returns the ids still missing. */
  private async download(indexes: Map<string, { index: PackIndex; bytes: Buffer }>, want: Set<string>): Promise<Set<string>> {
    const { ws, store } = this;
    const remote = this.remote!;
    const packs = new Set<string>();
    const unpacked: string[] = []; // in no index: large objects, or missing
    let entries = 0;
    for (const { index } of indexes.values()) entries += index.count;
    if (want.size * indexes.size <= 4 * entries) {
      // A binary search of each index per wanted id (no string per entry), unless there are many indexes.
      const probe = Buffer.alloc(ID_BYTES);
      for (const id of want) {
        probe.write(id, 'hex');
        let found = false;
        for (const [name, { index }] of indexes) {
          if (findEntry(index, probe) < 0) continue;
          found = true;
          packs.add(name);
        }
        if (!found) unpacked.push(id);
      }
    } else {
      const inPacks = new Set<string>();
      for (const [name, { index }] of indexes) {
        for (let at = 0; at < index.count * ID_BYTES; at += ID_BYTES) {
          const id = index.ids.toString('hex', at, at + ID_BYTES);
          if (!want.has(id)) continue;
          inPacks.add(id);
          packs.add(name);
        }
      }
      for (const id of want) if (!inPacks.has(id)) unpacked.push(id);
    }
    let loose = unpacked.map(objectPath);
    // Each path asked for costs a look-up on the remote: many (objects that were never pushed) are cheaper listed.
    if (loose.length > LOOSE_UNLISTED_MAX) {
      const there = await listRemote(ws, remote);
      loose = loose.filter((f) => there.has(f));
    }
    const stage = mkdtempSync(join(store.tmpDir, 'fetch-'));
    const task = ws.ctx.progress.begin('Downloading from the store remote', 'bytes');
    try {
      let copied: Set<string>;
      try {
        copied = new Set(await copyFiles(ws, remote, stage, [...[...packs].map((n) => `packs/${n}.pack`), ...loose], store.tmpDir, { task, download: true }));
      } catch (e) {
        throw new ConfigurationError(`Cannot download from the store remote ${remote}: ${(e as Error).message}`, { remote });
      }
      // Into the store: large objects, then each pack before its index.
      const gotLoose: string[] = [];
      for (const f of loose.filter((l) => copied.has(l))) {
        const id = f.slice(8, 10) + f.slice(11);
        mkdirSync(join(store.objectDir, id.slice(0, 2)), { recursive: true });
        renameSync(join(stage, f), store.loosePath(id));
        try {
          store.verifyLarge(id); // checked once, where it stays (a restore then reads it without hashing it again)
        } catch (e) {
          if (!(e instanceof CorruptObjectError)) throw e;
          rmSync(store.loosePath(id), { force: true });
          this.skip(f, 'its bytes do not match its name');
          continue;
        }
        gotLoose.push(f);
      }
      let allPacks = true;
      for (const n of packs) {
        const f = `packs/${n}.pack`;
        const mismatch = copied.has(f) ? packMismatch(join(stage, f), indexes.get(n)!.index) : null;
        const why = !copied.has(f) ? 'gone from the remote since its index was read' : mismatch === null ? null : `the pack does not match its index: ${mismatch}`;
        if (why !== null) {
          this.skip(f, why);
          indexes.delete(n); // not downloaded again for this command's next objects
          allPacks = false;
          continue;
        }
        renameSync(join(stage, 'packs', `${n}.pack`), join(store.packDir, `${n}.pack`));
        faultPoint('pull.store-fetch-partial');
        writeFileSync(join(stage, `${n}.idx`), indexes.get(n)!.bytes);
        renameSync(join(stage, `${n}.idx`), join(store.packDir, `${n}.idx`));
        indexes.delete(n);
      }
      store.reload();
      if (allPacks) {
        const got = new Set(gotLoose);
        return new Set(unpacked.filter((id) => !got.has(objectPath(id))));
      }
      return new Set([...want].filter((id) => !store.has(id)));
    } finally {
      task.end();
      rmSync(stage, { recursive: true, force: true });
    }
  }
}

/** Download the objects `ids` from the remote (RemoteFetcher, once); returns the ids the remote does not have either. */
export function fetchObjects(ws: Workspace, store: ContentStore, remote: string, ids: Set<string>): Promise<Set<string>> {
  return new RemoteFetcher(ws, store, remote).fetch(ids);
}

/** Of `ids`, the ones the remote (listed as `there`) lacks; nothing is downloaded but its indexes. */
export async function fetchObjectsDryRun(ws: Workspace, remote: string, there: Map<string, RemoteFile>, ids: Set<string>): Promise<Set<string>> {
  const want = new Set(ids);
  if (want.size === 0) return want;
  const idx = [...there.keys()].filter((f) => /^packs\/[0-9a-f]{40}\.idx$/.test(f));
  const stage = join(tmpdir(), `dws-fsck-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(stage, { recursive: true });
  try {
    await copyFiles(ws, remote, stage, idx, stage);
    for (const f of idx) {
      let p: PackIndex;
      try {
        p = parsePackIndex(readFileSync(join(stage, f)), f.slice(6, 46), `${remote}/${f}`);
      } catch (e) {
        if (!(e instanceof DamagedPackIndexError)) throw e;
        // E.g. cut short by a killed push: its pack gives nothing.
        ws.ctx.log.warn(`${unusableOnRemote(remote, f, indexDamage(e))}: the objects of its pack count as missing.`);
        continue;
      }
      if (there.get(`packs/${p.name}.pack`)?.size !== p.packSize) continue; // the pack is missing or cut short
      for (let i = 0; i < p.count; i++) want.delete(p.ids.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES));
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  for (const id of [...want]) if (there.has(objectPath(id))) want.delete(id);
  return want;
}

/**
 * Fetch `ids` or fail naming how many are missing and what gets them. `fetcher`: the command's
 * (its remote's indexes are downloaded once for all its fetches); by default one for this call.
 */
export async function fetchOrFail(ws: Workspace, store: ContentStore, ids: Set<string>, what: string, fetcher = new RemoteFetcher(ws, store)): Promise<void> {
  const still = await fetcher.fetch(ids);
  if (still.size === 0) return;
  const remote = storeRemoteOf(ws);
  if (remote === null) {
    throw new NotFoundError(
      `${still.size} object(s) needed for ${what} are not in the content store at ${store.dir}, and no store remote is set. If another copy of this workspace pushed them, set its remote with '${ws.ctx.command('dws/config', { name: 'store.remote', value: 'REMOTE' })}' and run the command again.${strandedObjectsHint(ws, store.dir)}`,
      { missing: still.size },
    );
  }
  const location = remoteLocation(ws, remote);
  // A missing directory lists as an empty remote (a first push creates it): here it is more likely
  // not where this machine looks than a remote nobody pushed to, and 'dws push' would not help.
  if ((await remoteKind(ws, location)) === 'missing') {
    throw new NotFoundError(
      `${still.size} object(s) needed for ${what} are not in the content store at ${store.dir}, and the store remote ${remote} does not exist. Run '${ws.ctx.command('dws/push')}' in the workspace that took the snapshot if nothing was pushed there yet; if it was, the remote is not where this machine looks (a disk that is not mounted, a path of another machine): check '${ws.ctx.command('dws/config', { name: 'store.remote' })}'. Then run this command again.${strandedObjectsHint(ws, store.dir)}`,
      { missing: still.size, remote },
    );
  }
  const skipped = fetcher.skipped;
  const unusable =
    skipped.length === 0
      ? ''
      : ` Some may be in files of the remote that could not be used: ${skipped.join('; ')}. Run '${ws.ctx.command('dws/fsck', { remote: true })}' to check the remote; remove a damaged file there and run '${ws.ctx.command('dws/push')}' in a workspace whose store has it, to send it again.`;
  throw new NotFoundError(
    `${still.size} object(s) needed for ${what} are neither in the content store at ${store.dir} nor on the store remote ${remote}. Run '${ws.ctx.command('dws/push')}' in the workspace that took the snapshot, then run this command again.${unusable}${strandedObjectsHint(ws, store.dir)}`,
    { missing: still.size, remote, ...(skipped.length > 0 ? { unusable: skipped } : {}) },
  );
}
