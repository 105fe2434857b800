/**
 * Garbage collection and verification of the content store. Roots: the store trees recorded by
 * every snapshot still in the history of every workspace using the store, the trees kept by
 * `restore --force` (saved/), and this workspace's current files. gc holds the store's lock, so
 * no writer runs meanwhile; it makes a pack invisible (index first) before removing it, and
 * writes a pack of what it keeps before removing the old one, so an interrupted gc leaves a valid
 * store (at worst with a pack too many, which the next gc removes).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync, openSync, closeSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../workspace/files.js';
import { META_DIR, type Workspace } from '../workspace/workspace.js';
import { entryTrees, RUN_CACHE_DIR, runCacheRoots } from './run-cache.js';
import { ID_BYTES } from './known-ids.js';
import { entryLength, entryOffset, publishPack, type PackEntry } from './pack.js';
import { LARGE_OBJECT_BYTES, type ContentStore } from './store.js';
import { writeAll } from '../resources/hashtree/hash-files.js';
import { reachable } from './trees.js';
import { faultPoint } from '../workspace/fault.js';

/** Store trees recorded by the snapshots still in the history of the workspace at `wsDir`. */
export function snapshotRoots(wsDir: string): { hash: string; trees: string[] }[] {
  const recDir = join(wsDir, META_DIR, 'snapshot_store');
  if (!existsSync(recDir)) return [];
  const out: { hash: string; trees: string[] }[] = [];
  for (const f of readdirSync(recDir)) {
    const hash = f.slice(0, 40);
    if (!/^[0-9a-f]{40}\.json$/.test(f) || !existsSync(join(wsDir, META_DIR, 'snapshot_metadata', `${hash}_md.json`))) continue;
    const rec = readJsonFile(join(recDir, f)) as Record<string, string>;
    out.push({ hash, trees: Object.values(rec).filter((t) => typeof t === 'string') });
  }
  return out;
}

/**
 * Store trees recorded by the snapshots and run-cache entries at the tip of every ref of the
 * workspace repository (branches, tags and remote-tracking branches): what other clones pushed
 * is there once fetched, though not in this working tree.
 */
export async function refRoots(ws: Workspace): Promise<string[]> {
  const refs = await ws.git.run(['for-each-ref', '--format=%(objectname) %(objecttype) %(*objecttype)', 'refs/heads', 'refs/tags', 'refs/remotes']);
  const commits = new Set<string>();
  for (const line of refs.split('\n')) {
    const [id, type, peeled] = line.split(' ');
    if (type === 'commit' || peeled === 'commit') commits.add(`${id}^{commit}`);
  }
  const records = new Map<string, string>(); // blob id -> 'store' | 'run'
  for (const c of commits) {
    const out = await ws.git.run(['ls-tree', '-r', '-z', c, '--', `${META_DIR}/snapshot_store`, `${META_DIR}/snapshot_metadata`, RUN_CACHE_DIR]);
    const entries = out.split('\0').filter(Boolean).map((e) => ({ blob: e.slice(e.indexOf(' blob ') + 6, e.indexOf('\t')), path: e.slice(e.indexOf('\t') + 1) }));
    // A snapshot whose metadata is gone was deleted (delete-snapshot), as snapshotRoots has it.
    const described = new Set(entries.map((e) => /snapshot_metadata\/([0-9a-f]{40})_md\.json$/.exec(e.path)?.[1]));
    for (const { blob, path } of entries) {
      const rec = /snapshot_store\/([0-9a-f]{40})\.json$/.exec(path);
      if (rec !== null && described.has(rec[1])) records.set(blob, 'store');
      else if (path.startsWith(`${RUN_CACHE_DIR}/`) && path.endsWith('.json')) records.set(blob, 'run');
    }
  }
  const trees: string[] = [];
  for (const [blob, bytes] of await ws.git.catBlobs([...records.keys()])) {
    let data: unknown;
    try {
      data = JSON.parse(bytes.toString('utf8'));
    } catch {
      continue; // as runCacheRoots skips a malformed entry (a snapshot's record never is one)
    }
    if (records.get(blob) === 'run') trees.push(...entryTrees(data));
    else if (typeof data === 'object' && data !== null) trees.push(...Object.values(data).filter((t): t is string => typeof t === 'string'));
  }
  return trees;
}

