/**
 * Hash trees of local-files resources, byte-identical to Python dws 1.6 `resources/hashtree.py`
 * (workspace-format.md §13), but fast:
 *
 *   walk (readdir withFileTypes + lstat: this thread, or the worker threads ahead of it for
 *   a tree the stat cache knows to be large) ──► cached? compare ──► hash from cache
 *                                            └─► not cached: batches ──► worker threads
 *                                                 (open, fstat, 1 MB reads, SHA-1)
 *
 * The walk yields to the event loop every few ms so that workers get batches while it goes on.
 * Big files are set aside by the workers and handed out largest first to idle workers, so that
 * both cores finish together. A directory's tree file is built and written as soon as its last
 * entry is done, so that this thread does that work while the workers are still hashing. Up to
 * INLINE_MAX_FILES files to hash are hashed in this thread (starting workers costs more), and so
 * is everything when no bundled worker exists (running from the TypeScript source).
 * See stat-cache.ts for the cache and its racy-mtime guard.
 *
 * Deviation from Python (which crashes on them): symbolic links to directories, sockets, FIFOs
 * and devices are left out of the tree with a warning; normal trees hash exactly as in Python.
 */
import type { Worker } from 'node:worker_threads';
import { closeSync, constants, fchmodSync, openSync, readlinkSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { FileStatus, STAT_FIELDS, describe, putStat, runHashJob, skipStatus, statFile } from './hash-files.js';
import { dirPath, EntryKind, listDir, specialKindName, type Listing, type ListJob, type ListJobResult } from './list-dirs.js';
import type { HashJob, HashJobResult } from './hash-files.js';
import { LIST_AHEAD_MIN_FILES, racyMarginMs, StatCache, saveStatCache } from './stat-cache.js';
import { DEFAULT_HASH_THREADS, giveBackHashThread, hashWorkerUrl, takeHashThreads } from './threads.js';
import type { StoreSession } from '../../store/store.js';
import { MODE_DIR, MODE_EXEC, MODE_FILE, MODE_LINK, treeEntryText, treeOfText } from '../../store/trees.js';

export { readTreeFile, parseTreeFile, compareCodePoints } from './tree-format.js';
export type { TreeEntry } from './tree-format.js';
export { prestartHashThreads } from './threads.js';

export interface HashTreeOptions {
  /** The resource's local directory (absolute). */
  root: string;
  /** true: plain SHA-1 hex of each file's content; false: its size in decimal. */
  computeHash: boolean;
  /**
   * Where tree files go: `.dataworkspace/file/<role>/<name>/` (must exist); null = only compute
   * the root hash, writing nothing (lineage staleness checks in `dws status`).
   */
  treeDir: string | null;
  /** Stat cache path (outside git); only used with computeHash. */
  cacheFile?: string;
  /**
   * Hashing threads; default min(os.availableParallelism(), 4); 0 = hash in this thread. They
   * start only when there is enough to hash (1,000 files, or 32 MB in 2+ big files), and never
   * when no bundled hash-worker.js exists (running from the TypeScript source).
   */
  workers?: number;
  /**
   * Called at most ~10 times a second, and once at the end. filesTotal grows while the walk is
   * still running; bytesDone sums the sizes of the files done (cached or read).
   */
  onProgress?: (filesDone: number, filesTotal: number, bytesDone: number) => void;
  onWarning?: (message: string) => void;
  /**
   * true: the stat cache is not saved before returning but by the result's `saveCache()`, so that
   * the caller can do it while waiting for something else (a snapshot: while git stages the tree).
   */
  deferCacheSave?: boolean;
  /**
   * Called with the bytes and path of each tree file written into treeDir (not for those already
   * there); `created`: there was no file at that path (false: one of the wrong size was replaced).
   */
  onTreeFileWritten?: (content: Buffer, path: string, created: boolean) => void;
  /**
   * Build store trees (store/trees.ts) next to the hash trees, with content hashes whatever
   * `computeHash` says, and hand them to the sink; with a session, file contents go to the store too.
   */
  store?: StoreSink | undefined;
  /**
   * Files whose stat the cache does not vouch for are not read: their content id is
   * UNREAD_CONTENT, which no object has. For a scan of files about to be overwritten (a run-cache
   * restore), where reading them only spares rewriting the ones that happen to be equal.
   */
  unreadUnlessCached?: boolean;
  /**
   * Files whose content the caller knows because it just wrote them (a run-cache restore), by
   * path relative to the root. One whose stat is still exactly the one given is not read: it counts
   * as hashed in this run, so the stat cache's racy-mtime rule applies to it as to a file read.
   * Ignored when storing file contents.
   */
  written?: ReadonlyMap<string, WrittenFile>;
  /** Only the store trees are wanted (a restore's scan): 1.6's hash trees are not built, rootHash is ''. */
  storeTreesOnly?: boolean;
}

/** A file and the id of its content, as written (HashTreeOptions.written). */
export interface WrittenFile {
  id: string;
  /** Taken after the last change the writer made (content, mode, rename). */
  stat: Stats;
}

/** Whether two stats of a file agree on what the stat cache compares (size, mtime, ctime, inode). */
export function sameStat(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

/** The content id of a file not read (`unreadUnlessCached`): equal to no content's SHA-1 in practice. */
export const UNREAD_CONTENT = '0'.repeat(40);

/** Where a hash-tree run puts what the content store gets (store/store.ts ContentStore, or a scan's collector). */
export interface StoreSink {
  /** Set: file contents are stored (hashing threads append them); null: a scan, only trees and link texts are put. */
  session: StoreSession | null;
  /** Consulted for stat-cache hits when storing: content the store lacks is read again. */
  has(id: string): boolean;
  /** `has` for the id at `bytes[offset..offset+20)` (the stat cache holds them so: no hex to parse). */
  hasBinary(bytes: Buffer, offset: number): boolean;
  /** A small object: a link's text, or a tree. */
  putSmall(id: string, bytes: Buffer): void;
  adoptLarge(id: string, tmpPath: string): void;
  recordPacked(packPath: string, id: string, offset: number, length: number): void;
}

export interface HashTreeResult {
  /** Tree hash of the root directory: the resource's compare hash. */
  rootHash: string;
  /** Tree files that were not in treeDir yet. */
  treeFilesWritten: number;
  /** Files whose hash was computed in this run (content read; in size mode: every file). */
  filesHashed: number;
  /** Files whose hash came from the stat cache (no content read). */
  filesFromCache: number;
  /** Files in the tree (blob entries). */
  files: number;
  /** With `store`: the root's store tree id. */
  storeRoot: string | null;
  /** Files and folders an interrupted restore staged (names starting with RESTORE_TMP), not in the tree. */
  leftovers: string[];
  /** Save the stat cache if it changed (with deferCacheSave; otherwise already done, and a no-op). */
  saveCache: () => void;
}

/** Files per batch sent to a worker (a batch of 1 KB files takes ~2 ms). */
const BATCH_FILES = 256;
/** A batch stops after reading this much; the rest of its files go back to the queue. */
const BATCH_BYTES = 16 << 20;
/** Files at least this big are set aside and handed out largest first, grouped up to BATCH_BYTES. */
const DEFER_BYTES = 1 << 20;
/** Up to this many files to hash, this thread beats starting workers (~50 ms of CPU each). */
const INLINE_MAX_FILES = 1000;
/** Big files left after hashing inline: start workers for 2+ of them totalling this much. */
const INLINE_BIG_BYTES = 32 << 20;
/** Batches queued per worker, so that it does not wait for this thread. */
const IN_FLIGHT = 3;
/** The walk yields to the event loop this often (ms) while workers run. */
const SLICE_MS = 2;
const PROGRESS_MS = 100;
/** Directories per listing job. */
const LIST_JOB_DIRS = 16;
const S_IFMT = constants.S_IFMT;
const S_IFREG = constants.S_IFREG;

/**
 * Whether the link at `abs` (entry `e` of a listing) leads to a socket, FIFO or device, which a
 * snapshot leaves out of its trees; a link that leads nowhere does not. The listing's stat (taken
 * through the link) when it has one.
 */
function linksToSpecial(stats: Float64Array | null, e: number, abs: string): boolean {
  let mode = stats === null ? NaN : stats[e * STAT_FIELDS + 4]!;
  if (Number.isNaN(mode)) {
    try {
      mode = statSync(abs).mode;
    } catch {
      return false; // leads nowhere (or round in a loop)
    }
  }
  const type = mode & S_IFMT;
  return type !== S_IFREG && type !== constants.S_IFDIR;
}
/** Status of a file still queued for hashing (beyond the FileStatus values). */
const QUEUED = 7;

interface DirNode {
  /** '' for the root, else the relative path and '/'. */
  prefix: string;
  /** Index of the parent directory (-1 for the root). */
  parent: number;
  names: string[];
  /** Per name: a file index (>= 0) or ~(directory index). */
  refs: number[];
  /** Entries not done yet (files to hash, subdirectories whose tree is not written yet). */
  pending: number;
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * Write `<treeDir>/<hash>` with mode 0755 unless a file of that size is there. Created with
 * O_EXCL under its final name (one create, no rename: creating files is what costs here); a file
 * left short by a crash has the wrong size, so the next run rewrites it (temp file + rename).
 * Returns whether it created the file, replaced one, or wrote nothing.
 */
function writeTreeFile(treeDir: string, hash: string, content: Buffer): 'created' | 'replaced' | null {
  const path = join(treeDir, hash);
  const st = statSync(path, { throwIfNoEntry: false });
  if (st !== undefined && st.isFile() && st.size === content.length) return null;
  const target = st === undefined ? path : join(treeDir, `.${hash}.${process.pid}.tmp`);
  try {
    const fd = openSync(target, st === undefined ? 'wx' : 'w', 0o755);
    try {
      writeSync(fd, content);
      fchmodSync(fd, 0o755); // like Python's chmod: whatever the umask
    } finally {
      closeSync(fd);
    }
    if (target !== path) renameSync(target, path);
  } catch (e) {
    if (target !== path) rmSync(target, { force: true });
    // Another process wrote it in the meantime: content-addressed, so the same bytes.
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw new Error(`Cannot write hash tree file ${path}: ${describe(e)}`);
  }
  return target === path ? 'created' : 'replaced';
}

/** One computeHashTree run: the walk's results, the hashing queue, the counters. */
class HashRun {
  readonly dirs: DirNode[] = [{ prefix: '', parent: -1, names: [], refs: [], pending: 0 }];
  readonly treeHashes: string[] = [];
  /** Store tree ids per directory (with opts.store). */
  readonly storeTrees: string[] = [];
  treeFilesWritten = 0;
  /** Blob entries written into trees. */
  blobs = 0;
  private readonly seenTrees = new Set<string>();
  // Per file, in walk order; typed arrays (grown by doubling) keep the GC out of it.
  fileDir = new Int32Array(1024);
  readonly fileName: string[] = [];
  fileLink = new Uint8Array(1024);
  status = new Uint8Array(1024);
  readonly hashes: string[] = [];
  /** STAT_FIELDS numbers per file (0s until known). */
  stats = new Float64Array(1024 * STAT_FIELDS);
  walkDone = false;
  /** Absolute paths of entries named like a restore's staged files (RESTORE_TMP). */
  readonly leftovers: string[] = [];
  /** Whether the threads list directories ahead of the walk; then the listings (or why not) by directory. */
  listAhead = false;
  readonly listed = new Map<number, Listing | string>();
  private listRequested = 0;
  private readonly listJobs = new Map<number, number>();
  filesHashed = 0;
  filesFromCache = 0;
  filesDone = 0;
  bytesDone = 0;
  private readonly queue: number[] = [];
  private queueHead = 0;
  private readonly retry: number[] = [];
  /** Deferred big files; sorted by size ascending when `bigSorted`. */
  private readonly big: number[] = [];
  private bigSorted = true;
  bigBytes = 0;
  private nextId = 1;
  private readonly jobs = new Map<number, number[]>();
  private lastProgress = 0;

  constructor(
    readonly base: string,
    readonly opts: HashTreeOptions,
  ) {}

  get rootHash(): string | undefined {
    return this.treeHashes[0];
  }

  /**
   * Build, hash and write the tree file of a directory whose entries are all done, then tell its
   * parent (workspace-format §13: `<hash>\t<blob|tree>\t<name>\n` per entry, sorted names).
   */
  completeDir(d: number): void {
    const sink = this.opts.store;
    const sizes = !this.opts.computeHash && sink !== undefined; // the tree says sizes, `hashes` holds content hashes
    const legacy = this.opts.storeTreesOnly !== true;
    for (;;) {
      const node = this.dirs[d]!;
      const { names, refs } = node;
      let text = ''; // 1.6's tree file
      let store = ''; // the store tree's text
      for (let j = 0; j < names.length; j++) {
        const ref = refs[j]!;
        if (ref >= 0) {
          const s = this.status[ref];
          if (sink !== undefined && this.fileLink[ref] === 1 && s !== FileStatus.SkippedSpecial) {
            const target = Buffer.from(readlinkSync(this.base + '/' + node.prefix + names[j]!), 'utf8');
            const id = createHash('sha1').update(target).digest('hex');
            sink.putSmall(id, target);
            store += treeEntryText(MODE_LINK, id, names[j]!);
          }
          if (s === FileStatus.SkippedDirLink || s === FileStatus.SkippedSpecial || s === FileStatus.LinkOnly) continue;
          const hash = this.hashes[ref]!;
          if (legacy) text += (sizes ? String(this.stats[ref * STAT_FIELDS]) : hash) + '\tblob\t' + names[j]! + '\n';
          this.blobs++;
          if (sink !== undefined && this.fileLink[ref] !== 1) {
            store += treeEntryText((this.stats[ref * STAT_FIELDS + 4]! & 0o100) !== 0 ? MODE_EXEC : MODE_FILE, hash, names[j]!);
          }
        } else {
          if (legacy) text += this.treeHashes[~ref]! + '\ttree\t' + names[j]! + '\n';
          if (sink !== undefined) store += treeEntryText(MODE_DIR, this.storeTrees[~ref]!, names[j]!);
        }
      }
      if (sink !== undefined) {
        const tree = treeOfText(store);
        sink.putSmall(tree.id, tree.bytes);
        this.storeTrees[d] = tree.id;
      }
      if (legacy) this.completeLegacyTree(d, Buffer.from(text, 'utf8'));
      node.refs = [];
      node.names = [];
      if (node.parent < 0 || --this.dirs[node.parent]!.pending > 0) return;
      d = node.parent;
    }
  }

  /** Hash 1.6's tree file of a directory, and write it into treeDir unless there already. */
  private completeLegacyTree(d: number, content: Buffer): void {
    const hash = createHash('sha1').update(content).digest('hex');
    this.treeHashes[d] = hash;
    if (!this.seenTrees.has(hash)) {
      this.seenTrees.add(hash);
      const written = this.opts.treeDir === null ? null : writeTreeFile(this.opts.treeDir, hash, content);
      if (written !== null) {
        this.treeFilesWritten++;
        this.opts.onTreeFileWritten?.(content, join(this.opts.treeDir!, hash), written === 'created');
      }
    }
  }

  get files(): number {
    return this.fileName.length;
  }
  get queued(): number {
    return this.queue.length - this.queueHead + this.retry.length;
  }
  get bigCount(): number {
    return this.big.length;
  }
  rel(f: number): string {
    return this.dirs[this.fileDir[f]!]!.prefix + this.fileName[f]!;
  }
  relHasLineFeed(f: number): boolean {
    return this.fileName[f]!.includes('\n') || this.dirs[this.fileDir[f]!]!.prefix.includes('\n');
  }
  abs(f: number): string {
    return this.base + '/' + this.rel(f);
  }

  addFile(dir: number, name: string, link: boolean): number {
    const f = this.fileName.length;
    if (f === this.status.length) this.grow();
    this.fileDir[f] = dir;
    this.fileName.push(name);
    this.fileLink[f] = link ? 1 : 0;
    this.status[f] = QUEUED;
    this.hashes.push('');
    return f;
  }

  /** Make room for `n` files at once (the stat cache says about how many): no copying while walking. */
  reserve(n: number): void {
    if (n > this.status.length) this.grow(n);
  }

  private grow(n = this.status.length * 2): void {
    const grown = <T extends Int32Array | Uint8Array | Float64Array>(a: T, size: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.fileDir = grown(this.fileDir, n);
    this.fileLink = grown(this.fileLink, n);
    this.status = grown(this.status, n);
    this.stats = grown(this.stats, n * STAT_FIELDS);
  }

  enqueue(f: number): void {
    this.queue.push(f);
  }

  /** Record a file decided in this thread (cached, sized or skipped); its stat at `sv[so..]`, if any. */
  settle(f: number, status: FileStatus, sv: Float64Array | null, so: number, hash: string): void {
    this.status[f] = status;
    if (sv !== null) this.setStats(f, sv, so);
    this.hashes[f] = hash;
    this.done(f, status);
  }

  /** The next directories to list ahead of the walk (those it knows of), or null. */
  nextListJob(): ListJob | null {
    if (!this.listAhead || this.listRequested >= this.dirs.length) return null;
    const start = this.listRequested;
    const end = Math.min(this.dirs.length, start + LIST_JOB_DIRS);
    this.listRequested = end;
    const id = this.nextId++;
    this.listJobs.set(id, start);
    const prefixes: string[] = [];
    for (let d = start; d < end; d++) prefixes.push(this.dirs[d]!.prefix);
    return { kind: 'list', id, base: this.base, prefixes: prefixes.join('\0') };
  }

  /** Take in a listing job's result. */
  applyList(res: ListJobResult): void {
    const start = this.listJobs.get(res.id);
    if (start === undefined) throw new Error(`Internal error: unknown listing job ${res.id}`);
    this.listJobs.delete(res.id);
    const names = res.names.split('\0');
    let at = 0;
    for (let i = 0; i < res.counts.length; i++) {
      const n = res.counts[i]!;
      if (n < 0) {
        this.listed.set(start + i, res.errors[i]!);
        continue;
      }
      this.listed.set(start + i, { names: names.slice(at, at + n), kinds: res.kinds.subarray(at, at + n), stats: res.stats.subarray(at * STAT_FIELDS, (at + n) * STAT_FIELDS) });
      at += n;
    }
  }

  /** File f's stat, from `from[at..]`. */
  private setStats(f: number, from: Float64Array, at: number): void {
    const o = f * STAT_FIELDS;
    for (let j = 0; j < STAT_FIELDS; j++) this.stats[o + j] = from[at + j]!;
  }

  private done(f: number, status: number): void {
    switch (status) {
      case FileStatus.Hashed:
      case FileStatus.Sized:
        this.filesHashed++;
        break;
      case FileStatus.Cached:
        this.filesFromCache++;
        break;
      case FileStatus.SkippedDirLink:
        this.opts.onWarning?.(`Skipping symbolic link to a directory: ${this.abs(f)}`);
        break;
      case FileStatus.SkippedSpecial:
        this.opts.onWarning?.(`Skipping special file (not a regular file): ${this.abs(f)}`);
        break;
    }
    this.filesDone++;
    this.bytesDone += this.stats[f * STAT_FIELDS]!;
    const d = this.fileDir[f]!;
    if (--this.dirs[d]!.pending === 0) this.completeDir(d);
  }

  progress(force: boolean): void {
    const onProgress = this.opts.onProgress;
    if (onProgress === undefined) return;
    const now = performance.now();
    if (force || now - this.lastProgress >= PROGRESS_MS) {
      this.lastProgress = now;
      onProgress(this.filesDone, this.files, this.bytesDone);
    }
  }

  private makeJob(files: number[], deferBytes: number, budgetBytes: number): HashJob {
    const id = this.nextId++;
    this.jobs.set(id, files);
    const links = new Uint8Array(files.length);
    let paths = '';
    for (let i = 0; i < files.length; i++) {
      paths += this.rel(files[i]!) + '\0';
      links[i] = this.fileLink[files[i]!]!;
    }
    return { id, base: this.base, paths, links, deferBytes, budgetBytes, store: this.opts.store?.session ?? undefined };
  }

  /**
   * The next batch of queued files, or null (also while the walk has not filled a whole batch).
   * With workers, files from DEFER_BYTES up are set aside and a batch stops after BATCH_BYTES.
   */
  nextBatch(parallel: boolean): HashJob | null {
    const files: number[] = [];
    while (this.retry.length > 0 && files.length < BATCH_FILES) files.push(this.retry.pop()!);
    const waiting = this.queue.length - this.queueHead;
    if (files.length === 0 && waiting < BATCH_FILES && !this.walkDone) return null;
    while (this.queueHead < this.queue.length && files.length < BATCH_FILES) files.push(this.queue[this.queueHead++]!);
    if (this.queueHead > 65536 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    if (files.length === 0) return null;
    return parallel ? this.makeJob(files, DEFER_BYTES, BATCH_BYTES) : this.makeJob(files, Infinity, Infinity);
  }

  /** The largest deferred files, grouped up to BATCH_BYTES, or null. */
  nextBigJob(): HashJob | null {
    if (this.big.length === 0) return null;
    if (!this.bigSorted) {
      const st = this.stats;
      this.big.sort((a, b) => st[a * STAT_FIELDS]! - st[b * STAT_FIELDS]!);
      this.bigSorted = true;
    }
    const files: number[] = [];
    let bytes = 0;
    while (this.big.length > 0 && (files.length === 0 || bytes + this.stats[this.big[this.big.length - 1]! * STAT_FIELDS]! <= BATCH_BYTES)) {
      const f = this.big.pop()!;
      files.push(f);
      bytes += this.stats[f * STAT_FIELDS]!;
    }
    this.bigBytes -= bytes;
    return this.makeJob(files, Infinity, Infinity);
  }

  /** Take in a job's result; throws the job's error. */
  apply(res: HashJobResult): void {
    const files = this.jobs.get(res.id);
    if (files === undefined) throw new Error(`Internal error: unknown hash job ${res.id}`);
    this.jobs.delete(res.id);
    if (res.error !== undefined) throw new Error(res.error.message);
    const sink = this.opts.store;
    const large = res.largeFiles === '' ? null : res.largeFiles.split('\0');
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      const s = res.status[i]!;
      if (s === FileStatus.NotDone) {
        this.retry.push(f);
        continue;
      }
      const o = i * STAT_FIELDS;
      this.setStats(f, res.stats, o);
      if (s === FileStatus.Deferred) {
        this.big.push(f);
        this.bigSorted = false;
        this.bigBytes += res.stats[o]!;
        continue;
      }
      this.status[f] = s;
      if (s === FileStatus.Hashed) {
        const hash = (this.hashes[f] = res.hashes.slice(i * 40, i * 40 + 40));
        if (sink !== undefined) {
          const offset = res.packOffsets?.[i] ?? -1;
          if (offset >= 0) sink.recordPacked(res.packPath, hash, offset, res.stats[o]!);
          else if (large !== null && large[i] !== '') sink.adoptLarge(hash, large[i]!);
        }
      }
      this.done(f, s);
    }
    this.progress(false);
  }
}

/** Worker threads for one run; each gets up to IN_FLIGHT jobs (listings first), big files only when idle. */
class HashPool {
  private readonly slots: { worker: Worker; inFlight: number }[] = [];
  private stopped = false;
  error: Error | null = null;
  /** The walk or computeHashTree waiting until `until()` holds. */
  private waiter: { until: () => boolean; resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(
    url: URL,
    count: number,
    private readonly run: HashRun,
  ) {
    for (const worker of takeHashThreads(url, count)) {
      const slot = { worker, inFlight: 0 };
      slot.worker.on('message', (res: HashJobResult | ListJobResult) => {
        slot.inFlight--;
        if (this.error !== null) return;
        try {
          if ('kind' in res) run.applyList(res);
          else run.apply(res);
        } catch (e) {
          this.fail(e);
          return;
        }
        this.pump();
      });
      slot.worker.on('error', (e) => this.fail(new Error(`Hashing thread failed: ${describe(e)}`)));
      slot.worker.on('exit', (code) => {
        if (!this.stopped) this.fail(new Error(`Hashing thread stopped unexpectedly (exit code ${code})`));
      });
      this.slots.push(slot);
    }
  }

  private fail(e: unknown): void {
    this.error ??= e instanceof Error ? e : new Error(String(e));
    this.settle();
  }

  /** Hand out work to every worker that has room. */
  pump(): void {
    for (const slot of this.slots) {
      while (this.error === null && slot.inFlight < IN_FLIGHT) {
        const list = this.run.nextListJob(); // the walk waits for these
        if (list !== null) {
          slot.inFlight++;
          slot.worker.postMessage(list);
          continue;
        }
        const job = (slot.inFlight === 0 ? this.run.nextBigJob() : null) ?? this.run.nextBatch(true);
        if (job === null) break;
        slot.inFlight++;
        slot.worker.postMessage(job, [job.links.buffer as ArrayBuffer]);
      }
    }
    this.settle();
  }

  private settle(): void {
    const w = this.waiter;
    if (w === null) return;
    if (this.error !== null) {
      this.waiter = null;
      w.reject(this.error);
    } else if (w.until()) {
      this.waiter = null;
      w.resolve();
    }
  }

  private wait(until: () => boolean): Promise<void> {
    return new Promise<void>((resolvePromise, reject) => {
      this.waiter = { until, resolve: resolvePromise, reject };
      this.pump();
    });
  }

  /** Resolves when the walk is done and every file is hashed. */
  finish(): Promise<void> {
    return this.wait(() => this.run.walkDone && this.run.queued === 0 && this.run.bigCount === 0 && this.slots.every((s) => s.inFlight === 0));
  }

  /** Directory `d`'s listing (or why it could not be listed), once a thread has made it. */
  async listing(d: number): Promise<Listing | string> {
    if (!this.run.listed.has(d)) await this.wait(() => this.run.listed.has(d));
    const l = this.run.listed.get(d)!;
    this.run.listed.delete(d);
    return l;
  }

  /** Give the threads back (stopping them after a failure); they no longer keep the process alive. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    // A thread with jobs in flight (after an error elsewhere) would answer into the next run.
    for (const slot of this.slots) giveBackHashThread(slot.worker, this.error === null && slot.inFlight === 0);
  }
}

/**
 * How the files and folders a restore writes and checks before renaming them into place are named
 * (`.dws-restore.tmp-N`, beside their final place: server/store/restore-files.ts); older versions
 * used one folder `.dws-restore.tmp` at the root. Never part of the resource's tree: a snapshot or
 * status after a killed restore does not see them, and the next restore removes them.
 */
export const RESTORE_TMP = '.dws-restore.tmp';

/**
 * Compute the hash tree of `opts.root`, write the missing tree files into `opts.treeDir`, and
 * return the root tree hash. Throws an Error naming the path for an unreadable directory or
 * file, or a broken symbolic link.
 */
export async function computeHashTree(opts: HashTreeOptions): Promise<HashTreeResult> {
  const runStart = Date.now();
  const root = resolve(opts.root);
  const base = root.endsWith('/') ? root.slice(0, -1) : root; // only for "/"
  const rootStat = statSync(root, { throwIfNoEntry: false });
  if (rootStat === undefined) throw new Error(`Resource directory does not exist: ${root}`);
  if (!rootStat.isDirectory()) throw new Error(`Resource path is not a directory: ${root}`);

  const wanted = opts.workers ?? DEFAULT_HASH_THREADS;
  const url = wanted > 0 ? hashWorkerUrl() : null;
  const hashContent = opts.computeHash || opts.store !== undefined;
  const useCache = hashContent && opts.cacheFile !== undefined;
  const cache = useCache ? StatCache.load(opts.cacheFile!, base) : null;
  const run = new HashRun(base, opts);
  if (cache !== null) run.reserve(cache.count + 1024);
  const threads: { pool: HashPool | null } = { pool: null };
  if (url !== null && cache !== null && cache.count >= LIST_AHEAD_MIN_FILES) {
    run.listAhead = true;
    threads.pool = new HashPool(url, wanted, run);
  }
  try {
    await walk(run, cache, () => {
      // Start workers once there is enough to hash: they boot while the walk goes on.
      if (threads.pool === null && url !== null && run.queued >= INLINE_MAX_FILES) {
        threads.pool = new HashPool(url, wanted, run);
      }
      return threads.pool;
    });

    if (threads.pool === null && run.queued > 0) {
      // Few files to hash: this thread; big ones are set aside in case they deserve workers.
      const parallel = url !== null;
      for (let job = run.nextBatch(parallel); job !== null; job = run.nextBatch(parallel)) {
        run.apply(runHashJob(job));
      }
      if (url !== null && run.bigCount >= 2 && run.bigBytes >= INLINE_BIG_BYTES) {
        threads.pool = new HashPool(url, Math.min(wanted, run.bigCount), run);
      } else {
        for (let job = run.nextBigJob(); job !== null; job = run.nextBigJob()) run.apply(runHashJob(job));
      }
    }
    if (threads.pool !== null) {
      await threads.pool.finish();
      threads.pool.stop();
      threads.pool = null;
    }

    const rootHash = opts.storeTreesOnly === true ? '' : run.rootHash;
    if (rootHash === undefined || (opts.store !== undefined && run.storeTrees[0] === undefined)) {
      throw new Error(`Internal error: the hash tree of ${root} is incomplete`);
    }
    let saveCache = () => {
      saveCache = () => {};
      if (useCache) saveCacheIfChanged(run, cache, opts.cacheFile!, runStart - racyMarginMs(root));
    };
    if (!opts.deferCacheSave) saveCache();
    run.progress(true);
    return {
      saveCache: () => saveCache(),
      rootHash,
      treeFilesWritten: run.treeFilesWritten,
      filesHashed: run.filesHashed,
      filesFromCache: run.filesFromCache,
      files: run.blobs,
      storeRoot: opts.store === undefined ? null : run.storeTrees[0]!,
      leftovers: run.leftovers,
    };
  } finally {
    threads.pool?.stop();
  }
}

/**
 * Walk the tree breadth-first (a directory's index is below its subdirectories'), entries sorted
 * by code point. Files are decided here when possible (size mode, cache hit, special file) and
 * queued for hashing otherwise. `poolFor` starts the workers when due and says whether they run.
 */
async function walk(run: HashRun, cache: StatCache | null, poolFor: () => HashPool | null): Promise<void> {
  const { dirs, base } = run;
  const hashContent = run.opts.computeHash || run.opts.store !== undefined;
  const storing = run.opts.store?.session != null ? run.opts.store : null;
  const unread = run.opts.unreadUnlessCached === true;
  // A store tree holds a link as its text: a scan for store trees alone need not follow it (a dangling one included).
  const linksAsText = run.opts.storeTreesOnly === true && run.opts.store !== undefined;
  const written = storing === null ? run.opts.written : undefined;
  const cs = cache?.stats;
  let sliceStart = performance.now();
  /** Start workers when due; while they run, let them have batches every SLICE_MS. */
  const slice = async () => {
    const pool = poolFor();
    if (pool !== null && performance.now() - sliceStart >= SLICE_MS) {
      pool.pump();
      await yieldToEventLoop();
      if (pool.error !== null) throw pool.error;
      sliceStart = performance.now();
    }
    run.progress(false);
  };
  /** A stat taken here (the listing had none): size, mtimeMs, ctimeMs, ino, mode. */
  const here = new Float64Array(STAT_FIELDS);
  for (let d = 0; d < dirs.length; d++) {
    const node = dirs[d]!;
    const dirAbs = dirPath(base, node.prefix);
    let listing: Listing | string;
    if (run.listAhead) listing = await poolFor()!.listing(d);
    else {
      try {
        listing = listDir(dirAbs, false);
      } catch (e) {
        listing = describe(e);
      }
    }
    if (typeof listing === 'string') throw new Error(`Cannot list directory ${dirAbs}: ${listing}`);
    const { names, kinds, stats } = listing;
    if (hashContent) cache?.enterDir(node.prefix);
    // Every entry counts until it is done; special files are dropped below. The +1 holds the
    // directory open until the loop is over.
    node.pending = names.length + 1;
    for (let e = 0; e < names.length; e++) {
      if ((e & 1023) === 1023) await slice(); // a huge directory
      const name = names[e]!;
      if (name.charCodeAt(0) === 46 && name.startsWith(RESTORE_TMP)) {
        node.pending--; // an interrupted restore's files, not the resource's
        run.leftovers.push(base + '/' + node.prefix + name);
        continue;
      }
      const kind = kinds[e]!;
      if (kind === EntryKind.Dir) {
        node.names.push(name);
        node.refs.push(~dirs.length);
        dirs.push({ prefix: node.prefix + name + '/', parent: d, names: [], refs: [], pending: 0 });
        continue;
      }
      const isFile = kind === EntryKind.File;
      if (!isFile && kind !== EntryKind.Link) {
        node.pending--;
        run.opts.onWarning?.(`Skipping ${specialKindName(kind)} (not a regular file): ${base}/${node.prefix}${name}`);
        continue;
      }
      const f = run.addFile(d, name, !isFile);
      node.names.push(name);
      node.refs.push(f);
      if (!isFile && linksAsText && !linksToSpecial(stats, e, base + '/' + node.prefix + name)) {
        run.settle(f, FileStatus.LinkOnly, null, 0, '');
        continue;
      }
      const k = hashContent && cache !== null ? cache.find(node.prefix, name) : -1;
      const known = written?.get(node.prefix + name);
      if (hashContent && k < 0 && known === undefined && !(unread && isFile)) {
        run.enqueue(f);
        continue;
      }
      // The listing's stat (taken by a thread), else one taken now.
      let sv = stats;
      let so = e * STAT_FIELDS;
      if (sv === null || Number.isNaN(sv[so])) {
        putStat(here, 0, statFile(base + '/' + node.prefix + name, !isFile));
        sv = here;
        so = 0;
      }
      if ((sv[so + 4]! & S_IFMT) !== S_IFREG) {
        const abs = base + '/' + node.prefix + name;
        run.settle(f, skipStatus(abs, statFile(abs, !isFile), !isFile), null, 0, '');
      } else if (!hashContent) {
        run.settle(f, FileStatus.Sized, sv, so, String(sv[so]));
      } else {
        const o = k * STAT_FIELDS;
        // A cached file whose content the store lacks (never stored, or collected) is read again to store it.
        if (k >= 0 && sv[so] === cs![o] && sv[so + 1] === cs![o + 1] && sv[so + 2] === cs![o + 2] && sv[so + 3] === cs![o + 3] && (storing === null || isFile === false || storing.hasBinary(cache!.hashBytes, k * 20))) {
          run.settle(f, FileStatus.Cached, sv, so, cache!.hash(k));
        } else if (known !== undefined && isFile && sv[so] === known.stat.size && sv[so + 1] === known.stat.mtimeMs && sv[so + 2] === known.stat.ctimeMs && sv[so + 3] === known.stat.ino) {
          run.settle(f, FileStatus.Hashed, sv, so, known.id);
        } else if (unread && isFile) {
          run.settle(f, FileStatus.Unread, sv, so, UNREAD_CONTENT);
        } else {
          run.enqueue(f);
        }
      }
    }
    if (--node.pending === 0) run.completeDir(d);
    await slice();
  }
  run.walkDone = true;
}

/** Rewrite the stat cache when its entries changed: hashed files old enough to trust, cache hits kept. */
function saveCacheIfChanged(run: HashRun, cache: StatCache | null, file: string, trustBefore: number): void {
  const { status, stats, hashes } = run;
  const n = run.files;
  const include = new Uint8Array(n);
  let count = 0;
  let changed = run.filesFromCache !== (cache?.count ?? 0);
  for (let f = 0; f < n; f++) {
    const s = status[f];
    if (s === FileStatus.Cached || (s === FileStatus.Hashed && stats[f * STAT_FIELDS + 1]! < trustBefore && !run.relHasLineFeed(f))) {
      include[f] = 1;
      count++;
      if (s === FileStatus.Hashed) changed = true;
    }
  }
  if (!changed) return;
  const entryStats = new Float64Array(count * STAT_FIELDS);
  const paths = new Array<string>(count);
  const hex = new Array<string>(count);
  let i = 0;
  for (let f = 0; f < n; f++) {
    if (include[f] === 0) continue;
    for (let j = 0; j < STAT_FIELDS; j++) entryStats[i * STAT_FIELDS + j] = stats[f * STAT_FIELDS + j]!;
    paths[i] = run.rel(f);
    hex[i] = hashes[f]!;
    i++;
  }
  saveStatCache(file, run.base, paths, hex, entryStats);
}
