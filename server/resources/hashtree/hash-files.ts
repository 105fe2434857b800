/**
 * The per-file work of the hash-tree engine: open, fstat, read in 1 MB chunks into one reused
 * buffer, SHA-1 with node:crypto. Runs inside the hashing worker threads (worker.ts) and, when
 * there are none, in the calling thread: the same function either way. Only sync fs calls: they
 * are several times faster than async ones for this bulk work (PERF-NOTES.md).
 */
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import type { Stats } from 'node:fs';
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { KnownIds } from '../../store/known-ids.js';
import type { StoreSession } from '../../store/store.js';

/** What a job's file came to. */
export const FileStatus = {
  /** Content read and hashed (`hashes[i]` set). */
  Hashed: 0,
  /** Stat matched the cache entry (decided by the caller, never by a job). */
  Cached: 1,
  /** At least `deferBytes` long: left for a job of its own (stats set). */
  Deferred: 2,
  /** A symbolic link to a directory: not descended, left out of the tree. */
  SkippedDirLink: 3,
  /** Not a regular file (socket, FIFO, device), possibly behind a link: left out, never read. */
  SkippedSpecial: 4,
  /** Size mode (no compute_hash): the tree uses the size (decided by the caller). */
  Sized: 5,
  /** Not attempted: the job had read its `budgetBytes` already. */
  NotDone: 6,
  /** Not read, the stat cache not vouching for it (`unreadUnlessCached`): its id is UNREAD_CONTENT. */
  Unread: 7,
  /** A symbolic link in a scan for store trees only: its text is its content, what it points to is never read (it may not exist). */
  LinkOnly: 8,
} as const;
export type FileStatus = (typeof FileStatus)[keyof typeof FileStatus];

export interface HashJob {
  id: number;
  /** Absolute resource directory without a trailing slash; the paths are relative to it. */
  base: string;
  /**
   * Paths relative to the base, `/`-separated, each followed by a NUL (which no file name
   * holds): one string clones much faster than an array of strings.
   */
  paths: string;
  /** 1 when the directory entry is a symbolic link (followed), 0 for a regular file. */
  links: Uint8Array;
  /** Files at least this long come back Deferred (Infinity: hash everything). */
  deferBytes: number;
  /** Once this much is read, the remaining files come back NotDone (Infinity: no limit). */
  budgetBytes: number;
  /**
   * Set: keep what is read in the content store, from the bytes read for hashing (no second
   * read). Small contents the store lacks are appended to this thread's pack of the session;
   * files of LARGE_OBJECT_BYTES or more are copied to a temp file as they are hashed (direct
   * I/O, unsynced: ContentStore.adoptLarge syncs it).
   */
  store?: StoreSession | undefined;
}

export interface HashJobResult {
  id: number;
  status: Uint8Array;
  /** size, mtimeMs, ctimeMs, ino, mode per file, from the fstat taken before reading (0s for skipped files). */
  stats: Float64Array;
  /** With a store session: the pack this thread appended to ('' if none). */
  packPath: string;
  /** With a store session, per file: offset of its content in packPath, or -1 (not appended). */
  packOffsets: Float64Array | null;
  /** With a store session: per file a temp file holding its content (large files), '' if none; NUL-separated. */
  largeFiles: string;
  /** 40 characters per file: the SHA-1 hex of a Hashed file, else NO_HASH. */
  hashes: string;
  /** Content bytes read. */
  bytesRead: number;
  /** The first failure; the files after it are not done. */
  error?: { path: string; message: string };
}

/** Numbers per file in stats arrays: size, mtimeMs, ctimeMs, ino, mode. */
export const STAT_FIELDS = 5;

/** Put a stat's STAT_FIELDS numbers at `into[o..]`. */
export function putStat(into: Float64Array, o: number, st: Stats): void {
  into[o] = st.size;
  into[o + 1] = st.mtimeMs;
  into[o + 2] = st.ctimeMs;
  into[o + 3] = st.ino;
  into[o + 4] = st.mode;
}
export const NO_HASH = '-'.repeat(40);
const CHUNK = 1 << 20;
// O_NONBLOCK: opening a FIFO that appeared behind our back must not block; regular files ignore it.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

