/**
 * The lineage store on files (lineage.md §3): current lineage in
 * `.dataworkspace/current_lineage/<resource>.json` (git-ignored, per machine), frozen per snapshot
 * in `snapshot_lineage/<HASH>/<resource>.json` (committed). This module holds the operations the
 * workspace commands need; the lineage model and its queries build on it.
 */
import { existsSync, mkdirSync, opendirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError } from '../protocol/errors.js';
import { atomicWriteFile, readJsonFile, stageJsonFileAsync, writeJsonFile, type StagedFile } from '../server/workspace/files.js';
import { SnapshotStore } from '../server/backends/git/snapshots.js';
import type { Workspace } from '../server/workspace/workspace.js';
import {
  certFor, certText, covers, LineageConflictError, LineageNotFoundError, LineagePlaceHolderError, lineageToJson,
  parseResourceLineageFile, providedCerts, refEquals, refKey, refName, refRepr,
  type Certificate, type Lineage, type ObservedWriteRecord, type ResourceRef,
} from './model.js';

function currentFile(ws: Workspace, resource: string): string {
  return ws.meta('current_lineage', `${resource}.json`);
}

/** The current lineage files (those replacePlaceholders may rewrite). */
export function currentLineageFiles(ws: Workspace): string[] {
  return new LineageStore(ws).files().slice(1);
}

/** The files snapshotLineage writes for snapshot `hash`. */
export function snapshotLineageFiles(ws: Workspace, hash: string, resourceNames: string[]): string[] {
  const dir = ws.meta('snapshot_lineage', hash);
  return resourceNames.length === 0 ? [join(dir, 'placeholder.txt')] : resourceNames.map((name) => join(dir, `${name}.json`));
}

/**
 * Replace placeholder certificates of the given resources by hash certificates with the
 * resource's compare hash (keeping ref and comment), in every current lineage file. A step that
 * touches a mapped resource but keeps an unmapped placeholder cannot be frozen into a snapshot:
 * LineagePlaceHolderError, checked for every file before any file is written.
 */
export function replacePlaceholders(ws: Workspace, hashes: Map<string, string>): void {
  const store = new LineageStore(ws);
  const rewrites: Array<[string, Lineage[]]> = [];
  for (const name of store.resourceNames()) {
    let rewrite = false;
    const lineages = store.fileLineages(name).map((l) => {
      const { lineage, replaced } = replaceIn(l, hashes);
      if (replaced || l.type === 'step') rewrite = true;
      return lineage;
    });
    if (rewrite) rewrites.push([name, lineages]);
  }
  for (const [name, lineages] of rewrites) store.writeFile(name, lineages);
}

function replaceIn(l: Lineage, hashes: Map<string, string>): { lineage: Lineage; replaced: boolean } {
  let replaced = false;
  const fix = (c: Certificate): Certificate => {
    const h = c.type === 'placeholder' ? hashes.get(c.ref.name) : undefined;
    if (h === undefined) return c;
    replaced = true;
    return { type: 'hash', ref: c.ref, hashval: h, comment: c.comment };
  };
  switch (l.type) {
    case 'source_data':
    case 'code':
      return { lineage: { ...l, cert: fix(l.cert) }, replaced };
    case 'imported': {
      const nested = l.nested.map((n) => replaceIn(n, hashes));
      return { lineage: { ...l, nested: nested.map((n) => n.lineage) }, replaced: nested.some((n) => n.replaced) };
    }
    case 'step': {
      const all = [...l.inputs, ...l.code, ...l.outputs];
      const step = { ...l, inputs: l.inputs.map(fix), code: l.code.map(fix), outputs: l.outputs.map(fix) };
      const left = [...step.inputs, ...step.code, ...step.outputs].filter((c) => c.type === 'placeholder');
      if (all.some((c) => hashes.has(c.ref.name)) && left.length > 0) {
        throw new LineagePlaceHolderError(
          `Lineage step ${l.stepName} will be included in snapshot, but has unmapped placeholders: ${left.map(certText).join(', ')}`,
          { step: l.stepName },
        );
      }
      return { lineage: step, replaced };
    }
  }
}

