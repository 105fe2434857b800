/** `dws/gc`: remove content-store objects that nothing reaches (store/gc.ts says what is kept). */
import { ConfigurationError, SubprocessError } from '../../protocol/errors.js';
import type { gc as Gc, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { openResources } from '../resources/registry.js';
import { applyGc, keptRoots, planGc, reachableFrom, refRoots } from '../store/gc.js';
import { checkRemoteThere, copyFiles, fetchObjects, indexDamage, listRemote, remoteFile, requireRemote } from '../store/remote.js';
import { scanTree, scannedFileIds } from '../store/restore-files.js';
import { Trash } from '../store/trash.js';
import { withStoreLock, workspaceStore } from '../store/workspace-store.js';
import { exec as rclone } from '../resources/rclone-binary.js';
import { ID_BYTES } from '../store/known-ids.js';
import { DamagedPackIndexError, parsePackIndex, type PackIndex } from '../store/pack.js';
import { META_DIR, Workspace } from '../workspace/workspace.js';
import type { ContentStore } from '../store/store.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Forget the registrations of the workspaces named (deleted for good), then refuse while another
 * workspace sharing the store is not where it was registered: its snapshots cannot be read, and
 * what only they reach would go (a moved workspace registers its new place at its next command).
 */
function forgetWorkspaces(ctx: Context, store: ContentStore, forget: string[], dryRun: boolean): void {
  const { gone } = store.workspaces();
  const unknown = forget.filter((f) => !gone.includes(f));
  if (unknown.length > 0) {
    const what = (f: string) => (existsSync(join(f, META_DIR)) ? `${f} (it is still there)` : f);
    throw new ConfigurationError(`Cannot forget ${unknown.map(what).join(', ')}: only a workspace that shares this store and is gone can be forgotten${gone.length > 0 ? ` (gone: ${gone.join(', ')})` : ' (none is)'}.`, { workspaces: unknown });
  }
  if (!dryRun) for (const f of forget) store.forgetWorkspace(f);
  const left = gone.filter((g) => !forget.includes(g));
  if (left.length > 0) {
    throw new ConfigurationError(
      `The content store at ${store.dir} is shared with ${left.length === 1 ? 'a workspace that is' : 'workspaces that are'} no longer where ${left.length === 1 ? 'it was' : 'they were'} registered: ${left.join(', ')}. gc cannot read their snapshots, so it removed nothing. ` +
        `A workspace that moved: run '${ctx.command('dws/fsck')}' in it at its new place, which registers it there. A place where no workspace will be again (one deleted, or moved before dws recorded where it was registered): ${ctx.command('dws/gc', { forgetWorkspaces: left })}`,
      { workspaces: left },
    );
  }
}

/**
 * What gc --remote never removes from the remote, by the modification time rclone lists: a push
 * uploads objects before it pushes the git commits that reach them, so a fresh file may belong to
 * a snapshot no ref shows yet (a day covers a slow push, and clocks a little off).
 */
const REMOTE_GRACE_MS = 24 * 3600 * 1000;

export async function gc(ctx: Context, p: ValidParamsOf<typeof Gc>): Promise<ResultOf<typeof Gc>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const asked = `gc ${ctx.option('remote')} was asked for`;
  const remote = p.remote ? requireRemote(ws, asked) : null;
  if (remote !== null) {
    // Snapshots other clones pushed are roots on the remote: this clone must see their commits first.
    await fetchOrigin(ws, remote);
    await checkRemoteThere(ws, remote, asked);
  }
  return withStoreLock(ws, 'dws gc', async () => {
    const store = workspaceStore(ws);
    store.reload();
    forgetWorkspaces(ctx, store, p.forgetWorkspaces.map((f) => resolve(ctx.cwd, f)), p.dryRun);
    // The run cache's entries keep their outputs, as snapshots do (server/store/run-cache.ts).
    const roots = keptRoots(store, ws.dir);
    const live = reachableFrom(store, roots);
    for (const r of (await openResources(ws)).filter((x) => x.storeFiles)) {
      for (const id of scannedFileIds(await scanTree(r.storeFiles!.root, r.storeFiles!.cacheFile, undefined, { resource: r.name }))) live.add(id);
    }
    const plan = planGc(store, live);
    // Interrupted (Ctrl-C, SIGTERM, a cancelled request): stopped between steps; what is gone was unreachable.
    ctx.signal?.throwIfAborted();
    if (!p.dryRun) {
      applyGc(store, live, plan);
      await new Trash(store.dir).empty(); // what a crashed restore set aside and never freed
    }
    let remoteRemoved: ResultOf<typeof Gc>['remoteRemoved'] = null;
    ctx.signal?.throwIfAborted();
    if (remote !== null) {
      const remoteRoots = [...roots, ...(await refRoots(ws))];
      const unknown = new Set<string>();
      reachableFrom(store, remoteRoots, unknown);
      // Trees not here are fetched first: what they reach must be known before anything there goes.
      if (unknown.size > 0 && (await fetchObjects(ws, store, remote, unknown)).size > 0) {
        throw new ConfigurationError(`Some snapshots' trees are neither here nor on ${remote}: cannot tell what the remote's objects are for, so nothing was removed there. Run '${ws.ctx.command('dws/fsck', { remote: true })}'.`);
      }
      const reached = reachableFrom(store, remoteRoots);
      for (const id of live) reached.add(id); // current files, not yet in a snapshot
      remoteRemoved = await gcRemote(ws, remote, reached, p.dryRun);
    }
    return { dryRun: p.dryRun, kept: plan.keep, removed: plan.remove, packsRewritten: plan.mixedPacks.length, remoteRemoved };
  });
}

