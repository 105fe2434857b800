/**
 * The content store: file contents (and the store trees that list them, trees.ts) keyed by the
 * SHA-1 of their bytes, never committed to git. Small objects live in packs (pack.ts), because
 * creating a file is the dearest thing on these machines (PERF-NOTES.md); objects of
 * LARGE_OBJECT_BYTES and more in files of their own. Layout:
 *
 *   <store>/packs/<name>.pack + <name>.idx    small objects
 *   <store>/objects/<2 hex>/<38 hex>           large objects (read-only files)
 *   <store>/verified-large/<40 hex>            large objects whose bytes were checked (verifyLarge)
 *   <store>/verified-large/<name>.idx          pack indexes whose checksum was checked (readPackIndex)
 *   <store>/tmp/                               being written (invisible; gc clears old ones)
 *   <store>/lock                               held by gc, and by writers while they store
 *   <store>/workspaces/<id>                    the workspaces using this store (gc asks them all)
 *
 * Every write is crash-safe: an object is visible only once complete (temp file + rename; packs
 * through their index), and every read checks the bytes against the id.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { StoreSink } from '../resources/hashtree/index.js';
import { oneShotSha1, writeAll } from '../resources/hashtree/hash-files.js';
import { KnownIds, ID_BYTES } from './known-ids.js';
import { entryLength, entryOffset, findEntry, publishPack, readPackIndex, syncDir, TruncatedPackError, type PackEntry, type PackIndex } from './pack.js';
import { faultPoint } from '../workspace/fault.js';
import { atomicWriteFile } from '../workspace/files.js';
import { processAlive } from '../workspace/lock.js';
import { CorruptObjectError, LargeObjects } from './large-objects.js';

/** Files this long or longer become objects of their own; shorter ones go into packs. */
export const LARGE_OBJECT_BYTES = 1 << 20;
const CHUNK = 1 << 20;
/**
 * Bytes read from a pack at once (see readPacked): enough for dozens of small objects in a row,
 * little waste when a restore needs one object here and there (it reads them in pack order).
 */
const WINDOW = 64 << 10;
/** Pack windows kept at once: a snapshot's packs are one per hashing thread. */
const MAX_WINDOWS = 8;
/** Packs locate() searches first: those of the last objects found (see there). */
const RECENT_PACKS = 4;

/** Where an object is: in a pack (index into `packs`) at an offset, or a file of its own (pack -1). */
export interface ObjectLocation {
  pack: number;
  offset: number;
  length: number;
}

/** What hashing threads need to store what they read (sent with each job; plain data). */
export interface StoreSession {
  /** Unique per run: a thread opens one pack per session. */
  id: string;
  tmpDir: string;
  /** KnownIds of the store at the start of the run. */
  known: SharedArrayBuffer;
}

export { CorruptObjectError };

export class ContentStore {
  readonly packDir: string;
  readonly objectDir: string;
  readonly tmpDir: string;
  readonly verifiedDir: string;
  /** The objects kept as files of their own. */
  readonly large: LargeObjects;
  /** The packs' names, and their indexes as read so far (packIndex). */
  private packNames: string[] = [];
  private packs: Array<PackIndex | undefined> = [];
  /** Packs where locate() found objects lately, latest first (searched first). */
  private recentPacks: number[] = [];
  private loose = new Set<string>();
  /** Objects stored by this process since the indexes were read. */
  private added = new Map<string, ObjectLocation>();
  private knownIds: KnownIds | undefined;
  private readonly probe = Buffer.alloc(ID_BYTES);
  private readonly packFds = new Map<number, number>();
  private packWriter: SmallObjectWriter | undefined;
  /** Large objects not yet visible: id -> temp file (adoptLarge). */
  private pendingLarge = new Map<string, string>();
  /** Packs written by hashing threads in the current session: path -> entries. */
  private sessionPacks = new Map<string, PackEntry[]>();
  /** The sessions of hashing threads since the last abort, whose temp files abort removes. */
  private sessionIds: string[] = [];
  /** Recently read bytes of each pack (by its number in `packs`): see readPacked. */
  private windows = new Map<number, { offset: number; bytes: Buffer }>();

