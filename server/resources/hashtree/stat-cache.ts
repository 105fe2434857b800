/**
 * The stat cache of the hash-tree engine: relative path -> (size, mtime, ctime, inode, SHA-1), so
 * that a snapshot in which nothing changed reads only stats, no file content. It lives outside
 * git and correctness never depends on it: a missing, corrupt, foreign or other-version cache is
 * ignored and rebuilt.
 *
 * Format (binary; loads 100,000 entries in ~15 ms where a JSON cache takes 0.4 s), version 2:
 *
 *   offset  bytes      what
 *   0       8          magic "DWSHTC" 0x00 0x02 (the last byte is the version)
 *   8       4          0x01020304 written in this machine's byte order (the stats are native floats)
 *   12      4          entry count N
 *   16      4          root length R (bytes of UTF-8)
 *   20      4          paths length P (bytes)
 *   24      R          the root directory, UTF-8, then zero bytes up to a multiple of 8
 *   ...     40 N       per entry: size, mtimeMs, ctimeMs, ino, mode as float64 (exactly what fs.Stats gave)
 *   ...     20 N       per entry: the SHA-1 of the content
 *   ...     P          per entry: the path relative to the root, UTF-8, followed by "\n"
 *   ...     20         SHA-1 of all the bytes before it (rejects a torn or damaged file)
 *
 * Entries are in walk order, so the lookup is a cursor that compares the next path in place
 * while nothing changed. At the first surprise (a file added or deleted) it indexes the entries
 * by directory, one string per directory rather than per file (a directory's entries are
 * together and sorted), and finds the path by a binary search in its directory. Paths containing
 * a line feed are not cached (those files are simply hashed every time).
 *
 * Racy entries (the "racy git" problem): an entry is only written when the file's mtime is more
 * than racyMarginMs() older than the start of the run that took its stat (the stat is taken before
 * the content is read). Any later write to the file then gets a different mtime, so a cached hash
 * can never hide a change made within the same timestamp tick as the stat. The margin is that of
 * the file system: RACY_MARGIN_MS where timestamps may be 2 s coarse (FAT) or come from another
 * machine's clock (network file systems), FINE_MARGIN_MS on Linux's local file systems, whose
 * timestamps are the kernel's clock at nanoseconds, at most a tick (≤ 10 ms) behind it. Files
 * modified within the margin are simply hashed again at the next run: with 3 s, every file a
 * command wrote just before a snapshot (a pipeline's outputs, an edit) was read again by the
 * next status or restore. (A clock skew larger than the margin between this machine and a
 * network file server weakens the guard.)
 */
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statfsSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { STAT_FIELDS } from './hash-files.js';
import { compareCodePoints } from './tree-format.js';
import { writeCacheFile } from '../../workspace/files.js';

const MAGIC = Buffer.from('DWSHTC\x00\x02', 'latin1');
const BOM = 0x01020304;
const HEADER = 24;
/** A stat cache of this many files marks a large tree: the threads list it ahead of the walk (index.ts), and the CLI starts them early. */
export const LIST_AHEAD_MIN_FILES = 5000;
const ENTRY_STATS = STAT_FIELDS * 8;
const SHA1_BYTES = 20;
/** Wider than the coarsest common mtime granularity (FAT: 2 s), plus some clock lag. */
export const RACY_MARGIN_MS = 3000;
/** Five ticks of the slowest kernel clock (HZ 100) on a file system with nanosecond timestamps. */
export const FINE_MARGIN_MS = 50;
/** statfs magic numbers of local Linux file systems with nanosecond timestamps: ext2/3/4, xfs, btrfs, tmpfs, f2fs, zfs. */
const FINE_TIMESTAMPS = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0xf2f52010, 0x2fc12fc1]);

/** The magic and this machine's byte order at the start of `buf`. */
function ourHeader(buf: Buffer): boolean {
  return buf.subarray(0, 8).equals(MAGIC) && new Uint32Array(buf.buffer.slice(buf.byteOffset + 8, buf.byteOffset + 12))[0] === BOM;
}

