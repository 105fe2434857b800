/**
 * New blobs for the workspace repository written as one git pack (`.pack` + `.idx`, version 2)
 * instead of one loose object each. `git add` of the 1,001 tree files of a 100,000-file
 * resource creates 1,001 object files, and file creation is what costs most on this machine kind
 * (0.2–1 s for those alone); the same blobs as a pack are two files. The layout is git's own
 * (gitformat-pack(5)). Staging stays git's: `git add` of the files finds their blobs in the pack
 * and writes nothing more (if filters make git store other bytes, it writes those itself).
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { join } from 'node:path';

const OBJ_BLOB = 3;
/** Offsets in an idx v2 are 31 bits; start a new pack well before that. */
const MAX_PACK_BYTES = 1 << 30;

interface PackedObject {
  id: Buffer;
  offset: number;
  crc: number;
}

/**
 * The pack directory of a repository whose `.git` is a plain directory with SHA-1 object names;
 * null otherwise (worktrees, GIT_DIR, SHA-256 repositories...), where git writes the objects itself.
 */
export function packDirOf(repoDir: string, env: NodeJS.ProcessEnv): string | null {
  if (env.GIT_DIR !== undefined || env.GIT_OBJECT_DIRECTORY !== undefined) return null;
  const dir = join(repoDir, '.git', 'objects', 'pack');
  if (!existsSync(dir) || !statSync(join(repoDir, '.git')).isDirectory()) return null;
  const config = readFileSync(join(repoDir, '.git', 'config'), 'utf8');
  const format = /^\s*objectformat\s*=\s*(\S+)/im.exec(config)?.[1]?.toLowerCase() ?? 'sha1';
  return format === 'sha1' ? dir : null;
}

/** Git's type-and-size header of a pack entry: 3 type bits, then the size in 4 + 7k bits. */
function entryHeader(type: number, size: number): Buffer {
  const bytes = [(type << 4) | (size & 0x0f)];
  size = Math.floor(size / 16);
  while (size > 0) {
    bytes[bytes.length - 1]! |= 0x80;
    bytes.push(size & 0x7f);
    size = Math.floor(size / 128);
  }
  return Buffer.from(bytes);
}

/** The git object id (SHA-1 hex) of a blob with this content. */
export function blobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/**
 * Collects blobs and writes them as packs into `packDir`. Blobs are deflated when added (level 1,
 * as git's loose objects), so callers can add while other work is going on.
 */
export class BlobPackWriter {
  private parts: Buffer[] = [];
  private objects: PackedObject[] = [];
  private readonly seen = new Set<string>();
  private size = 12;
  /** Paths of the packs written so far (without extension). */
  readonly written: string[] = [];

  constructor(private readonly packDir: string) {}

  /** Add a blob (once per content); returns its object id. */
  add(content: Buffer): string {
    const hex = blobId(content);
    if (this.seen.has(hex)) return hex;
    this.seen.add(hex);
    const entry = Buffer.concat([entryHeader(OBJ_BLOB, content.length), deflateSync(content, { level: 1 })]);
    if (this.size + entry.length > MAX_PACK_BYTES && this.objects.length > 0) this.flush();
    this.objects.push({ id: Buffer.from(hex, 'hex'), offset: this.size, crc: crc32(entry) });
    this.parts.push(entry);
    this.size += entry.length;
    return hex;
  }

  /** Write what was added and not written yet. Nothing is visible to git until the idx is in place. */
  flush(): void {
    const objects = this.objects;
    if (objects.length === 0) return;
    const header = Buffer.alloc(12);
    header.write('PACK', 0, 'latin1');
    header.writeUInt32BE(2, 4);
    header.writeUInt32BE(objects.length, 8);
    const body = [header, ...this.parts];
    const hash = createHash('sha1');
    for (const b of body) hash.update(b);
    const packSum = hash.digest();
    body.push(packSum);
    const base = join(this.packDir, `pack-${packSum.toString('hex')}`);
    // The pack first, then the idx that makes git see it; each under a temporary name until complete.
    writeDurably(`${base}.pack`, body);
    writeDurably(`${base}.idx`, [indexOf(objects, packSum)]);
    this.written.push(base);
    this.parts = [];
    this.objects = [];
    this.size = 12;
  }
}

/** The `.idx` (version 2) of a pack: fan-out, sorted ids, CRCs, offsets, checksums. */
function indexOf(objects: PackedObject[], packSum: Buffer): Buffer {
  const sorted = [...objects].sort((a, b) => Buffer.compare(a.id, b.id));
  const n = sorted.length;
  const out = Buffer.alloc(8 + 256 * 4 + n * 28 + 40);
  out.writeUInt32BE(0xff744f63, 0);
  out.writeUInt32BE(2, 4);
  const fanout = new Uint32Array(256);
  for (const o of sorted) fanout[o.id[0]!]!++;
  let at = 8;
  let running = 0;
  for (let i = 0; i < 256; i++, at += 4) out.writeUInt32BE((running += fanout[i]!), at);
  for (const o of sorted) at += o.id.copy(out, at);
  for (const o of sorted) at = out.writeUInt32BE(o.crc, at);
  for (const o of sorted) at = out.writeUInt32BE(o.offset, at);
  at += packSum.copy(out, at);
  createHash('sha1').update(out.subarray(0, at)).digest().copy(out, at);
  return out;
}

/** Write a file under a temporary name, flush it to disk, and rename it into place. */
function writeDurably(path: string, parts: Buffer[]): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o444);
    try {
      writeSync(fd, Buffer.concat(parts));
      fsyncSync(fd); // as git does for packs: a commit may point into it
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