/** What gc keeps: the snapshots and run-cache entries of every workspace sharing the store, and the trees `restore --force` kept. */
export function keptRoots(store: ContentStore, wsDir: string): string[] {
  return [...registeredWorkspaces(store, wsDir).flatMap((d) => [...snapshotRoots(d).flatMap((s) => s.trees), ...runCacheRoots(d)]), ...savedRoots(store)];
}

/** Trees kept by `restore --force`. */
export function savedRoots(store: ContentStore): string[] {
  const d = join(store.dir, 'saved');
  return existsSync(d) ? readdirSync(d).filter((f) => /^[0-9a-f]{40}$/.test(f)) : [];
}

/** Every object reachable from `roots`; `missing` gets the ones the store lacks. */
export function reachableFrom(store: ContentStore, roots: Iterable<string>, missing?: Set<string>): Set<string> {
  const into = new Set<string>();
  for (const r of roots) reachable(store, r, into, missing);
  return into;
}

export interface GcPlan {
  keep: { objects: number; bytes: number };
  remove: { objects: number; bytes: number };
  /** Packs with nothing reachable (removed whole), and packs with some (rewritten). */
  deadPacks: string[];
  mixedPacks: string[];
  deadLoose: string[];
}

export function planGc(store: ContentStore, live: Set<string>): GcPlan {
  const plan: GcPlan = { keep: { objects: 0, bytes: 0 }, remove: { objects: 0, bytes: 0 }, deadPacks: [], mixedPacks: [], deadLoose: [] };
  const seen = new Set<string>(); // an object in two packs counts once as kept
  for (const p of store.packIndexes) {
    let live_ = 0;
    for (let i = 0; i < p.count; i++) {
      const id = p.ids.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES);
      const len = entryLength(p, i);
      // A repaired object's file of its own is kept below; its entry here is dead bytes (store.shadowed).
      if (live.has(id) && !seen.has(id) && !store.shadowed(id)) {
        seen.add(id);
        live_++;
        plan.keep.objects++;
        plan.keep.bytes += len;
      } else {
        plan.remove.objects++;
        plan.remove.bytes += len;
      }
    }
    if (live_ === 0) plan.deadPacks.push(p.name);
    else if (live_ < p.count) plan.mixedPacks.push(p.name);
  }
  for (const id of store.looseIds) {
    const size = statSync(store.loosePath(id)).size;
    if (live.has(id) && !seen.has(id)) {
      seen.add(id);
      plan.keep.objects++;
      plan.keep.bytes += size;
    } else {
      plan.remove.objects++;
      plan.remove.bytes += size;
      plan.deadLoose.push(id);
    }
  }
  return plan;
}

