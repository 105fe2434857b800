/**
 * Replacing corrupt objects of the local content store with the store remote's copies: restore,
 * pull and clone when they meet one (Repairs), and `dws fsck --repair` (repairObjects). A copy is
 * checked against its SHA-1 before it is used, and becomes the object's file of its own
 * (ContentStore.adoptRepaired), which lookups prefer to a pack entry: a corrupt packed copy cannot
 * be replaced in place (packs are append-only behind their index), so it is left as dead bytes.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Workspace } from '../workspace/workspace.js';
import { CorruptObjectError } from './large-objects.js';
import { remoteLocation, RemoteFetcher } from './remote.js';
import { ContentStore } from './store.js';
import { storeRemoteOf } from './workspace-store.js';

/**
 * Replace the objects `ids` of `store` with intact copies from the store remote `remote` (a
 * location: remoteLocation); tells the user how many were replaced. Returns the ids the remote
 * has no intact copy of (those are left as they were).
 */
export async function repairObjects(ws: Workspace, store: ContentStore, remote: string, ids: Iterable<string>): Promise<Set<string>> {
  const want = new Set(ids);
  // The remote's copies go into a store of their own first: the local one has these ids already,
  // so its fetcher would not download them. Named as a writer's temp file: swept if this process dies.
  const scratchDir = join(store.tmpDir, `repair-${process.pid}-${randomBytes(6).toString('hex')}`);
  const scratch = ContentStore.open(scratchDir);
  const failed = new Set<string>();
  let replaced = 0;
  try {
    const missing = await new RemoteFetcher(ws, scratch, remote).fetch(want);
    for (const id of want) {
      if (missing.has(id)) {
        failed.add(id);
        continue;
      }
      const tmp = join(store.tmpDir, `repair-${process.pid}-${randomBytes(6).toString('hex')}`);
      try {
        await scratch.copyObjectTo(id, tmp, 0o444, 'wx'); // checked against the id before it is written
      } catch (e) {
        rmSync(tmp, { force: true });
        if (!(e instanceof CorruptObjectError)) throw e;
        failed.add(id);
        continue;
      }
      store.adoptRepaired(id, tmp);
      replaced++;
    }
  } finally {
    scratch.close();
    rmSync(scratchDir, { recursive: true, force: true });
    // Also when a later copy failed: what was replaced stays so.
    if (replaced > 0) ws.ctx.log.warn(replaced === 1 ? "Replaced 1 corrupt object in the content store with the store remote's copy." : `Replaced ${replaced} corrupt objects in the content store with the store remote's copies.`);
  }
  return failed;
}

/** The objects of `ids` in `store` whose bytes do not hash to their id, with where they are (each is read: call only once one was found corrupt). */
function corruptAmong(store: ContentStore, ids: Iterable<string>): CorruptObjectError[] {
  const corrupt: CorruptObjectError[] = [];
  for (const id of ids) {
    const loc = store.locate(id);
    if (loc === undefined) continue;
    try {
      if (loc.pack === -1) store.verifyLarge(id);
      else store.read(id, loc);
    } catch (e) {
      if (!(e instanceof CorruptObjectError)) throw e;
      corrupt.push(e);
    }
  }
  return corrupt;
}

/** The repairs of one command (a restore, a clone's or a pull's files): what it meets corrupt is replaced from the store remote, once. */
export class Repairs {
  private readonly tried = new Set<string>();

  constructor(
    private readonly ws: Workspace,
    private readonly store: ContentStore,
  ) {}

  /**
   * Run `step`; when it fails on a corrupt object, replace that object and those of `suspects()`
   * found corrupt too (so that one retry does) from the store remote, and run it again. The
   * step's error stands without a store remote; when the remote has no intact copy, the error
   * says so. `step` must have changed nothing when it throws CorruptObjectError.
   */
  async retrying<T>(step: () => Promise<T>, suspects: () => Iterable<string> = () => []): Promise<T> {
    for (;;) {
      try {
        return await step();
      } catch (e) {
        const remote = storeRemoteOf(this.ws);
        if (!(e instanceof CorruptObjectError) || remote === null || this.tried.has(e.id)) throw e;
        const met = new Map([e, ...corruptAmong(this.store, suspects())].map((c) => [c.id, c]));
        for (const id of met.keys()) this.tried.add(id);
        const failed = await repairObjects(this.ws, this.store, remoteLocation(this.ws, remote), met.keys());
        if (failed.size > 0) {
          const first = met.get(failed.has(e.id) ? e.id : [...failed][0]!)!;
          const others = failed.size > 1 ? ` (nor of ${failed.size - 1} other corrupt object(s) needed here)` : '';
          throw new CorruptObjectError(first.id, first.where, `The store remote ${remote} has no intact copy of it either${others}, so it cannot be replaced.`);
        }
      }
    }
  }
}
