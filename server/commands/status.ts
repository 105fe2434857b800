/** `dws/status`: the resources of the workspace, the recorded steps that are stale, and on request its history (cli.md `status`). */
import { join } from 'node:path';
import type { ResultOf, status as Status, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { LineageStore } from '../../lineage/store.js';
import { GitRepoResource } from '../resources/git.js';
import { openResource } from '../resources/registry.js';
import { changesSinceSnapshot, storedResources } from '../store/share.js';
import { Workspace } from '../workspace/workspace.js';
import { snapshotHistory } from './report-history.js';
import { workspaceStatus } from './report-status.js';

type StatusResult = ResultOf<typeof Status>;

export async function status(ctx: Context, p: ValidParamsOf<typeof Status>): Promise<StatusResult> {
  if (ctx.watched === undefined) return (await computeStatus(ctx, p)).value;
  return ctx.watched.remember(`${ctx.cwd}\0${JSON.stringify(p)}`, () => computeStatus(ctx, p));
}

/**
 * The answer, and the files it was read from besides the resources' own (which a server
 * watches); null when it must not be kept: its `changes` compare files with the content store,
 * which other processes change (gc, another workspace's snapshot).
 */
async function computeStatus(ctx: Context, p: ValidParamsOf<typeof Status>): Promise<{ value: StatusResult; files: string[] | null }> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  await ctx.watched?.follow(ws.dir);
  // A resource that cannot be opened here (unknown type, not cloned) is still listed; it just
  // cannot make a step stale.
  const resources = (await Promise.all(ws.resources.map((r) => openResource(ws, r).catch(() => null)))).filter((r) => r !== null);
  const { workspaceStaleness } = await import('../../runner/freshness.js');
  const lineage = LineageStore.withFallback(ws);
  const st = await workspaceStaleness(ws, lineage, resources, ctx.watched?.currentHash);
  const result = {
    ...(await workspaceStatus(ws)),
    stale: { steps: st.steps, outputs: st.outputs, removed: st.removed },
    ...(p.changes ? { changes: await changesSinceSnapshot(ws, resources) } : {}),
  };
  const files = p.changes && storedResources(resources).length > 0 ? null : [
    // (resources.json and resource_local_params.json are followed by the watcher.)
    ...['config.json', 'local_params.json', 'snapshots', 'snapshot_metadata'].map((f) => ws.meta(f)),
    ...lineage.files(),
    ...st.files,
    // Git state moves without a file event in a resource (a commit, a checkout): the workspace's and each git resource's.
    ...[ws.dir, ...resources.flatMap((r) => (r instanceof GitRepoResource ? [r.localPath] : []))].flatMap(gitStateFiles),
  ];
  return { value: p.history ? { ...result, history: snapshotHistory(ws, p.limit) } : result, files };
}

/**
 * The files a commit, checkout, reset or staging in the repository at `dir` changes: HEAD moves
 * are also logged in logs/HEAD, branch updates rename a file into refs/heads.
 */
function gitStateFiles(dir: string): string[] {
  return ['HEAD', 'index', join('logs', 'HEAD'), join('refs', 'heads')].map((f) => join(dir, '.git', f));
}