/** Carry out a plan: a new pack with the live objects of mixed packs, then removals (index before pack). */
export function applyGc(store: ContentStore, live: Set<string>, plan: GcPlan): void {
  const mixed = new Set(plan.mixedPacks);
  const entries: PackEntry[] = [];
  const kept = new Set<string>();
  let tmp: string | null = null;
  let fd = -1;
  let size = 0;
  let written: string | null = null;
  try {
    for (const p of store.packIndexes) {
      if (!mixed.has(p.name)) continue;
      const src = openSync(join(store.packDir, `${p.name}.pack`), 'r');
      try {
        for (let i = 0; i < p.count; i++) {
          const id = p.ids.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES);
          if (!live.has(id) || kept.has(id) || store.shadowed(id) || inOtherLivePack(store, id, mixed)) continue;
          const len = entryLength(p, i);
          const bytes = Buffer.allocUnsafe(len);
          readSync(src, bytes, 0, len, entryOffset(p, i));
          if (tmp === null) {
            tmp = join(store.tmpDir, `gc-${process.pid}.pack`);
            fd = openSync(tmp, 'w', 0o644); // read-only once published (publishPack)
          }
          writeAll(fd, bytes);
          entries.push({ id, offset: size, length: len });
          size += len;
          kept.add(id);
        }
      } finally {
        closeSync(src);
      }
    }
    if (fd >= 0) {
      closeSync(fd);
      fd = -1;
      written = publishPack(tmp!, store.packDir, entries, size);
      faultPoint('gc.after-new-pack');
    }
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  // The new pack is named by its index: it may be a pack of the plan, same objects at the same places.
  for (const name of [...plan.deadPacks, ...plan.mixedPacks].filter((n) => n !== written)) {
    rmSync(join(store.packDir, `${name}.idx`), { force: true });
    faultPoint('gc.index-removed-before-pack');
    rmSync(join(store.packDir, `${name}.pack`), { force: true });
    rmSync(join(store.verifiedDir, `${name}.idx`), { force: true }); // its check record (readPackIndex)
  }
  for (const id of plan.deadLoose) {
    rmSync(store.loosePath(id), { force: true });
    rmSync(join(store.verifiedDir, id), { force: true }); // its check record (store.verifyLarge)
  }
  faultPoint('gc.after-removals');
  // Unindexed packs (a crash before their index) and anything left in tmp/ by dead writers.
  for (const f of readdirSync(store.packDir)) {
    if (f.endsWith('.pack') && !existsSync(join(store.packDir, `${f.slice(0, -5)}.idx`))) rmSync(join(store.packDir, f), { force: true });
  }
  for (const f of readdirSync(store.tmpDir)) rmSync(join(store.tmpDir, f), { recursive: true, force: true });
  store.reload();
}

/** A live object also in a pack that stays as it is (neither dead nor rewritten): not copied again. */
function inOtherLivePack(store: ContentStore, id: string, rewritten: Set<string>): boolean {
  const loc = store.locate(id);
  return loc !== undefined && loc.pack >= 0 && !rewritten.has(store.packIndexes[loc.pack]!.name);
}

/** Check every object's bytes against its id. */
export function verifyObjects(store: ContentStore, onProgress?: (done: number) => void): { objects: number; bytes: number; corrupt: { id: string; where: string }[] } {
  const corrupt: { id: string; where: string }[] = [];
  let objects = 0;
  let bytes = 0;
  for (const p of store.packIndexes) {
    const path = join(store.packDir, `${p.name}.pack`);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      corrupt.push({ id: '(all)', where: `${path} is missing` });
      continue;
    }
    try {
      for (let i = 0; i < p.count; i++) {
        const id = p.ids.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES);
        if (store.shadowed(id)) continue; // repaired: the file of its own is checked below
        const len = entryLength(p, i);
        const buf = Buffer.allocUnsafe(len);
        const n = readSync(fd, buf, 0, len, entryOffset(p, i));
        if (n !== len || createHash('sha1').update(buf).digest('hex') !== id) corrupt.push({ id, where: path });
        objects++;
        bytes += len;
        if ((objects & 1023) === 0) onProgress?.(objects);
      }
    } finally {
      closeSync(fd);
    }
  }
  for (const id of store.looseIds) {
    const path = store.loosePath(id);
    const h = createHash('sha1');
    const fd = openSync(path, 'r');
    const buf = Buffer.allocUnsafe(LARGE_OBJECT_BYTES);
    try {
      for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) {
        h.update(buf.subarray(0, n));
        bytes += n;
      }
    } finally {
      closeSync(fd);
    }
    if (h.digest('hex') !== id) corrupt.push({ id, where: path });
    objects++;
  }
  return { objects, bytes, corrupt };
}

/** The workspace paths registered with a store (for gc across workspaces sharing it) that are still there. */
export function registeredWorkspaces(store: ContentStore, self: string): string[] {
  return [...new Set([self, ...store.workspaces().here])];
}