/** Copy the current lineage of each resource into `snapshot_lineage/<hash>/`; returns the files written. */
export function snapshotLineage(ws: Workspace, hash: string, resourceNames: string[]): string[] {
  mkdirSync(ws.meta('snapshot_lineage', hash), { recursive: true });
  const targets = snapshotLineageFiles(ws, hash, resourceNames);
  if (resourceNames.length === 0) {
    atomicWriteFile(targets[0]!, `No resources for lineage snapshot ${hash}\n`);
    return targets;
  }
  resourceNames.forEach((name, i) => {
    const current = currentFile(ws, name);
    if (existsSync(current)) atomicWriteFile(targets[i]!, readFileSync(current));
    else writeJsonFile(targets[i]!, { resource_name: name, lineages: [] });
  });
  return targets;
}

/**
 * Bring back the lineage of restored resources as it was at snapshot `hash` (lineage.md §3
 * `restore`): each resource's snapshot file becomes its current lineage; a resource without one
 * loses its current lineage. Checks that the snapshot has lineage before changing anything.
 */
export function restoreLineage(ws: Workspace, hash: string, resourceNames: string[]): void {
  const dir = ws.meta('snapshot_lineage', hash);
  if (!existsSync(dir)) throw new NotFoundError(`Did not find lineage data for snapshot ${hash}`, { snapshot: hash });
  mkdirSync(ws.meta('current_lineage'), { recursive: true });
  for (const name of resourceNames) {
    const saved = join(dir, `${name}.json`);
    if (existsSync(saved)) atomicWriteFile(currentFile(ws, name), readFileSync(saved));
    else rmSync(currentFile(ws, name), { force: true });
  }
}

/** Forget how a resource's current state came to be (its files were moved or replaced). */
export function clearCurrentLineage(ws: Workspace, resource: string): void {
  rmSync(currentFile(ws, resource), { force: true });
}

/** Record lineage exported by another workspace as this resource's (resources.md §1.6). */
export function importLineage(ws: Workspace, resource: string, lineages: unknown[]): void {
  mkdirSync(ws.meta('current_lineage'), { recursive: true });
  writeJsonFile(currentFile(ws, resource), {
    resource_name: resource,
    lineages: [{ type: 'imported', resource_name: resource, nested_lineage: lineages }],
  });
}

function listJson(dir: string): string[] {
  // Sorted, so every run visits files in the same order (1.6 used file-system order).
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
}

/** Entry names in the order the file system lists them (readdirSync sorts them; opendir does not). */
function directoryOrder(dir: string): string[] {
  const d = opendirSync(dir);
  const names: string[] = [];
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) names.push(e.name);
  } finally {
    d.closeSync();
  }
  return names;
}

/** One entry of a resource's lineage map: the ref it is stored at, and the record. */
/**
 * Add observed writes to the current lineage records of one step run (every resource file
 * holding it), merged by path with any already there (issue 12 items 3 and 9). Returns whether
 * a record was found.
 */
export function recordObservedWrites(ws: Workspace, stepName: string, startTime: string, writes: ObservedWriteRecord[]): boolean {
  const store = new LineageStore(ws);
  let found = false;
  for (const name of store.resourceNames()) {
    const lineages = store.fileLineages(name);
    let changed = false;
    const visit = (l: Lineage): void => {
      if (l.type === 'imported') l.nested.forEach(visit);
      if (l.type !== 'step' || l.stepName !== stepName || l.startTime !== startTime) return;
      found = true;
      const byPath = new Map((l.observedWrites ?? []).map((w) => [w.path, w]));
      for (const w of writes) byPath.set(w.path, w);
      l.observedWrites = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      changed = true;
    };
    lineages.forEach(visit);
    if (changed) store.writeFile(name, lineages);
  }
  return found;
}

const runKey = (step: string, startTime: string) => `${step}\0${startTime}`;

/** Where `dws lineage forget` lists the step runs it hid from the fallback view (machine-local, as the current lineage; a dot-file, so no resource). */
function forgottenFile(ws: Workspace): string {
  return ws.meta('current_lineage', '.forgotten.json');
}

function readForgotten(ws: Workspace): Set<string> {
  const file = forgottenFile(ws);
  if (!existsSync(file)) return new Set();
  const v = readJsonFile(file);
  const keys = new Set<string>();
  for (const x of Array.isArray(v) ? (v as unknown[]) : []) {
    const o = x as { step?: unknown; start_time?: unknown } | null;
    if (o !== null && typeof o === 'object' && typeof o.step === 'string' && typeof o.start_time === 'string') keys.add(runKey(o.step, o.start_time));
  }
  return keys;
}

