/**
 * The run cache (STYLE.md 8: freshness is explicit data). A step's fingerprint lists what makes
 * it what it is — the content of its code files, its validated params, the content of each
 * declared input, the fingerprints of the steps upstream — and the cache keeps, per step, the
 * fingerprint of its last successful run and the state of its outputs after that run. A step
 * whose fingerprint and outputs are both unchanged is skipped. The cache is machine-local: it
 * lives in the git directory (localCacheDir), never committed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { computeHashTree, sameStat, type WrittenFile } from '../server/resources/hashtree/index.js';
import { atomicWriteFile } from '../server/workspace/files.js';
import { relativePosix } from '../server/workspace/paths.js';
import { localCacheDir, type Workspace } from '../server/workspace/workspace.js';

export interface FingerprintParts {
  /** sha256 of the code files (workspace-relative name + content each). */
  code: string;
  params: unknown;
  /** Declared input ref → content hash (`missing` when absent). */
  inputs: Record<string, string>;
  /**
   * Upstream step → its fingerprint in this run, only for upstream steps whose outputs reach this
   * one through refs without local files. Where the step reads an upstream output's content, that
   * content is in `inputs`: an upstream step that reran and wrote the same bytes leaves this one
   * current (early cutoff).
   */
  upstream: Record<string, string>;
}

/**
 * What a step's fingerprint is computed from, kept with its record so that `dws status` and the
 * editor can recompute it without loading the step (runner/freshness.ts). Paths are
 * workspace-relative when inside the workspace.
 */
export interface StepFacts {
  /** The step file; null for a command step. */
  file: string | null;
  codeFiles: string[];
  /** Declared input / output ref → local path (null: a resource without local files). */
  inputs: Record<string, string | null>;
  outputs: Record<string, string | null>;
  /** Every step this one reads from. */
  upstream: string[];
}

export interface CacheRecord {
  fingerprint: string;
  parts: FingerprintParts;
  /** Output ref → content hash, taken at the end of the run that recorded this. */
  outputs: Record<string, string>;
  /** Absent in records written before issue 12 (such a step is then judged by its lineage). */
  facts?: StepFacts;
  /** The lineage start time of the run that recorded this. */
  startTime?: string;
  /** Why its last run left the step not current (it failed, another step wrote into its outputs): it reruns, and `dws status` lists it. */
  notCurrent?: string;
}

export function fingerprintOf(parts: FingerprintParts): string {
  return sha256(stableJson(parts));
}

/** Why a step is stale compared to its last successful run, or null when it is not. */
export function staleReason(prev: CacheRecord | undefined, parts: FingerprintParts, outputs: Record<string, string>): string | null {
  if (!prev) return 'no successful run recorded';
  if (prev.notCurrent !== undefined) return prev.notCurrent;
  if (prev.parts.code !== parts.code) return 'code changed';
  if (stableJson(prev.parts.params) !== stableJson(parts.params)) return 'params changed';
  for (const [ref, h] of Object.entries(parts.inputs)) if (prev.parts.inputs[ref] !== h) return `input ${ref} changed`;
  for (const [step, fp] of Object.entries(parts.upstream)) if (prev.parts.upstream[step] !== fp) return `upstream step ${step} changed`;
  if (prev.fingerprint !== fingerprintOf(parts)) return 'declaration changed';
  for (const [ref, h] of Object.entries(outputs)) if (prev.outputs[ref] !== h) return `output ${ref} changed since the last run`;
  return null;
}

/** The cache file of a workspace: one JSON object, step name → record. */
export class RunCache {
  /** The cache file; null without a git directory. */
  readonly file: string | null;
  private records: Record<string, CacheRecord>;

  constructor(ws: Workspace) {
    const dir = localCacheDir(ws);
    this.file = dir === null ? null : join(dir, 'runner', 'cache.json');
    this.records = {};
    if (this.file !== null && existsSync(this.file)) {
      try {
        this.records = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, CacheRecord>;
      } catch {
        // A broken cache only costs reruns.
        this.records = {};
      }
    }
  }

  get(step: string): CacheRecord | undefined {
    return this.records[step];
  }

  /** The steps recorded, each after the steps upstream of it (a record rewritten by a later run moves to the end of the file). */
  steps(): string[] {
    const names = Object.keys(this.records);
    const out: string[] = [];
    const placed = new Set<string>();
    const place = (n: string, seen: Set<string>) => {
      if (placed.has(n) || seen.has(n)) return;
      seen.add(n);
      for (const u of this.records[n]?.facts?.upstream ?? []) if (Object.hasOwn(this.records, u)) place(u, seen);
      placed.add(n);
      out.push(n);
    };
    for (const n of names) place(n, new Set());
    return out;
  }

