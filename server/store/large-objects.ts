/**
 * The large objects of a content store: files of their own, `<store>/objects/<2 hex>/<38 hex>`,
 * read-only, each checked against its id once (`<store>/verified-large/<id>`). This part of a
 * store needs none of its pack indexes: a run-cache restore starts copying a large output from
 * here before it opens the store (issue 12).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, openSync, readSync, rmSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileStamp, readIfExists, writeCacheFile } from '../workspace/files.js';
import { AdvisedError } from './advice.js';

const CHUNK = 1 << 20;

export class CorruptObjectError extends AdvisedError {
  /** `remedy`: what to do, when not the default (a repair from the store remote, repair.ts, failed). */
  constructor(
    readonly id: string,
    readonly where: string,
    remedy?: string,
  ) {
    super(
      (command) =>
        `Object ${id} in the content store is corrupt (${where}: its bytes do not hash to its id). ${
          remedy ??
          `Run '${command('dws/fsck')}' to check the whole store; with a store remote that holds a good copy ('${command('dws/config', { name: 'store.remote', value: 'REMOTE' })}'), restore, pull, clone and '${command('dws/fsck', { repair: true })}' replace it.`
        }`,
      { id, where },
    );
    this.name = 'CorruptObjectError';
  }
}

export class LargeObjects {
  readonly objectDir: string;
  readonly verifiedDir: string;
  private readonly tmpDir: string;
  private umaskBits: number | undefined;

  /** The large objects of the store at `dir` (nothing is read or made until used). */
  constructor(dir: string) {
    this.objectDir = join(dir, 'objects');
    this.verifiedDir = join(dir, 'verified-large');
    this.tmpDir = join(dir, 'tmp');
  }

  path(id: string): string {
    return join(this.objectDir, id.slice(0, 2), id.slice(2));
  }

  /**
   * Make the file `dest` (opened with `flags` and `mode`, as openSync does) hold the object,
   * checked once (verify) and copied by the kernel (copyFile: copy_file_range, a reflink where
   * the filesystem has them) in libuv's threads, so that this thread can go on meanwhile. Throws
   * CorruptObjectError before `dest` is touched; `beforeOpen` runs once the object is checked.
   */
  async copyTo(id: string, dest: string, mode: number, flags: 'w' | 'wx', beforeOpen?: () => void): Promise<void> {
    this.verify(id);
    beforeOpen?.();
    // A new file is created by the copy itself (O_EXCL). A copy onto an existing path truncates
    // it, and on ext4 a file truncated to 0 is written back as soon as it is closed
    // (auto_da_alloc): starting that writeback of the whole file stalls the next rmdir or fsync
    // here by ~25 ms, which `cp` into a new file does not pay either.
    let kept: number | null = null; // the mode of an existing file ('w'), which openSync would keep
    const copying = copyFile(this.path(id), dest, constants.COPYFILE_EXCL).then(() => null, (e: NodeJS.ErrnoException) => e);
    const wanted = mode & ~this.umask(); // read while the kernel copies (the first read costs ~0.3 ms)
    const failed = await copying;
    if (failed !== null) {
      if (failed.code !== 'EEXIST' || flags === 'wx') throw failed;
      kept = statSync(dest).mode & 0o7777;
      await copyFile(this.path(id), dest);
    }
    chmodSync(dest, kept ?? wanted); // the copy gives dest the object's read-only mode
  }

  /**
   * Check an object's bytes against its id once: <store>/verified-large/<id> records the object
   * file's inode, size and mtime when its bytes hashed to its id, so it is not read again until
   * the file changes (replaced by a fetch or a repair). Throws CorruptObjectError.
   */
  verify(id: string): void {
    const record = join(this.verifiedDir, id);
    const stamp = fileStamp(statSync(this.path(id), { bigint: true }));
    if (readIfExists(record) === stamp) return;
    const h = createHash('sha1');
    const buf = Buffer.allocUnsafe(CHUNK);
    const fd = openSync(this.path(id), 'r');
    try {
      for (let n = readSync(fd, buf, 0, CHUNK, null); n > 0; n = readSync(fd, buf, 0, CHUNK, null)) h.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    if (h.digest('hex') !== id) throw new CorruptObjectError(id, this.path(id));
    writeCacheFile(record, stamp);
  }

  /**
   * The process's umask, read once: from /proc/self/status on Linux (~20 µs), else by creating a
   * file (~0.3 ms; process.umask() sets it to read it: racy with threads).
   */
  private umask(): number {
    if (this.umaskBits === undefined) {
      const line = /^Umask:\s*([0-7]+)$/m.exec(readIfExists('/proc/self/status') ?? '');
      if (line !== null) this.umaskBits = parseInt(line[1]!, 8) & 0o777;
      else {
        const probe = join(this.tmpDir, `umask-${process.pid}-${randomBytes(6).toString('hex')}`);
        closeSync(openSync(probe, 'wx', 0o777));
        this.umaskBits = ~statSync(probe).mode & 0o777;
        rmSync(probe);
      }
    }
    return this.umaskBits;
  }
}