  private constructor(readonly dir: string) {
    this.packDir = join(dir, 'packs');
    this.tmpDir = join(dir, 'tmp');
    this.large = new LargeObjects(dir);
    this.objectDir = this.large.objectDir;
    this.verifiedDir = this.large.verifiedDir;
  }

  /** Open (creating it if needed) the store at `dir`; throws an Error naming the directory if it cannot be used. */
  static open(dir: string): ContentStore {
    const s = new ContentStore(dir);
    for (const d of [s.packDir, s.objectDir, s.tmpDir, s.verifiedDir]) mkdirSync(d, { recursive: true });
    s.sweepDeadWriters();
    s.reload();
    return s;
  }

  /**
   * Remove what writers that are gone (killed, interrupted) left in tmp/: every name there is
   * `<kind>-<pid>-...` of the process that writes it. A process that is alive keeps its files (also
   * an unrelated one that got the same pid: kept until gc). The store is this machine's.
   */
  private sweepDeadWriters(): void {
    for (const f of readdirSync(this.tmpDir)) {
      const pid = Number(f.split('-')[1]);
      if (pid !== process.pid && Number.isInteger(pid) && pid > 0 && !processAlive(pid)) rmSync(join(this.tmpDir, f), { recursive: true, force: true });
    }
  }