/** Hide these step runs from the fallback view of moved results lineage (`dws lineage forget`). */
export function forgetFallbackRuns(ws: Workspace, runs: Array<{ step: string; startTime: string }>): void {
  const known = [...readForgotten(ws)].map((k) => ({ step: k.split('\0')[0]!, start_time: k.split('\0')[1]! }));
  for (const r of runs) if (!known.some((k) => k.step === r.step && k.start_time === r.startTime)) known.push({ step: r.step, start_time: r.startTime });
  mkdirSync(ws.meta('current_lineage'), { recursive: true });
  writeJsonFile(forgottenFile(ws), known);
}

export interface StoreEntry {
  ref: ResourceRef;
  lineage: Lineage;
}

/**
 * The lineage store of one workspace (lineage.md §3): the current lineage, or (read-only) the
 * lineage frozen in a snapshot. Each resource's file is read once and kept; writes are atomic
 * per file.
 */
export class LineageStore {
  private readonly maps = new Map<string, Map<string, StoreEntry>>();
  private readonly raw = new Map<string, Lineage[]>();

  /** Resource → the snapshot lineage file read in place of its missing current file (withFallback). */
  private fallback = new Map<string, string>();
  /** Step runs (`step\0startTime`) `dws lineage forget` hid from the fallback view. */
  private forgotten = new Set<string>();

  /** `snapshotHash` set: the store as of that snapshot (LineageNotFoundError if it has none). */
  constructor(
    readonly ws: Workspace,
    readonly snapshotHash: string | null = null,
  ) {
    if (snapshotHash !== null && !existsSync(this.dir)) {
      throw new LineageNotFoundError(`Did not find lineage data for snapshot ${snapshotHash}`, { snapshot: snapshotHash });
    }
  }

  /**
   * The current lineage, read-only, where a results resource whose current lineage a snapshot
   * moved away (its files went into the snapshot directory, lineage.md §5) reads as in the newest
   * snapshot that has it (issue 12 item 4): its steps do not vanish from `dws status`, the
   * editor and the graph after each snapshot. Not for recording steps: 1.6's rules hold there.
   */
  static withFallback(ws: Workspace): LineageStore {
    const store = new LineageStore(ws);
    const missing = ws.resources.filter((r) => r.role === 'results' && !existsSync(store.file(r.name))).map((r) => r.name);
    if (missing.length === 0) return store;
    store.forgotten = readForgotten(ws);
    const snapshots = new SnapshotStore(ws).history();
    for (const name of missing) {
      for (const md of snapshots) {
        const file = join(ws.meta('snapshot_lineage', md.hash), `${name}.json`);
        if (!existsSync(file)) continue;
        // A snapshot without steps for it (taken after the results were moved) does not count.
        if (parseResourceLineageFile(readJsonFile(file), file).lineages.length === 0) continue;
        store.fallback.set(name, file);
        break;
      }
    }
    return store;
  }

  /** Whether `resource` is read from a snapshot in place of its moved current lineage (withFallback). */
  isFallback(resource: string): boolean {
    return this.fallback.has(resource);
  }

  get dir(): string {
    return this.snapshotHash === null ? this.ws.meta('current_lineage') : this.ws.meta('snapshot_lineage', this.snapshotHash);
  }

  /** The files (and the directory) queries of this store read: a server checks them before reusing an answer. */
  files(): string[] {
    return [this.dir, ...this.resourceNames().map((r) => this.file(r))];
  }

  private file(resource: string): string {
    return this.fallback.get(resource) ?? join(this.dir, `${resource}.json`);
  }

  /**
   * Resources that have a lineage file. Snapshots: sorted by name, as 1.6. Current lineage: the
   * file system's order, as 1.6 (its `report lineage` rows come in that order).
   */
  resourceNames(): string[] {
    if (!existsSync(this.dir)) return [];
    const names = (this.snapshotHash === null ? directoryOrder(this.dir) : readdirSync(this.dir).sort())
      .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
      .map((f) => f.slice(0, -'.json'.length));
    return [...names, ...[...this.fallback.keys()].filter((n) => !names.includes(n))];
  }