/**
 * Whether the workspace at or above `start` has a stat cache of a large tree (read from the
 * headers alone), the sign that a snapshot or restore there is worth hashing threads started
 * ahead (clients/cli/bin.ts, before the CLI, and so the workspace code, is loaded). Small
 * workspaces are hashed and restored on the main thread, and threads started for nothing cost
 * more CPU than the whole command; a first snapshot starts them once it finds enough to hash.
 */
export function knowsLargeTree(start: string): boolean {
  let dir = resolve(start);
  for (; !statSync(join(dir, '.dataworkspace'), { throwIfNoEntry: false })?.isDirectory(); dir = dirname(dir)) if (dir === dirname(dir)) return false;
  const caches = join(dir, '.git', 'dws', 'hashcache'); // local-files.ts cacheFile (a worktree's, .git a file, is not looked for)
  let names: string[];
  try {
    names = readdirSync(caches);
  } catch {
    return false;
  }
  const header = Buffer.alloc(16);
  return names.some((name) => {
    let fd = -1;
    try {
      fd = openSync(join(caches, name), 'r');
      return readSync(fd, header, 0, 16, 0) === 16 && ourHeader(header) && header.readUInt32LE(12) >= LIST_AHEAD_MIN_FILES;
    } catch {
      return false;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  });
}

/** The racy margin for files below `dir` (see above). */
export function racyMarginMs(dir: string): number {
  try {
    return FINE_TIMESTAMPS.has(statfsSync(dir).type) ? FINE_MARGIN_MS : RACY_MARGIN_MS;
  } catch {
    return RACY_MARGIN_MS;
  }
}

function pad8(n: number): number {
  return (n + 7) & ~7;
}

/** A loaded cache, with the lookup cursor. */
export class StatCache {
  private next = 0;
  private pos = 0;
  /** Per entry, where its path starts in `paths` (and the end of the last); built at the first surprise. */
  private starts: Int32Array | undefined;
  /** Per directory prefix, its entries [first, end). */
  private dirs: Map<string, { first: number; end: number }> | undefined;
  /** Every path (only for a cache not in walk order, which dws does not write). */
  private map: Map<string, number> | undefined;
  /** The directory the walk is in, when the cursor is at its entries (enterDir), and the last name looked up there. */
  private dir: string | null = null;
  private lastName = '';

  private constructor(
    readonly count: number,
    /** STAT_FIELDS numbers per entry. */
    readonly stats: Float64Array,
    private readonly hex: string,
    /** SHA1_BYTES per entry: the hashes as the store compares them (no hex to parse). */
    readonly hashBytes: Buffer,
    private readonly paths: string,
  ) {}

  /** Load the cache written for `root`; null when missing, corrupt, foreign or of another version. */
  static load(file: string, root: string): StatCache | null {
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch {
      return null;
    }
    if (buf.length < HEADER + SHA1_BYTES || !ourHeader(buf)) return null;
    const count = buf.readUInt32LE(12);
    const rootLen = buf.readUInt32LE(16);
    const pathsLen = buf.readUInt32LE(20);
    const statsAt = HEADER + pad8(rootLen);
    const hashesAt = statsAt + count * ENTRY_STATS;
    const pathsAt = hashesAt + count * SHA1_BYTES;
    const end = pathsAt + pathsLen;
    if (end + SHA1_BYTES !== buf.length) return null;
    if (buf.toString('utf8', HEADER, HEADER + rootLen) !== root) return null;
    const sum = createHash('sha1').update(buf.subarray(0, end)).digest();
    if (!sum.equals(buf.subarray(end))) return null;
    const stats = new Float64Array(buf.buffer.slice(buf.byteOffset + statsAt, buf.byteOffset + hashesAt));
    const paths = buf.toString('utf8', pathsAt, end);
    return new StatCache(count, stats, buf.toString('hex', hashesAt, pathsAt), buf.subarray(hashesAt, pathsAt), paths);
  }

  /** The cached SHA-1 hex of entry k. */
  hash(k: number): string {
    return this.hex.slice(k * 40, k * 40 + 40);
  }

  /**
   * The walk starts on directory `prefix` ('' or ending in '/'). What is left of the directory
   * before (files deleted since, at its end) is passed over; then, while the lookups in this
   * directory come in name order, as the walk's do, files deleted or added since are told by
   * moving through the directory's entries, with no index of every path (built at the first
   * lookup that needs it: ~30 ms per 100,000 entries).
   */
  enterDir(prefix: string): void {
    for (let lf = this.lineEnd(); this.dir !== null && this.next < this.count && this.entryIn(this.dir, lf); lf = this.lineEnd()) this.step(lf);
    this.dir = this.next < this.count && this.entryIn(prefix, this.lineEnd()) ? prefix : null;
    this.lastName = '';
  }

  /** Index of the entry for the path `prefix + name` (prefix '' or ending in '/'), or -1. */
  find(prefix: string, name: string): number {
    const p = this.paths;
    const pos = this.pos;
    const end = pos + prefix.length + name.length;
    const inDir = this.dir === prefix;
    const last = this.lastName;
    if (inDir) this.lastName = name;
    if (
      this.next < this.count &&
      p.charCodeAt(end) === 10 &&
      p.startsWith(name, pos + prefix.length) &&
      p.startsWith(prefix, pos)
    ) {
      this.pos = end + 1;
      return this.next++;
    }
    if (inDir && compareCodePoints(last, name) < 0) return this.seek(prefix, name);
    if (this.starts === undefined) this.index();
    const k = this.map !== undefined ? (this.map.get(prefix + name) ?? -1) : this.search(prefix, name);
    if (k < 0) return -1;
    this.next = k + 1;
    this.pos = this.starts![k + 1]!;
    if (this.map === undefined) {
      this.dir = prefix; // the cursor is in its directory now
      this.lastName = name;
    }
    return k;
  }

  /** Move through the entries of directory `prefix` (the cursor's) up to `name`: its entry, or -1. */
  private seek(prefix: string, name: string): number {
    const p = this.paths;
    while (this.next < this.count) {
      const lf = this.lineEnd();
      if (!this.entryIn(prefix, lf)) return -1; // past the directory: `name` is new
      const c = compareCodePoints(p.slice(this.pos + prefix.length, lf), name);
      if (c > 0) return -1;
      const k = this.next;
      this.step(lf);
      if (c === 0) return k; // else a file deleted since
    }
    return -1;
  }

  /** Whether the cursor's entry (ending at `lf`) is a file of directory `prefix` itself. */
  private entryIn(prefix: string, lf: number): boolean {
    return this.paths.startsWith(prefix, this.pos) && this.paths.lastIndexOf('/', lf - 1) < this.pos + prefix.length;
  }

  /** Where the cursor's entry ends (its line feed). */
  private lineEnd(): number {
    return this.paths.indexOf('\n', this.pos);
  }

  /** Move the cursor past its entry, which ends at `lf`. */
  private step(lf: number): void {
    this.pos = lf + 1;
    this.next++;
  }

  /** Binary search of `name` among the entries of directory `prefix`. */
  private search(prefix: string, name: string): number {
    const range = this.dirs!.get(prefix);
    if (range === undefined) return -1;
    const starts = this.starts!;
    let lo = range.first;
    let hi = range.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareCodePoints(this.paths.slice(starts[mid]! + prefix.length, starts[mid + 1]! - 1), name);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  private index(): void {
    const p = this.paths;
    const starts = new Int32Array(this.count + 1);
    const dirs = new Map<string, { first: number; end: number }>();
    let prefix = '';
    let range: { first: number; end: number } | undefined;
    let pos = 0;
    for (let k = 0; k < this.count; k++) {
      const lf = p.indexOf('\n', pos);
      starts[k] = pos;
      const slash = p.lastIndexOf('/', lf - 1);
      const length = slash < pos ? 0 : slash + 1 - pos;
      if (range === undefined || length !== prefix.length || !p.startsWith(prefix, pos)) {
        prefix = p.slice(pos, pos + length);
        if (dirs.has(prefix)) return this.indexEveryPath();
        dirs.set(prefix, (range = { first: k, end: k }));
      }
      range.end = k + 1;
      pos = lf + 1;
    }
    starts[this.count] = pos;
    this.starts = starts;
    this.dirs = dirs;
  }

  private indexEveryPath(): void {
    const map = new Map<string, number>();
    const starts = new Int32Array(this.count + 1);
    let pos = 0;
    for (let k = 0; k < this.count; k++) {
      const lf = this.paths.indexOf('\n', pos);
      starts[k] = pos;
      map.set(this.paths.slice(pos, lf), k);
      pos = lf + 1;
    }
    starts[this.count] = pos;
    this.map = map;
    this.starts = starts;
  }
}

/**
 * The content id `cache` (loaded for `root`) holds for the file at `rel`, when the file is as it
 * was then (size, mtime, ctime and inode, the walk's test); null when it is not, or not cached.
 * One path, without a walk: a run-cache restore asks it ahead of its scan.
 */
export function cachedIdIfUnchanged(cache: StatCache, root: string, rel: string): string | null {
  const st = lstatSync(`${root}/${rel}`, { throwIfNoEntry: false });
  if (st === undefined || !st.isFile()) return null;
  const slash = rel.lastIndexOf('/');
  const k = cache.find(rel.slice(0, slash + 1), rel.slice(slash + 1));
  if (k < 0) return null;
  const c = cache.stats.subarray(k * STAT_FIELDS, (k + 1) * STAT_FIELDS);
  return st.size === c[0] && st.mtimeMs === c[1] && st.ctimeMs === c[2] && st.ino === c[3] ? cache.hash(k) : null;
}

/** Write the cache atomically (temp file + rename): entry i is paths[i], hashes[i] (hex), stats[5i..5i+4]. */
export function saveStatCache(file: string, root: string, paths: string[], hashes: string[], stats: Float64Array): void {
  const n = paths.length;
  if (hashes.length !== n || stats.length !== n * STAT_FIELDS) throw new Error('Internal error: stat cache entries do not match');
  const rootBytes = Buffer.from(root, 'utf8');
  const joined = n === 0 ? '' : paths.join('\n') + '\n';
  const pathsLen = Buffer.byteLength(joined, 'utf8');
  const statsAt = HEADER + pad8(rootBytes.length);
  const hashesAt = statsAt + n * ENTRY_STATS;
  const pathsAt = hashesAt + n * SHA1_BYTES;
  const end = pathsAt + pathsLen;
  const out = Buffer.alloc(end + SHA1_BYTES); // fresh and zeroed: aligned, padding is 0
  MAGIC.copy(out, 0);
  new Uint32Array(out.buffer, out.byteOffset + 8, 1)[0] = BOM;
  out.writeUInt32LE(n, 12);
  out.writeUInt32LE(rootBytes.length, 16);
  out.writeUInt32LE(pathsLen, 20);
  rootBytes.copy(out, HEADER);
  out.set(new Uint8Array(stats.buffer, stats.byteOffset, n * ENTRY_STATS), statsAt);
  let at = hashesAt;
  for (let i = 0; i < n; i++, at += SHA1_BYTES) {
    if (out.write(hashes[i]!, at, SHA1_BYTES, 'hex') !== SHA1_BYTES) throw new Error('Internal error: bad hash in the stat cache entries');
  }
  out.write(joined, pathsAt, 'utf8');
  createHash('sha1').update(out.subarray(0, end)).digest().copy(out, end);
  mkdirSync(dirname(file), { recursive: true });
  writeCacheFile(file, out);
}
