/** `dws/fsck`: verify the content store and that every snapshot's objects can be had; `repair`: replace corrupt objects from the store remote. */
import type { fsck as Fsck, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { reachableFrom, snapshotRoots, verifyObjects } from '../store/gc.js';
import { fetchObjectsDryRun, listRemote, requireExistingRemote, unlikeOnRemote } from '../store/remote.js';
import { repairObjects } from '../store/repair.js';
import { storeRemoteOf, withStoreLock, workspaceStore } from '../store/workspace-store.js';
import { Workspace } from '../workspace/workspace.js';

export async function fsck(ctx: Context, p: ValidParamsOf<typeof Fsck>): Promise<ResultOf<typeof Fsck>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const remote = p.remote ? await requireExistingRemote(ws, `fsck ${ctx.option('remote')} was asked for`) : null;
  const repairFrom = p.repair ? await requireExistingRemote(ws, `fsck ${ctx.option('repair')} was asked for`) : null;
  const store = workspaceStore(ws);
  const task = ctx.progress.begin('Checking the content store');
  let checked;
  try {
    checked = verifyObjects(store, (n) => task.report(n));
  } finally {
    task.end();
  }
  ctx.signal?.throwIfAborted(); // between steps (Ctrl-C, SIGTERM, a cancelled request); a repair under way stops with its rclone
  // Before the snapshots' trees are read below: a corrupt tree would stop that walk.
  let repaired: string[] = [];
  if (repairFrom !== null && checked.corrupt.length > 0) {
    const ids = checked.corrupt.map((c) => c.id).filter((id) => /^[0-9a-f]{40}$/.test(id)); // not '(all)': a pack file that is gone
    const failed = await withStoreLock(ws, 'dws fsck --repair', () => repairObjects(ws, store, repairFrom, ids));
    repaired = [...new Set(ids)].filter((id) => !failed.has(id)).sort();
    checked.corrupt = checked.corrupt.filter((c) => !repaired.includes(c.id));
  }
  ctx.signal?.throwIfAborted();
  const incomplete = new Set<string>();
  let missingLocally = 0;
  let missingEverywhere: number | null = null;
  const bySnapshot = snapshotRoots(ws.dir).map((s) => {
    const missing = new Set<string>();
    reachableFrom(store, s.trees, missing);
    return { hash: s.hash, missing };
  });
  const allMissing = new Set(bySnapshot.flatMap((s) => [...s.missing]));
  missingLocally = allMissing.size;
  // Objects a clone has not downloaded yet are the store remote's to give: not a problem unless it lacks them (--remote asks).
  const storeRemote = storeRemoteOf(ws);
  let gone = storeRemote === null ? allMissing : new Set<string>();
  let wrongSize: string[] = [];
  if (remote !== null) {
    ctx.signal?.throwIfAborted();
    const there = await listRemote(ws, remote);
    wrongSize = unlikeOnRemote(store, there).wrongSize;
    gone = await fetchObjectsDryRun(ws, remote, there, allMissing);
    missingEverywhere = gone.size;
  }
  for (const s of bySnapshot) if ([...s.missing].some((id) => gone.has(id))) incomplete.add(s.hash);
  return {
    objects: checked.objects,
    bytes: checked.bytes,
    corrupt: checked.corrupt,
    repaired,
    missingLocally,
    missingEverywhere,
    storeRemote,
    incompleteSnapshots: [...incomplete].sort(),
    wrongSizeOnRemote: wrongSize.sort(),
    ok: checked.corrupt.length === 0 && incomplete.size === 0 && wrongSize.length === 0,
  };
}