let buffer: Buffer | undefined;

/** crypto.hash (Node >= 20.12) skips the Hash object: ~0.6 µs less per small file. */
export const oneShotSha1: (data: Buffer) => string =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha1', data, 'hex')
    : (data) => createHash('sha1').update(data).digest('hex');

/** An error about one file; its message names the path. */
export class FileError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'FileError';
  }
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException | null)?.code ?? '';
}

export function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function statFailure(abs: string, link: boolean, e: unknown): FileError {
  const code = errCode(e);
  if (link && (code === 'ENOENT' || code === 'ELOOP')) return new FileError(abs, `Broken symbolic link: ${abs}`);
  if (code === 'ENOENT' && abs.includes('\uFFFD')) {
    return new FileError(abs, `File name is not valid UTF-8, so it cannot be recorded in a hash tree: ${abs}`);
  }
  return new FileError(abs, `Cannot read ${abs}: ${describe(e)}`);
}

/** Stat a walked file: lstat for a regular file, stat (through the link) for a symbolic link. */
export function statFile(abs: string, link: boolean): Stats {
  try {
    return link ? statSync(abs) : lstatSync(abs);
  } catch (e) {
    throw statFailure(abs, link, e);
  }
}

/** The skip status of a stat that is not a regular file; an error for a file that became a directory. */
export function skipStatus(abs: string, st: Stats, link: boolean): FileStatus {
  if (st.isDirectory()) {
    if (link) return FileStatus.SkippedDirLink;
    throw new FileError(abs, `${abs} changed from a file to a directory during the snapshot`);
  }
  return FileStatus.SkippedSpecial;
}

/**
 * SHA-1 hex of an open file's content, streamed through the reused buffer. `oneShot`: the whole
 * content is in `buffer[0..bytes)` afterwards. `copy`: every chunk is also written there.
 */
function hashFd(fd: number, expectedSize: number, copy?: LargeCopy): { hex: string; bytes: number; oneShot: boolean } {
  const buf = (buffer ??= Buffer.allocUnsafe(CHUNK));
  let n = readSync(fd, buf, 0, CHUNK, null);
  // A short read that reaches the size fstat gave is the end: saves one read call per small
  // file, and the one-shot hash saves a Hash object.
  if (n < CHUNK && n === expectedSize && copy === undefined) return { hex: oneShotSha1(buf.subarray(0, n)), bytes: n, oneShot: true };
  const h = createHash('sha1');
  let total = 0;
  while (n > 0) {
    const chunk = n === CHUNK ? buf : buf.subarray(0, n);
    h.update(chunk);
    copy?.write(chunk);
    total += n;
    if (n < CHUNK && total === expectedSize) break;
    n = readSync(fd, buf, 0, CHUNK, null);
  }
  return { hex: h.digest('hex'), bytes: total, oneShot: false };
}

/**
 * Direct I/O for the store's copy of a large file: the bytes just hashed go from the read buffer
 * to the disk, not through the page cache. Copying 1 GB into fresh page-cache pages cost more CPU
 * than hashing it, and more time than writing it direct and syncing (bench/README.md, "Big files
 * written direct").
 * O_DIRECT needs the buffer, file offset and length aligned; ALIGN suits 512-byte and 4 KB devices.
 */
const O_DIRECT = constants.O_DIRECT ?? 0;
const ALIGN = 4096;
/** The read buffer's memory, ALIGN more than CHUNK so that an aligned CHUNK fits in it. */
let ioMemory: Buffer | undefined;
/** Whether `buffer` is known to suit direct writes (probed once per thread); false: it does not. */
let bufferAligned: boolean | undefined;

/**
 * A temp file receiving a large file's content as it is hashed: whole aligned blocks through an
 * O_DIRECT descriptor where the filesystem takes one, the rest (the tail, or everything after an
 * unaligned read or a refused direct write) through an ordinary one. Not synced here:
 * ContentStore.adoptLarge syncs it before it becomes visible.
 */
