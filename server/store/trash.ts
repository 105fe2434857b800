/**
 * Files a run-cache restore replaces, set aside so that freeing their blocks is not on the
 * restore's path (unlinking a 100 MB file costs ~40 ms of kernel time here, as much as copying
 * it): <store>/trash/, on the store's filesystem, never in a workspace's files.
 *
 * The trash only ever holds a second hard link to a file that is about to be replaced (the
 * replacement stays one atomic rename), or a file already taken out of an output: emptying it
 * never loses anything. A crash leaves entries behind, which the next emptying removes.
 */
import { linkSync, mkdirSync, renameSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export class Trash {
  constructor(readonly dir: string) {}

  private entry(): string {
    mkdirSync(this.dir, { recursive: true });
    return join(this.dir, `${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /**
   * Keep a link to the file at `path` here, so that replacing or removing `path` frees nothing
   * now. False when that is not possible (another filesystem, no hard links, no file): the caller
   * then replaces as before.
   */
  hold(path: string): boolean {
    return this.tryTo((entry) => linkSync(path, entry));
  }

  /** Move the directory or file at `path` here (it is being removed); false when not possible. */
  take(path: string): boolean {
    return this.tryTo((entry) => renameSync(path, entry));
  }

  private tryTo(move: (entry: string) => void): boolean {
    try {
      move(this.entry());
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
}
