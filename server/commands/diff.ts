/**
 * `dws/diff`: compare two snapshots' manifests by resource name and hash (cli.md `diff`), and,
 * beyond 1.6, list the files that differ: local-files from their stored hash trees, git types
 * with `git diff` between the two recorded trees or commits. Two snapshots with the same compare
 * hash for a resource whose store trees differ (a size-mode resource whose files changed but kept
 * their sizes, or an executable bit) are different too, their files compared by store tree.
 */
import { existsSync } from 'node:fs';
import type { diff as Diff, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { SnapshotStore } from '../backends/git/snapshots.js';
import { readTreeFile } from '../resources/hashtree/index.js';
import { hashTreeDir } from '../resources/local-files.js';
import { openResource } from '../resources/registry.js';
import { Git } from '../workspace/git.js';
import { Workspace, type ResourceParams } from '../workspace/workspace.js';
import { readStoreRecord, workspaceStore } from '../store/workspace-store.js';
import { flattenTree } from '../store/trees.js';
import { experimentOf, valueChanges } from './experiments-common.js';

type Files = ResultOf<typeof Diff>['files'][string];
type Change = NonNullable<Files['changes']>[number];

export async function diff(ctx: Context, p: ValidParamsOf<typeof Diff>): Promise<ResultOf<typeof Diff>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const store = new SnapshotStore(ws);
  const a = store.resolve(p.snapshot1);
  const b = store.resolve(p.snapshot2);
  const ma = new Map(store.readManifest(a.hash).map((r) => [r.name, r as ResourceParams & { hash?: string | null }]));
  const mb = new Map(store.readManifest(b.hash).map((r) => [r.name, r as ResourceParams & { hash?: string | null }]));
  const same: string[] = [];
  const different: string[] = [];
  const [sa, sb] = [readStoreRecord(ws, a.hash) ?? {}, readStoreRecord(ws, b.hash) ?? {}];
  const files: Record<string, Files> = {};
  for (const [name, ra] of ma) {
    const rb = mb.get(name);
    if (!rb) continue;
    const [ta, tb] = [sa[name], sb[name]];
    if (ra.hash === rb.hash && (ta === undefined || tb === undefined || ta === tb)) {
      same.push(name);
      continue;
    }
    different.push(name);
    // The store trees, where both snapshots have them, are exact where 1.6's hash trees cannot be:
    // sizes only (no compute_hash), no exec bits, no links, and no names with a line feed.
    const local = ta !== undefined && tb !== undefined && workspaceStore(ws).has(ta) && workspaceStore(ws).has(tb);
    files[name] = local ? storeTreeChanges(ws, ta, tb) : await fileChanges(ws, ra, rb);
  }
  // Beyond 1.6: the experiments behind the two snapshots (report experiments) compared.
  const [ea, eb] = [experimentOf(ws, a), experimentOf(ws, b)];
  return {
    from: { hash: a.hash, tags: a.tags },
    to: { hash: b.hash, tags: b.tags },
    same: same.sort(),
    different: different.sort(),
    added: [...mb.keys()].filter((n) => !ma.has(n)).sort(),
    removed: [...ma.keys()].filter((n) => !mb.has(n)).sort(),
    files,
    params: valueChanges(ea.params, eb.params),
    metrics: valueChanges(ea.metrics, eb.metrics),
  };
}

