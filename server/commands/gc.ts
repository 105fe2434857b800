/** `dws/gc`: remove content-store objects that nothing reaches (store/gc.ts says what is kept). */
import { ConfigurationError } from '../../protocol/errors.js';
import type { gc as Gc, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { openResources } from '../resources/registry.js';
import { applyGc, planGc, reachableFrom, registeredWorkspaces, savedRoots, snapshotRoots } from '../store/gc.js';
import { copyFiles, fetchObjects, listRemote, requireRemote } from '../store/remote.js';
import { scanTree, scannedFileIds } from '../store/restore-files.js';
import { runCacheRoots } from '../store/run-cache.js';
import { Trash } from '../store/trash.js';
import { withStoreLock, workspaceStore } from '../store/workspace-store.js';
import { exec as rclone } from '../resources/rclone-binary.js';
import { ID_BYTES } from '../store/known-ids.js';
import { readPackIndex } from '../store/pack.js';
import { writePushed } from '../store/pushed.js';
import { Workspace } from '../workspace/workspace.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export async function gc(ctx: Context, p: ValidParamsOf<typeof Gc>): Promise<ResultOf<typeof Gc>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const remote = p.remote ? requireRemote(ws, 'gc --remote was asked for') : null;
  return withStoreLock(ws, 'dws gc', async () => {
    const store = workspaceStore(ws);
    store.reload();
    // The run cache's entries keep their outputs, as snapshots do (server/store/run-cache.ts).
    const roots = [...registeredWorkspaces(store, ws.dir).flatMap((d) => [...snapshotRoots(d).flatMap((s) => s.trees), ...runCacheRoots(d)]), ...savedRoots(store)];
    const missing = new Set<string>();
    const live = reachableFrom(store, roots, missing);
    for (const r of (await openResources(ws)).filter((x) => x.storeFiles)) {
      for (const id of scannedFileIds(await scanTree(r.storeFiles!.root, r.storeFiles!.cacheFile, undefined, { resource: r.name }))) live.add(id);
    }
    const plan = planGc(store, live);
    if (!p.dryRun) {
      applyGc(store, live, plan);
      await new Trash(store.dir).empty(); // what a crashed restore set aside and never freed
    }
    let remoteRemoved: ResultOf<typeof Gc>['remoteRemoved'] = null;
    if (remote !== null) {
      // Trees not here are fetched first: what they reach must be known before anything there goes.
      if (missing.size > 0 && (await fetchObjects(ws, store, remote, missing)).size > 0) {
        throw new ConfigurationError(`Some snapshots' trees are neither here nor on ${remote}: cannot tell what the remote's objects are for, so nothing was removed there. Run 'dws fsck --remote'.`);
      }
      remoteRemoved = await gcRemote(ws, remote, reachableFrom(store, roots), p.dryRun);
    }
    return { dryRun: p.dryRun, kept: plan.keep, removed: plan.remove, packsRewritten: plan.mixedPacks.length, remoteRemoved };
  });
}

/** On the remote, remove packs none of whose objects is live (index first) and dead large objects; packs are not rewritten there. */
async function gcRemote(ws: Workspace, remote: string, live: Set<string>, dryRun: boolean): Promise<{ objects: number; bytes: number }> {
  const there = await listRemote(ws, remote);
  const store = workspaceStore(ws);
  const stage = mkdtempSync(join(store.tmpDir, 'gc-remote-'));
  const removed = { objects: 0, bytes: 0 };
  const doomed: string[] = [];
  try {
    const idx = [...there].filter((f) => /^packs\/[0-9a-f]{40}\.idx$/.test(f));
    await copyFiles(ws, remote, stage, idx, stage);
    for (const f of idx) {
      const name = f.slice(6, 46);
      const pi = readPackIndex(join(stage, 'packs'), name);
      let anyLive = false;
      for (let i = 0; i < pi.count && !anyLive; i++) anyLive = live.has(pi.ids.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES));
      if (anyLive) continue;
      removed.objects += pi.count;
      removed.bytes += pi.packSize;
      doomed.push(f, `packs/${name}.pack`);
    }
    for (const f of there) {
      const m = /^objects\/([0-9a-f]{2})\/([0-9a-f]{38})$/.exec(f);
      if (m && !live.has(m[1]! + m[2]!)) {
        removed.objects++;
        doomed.push(f);
      }
    }
    if (!dryRun) {
      // Out of the push record first: should a removal fail, the next push offers the file again.
      const gone = new Set(doomed);
      writePushed(ws, remote, [...there].filter((f) => !gone.has(f)));
      for (const f of doomed) await rclone(ws.ctx, ws.dir, ['deletefile', `${remote.replace(/\/$/, '')}/${f}`]);
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return removed;
}
