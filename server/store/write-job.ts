/**
 * The per-file work of a restore's writes of packed objects (write-files.ts hands out the jobs,
 * to the hashing worker threads for large restores): read each object from its pack, check its
 * SHA-1, and create the file at its staged path beside its place. Nothing here replaces a file
 * of the resource: the staged files are renamed into place (write-files.ts applyChanges) once every job
 * succeeded, so a corrupt object stops the restore before anything changes.
 * Kept free of the store's own module, which the worker bundle does not need.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { oneShotSha1, writeAll } from '../resources/hashtree/hash-files.js';

/** Files to write, in pack order; per file its staged path, object id and where the object is. */
export interface WriteJob {
  kind: 'write';
  id: number;
  /** Staged paths, each followed by a NUL (one string clones faster than an array). */
  paths: string;
  /** 40 hex characters per file. */
  ids: string;
  /** Per file: the pack file it is in (index into `sources`). */
  packs: Int32Array;
  offsets: Float64Array;
  lengths: Float64Array;
  /** Per file: 1 for an executable file. */
  exec: Uint8Array;
  /** Pack files (absolute). */
  sources: string[];
}

export interface WriteJobResult {
  kind: 'write';
  id: number;
  /** Files written (all of them unless `error`). */
  written: number;
  /** The first failure; the files after it are not written. */
  error?: { path: string; message: string; corrupt?: { id: string; where: string } };
}

/** Bytes read from a pack at once: dozens of small objects in a row, like ContentStore's windows. */
const WINDOW = 64 << 10;
/** Objects further apart than this are read separately: a read call costs less than copying the bytes between them. */
const GAP = 16 << 10;
/** Reused by every job of this thread (a window is consumed before the next read). */
let window = Buffer.allocUnsafe(WINDOW);

export function runWriteJob(job: WriteJob): WriteJobResult {
  const paths = job.paths.split('\0');
  const fds = new Map<number, number>();
  let winPack = -1;
  let winOffset = 0;
  let winLength = 0;
  let written = 0;
  let path = '';
  try {
    for (let i = 0; i < job.packs.length; i++) {
      path = paths[i]!;
      const id = job.ids.slice(i * 40, i * 40 + 40);
      const mode = job.exec[i] === 1 ? 0o777 : 0o666;
      const pack = job.packs[i]!;
      const offset = job.offsets[i]!;
      const length = job.lengths[i]!;
      if (pack !== winPack || offset < winOffset || offset + length > winOffset + winLength) {
        let fd = fds.get(pack);
        if (fd === undefined) fds.set(pack, (fd = openSync(job.sources[pack]!, 'r')));
        if (length > window.length) window = Buffer.allocUnsafe(length);
        // As far as the objects that follow closely: a 1% restore's objects lie 50-100 KB apart,
        // and reading whole windows for them copied 57 MB to write 2 MB.
        let end = offset + length;
        for (let k = i + 1; k < job.packs.length && job.packs[k] === pack && job.offsets[k]! - end <= GAP && job.offsets[k]! + job.lengths[k]! <= offset + window.length; k++) {
          end = Math.max(end, job.offsets[k]! + job.lengths[k]!);
        }
        winLength = readSync(fd, window, 0, end - offset, offset);
        winPack = pack;
        winOffset = offset;
        if (winLength < length) return { kind: 'write', id: job.id, written, error: { path, message: 'corrupt', corrupt: { id, where: `${job.sources[pack]} is truncated` } } };
      }
      const bytes = window.subarray(offset - winOffset, offset - winOffset + length);
      if (oneShotSha1(bytes) !== id) return { kind: 'write', id: job.id, written, error: { path, message: 'corrupt', corrupt: { id, where: job.sources[pack]! } } };
      const out = openSync(path, 'wx', mode);
      try {
        writeAll(out, bytes);
      } finally {
        closeSync(out);
      }
      written++;
    }
    return { kind: 'write', id: job.id, written };
  } catch (e) {
    return { kind: 'write', id: job.id, written, error: { path, message: `Cannot write ${path}: ${e instanceof Error ? e.message : String(e)}` } };
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
}