  /** The records of a resource file as listed there. */
  fileLineages(resource: string): Lineage[] {
    let l = this.raw.get(resource);
    if (l === undefined) {
      const file = this.file(resource);
      l = existsSync(file) ? parseResourceLineageFile(readJsonFile(file), file).lineages : [];
      if (this.fallback.has(resource) && this.forgotten.size > 0) l = l.filter((x) => !(x.type === 'step' && this.forgotten.has(runKey(x.stepName, x.startTime))));
      this.raw.set(resource, l);
    }
    return l;
  }

  /** ref → record for a resource, rebuilt from the provided certs of its records (later ones win). */
  entries(resource: string): Map<string, StoreEntry> {
    let m = this.maps.get(resource);
    if (m === undefined) {
      m = new Map();
      for (const lineage of this.fileLineages(resource)) {
        for (const c of providedCerts(lineage)) if (c.ref.name === resource) m.set(refKey(c.ref), { ref: c.ref, lineage });
      }
      this.maps.set(resource, m);
    }
    return m;
  }

  writeFile(resource: string, lineages: Lineage[]): void {
    writeJsonFile(...this.fileToWrite(resource, lineages));
  }

  /** writeFile staged, the fsync off the event loop (the runner records steps while others run); commit() puts it in place. */
  stageFileAsync(resource: string, lineages: Lineage[]): Promise<StagedFile> {
    return stageJsonFileAsync(...this.fileToWrite(resource, lineages));
  }

  /** The file and content of `resource`'s lineage file with `lineages`, taken as the store's state from now. */
  private fileToWrite(resource: string, lineages: Lineage[]): [string, unknown] {
    if (this.snapshotHash !== null || this.fallback.size > 0) throw new Error('snapshot lineage is read-only');
    mkdirSync(this.dir, { recursive: true });
    this.raw.set(resource, lineages);
    this.maps.delete(resource);
    return [this.file(resource), { resource_name: resource, lineages: lineages.map(lineageToJson) }];
  }

  private writeMap(resource: string, m: Map<string, StoreEntry>): void {
    this.writeFile(resource, [...m.values()].map((e) => e.lineage));
  }

  /** The entry stored at `r` or at a ref covering it (first in file order). */
  lookup(r: ResourceRef): StoreEntry | undefined {
    for (const e of this.entries(r.name).values()) if (refEquals(e.ref, r) || covers(e.ref, r)) return e;
    return undefined;
  }

  retrieve(r: ResourceRef): Lineage {
    const e = this.lookup(r);
    if (!e) throw new LineageNotFoundError(`No lineage exists for ${refRepr(r)}`, { ref: refName(r) });
    return e.lineage;
  }

  /** The store's current certificate for `r`, if any. */
  currentCert(r: ResourceRef): Certificate | undefined {
    const e = this.lookup(r);
    return e && certFor(e.lineage, r);
  }

  /** The conflict checks of `store` (no writes), so a caller can check every output first. */
  checkStore(lineage: Lineage): void {
    for (const c of providedCerts(lineage)) {
      for (const e of this.entries(c.ref.name).values()) {
        if (refEquals(e.ref, c.ref)) break;
        if (covers(e.ref, c.ref)) {
          throw new LineageConflictError(`Cannot store new lineage data at ${refRepr(c.ref)}: existing lineage data ${refRepr(e.ref)} is a parent path`, {
            ref: refName(c.ref),
            existing: refName(e.ref),
          });
        }
        if (covers(c.ref, e.ref)) {
          throw new LineageConflictError(`Cannot store new lineage data at ${refRepr(c.ref)}: existing lineage data ${refRepr(e.ref)} is a child path`, {
            ref: refName(c.ref),
            existing: refName(e.ref),
          });
        }
      }
    }
  }

  /** Record `lineage` at every ref it provides. Unlike 1.6, all conflicts are checked before any file is written. */
  store(lineage: Lineage): void {
    for (const name of this.put(lineage)) this.writeMap(name, this.entries(name));
  }