/** `git fetch origin`, or fail saying that nothing was removed from the store remote. */
async function fetchOrigin(ws: Workspace, remote: string): Promise<void> {
  try {
    await ws.git.run(['fetch', '--quiet', 'origin']);
  } catch (e) {
    const why = e instanceof SubprocessError ? String(e.data.stderr ?? '').trim() || e.message : (e as Error).message;
    throw new ConfigurationError(
      `gc ${ws.ctx.option('remote')} must first fetch the workspace repository's origin, to know the snapshots other clones pushed, but 'git fetch origin' failed in ${ws.dir}: ${why}. Nothing was removed from the store remote ${remote}. Check that the origin exists and can be reached (set one with '${ws.ctx.command('dws/publish', { remoteUrl: 'URL' })}').`,
      { remote },
    );
  }
}

/**
 * On the remote, remove packs none of whose objects is live (index first) and dead large objects,
 * sparing files younger than REMOTE_GRACE_MS; packs are not rewritten there.
 */
async function gcRemote(ws: Workspace, remote: string, live: Set<string>, dryRun: boolean): Promise<{ objects: number; bytes: number }> {
  const there = await listRemote(ws, remote, { times: true });
  const old = (f: string) => {
    const t = there.get(f)?.modTime;
    return t !== undefined && Date.now() - t > REMOTE_GRACE_MS;
  };
  const store = workspaceStore(ws);
  const stage = mkdtempSync(join(store.tmpDir, 'gc-remote-'));
  const removed = { objects: 0, bytes: 0 };
  const doomed: string[] = [];
  try {
    const idx = [...there.keys()].filter((f) => /^packs\/[0-9a-f]{40}\.idx$/.test(f));
    await copyFiles(ws, remote, stage, idx, stage);
    for (const f of idx) {
      const name = f.slice(6, 46);
      const pack = `packs/${name}.pack`;
      if (!old(f) || (there.has(pack) && !old(pack))) continue;
      let pi: PackIndex;
      try {
        pi = parsePackIndex(readFileSync(join(stage, f)), name, `${remote}/${f}`);
      } catch (e) {
        if (!(e instanceof DamagedPackIndexError)) throw e;
        // Its pack's objects cannot be known: kept, as anything gc cannot account for.
        ws.ctx.log.warn(`Kept ${f} and its pack on the store remote ${remote}: ${indexDamage(e)}; '${ws.ctx.command('dws/fsck', { remote: true })}' checks the remote.`);
        continue;
      }
      let anyLive = false;
      for (let i = 0; i < pi.count && !anyLive; i++) anyLive = live.has(pi.ids.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES));
      if (anyLive) continue;
      removed.objects += pi.count;
      removed.bytes += there.get(pack)?.size ?? 0;
      doomed.push(f, pack);
    }
    for (const [f, { size }] of there) {
      const m = /^objects\/([0-9a-f]{2})\/([0-9a-f]{38})$/.exec(f);
      if (m && !live.has(m[1]! + m[2]!) && old(f)) {
        removed.objects++;
        removed.bytes += size;
        doomed.push(f);
      }
    }
    if (!dryRun) {
      for (const f of doomed) {
        ws.ctx.signal?.throwIfAborted();
        await rclone(ws.ctx, ws.dir, ['deletefile', remoteFile(remote, f)]);
      }
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return removed;
}