class LargeCopy {
  private readonly fd: number;
  private direct = -1;
  private pos = 0;

  constructor(path: string) {
    // Writable by its owner: the O_DIRECT descriptor below opens it again (ContentStore.commit makes it read-only).
    this.fd = openSync(path, 'wx', 0o644);
    if (O_DIRECT === 0 || bufferAligned === false) return;
    try {
      this.direct = openSync(path, constants.O_WRONLY | O_DIRECT);
    } catch {
      return; // a filesystem without direct I/O: ordinary writes
    }
    try {
      if (bufferAligned === undefined) bufferAligned = this.alignBuffer();
    } catch (e) {
      this.close(); // a full or read-only disk: the caller removes the file
      throw e;
    }
    if (!bufferAligned) this.stopDirect();
  }

  /**
   * Point `buffer` at an aligned CHUNK of ioMemory. JavaScript cannot see an address, so try each
   * offset (malloc aligns to 16 bytes) with a direct write of one block at 0 until the kernel takes
   * one (the content overwrites it; close() truncates to the content's length).
   */
  private alignBuffer(): boolean {
    const mem = (ioMemory ??= Buffer.allocUnsafeSlow(CHUNK + ALIGN));
    for (let off = 0; off < ALIGN; off += 16) {
      try {
        writeSync(this.direct, mem, off, ALIGN, 0);
      } catch (e) {
        if (errCode(e) === 'EINVAL') continue;
        throw e;
      }
      buffer = mem.subarray(off, off + CHUNK);
      return true;
    }
    return false;
  }

  private stopDirect(): void {
    closeSync(this.direct);
    this.direct = -1;
  }

  write(bytes: Buffer): void {
    let off = 0;
    if (this.direct >= 0 && this.pos % ALIGN === 0) {
      const blocks = bytes.length - (bytes.length % ALIGN);
      try {
        while (off < blocks) off += writeSync(this.direct, bytes, off, blocks - off, this.pos + off);
      } catch (e) {
        if (errCode(e) !== 'EINVAL') throw e;
        this.stopDirect(); // refused (a device wanting other alignment): the rest goes the ordinary way
      }
    }
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off, this.pos + off);
    this.pos += bytes.length;
  }

  close(): void {
    try {
      ftruncateSync(this.fd, this.pos); // drops the alignment probe's block beyond a content shorter than it
    } finally {
      if (this.direct >= 0) closeSync(this.direct);
      closeSync(this.fd);
    }
  }
}

export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * This thread's pack of the current store session: small contents are gathered in a buffer and
 * appended in large writes (one write a job, typically). Opened at the first object of a session;
 * the previous session's file (published by the main thread meanwhile) is closed then.
 */
const PACK_BUFFER = 4 << 20;
const LARGE_BYTES = 1 << 20; // = store.ts LARGE_OBJECT_BYTES (not imported: keeps the worker bundle small)
let pack: { session: string; path: string; fd: number; size: number } | undefined;
let packBuf: Buffer | undefined;
let packUsed = 0;
let tmpCounter = 0;
let known: { session: string; ids: KnownIds } | undefined;

function knownIds(s: StoreSession): KnownIds {
  if (known?.session !== s.id) known = { session: s.id, ids: new KnownIds(s.known) };
  return known.ids;
}

function sessionPack(s: StoreSession): NonNullable<typeof pack> {
  if (pack?.session !== s.id) {
    if (pack !== undefined) closeSync(pack.fd);
    const path = `${s.tmpDir}/pack-${s.id}-${threadId}.tmp`;
    pack = { session: s.id, path, fd: openSync(path, 'wx', 0o644), size: 0 }; // read-only once published (publishPack)
    packUsed = 0;
  }
  return pack;
}

function flushPack(): void {
  if (pack !== undefined && packUsed > 0) writeAll(pack.fd, packBuf!.subarray(0, packUsed));
  packUsed = 0;
}

