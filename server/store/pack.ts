/**
 * Packs of the content store: small objects appended to one file, found through an index. A pack
 * is visible only once its index exists, and the index is written (temp file, fsync, rename) only
 * after the pack is complete and synced, so a crash leaves at most an unindexed pack, which
 * nothing reads and gc removes.
 *
 *   <name>.pack   the objects' bytes, back to back (no header: the index says where each is)
 *   <name>.idx    offset  bytes  what
 *                 0       8      magic "DWSIDX" 0x00 0x01 (the last byte is the version)
 *                 8       4      entry count N (big-endian)
 *                 12      8      size of the pack file (a truncated pack is detected)
 *                 20      20 N   object ids (SHA-1 of the content), sorted
 *                 ...     8 N    offsets in the pack (big-endian)
 *                 ...     4 N    lengths (big-endian; packed objects are under 4 GB)
 *                 ...     20     SHA-1 of all the bytes before it
 *
 * <name> is the hex SHA-1 of the index's bytes before its checksum: the same objects at the same
 * places give the same name, wherever the pack was written.
 */
import { createHash } from 'node:crypto';
import { closeSync, fchmodSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AdvisedError } from './advice.js';
import { ID_BYTES } from './known-ids.js';
import { oneShotSha1 } from '../resources/hashtree/hash-files.js';
import { faultPoint } from '../workspace/fault.js';
import { fileStamp, readIfExists, writeCacheFile } from '../workspace/files.js';

const MAGIC = Buffer.from('DWSIDX\x00\x01', 'latin1');
const HEADER = 20;

export interface PackEntry {
  id: string;
  offset: number;
  length: number;
}

/** A loaded pack index: the ids stay binary (no string per object until one is looked up). */
export interface PackIndex {
  name: string;
  count: number;
  packSize: number;
  /** 20 bytes per entry, sorted. */
  ids: Buffer;
  offsets: Buffer;
  lengths: Buffer;
}

export function entryOffset(idx: PackIndex, i: number): number {
  return idx.offsets.readUInt32BE(i * 8) * 0x100000000 + idx.offsets.readUInt32BE(i * 8 + 4);
}

export function entryLength(idx: PackIndex, i: number): number {
  return idx.lengths.readUInt32BE(i * 4);
}

/**
 * Per pack, the first four bytes of each id as numbers, built at its TABLE_AFTER-th lookup (the
 * count until then): a restore's many lookups compare numbers, not buffers, and a process that
 * looks up a few ids (a run-cache restore: ~1 ms of cold code for a dozen packs) does not build it.
 */
const prefixesOf = new WeakMap<PackIndex, Uint32Array | number>();
const TABLE_AFTER = 16;

