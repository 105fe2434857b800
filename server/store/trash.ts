/**
 * Files a run-cache restore replaces, set aside so that freeing their blocks is not on the
 * restore's path (unlinking a 100 MB file costs ~40 ms of kernel time here, as much as copying
 * it): <store>/trash/, on the store's filesystem, never in a workspace's files.
 *
 * The trash only ever holds files and directories already taken out of an output, which the
 * restore replaces: emptying it never loses anything the restore was not replacing. A crash leaves
 * entries behind, which the next emptying removes.
 */
import { mkdirSync, renameSync } from 'node:fs';
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
   * Move the directory or file at `path` here (it is being removed or replaced); false when that
   * is not possible (another filesystem, nothing there): the caller then removes or replaces it
   * as before.
   */
  take(path: string): boolean {
    try {
      renameSync(path, this.entry());
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