async function fileChanges(ws: Workspace, ra: ResourceParams & { hash?: string | null }, rb: ResourceParams & { hash?: string | null }): Promise<Files> {
  const [ha, hb] = [ra.hash ?? null, rb.hash ?? null];
  if (ha === null || hb === null) return { changes: null, reason: 'no hash recorded in one of the snapshots' };
  if (ra.resource_type !== rb.resource_type) return { changes: null, reason: 'the resource type changed' };
  switch (ra.resource_type) {
    case 'file':
    case 'rclone': {
      // Tree files are kept for every snapshot, under the role and name the resource had then.
      const dirA = hashTreeDir(ws, ra.role, ra.name);
      const dirB = hashTreeDir(ws, rb.role, rb.name);
      if (!existsSync(`${dirA}/${ha}`) || !existsSync(`${dirB}/${hb}`)) return { changes: null, reason: 'a hash tree file is missing' };
      const changes: Change[] = [];
      try {
        compareTrees(dirA, ha, dirB, hb, '', changes);
      } catch (e) {
        return { changes: null, reason: e instanceof Error ? e.message : String(e) }; // a tree file 1.6 wrote for a name with a line feed
      }
      return { changes };
    }
    case 'git-subdirectory':
      // Compare hashes are tree ids in the workspace repository.
      return { changes: await gitChanges(ws.git, ha, hb) };
    case 'git': {
      let git: Git;
      try {
        const r = await openResource(ws, rb);
        if (!r.localPath || !existsSync(r.localPath)) return { changes: null, reason: 'the repository is not on this machine' };
        git = new Git(r.localPath, ws.ctx);
      } catch {
        return { changes: null, reason: 'the repository is not on this machine' };
      }
      if (!(await git.succeeds(['cat-file', '-e', `${ha}^{commit}`])) || !(await git.succeeds(['cat-file', '-e', `${hb}^{commit}`]))) {
        return { changes: null, reason: 'a recorded commit is not in the local repository (pull first)' };
      }
      return { changes: await gitChanges(git, ha, hb) };
    }
    default:
      return { changes: null, reason: `file lists are not available for ${ra.resource_type} resources` };
  }
}

/** The files that differ between two store trees (from the local store). */
function storeTreeChanges(ws: Workspace, a: string, b: string): Files {
  const store = workspaceStore(ws);
  if (!store.has(a) || !store.has(b)) return { changes: null, reason: 'a store tree is not in the local store (dws pull brings it)' };
  const [fa, fb] = [flattenTree(store, a), flattenTree(store, b)];
  const changes: Change[] = [];
  for (const [path, x] of fa) {
    const y = fb.get(path);
    if (y === undefined) changes.push({ status: 'D', path });
    else if (y.id !== x.id || y.mode !== x.mode) changes.push({ status: 'M', path });
  }
  for (const path of fb.keys()) if (!fa.has(path)) changes.push({ status: 'A', path });
  return { changes: changes.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0)) };
}

async function gitChanges(git: Git, a: string, b: string): Promise<Change[]> {
  const parts = (await git.run(['diff', '--no-renames', '--name-status', '-z', a, b])).split('\0');
  const changes: Change[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const s = parts[i]!;
    changes.push({ status: s === 'A' || s === 'D' ? s : 'M', path: parts[i + 1]! });
  }
  return changes;
}

/** Walk two stored hash trees in step; entries are sorted by name in both. */
function compareTrees(dirA: string, ha: string | null, dirB: string, hb: string | null, prefix: string, out: Change[]): void {
  if (ha === hb) return;
  const ea = ha === null ? [] : readTreeFile(dirA, ha);
  const eb = hb === null ? [] : readTreeFile(dirB, hb);
  const byName = new Map(eb.map((e) => [e.name, e]));
  const names = new Set([...ea.map((e) => e.name), ...eb.map((e) => e.name)]);
  const inA = new Map(ea.map((e) => [e.name, e]));
  for (const name of [...names].sort()) {
    const x = inA.get(name);
    const y = byName.get(name);
    const path = prefix + name;
    const treeA = x?.kind === 'tree' ? x.hash : null;
    const treeB = y?.kind === 'tree' ? y.hash : null;
    if (treeA !== null || treeB !== null) compareTrees(dirA, treeA, dirB, treeB, `${path}/`, out);
    if (x?.kind === 'blob' && y?.kind === 'blob') {
      if (x.hash !== y.hash) out.push({ status: 'M', path });
    } else if (x?.kind === 'blob') out.push({ status: 'D', path });
    else if (y?.kind === 'blob') out.push({ status: 'A', path });
  }
}