  set(step: string, record: CacheRecord | null): void {
    if (record === null) delete this.records[step];
    else this.records[step] = record;
  }

  save(): void {
    if (this.file === null) return;
    mkdirSync(dirname(this.file), { recursive: true });
    atomicWriteFile(this.file, JSON.stringify(this.records, null, 1));
  }
}

/**
 * What a fingerprint records of an input or output (and the run cache compares): a directory's
 * hash tree (1.6's tree hash, workspace-format.md §13) with the SHA-1s of unchanged files taken
 * from a stat cache in `statCacheDir`, so that a run in which nothing changed reads only stats, as
 * a snapshot does; a file's SHA-1; `missing` when absent. A directory holding `.git` (a whole git
 * resource) is hashed by contentHash, which leaves `.git` out. `written`: files a restore just
 * wrote, with their ids (hashtree's option; '' for `path` itself), not read while unchanged.
 */
export async function pathHash(path: string, statCacheDir: string | null, onProgress?: (filesDone: number, filesTotal: number) => void, written?: ReadonlyMap<string, WrittenFile>): Promise<string> {
  const cacheFile = statCacheFile(statCacheDir, path);
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined) return 'missing';
  if (!st.isDirectory()) {
    const known = written?.get('');
    return `sha1:${known !== undefined && sameStat(st, known.stat) ? known.id : await fileSha1(path)}`;
  }
  if (existsSync(join(path, '.git'))) return contentHash(path);
  const r = await computeHashTree({
    root: path,
    computeHash: true,
    treeDir: null,
    ...(cacheFile !== null ? { cacheFile } : {}),
    ...(onProgress ? { onProgress } : {}),
    ...(written ? { written } : {}),
  });
  return `tree:${r.rootHash}`;
}

/** Where pathHash keeps its stat caches (one per hashed directory), outside git; null without a git directory. */
export function fingerprintStatDir(ws: Workspace): string | null {
  const dir = localCacheDir(ws);
  return dir === null ? null : join(dir, 'runner', 'stat');
}

/** The stat cache of one hashed directory (the run cache's capture of an output shares it, server/store/run-cache.ts). */
export function statCacheFile(statCacheDir: string | null, path: string): string | null {
  return statCacheDir === null ? null : join(statCacheDir, createHash('sha1').update(path).digest('hex'));
}

async function fileSha1(path: string): Promise<string> {
  const h = createHash('sha1');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** sha256 over a file or directory tree's names and contents (`.git` skipped); `missing` when absent. */
export async function contentHash(path: string): Promise<string> {
  if (!existsSync(path)) return 'missing';
  const h = createHash('sha256');
  const walk = async (p: string, rel: string): Promise<void> => {
    // The declared path itself is followed when it is a link (its content is what the step wrote, item 9).
    const st = rel === '' ? statSync(p) : lstatSync(p);
    if (st.isDirectory()) {
      h.update(`d ${rel}\0`);
      for (const name of readdirSync(p).sort()) if (name !== '.git') await walk(join(p, name), rel === '' ? name : `${rel}/${name}`);
    } else if (st.isFile()) {
      h.update(`f ${rel} ${st.size}\0`);
      for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
    } else {
      h.update(`o ${rel}\0`);
    }
  };
  await walk(path, '');
  return h.digest('hex');
}

/** sha256 of code files: each file's workspace-relative name and content; and a pipeline file step's declaration. */
export function codeHash(wsDir: string, files: string[], declaration?: string): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${relativePosix(wsDir, f)}\0`).update(readFileSync(f)).update('\0');
  if (declaration !== undefined) h.update(`declaration\0${declaration}`);
  return h.digest('hex');
}

/** Files (workspace-relative) under the given paths modified at or after `sinceMs`. */
export function filesChangedSince(wsDir: string, paths: string[], sinceMs: number): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    const st = lstatSync(p);
    if (st.isDirectory()) for (const name of readdirSync(p).sort()) walk(join(p, name));
    else if (st.mtimeMs >= sinceMs) out.push(relativePosix(wsDir, p));
  };
  for (const p of paths) walk(p);
  return out;
}

/** A cheap signature of a path's state (names, sizes, mtimes): tells whether a step wrote it. */
export function statSignature(path: string): string | null {
  if (!existsSync(path)) return null;
  const parts: string[] = [];
  const walk = (p: string, rel: string) => {
    const st = rel === '' ? statSync(p) : lstatSync(p);
    parts.push(`${rel} ${st.isDirectory() ? 'd' : st.size} ${st.isDirectory() ? '' : st.mtimeMs}`);
    if (st.isDirectory()) for (const name of readdirSync(p).sort()) walk(join(p, name), `${rel}/${name}`);
  };
  walk(path, '');
  return parts.join('\n');
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** JSON with object keys sorted, so equal values give equal text. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val !== null && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : val,
  );
}