/** Append the content now in `buffer[0..n)` to the session pack; returns its offset. */
function appendToPack(p: NonNullable<typeof pack>, n: number): number {
  packBuf ??= Buffer.allocUnsafe(PACK_BUFFER);
  if (packUsed + n > PACK_BUFFER) flushPack();
  buffer!.copy(packBuf, packUsed, 0, n);
  packUsed += n;
  const offset = p.size;
  p.size += n;
  return offset;
}

/** Run one job. Never throws: a failure is reported in `error`. */
export function runHashJob(job: HashJob): HashJobResult {
  const n = job.links.length;
  const paths = job.paths.split('\0');
  const status = new Uint8Array(n);
  const stats = new Float64Array(n * STAT_FIELDS);
  const hashes = new Array<string>(n).fill(NO_HASH);
  const store = job.store;
  const packOffsets = store === undefined ? null : new Float64Array(n).fill(-1);
  const largeFiles = store === undefined ? null : new Array<string>(n).fill('');
  const result: HashJobResult = { id: job.id, status, stats, hashes: '', bytesRead: 0, packPath: '', packOffsets, largeFiles: '' };
  let abs = job.base;
  try {
    for (let i = 0; i < n; i++) {
      if (result.bytesRead >= job.budgetBytes) {
        status.fill(FileStatus.NotDone, i);
        break;
      }
      abs = job.base + '/' + paths[i]!;
      const link = job.links[i] === 1;
      let fd: number;
      try {
        fd = openSync(abs, OPEN_FLAGS);
      } catch (e) {
        // Opening a socket fails (ENXIO): classify by stat before calling it an error.
        let st: Stats | undefined;
        try {
          st = statSync(abs);
        } catch {
          st = undefined;
        }
        if (st !== undefined && !st.isFile()) {
          status[i] = skipStatus(abs, st, link);
          continue;
        }
        throw statFailure(abs, link, e);
      }
      try {
        const st = fstatSync(fd);
        if (!st.isFile()) {
          status[i] = skipStatus(abs, st, link);
          continue;
        }
        putStat(stats, i * STAT_FIELDS, st);
        if (st.size >= job.deferBytes) {
          status[i] = FileStatus.Deferred;
          continue;
        }
        let r: { hex: string; bytes: number; oneShot: boolean };
        let largeTmp = '';
        let copy: LargeCopy | undefined;
        try {
          if (store !== undefined && !link && st.size >= LARGE_BYTES) {
            largeTmp = `${store.tmpDir}/large-${store.id}-${threadId}-${++tmpCounter}.tmp`;
            copy = new LargeCopy(largeTmp);
          }
          try {
            r = hashFd(fd, st.size, copy);
          } finally {
            copy?.close();
          }
        } catch (e) {
          if (largeTmp !== '') rmSync(largeTmp, { force: true });
          throw new FileError(abs, `Cannot read ${abs}: ${describe(e)}`);
        }
        hashes[i] = r.hex;
        // A symbolic link is stored as a link (index.ts), never the content it points to.
        if (store !== undefined && !link) {
          const ids = knownIds(store);
          if (largeTmp !== '') {
            if (ids.has(r.hex)) rmSync(largeTmp, { force: true });
            else largeFiles![i] = largeTmp;
          } else if (!ids.has(r.hex)) {
            if (r.oneShot) packOffsets![i] = appendToPack(sessionPack(store), r.bytes);
            else throw new FileError(abs, `${abs} changed while it was being read (size ${st.size}, then ${r.bytes} bytes): take the snapshot when it is no longer being written`);
          }
        }
        result.bytesRead += r.bytes;
        status[i] = FileStatus.Hashed;
      } finally {
        closeSync(fd);
      }
    }
  } catch (e) {
    result.error = e instanceof FileError ? { path: e.path, message: e.message } : { path: abs, message: describe(e) };
  }
  if (store !== undefined && pack?.session === store.id) {
    flushPack();
    result.packPath = pack.path;
  }
  result.hashes = hashes.join('');
  if (largeFiles !== null) result.largeFiles = largeFiles.join('\0');
  return result;
}
