/**
 * `dws/delete-snapshot`: remove a snapshot's manifest, metadata and frozen lineage, and (unless
 * `noIncludeResources`) its results directories (cli.md `delete-snapshot`).
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { InvalidParamsError, NotFoundError, UserAbortError } from '../../protocol/errors.js';
import type { deleteSnapshot as DeleteSnapshot, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { checkMetadata, SnapshotStore, type SnapshotMetadata } from '../backends/git/snapshots.js';
import { openResources } from '../resources/registry.js';
import { comparedSnapshot, latestTrees, storedResources } from '../store/share.js';
import { readCheckouts } from '../store/workspace-store.js';
import { isHashPrefix, isValidHostname, NAME_RULE, printable } from '../workspace/names.js';
import { parsePyJson } from '../workspace/pyjson.js';
import { faultPoint } from '../workspace/fault.js';
import { Workspace } from '../workspace/workspace.js';

export async function deleteSnapshot(ctx: Context, p: ValidParamsOf<typeof DeleteSnapshot>): Promise<ResultOf<typeof DeleteSnapshot>> {
  if (!isValidHostname(p.tagOrHash)) {
    throw new InvalidParamsError(`Snapshot tag or hash '${printable(p.tagOrHash)}' is not valid: it ${NAME_RULE}`, { tagOrHash: p.tagOrHash });
  }
  const ws = Workspace.open(ctx, p.workspaceDir);
  const md = await resolveOrHalfDeleted(ws, p.tagOrHash);
  const name = `${md.hash.slice(0, 7)} (Tagged as: ${md.tags.join(', ')})`;
  // Only results resources have snapshot directories; 1.6 also tried every other resource with
  // a restore hash, which would delete a code directory that happens to have the same path.
  const all = await openResources(ws);
  const resources = p.noIncludeResources ? [] : all.filter((r) => r.role === 'results' && Object.hasOwn(md.restore_hashes, r.name));
  // Resources whose files were last made this snapshot's (status compares them with it).
  const checkouts = readCheckouts(ws);
  const latest = latestTrees(ws);
  const madeFromIt = storedResources(all).filter((r) => comparedSnapshot(ws, r.name, checkouts, latest)?.snapshot === md.hash);
  if (ctx.prompter && !(await ctx.prompter.confirm(`Should I delete snapshot ${name}? This is not reversible.`, false))) throw new UserAbortError();

  const deletedDirectories: string[] = [];
  const noRestoreHash: string[] = [];
  for (const r of resources) {
    if (md.restore_hashes[r.name] === null || !r.deleteSnapshotDir) {
      noRestoreHash.push(r.name);
      continue;
    }
    const removed = await r.deleteSnapshotDir(md.relative_destination_path);
    if (removed) deletedDirectories.push(removed);
  }
  faultPoint('delete-snapshot.after-results-dirs');
  // The store record too: its objects become unreachable, and 'dws gc' removes them.
  const files = [ws.meta('snapshots', `snapshot-${md.hash}.json`), ws.meta('snapshot_metadata', `${md.hash}_md.json`), ws.meta('snapshot_lineage', md.hash), ws.meta('snapshot_store', `${md.hash}.json`)]
    .filter((f) => existsSync(f))
    .map((f) => relative(ws.dir, f));
  if (files.length > 0) await ws.git.run(['rm', '-r', '-f', '--quiet', '--ignore-unmatch', '--', ...files], { bulk: true });
  faultPoint('delete-snapshot.after-rm');
  await ws.git.commitStaged(`Deleted snapshot ${name}`);
  for (const r of madeFromIt) {
    ctx.log.warn(
      `Resource '${r.name}': its files were this snapshot's, so what is left of them is in no snapshot now: '${ctx.command('dws/status')}' counts it as changes, a restore will not replace it without ${ctx.option('force')}, and '${ctx.command('dws/gc')}' would remove its content from the store. Take a snapshot to keep it.`,
    );
  }
  return { hash: md.hash, name, deletedDirectories, noRestoreHash };
}

/**
 * The snapshot named `tagOrHash`; or one whose deletion was interrupted after its files were
 * removed and before the commit (its metadata is at HEAD, not on disk), which this run finishes.
 */
async function resolveOrHalfDeleted(ws: Workspace, tagOrHash: string): Promise<SnapshotMetadata> {
  const store = new SnapshotStore(ws);
  try {
    return store.resolve(tagOrHash);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    const dir = relative(ws.dir, ws.meta('snapshot_metadata'));
    const atHead = (await ws.git.run(['ls-tree', '-z', '--name-only', 'HEAD', `${dir}/`])).split('\0').filter((f) => f.endsWith('_md.json'));
    for (const f of atHead) {
      if (existsSync(join(ws.dir, f))) continue;
      const hash = f.slice(dir.length + 1, -'_md.json'.length);
      const md = checkMetadata(f, parsePyJson(await ws.git.run(['show', `HEAD:${f}`])), hash);
      if (md.tags.includes(tagOrHash) || hash === tagOrHash.toLowerCase() || (isHashPrefix(tagOrHash) && hash.startsWith(tagOrHash))) {
        ws.ctx.log.warn(`Snapshot ${hash} was being deleted when that command stopped: finishing its deletion.`);
        return md;
      }
    }
    throw e;
  }
}
