/**
 * Files a restore replaces or removes, set aside so that freeing their blocks is not on the
 * restore's path: <store>/trash/, on the store's filesystem, never in a workspace's files. On
 * this machine kind's file system (ext4 without a journal, mounted with discard) a file's blocks
 * are discarded as it is freed: an unlink of a 1 KB file costs ~90-150 µs (more while the disk is
 * busy), a 100 MB one ~40 ms; moving it here costs ~25 µs, linking it here ~15 µs.
 *
 * The trash only ever holds files and directories already taken out of a resource or an output,
 * or second links to files the restore is replacing: emptying it never loses anything the
 * restore was not replacing. A crash leaves entries behind, which the next emptying removes.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export class Trash {
  readonly dir: string;
  /** This process's folder here, made at the first slot. */
  private folder: string | null = null;
  private slots = 0;

  /**
   * `replace`: how a restore sets aside a file it replaces: 'link' (a second link here, then the
   * new file renamed over it: the path always holds a whole file) or 'move' (moved here first,
   * then the new file renamed to the free path: for large files, as renaming over a file makes
   * ext4 start writing the new one back at once, which the next fsync then waits for).
   */
  constructor(
    storeDir: string,
    readonly replace: 'link' | 'move' = 'move',
  ) {
    this.dir = join(storeDir, 'trash');
  }

  /** Whether what lies below `root` can be set aside here: on the same filesystem (a rename or link across two fails). */
  holds(root: string): boolean {
    try {
      mkdirSync(this.dir, { recursive: true });
      return statSync(this.dir).dev === statSync(root).dev;
    } catch {
      return false;
    }
  }

  /** A free path here for one file or directory set aside. */
  slot(): string {
    if (this.folder === null) {
      const folder = join(this.dir, `${process.pid}-${randomBytes(6).toString('hex')}`);
      mkdirSync(folder, { recursive: true });
      this.folder = folder;
    }
    return join(this.folder, String(this.slots++));
  }

  /**
   * Move the directory or file at `path` here (it is being removed or replaced); false when that
   * is not possible (another filesystem, nothing there): the caller then removes or replaces it
   * as before.
   */
  take(path: string): boolean {
    try {
      renameSync(path, this.slot());
      return true;
    } catch {
      return false;
    }
  }

  /** Remove everything here, in libuv's threads. Never throws: what stays is removed next time. */
  async empty(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    await Promise.all(names.map((n) => rm(join(this.dir, n), { recursive: true, force: true }).catch(() => {})));
  }

  /**
   * Remove everything here in a process of its own that outlives this one (`rm`), so that a
   * command's reply does not wait for the blocks to be freed. Never throws: without `rm`, what
   * stays is removed by the next emptying.
   */
  emptyInBackground(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    if (names.length === 0) return;
    try {
      const child = spawn('rm', ['-rf', '--', ...names], { cwd: this.dir, detached: true, stdio: 'ignore' });
      child.on('error', () => {});
      child.unref();
    } catch {
      // no rm: left to the next emptying
    }
  }
}