  /**
   * store(), the files written and synced off the event loop under temp names: `commit()` renames
   * them into place (the store's state in memory is already the new one), `discard()` drops them.
   */
  async stageAsync(lineage: Lineage): Promise<StagedFile> {
    const staged: StagedFile[] = [];
    try {
      for (const name of this.put(lineage)) staged.push(await this.stageFileAsync(name, [...this.entries(name).values()].map((e) => e.lineage)));
    } catch (e) {
      for (const f of staged) f.discard();
      throw e;
    }
    return {
      commit: () => {
        for (const f of staged) f.commit();
      },
      discard: () => {
        for (const f of staged) f.discard();
      },
    };
  }

  /** Check `lineage` and enter it at its refs; returns the resources whose files must be written. */
  private put(lineage: Lineage): Set<string> {
    this.checkStore(lineage);
    const touched = new Set<string>();
    for (const c of providedCerts(lineage)) {
      this.entries(c.ref.name).set(refKey(c.ref), { ref: c.ref, lineage });
      touched.add(c.ref.name);
    }
    return touched;
  }

  /** Forget the lineage of `r` and of everything below it. (Fix: 1.6 crashed clearing a subpath of a resource without a file.) */
  clear(r: ResourceRef): void {
    if (r.subpath === null) {
      rmSync(this.file(r.name), { force: true });
      this.raw.delete(r.name);
      this.maps.delete(r.name);
      return;
    }
    if (!existsSync(this.file(r.name))) return;
    const m = this.entries(r.name);
    const gone = (x: ResourceRef) => refEquals(x, r) || covers(r, x);
    if (![...m.values()].some((e) => gone(e.ref))) return;
    // A step that also wrote other refs keeps explaining them, without the cleared outputs (else
    // the file, read back, would provide them again).
    const trimmed = new Map<Lineage, Lineage>();
    const trim = (l: Lineage): Lineage => {
      if (l.type !== 'step' || !l.outputs.some((c) => gone(c.ref))) return l;
      if (!trimmed.has(l)) trimmed.set(l, { ...l, outputs: l.outputs.filter((c) => !gone(c.ref)) });
      return trimmed.get(l)!;
    };
    const keep = new Map([...m].filter(([, e]) => !gone(e.ref)).map(([k, e]): [string, StoreEntry] => [k, { ref: e.ref, lineage: trim(e.lineage) }]));
    this.writeMap(r.name, keep);
  }

  /**
   * The certificate of `r` to record as a step's input or code: the stored one, else a new input
   * placeholder, stored at once as source-data (or code) lineage.
   */
  getOrCreateCert(r: ResourceRef, comment: string, forCode: boolean): Certificate {
    const existing = this.currentCert(r);
    if (existing) return existing;
    return this.newInputPlaceholder(r, comment, forCode);
  }

  /**
   * Store a fresh input placeholder (version 1) for `r` as source-data or code lineage. Input
   * records below `r` (a step read one file of the resource before, another reads it whole) give
   * way to it: 1.6 refused it as a conflict at every run. A step's output below `r` still conflicts.
   */
  newInputPlaceholder(r: ResourceRef, comment: string, forCode: boolean): Certificate {
    const cert: Certificate = { type: 'placeholder', ref: r, version: 1, comment, isOutput: false };
    const below = [...this.entries(r.name).values()].filter((e) => covers(r, e.ref));
    if (below.length > 0 && below.every((e) => e.lineage.type === 'source_data' || e.lineage.type === 'code')) this.clear(r);
    this.store({ type: forCode ? 'code' : 'source_data', cert });
    return cert;
  }

  /** The next output placeholder of `r`: one version above a current placeholder, else 1. Stores nothing. */
  placeholderForOutput(r: ResourceRef, comment: string): Certificate {
    const c = this.currentCert(r);
    const version = c?.type === 'placeholder' ? c.version + 1 : 1;
    return { type: 'placeholder', ref: r, version, comment, isOutput: true };
  }

  /**
   * Every (ref, record) of the store (1.6 `iterate_all`): imported records are expanded into
   * their nested records, at each nested cert they provide.
   */
  *iterate(): Generator<StoreEntry> {
    for (const name of this.resourceNames()) {
      for (const e of this.entries(name).values()) {
        if (e.lineage.type !== 'imported') {
          yield e;
          continue;
        }
        for (const n of e.lineage.nested) for (const c of providedCerts(n)) yield { ref: c.ref, lineage: n };
      }
    }
  }
}