  /** Read the indexes again (after another process or a download added packs). */
  reload(): void {
    this.closeFds();
    // Newest first, each index read at its first search (packIndex): a process that looks up a
    // few recent objects (a run-cache restore: a recent run's trees) then need not read the index
    // of an older snapshot of 100,000 files (3.2 MB, ~3 ms, read at every open until now).
    this.packNames = readdirSync(this.packDir)
      .filter((f) => f.endsWith('.idx'))
      .map((f) => ({ name: f.slice(0, -4), mtime: statSync(join(this.packDir, f), { bigint: true }).mtimeNs }))
      .sort((a, b) => (a.mtime > b.mtime ? -1 : a.mtime < b.mtime ? 1 : a.name < b.name ? -1 : 1))
      .map((p) => p.name);
    this.packs = new Array<PackIndex | undefined>(this.packNames.length);
    this.recentPacks = [];
    this.loose = new Set();
    for (const d of readdirSync(this.objectDir)) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue;
      for (const f of readdirSync(join(this.objectDir, d))) if (/^[0-9a-f]{38}$/.test(f)) this.loose.add(d + f);
    }
    this.added = new Map();
    this.knownIds = undefined;
  }

  get packCount(): number {
    return this.packNames.length;
  }

  /** The index of pack `pi`, read at its first use. */
  private packIndex(pi: number): PackIndex {
    return (this.packs[pi] ??= readPackIndex(this.packDir, this.packNames[pi]!, join(this.verifiedDir, `${this.packNames[pi]}.idx`)));
  }

  /** Every pack's index (each read if it was not yet). */
  get packIndexes(): readonly PackIndex[] {
    return this.packNames.map((_, pi) => this.packIndex(pi));
  }

  /** The ids known at the last (re)load, for hashing threads; rebuilt only after a reload. */
  known(): KnownIds {
    if (this.knownIds === undefined) {
      let n = this.loose.size;
      const packs = this.packIndexes;
      for (const p of packs) n += p.count;
      const k = KnownIds.create(n);
      for (const p of packs) for (let i = 0; i < p.count; i++) k.addBinary(p.ids, i * ID_BYTES);
      const probe = Buffer.alloc(ID_BYTES);
      for (const id of this.loose) {
        probe.write(id, 'hex');
        k.addBinary(probe, 0);
      }
      this.knownIds = k;
    }
    return this.knownIds;
  }

  /**
   * Whether the store has `id`. Until hashing threads need the table of every id (known()), a
   * binary search of each pack index: building that table for 100,000 objects takes ~250 ms, which
   * a restore of a few files (a run-cache restore) would otherwise pay.
   */
  has(id: string): boolean {
    if (this.added.has(id)) return true;
    return this.knownIds !== undefined ? this.knownIds.has(id) : this.locate(id) !== undefined;
  }

  /** `has` for the id at `bytes[offset..offset+20)`. */
  hasBinary(bytes: Buffer, offset: number): boolean {
    return this.known().hasBinary(bytes, offset) || (this.added.size > 0 && this.added.has(bytes.toString('hex', offset, offset + ID_BYTES)));
  }

  /** What a hash-tree run stores into (resources/hashtree StoreSink): this store, with a new session. */
  sink(): StoreSink {
    return {
      session: this.session(),
      has: (id) => this.has(id),
      hasBinary: (bytes, offset) => this.hasBinary(bytes, offset),
      putSmall: (id, bytes) => this.putSmall(id, bytes),
      adoptLarge: (id, tmp) => this.adoptLarge(id, tmp),
      recordPacked: (path, id, offset, length) => this.recordPacked(path, id, offset, length),
    };
  }

  /** A session for hashing threads that store what they read. */
  session(): StoreSession {
    const id = `${process.pid}-${randomBytes(6).toString('hex')}`;
    this.sessionIds.push(id);
    return { id, tmpDir: this.tmpDir, known: this.known().buffer };
  }

  /**
   * Where an object is: stored by this process, else in a pack that has it (a binary search of
   * each index: no table of every id as a string), else a file of its own. The packs where the
   * last lookups found their objects are searched first: a snapshot's objects are in one or two
   * packs, and with hundreds of packs a restore's lookups (its target's objects and the current
   * files' alternating) took ~70 ms when every search started at the first pack.
   */
  locate(id: string): ObjectLocation | undefined {
    const added = this.added.get(id);
    if (added !== undefined) return added;
    // A file of its own first: finding it in no pack would read every index.
    if (this.loose.has(id)) return { pack: -1, offset: 0, length: -1 };
    const probe = this.probe;
    probe.write(id, 'hex');
    const recent = this.recentPacks;
    for (let r = 0; r < recent.length; r++) {
      const i = findEntry(this.packIndex(recent[r]!), probe);
      if (i >= 0) return this.foundIn(recent[r]!, i);
    }
    for (let pi = 0; pi < this.packNames.length; pi++) {
      if (recent.includes(pi)) continue;
      const i = findEntry(this.packIndex(pi), probe);
      if (i >= 0) return this.foundIn(pi, i);
    }
    return undefined;
  }

  /** Entry `i` of pack `pi` as a location; the pack goes to the front of the recent ones. */
  private foundIn(pi: number, i: number): ObjectLocation {
    const recent = this.recentPacks;
    const at = recent.indexOf(pi);
    if (at !== 0) {
      if (at > 0) recent.splice(at, 1);
      else if (recent.length === RECENT_PACKS) recent.pop();
      recent.unshift(pi);
    }
    const p = this.packIndex(pi);
    return { pack: pi, offset: entryOffset(p, i), length: entryLength(p, i) };
  }

  loosePath(id: string): string {
    return this.large.path(id);
  }

  /** The bytes of an object (for trees and link targets; files go through copyObjectTo). Checked against the id. */
  read(id: string, loc = this.locate(id)): Buffer {
    if (loc === undefined) throw new Error(`Object ${id} is not in the content store at ${this.dir}`);
    if (loc.pack < -1) {
      this.commit(); // stored by this process and not visible yet
      return this.read(id, this.locate(id));
    }
    let bytes: Buffer;
    if (loc.pack < 0) {
      bytes = readFileSync(this.loosePath(id));
    } else {
      this.flushSmall();
      bytes = this.readPacked(id, loc);
    }
    if (oneShotSha1(bytes) !== id) throw new CorruptObjectError(id, loc.pack < 0 ? this.loosePath(id) : `pack ${this.packNames[loc.pack]}`);
    return bytes;
  }

  /**
   * Make the file `dest` (opened with `flags` and `mode`, as openSync does) hold an object: a
   * large one as LargeObjects.copyTo does (checked once, copied by the kernel in libuv's threads),
   * a packed one read, checked and written here. Throws CorruptObjectError before `dest` is
   * touched; `beforeOpen` runs once the object is checked, before `dest` is opened.
   */
  async copyObjectTo(id: string, dest: string, mode = 0o666, flags: 'w' | 'wx' = 'w', loc = this.locate(id), beforeOpen?: () => void): Promise<void> {
    if (loc === undefined) throw new Error(`Object ${id} is not in the content store at ${this.dir}`);
    if (loc.pack !== -1) {
      const bytes = this.read(id, loc);
      beforeOpen?.();
      const fd = openSync(dest, flags, mode);
      try {
        writeAll(fd, bytes);
      } finally {
        closeSync(fd);
      }
      return;
    }
    return this.large.copyTo(id, dest, mode, flags, beforeOpen);
  }

  /** Check a large object's bytes against its id once (LargeObjects.verify). Throws CorruptObjectError. */
  verifyLarge(id: string): void {
    this.large.verify(id);
  }

  /**
   * Make `tmp` (a complete copy of object `id`, already checked against its id) the object's file
   * of its own, replacing a corrupt one (repair.ts). locate() prefers such a file to a pack entry
   * of the same id, so a corrupt packed copy is dead bytes from now on: fsck passes over it and gc
   * leaves it out when it rewrites the pack (packs are never changed in place).
   */
  adoptRepaired(id: string, tmp: string): void {
    syncFile(tmp);
    chmodSync(tmp, 0o444);
    const dir = join(this.objectDir, id.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    renameSync(tmp, this.loosePath(id));
    syncDir(dir);
    syncDir(this.objectDir);
    this.loose.add(id);
  }

  /** Whether a pack entry of `id` is passed over: the object has a file of its own, which locate() prefers (adoptRepaired). */
  shadowed(id: string): boolean {
    return this.loose.has(id);
  }

  /** Store a small object (tree, link target, a file read by this thread) unless present. */
  putSmall(id: string, bytes: Buffer): void {
    if (this.has(id)) return;
    if (bytes.length >= LARGE_OBJECT_BYTES) {
      const tmp = join(this.tmpDir, `put-${process.pid}-${randomBytes(6).toString('hex')}`);
      writeFileSync(tmp, bytes, { mode: 0o644, flag: 'wx' }); // read-only once stored (commit)
      this.adoptLarge(id, tmp);
      return;
    }
    this.packWriter ??= new SmallObjectWriter(this.tmpDir);
    const offset = this.packWriter.append(bytes);
    this.added.set(id, { pack: -2, offset, length: bytes.length });
  }

  /** Store a file's content read and hashed here (restore --force saves, link targets). */
  putFile(path: string): string {
    const bytes = readFileSync(path);
    const id = createHash('sha1').update(bytes).digest('hex');
    this.putSmall(id, bytes);
    return id;
  }

  /**
   * Take a large object written (complete, not yet synced) by a hashing thread, or drop it if the
   * store has it. Its sync starts now in the background, so that the disk writes it while the
   * threads hash on; commit() waits for it and only then makes the object visible.
   */
  adoptLarge(id: string, tmpPath: string): void {
    if (this.has(id)) {
      rmSync(tmpPath, { force: true });
      return;
    }
    void syncInBackground(tmpPath);
    this.pendingLarge.set(id, tmpPath);
    this.added.set(id, { pack: -4, offset: 0, length: -1 });
  }

  /** Record an object a hashing thread appended to its session pack `packPath`. */
  recordPacked(packPath: string, id: string, offset: number, length: number): void {
    let entries = this.sessionPacks.get(packPath);
    if (entries === undefined) this.sessionPacks.set(packPath, (entries = []));
    if (this.has(id)) return; // two threads read the same content: the second copy is dead bytes
    entries.push({ id, offset, length });
    this.added.set(id, { pack: -3, offset, length });
  }

  /**
   * Make everything stored since the last commit visible (packs indexed). Call before recording a
   * snapshot. What fails to become visible stays pending, for abort() to remove.
   */
  commit(): void {
    const published: string[] = [];
    let largeStored = 0;
    try {
      this.flushSmall();
      if (this.packWriter !== undefined) {
        const w = this.packWriter;
        const entries = [...this.added].filter(([, l]) => l.pack === -2).map(([id, l]) => ({ id, offset: l.offset, length: l.length }));
        w.close();
        if (entries.length > 0) published.push(publishPack(w.path, this.packDir, entries, w.size));
        else rmSync(w.path, { force: true });
        this.packWriter = undefined;
      }
      for (const [path, entries] of this.sessionPacks) {
        if (entries.length === 0) rmSync(path, { force: true });
        else published.push(publishPack(path, this.packDir, entries, statSync(path).size));
        this.sessionPacks.delete(path);
      }
      const largeDirs = new Set<string>();
      for (const [id, tmp] of this.pendingLarge) {
        syncFile(tmp); // quick when its background sync has finished
        chmodSync(tmp, 0o444); // written by its owner until now; read-only once stored
        const dir = join(this.objectDir, id.slice(0, 2));
        mkdirSync(dir, { recursive: true });
        renameSync(tmp, join(dir, id.slice(2)));
        this.pendingLarge.delete(id);
        largeStored++;
        faultPoint('store.large-object-stored');
        largeDirs.add(dir);
      }
      for (const dir of largeDirs) syncDir(dir); // the renames into objects/<2 hex>/ survive a crash
      if (largeDirs.size > 0) syncDir(this.objectDir);
    } finally {
      if (published.length > 0 || largeStored > 0) this.reload(); // also after a failure: what was published is visible
    }
  }

  /** Drop what was stored since the last commit and not yet visible (a failed snapshot). */
  abort(): void {
    if (this.packWriter !== undefined) {
      this.packWriter.close();
      rmSync(this.packWriter.path, { force: true });
      this.packWriter = undefined;
    }
    for (const path of this.sessionPacks.keys()) rmSync(path, { force: true });
    this.sessionPacks = new Map();
    for (const tmp of this.pendingLarge.values()) rmSync(tmp, { force: true });
    this.pendingLarge = new Map();
    // Temp files of threads that failed before reporting them (a full disk): named by session.
    if (this.sessionIds.length > 0) {
      const mine = (f: string) => this.sessionIds.some((id) => f.includes(`-${id}-`));
      for (const f of readdirSync(this.tmpDir)) if (mine(f)) rmSync(join(this.tmpDir, f), { force: true });
      this.sessionIds = [];
    }
    this.added = new Map();
  }

  /** Every visible object: id -> bytes (large objects by file size). */
  *objects(): Generator<{ id: string; bytes: number; pack: string | null }> {
    for (const p of this.packIndexes) for (let i = 0; i < p.count; i++) yield { id: p.ids.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES), bytes: entryLength(p, i), pack: p.name };
    for (const id of this.loose) yield { id, bytes: statSync(this.loosePath(id)).size, pack: null };
  }

  get looseIds(): ReadonlySet<string> {
    return this.loose;
  }

  /**
   * An object's bytes from its pack, through a window per pack: a restore reads objects in pack
   * order, so one read serves dozens of small files (was: a read each).
   */
  private readPacked(id: string, loc: ObjectLocation): Buffer {
    const w = this.windows.get(loc.pack);
    if (w !== undefined && loc.offset >= w.offset && loc.offset + loc.length <= w.offset + w.bytes.length) {
      return w.bytes.subarray(loc.offset - w.offset, loc.offset - w.offset + loc.length);
    }
    const size = Math.max(loc.length, WINDOW);
    const buf = Buffer.allocUnsafe(size);
    const n = readSync(this.packFd(loc.pack), buf, 0, size, loc.offset);
    if (n < loc.length) throw new CorruptObjectError(id, `pack ${this.packNames[loc.pack] ?? '(new)'} is truncated`);
    this.windows.delete(loc.pack);
    this.windows.set(loc.pack, { offset: loc.offset, bytes: buf.subarray(0, n) });
    if (this.windows.size > MAX_WINDOWS) this.windows.delete(this.windows.keys().next().value!); // the least recently filled
    return buf.subarray(0, loc.length);
  }

  private packFd(i: number): number {
    let fd = this.packFds.get(i);
    if (fd === undefined) {
      fd = openSync(join(this.packDir, `${this.packNames[i]}.pack`), 'r');
      if (fstatSync(fd).size < this.packIndex(i).packSize) {
        closeSync(fd);
        throw new TruncatedPackError(String(this.packNames[i]), this.packDir);
      }
      this.packFds.set(i, fd);
    }
    return fd;
  }

  private flushSmall(): void {
    this.packWriter?.flush();
  }

  private closeFds(): void {
    this.windows = new Map(); // pack numbers change with a reload
    for (const fd of this.packFds.values()) closeSync(fd);
    this.packFds.clear();
  }

  close(): void {
    this.closeFds();
  }

  /** Remember that the workspace at `wsDir` uses this store (gc reads every user's snapshots). */
  registerWorkspace(wsDir: string): void {
    const f = this.registration(wsDir);
    if (existsSync(f)) return;
    mkdirSync(dirname(f), { recursive: true });
    atomicWriteFile(f, wsDir);
  }

  /** The file that registers the workspace at `wsDir`. */
  private registration(wsDir: string): string {
    return join(this.dir, 'workspaces', createHash('sha1').update(wsDir).digest('hex'));
  }

  /** The workspaces registered with this store: `here`, and `gone` from where they were registered (moved or deleted). */
  workspaces(): { here: string[]; gone: string[] } {
    const d = join(this.dir, 'workspaces');
    const all = existsSync(d) ? readdirSync(d).map((f) => readFileSync(join(d, f), 'utf8')) : [];
    const here = all.filter((p) => existsSync(join(p, '.dataworkspace')));
    return { here, gone: all.filter((p) => !here.includes(p)) };
  }

  /** Forget the workspace registered at `wsDir` (one deleted for good); false when it is not registered. */
  forgetWorkspace(wsDir: string): boolean {
    const f = this.registration(wsDir);
    if (!existsSync(f)) return false;
    rmSync(f);
    return true;
  }
}

/** The pack this thread appends small objects to; bytes are buffered and written in large writes. */
class SmallObjectWriter {
  readonly path: string;
  private fd: number;
  size = 0;
  private buf = Buffer.allocUnsafe(CHUNK);
  private used = 0;

  constructor(tmpDir: string) {
    this.path = join(tmpDir, `pack-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    this.fd = openSync(this.path, 'wx', 0o644); // read-only once published (publishPack)
  }

  append(bytes: Buffer): number {
    const offset = this.size;
    if (this.used + bytes.length > this.buf.length) this.flush();
    if (bytes.length > this.buf.length) writeAll(this.fd, bytes);
    else {
      bytes.copy(this.buf, this.used);
      this.used += bytes.length;
    }
    this.size += bytes.length;
    return offset;
  }

  flush(): void {
    if (this.used > 0) writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }

  close(): void {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** fsync a file by path. */
function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Start writing a file to disk on libuv's thread pool; errors are left to the syncFile that follows. */
async function syncInBackground(path: string): Promise<void> {
  try {
    const h = await open(path, 'r');
    try {
      await h.datasync();
    } finally {
      await h.close();
    }
  } catch {
    // commit() syncs it again, and reports what fails
  }
}