/** The entry number of the id at `id[0..20)` in a pack (binary search of the sorted ids), or -1. */
export function findEntry(idx: PackIndex, id: Buffer): number {
  const prefixes = prefixesOf.get(idx) ?? 0;
  if (typeof prefixes === 'number') {
    prefixesOf.set(idx, prefixes + 1 < TABLE_AFTER ? prefixes + 1 : prefixTable(idx));
    return searchIds(idx, id);
  }
  const key = id.readUInt32BE(0);
  let lo = 0;
  let hi = idx.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (prefixes[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < idx.count && prefixes[i] === key; i++) {
    if (id.compare(idx.ids, i * ID_BYTES, (i + 1) * ID_BYTES, 0, ID_BYTES) === 0) return i;
  }
  return -1;
}

function prefixTable(idx: PackIndex): Uint32Array {
  const prefixes = new Uint32Array(idx.count);
  for (let i = 0; i < idx.count; i++) prefixes[i] = idx.ids.readUInt32BE(i * ID_BYTES);
  return prefixes;
}

/** findEntry without the table: a binary search comparing whole ids. */
function searchIds(idx: PackIndex, id: Buffer): number {
  let lo = 0;
  let hi = idx.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = id.compare(idx.ids, mid * ID_BYTES, (mid + 1) * ID_BYTES, 0, ID_BYTES);
    if (c === 0) return mid;
    if (c > 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

/**
 * Parse `<dir>/<name>.idx`; throws an Error naming the file when it is damaged. `verified`: a
 * record of the index file's inode, size and mtime when its checksum last held; while they are
 * the same the checksum is not computed again (an index is never rewritten in place: a store of
 * 100,000 objects spent ~4 ms on it at every open, issue 12).
 */
export function readPackIndex(dir: string, name: string, verified?: string): PackIndex {
  const file = join(dir, `${name}.idx`);
  if (verified === undefined) return parsePackIndex(readFileSync(file), name, file);
  const fd = openSync(file, 'r');
  try {
    const stamp = fileStamp(fstatSync(fd, { bigint: true }));
    const known = readIfExists(verified) === stamp;
    const index = parsePackIndex(readFileSync(fd), name, file, !known);
    if (!known) writeCacheFile(verified, stamp);
    return index;
  } finally {
    closeSync(fd);
  }
}

/** A pack index that cannot be read; `why` says what is wrong (callers reading a remote's indexes go on without it). */
export class DamagedPackIndexError extends AdvisedError {
  constructor(
    readonly file: string,
    readonly why: string,
  ) {
    super((command) => `Pack index ${file} is damaged (${why}); run '${command('dws/fsck')}' for the whole store`, { file });
  }
}

/** A pack shorter than its index says (cut short by a full disk, a copy stopped part-way). */
export class TruncatedPackError extends AdvisedError {
  constructor(name: string, dir: string) {
    super((command) => `Pack ${name} in ${dir} is truncated; run '${command('dws/fsck')}'`, { file: join(dir, `${name}.pack`) });
  }
}

/** Parse the bytes `b` of the index of pack `name` (`file` names it in errors); `checksum`: also check its SHA-1. */
export function parsePackIndex(b: Buffer, name: string, file: string, checksum = true): PackIndex {
  const bad = (why: string) => new DamagedPackIndexError(file, why);
  if (b.length < HEADER + ID_BYTES || !b.subarray(0, 8).equals(MAGIC)) throw bad('not a dws pack index');
  const count = b.readUInt32BE(8);
  const packSize = b.readUInt32BE(12) * 0x100000000 + b.readUInt32BE(16);
  const idsEnd = HEADER + count * ID_BYTES;
  const offsetsEnd = idsEnd + count * 8;
  const lengthsEnd = offsetsEnd + count * 4;
  if (b.length !== lengthsEnd + ID_BYTES) throw bad('wrong size');
  if (checksum && !createHash('sha1').update(b.subarray(0, lengthsEnd)).digest().equals(b.subarray(lengthsEnd))) throw bad('checksum mismatch');
  return { name, count, packSize, ids: b.subarray(HEADER, idsEnd), offsets: b.subarray(idsEnd, offsetsEnd), lengths: b.subarray(offsetsEnd, lengthsEnd) };
}

/** Bytes read at a time by packMismatch (packed objects are under 1 MB). */
const CHECK_WINDOW = 4 << 20;

/**
 * Why the pack file `path` does not hold what `idx` says (its size, an object's SHA-1), or null
 * when it does: a pack downloaded from a remote is checked before it joins a store, where every
 * object in it would be trusted to be the one its index names.
 */
export function packMismatch(path: string, idx: PackIndex): string | null {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size !== idx.packSize) return `it has ${size} bytes, its index says ${idx.packSize}`;
    // In the order of the pack's bytes: each window read once.
    const offsets = Array.from({ length: idx.count }, (_, i) => entryOffset(idx, i));
    const order = Array.from({ length: idx.count }, (_, i) => i).sort((a, b) => offsets[a]! - offsets[b]!);
    let buf = Buffer.alloc(0);
    let at = 0;
    for (const i of order) {
      const offset = offsets[i]!;
      const length = entryLength(idx, i);
      if (offset < at || offset + length > at + buf.length) {
        buf = Buffer.allocUnsafe(Math.max(CHECK_WINDOW, length));
        buf = buf.subarray(0, readSync(fd, buf, 0, buf.length, offset));
        at = offset;
      }
      const id = idx.ids.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES);
      if (offset + length > at + buf.length || oneShotSha1(buf.subarray(offset - at, offset - at + length)) !== id) return `the bytes of object ${id} do not match its id`;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The bytes of an index for `entries` (any order; ids must be unique) of a pack of `packSize` bytes, and its name. */
export function buildPackIndex(entries: PackEntry[], packSize: number): { name: string; bytes: Buffer } {
  const sorted = [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const n = sorted.length;
  const b = Buffer.alloc(HEADER + n * (ID_BYTES + 12) + ID_BYTES);
  MAGIC.copy(b, 0);
  b.writeUInt32BE(n, 8);
  b.writeUInt32BE(Math.floor(packSize / 0x100000000), 12);
  b.writeUInt32BE(packSize >>> 0, 16);
  const idsAt = HEADER;
  const offsetsAt = idsAt + n * ID_BYTES;
  const lengthsAt = offsetsAt + n * 8;
  sorted.forEach((e, i) => {
    b.write(e.id, idsAt + i * ID_BYTES, 'hex');
    b.writeUInt32BE(Math.floor(e.offset / 0x100000000), offsetsAt + i * 8);
    b.writeUInt32BE(e.offset >>> 0, offsetsAt + i * 8 + 4);
    b.writeUInt32BE(e.length, lengthsAt + i * 4);
  });
  const end = lengthsAt + n * 4;
  const sum = createHash('sha1').update(b.subarray(0, end)).digest();
  sum.copy(b, end);
  return { name: sum.toString('hex'), bytes: b };
}

/**
 * Make a complete pack file (`tmpPack`, already written) visible as `<packDir>/<name>.pack` with
 * its index: sync the pack and make it read-only, write and sync the index under a temp name,
 * rename the pack, then the index (the commit point). Returns the pack's name. A failure leaves
 * `tmpPack` where it was (its writer removes it) and no index.
 */
export function publishPack(tmpPack: string, packDir: string, entries: PackEntry[], packSize: number): string {
  // Temp packs are created writable by their owner: a 0444 file cannot be opened for writing again by anyone but root.
  const fd = openSync(tmpPack, 'r');
  try {
    fsyncSync(fd);
    fchmodSync(fd, 0o444);
  } finally {
    closeSync(fd);
  }
  const { name, bytes } = buildPackIndex(entries, packSize);
  const tmpIdx = `${tmpPack}.idx`;
  try {
    const ifd = openSync(tmpIdx, 'w', 0o644);
    try {
      writeSync(ifd, bytes);
      fsyncSync(ifd);
      fchmodSync(ifd, 0o444);
    } finally {
      closeSync(ifd);
    }
    renameSync(tmpPack, join(packDir, `${name}.pack`));
    faultPoint('store.pack-before-index');
    renameSync(tmpIdx, join(packDir, `${name}.idx`));
  } catch (e) {
    rmSync(tmpIdx, { force: true });
    throw e;
  }
  syncDir(packDir);
  return name;
}

/** fsync a directory so that renames into it survive a crash (ignored where not supported). */
export function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some file systems cannot sync a directory
  }
}
