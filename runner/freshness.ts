/**
 * One notion of "stale" (DESIGN.md; issue 12 item 6): the runner's fingerprints decide what is
 * current, and `dws status`, the editor and `dws run --dry-run` all ask this module. A step the
 * runner has run is judged from its run-cache record: its code files, params, input contents
 * and upstream fingerprints now, against those of its last successful run (runner/cache.ts) —
 * exactly what `dws run` would decide, without loading the step. A step whose file is gone is
 * *removed* (`dws lineage forget STEP` drops it), and so is one its pipeline file no longer declares. Steps recorded only in lineage (the lineage API,
 * Python dws) have no fingerprint: they are judged by their certificates (lineage/staleness.ts).
 */
import { existsSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { recordMatchesNow, staleSteps, type StaleStep } from '../lineage/staleness.js';
import { type LineageStore } from '../lineage/store.js';
import type { Resource } from '../server/resources/types.js';
import type { Workspace } from '../server/workspace/workspace.js';
import { codeHash, fingerprintOf, fingerprintStatDir, pathHash, RunCache, staleReason, type CacheRecord, type FingerprintParts } from './cache.js';
import { currentDeclaration, PIPELINE_FILE } from './pipeline-file.js';
import { recordedStepFile } from './reproduce.js';

export interface RemovedStep {
  step: string;
  /** The step file that is gone (workspace-relative), or null when unknown. */
  file: string | null;
}

export interface Staleness {
  /** Stale steps, upstream first. */
  steps: StaleStep[];
  /** Every output of a stale step. */
  outputs: string[];
  removed: RemovedStep[];
  /** Steps judged current by their fingerprints. */
  current: string[];
  /**
   * The files this judgement read outside the resources' own hashes (absolute): the run cache,
   * step and code files, pipeline files, declared inputs and outputs. A server that keeps the
   * answer checks them before reusing it (server/rpc/watch.ts).
   */
  files: string[];
}

interface Judged {
  fingerprint: string;
  stale: StaleStep | null;
  removed: RemovedStep | null;
}

/**
 * The steps of the run cache that are stale, removed or current, by their fingerprints now. A step
 * whose code and inputs are those of its last run but whose outputs are not (a restore of an
 * older snapshot) is current when `matchesNow` says its record in the lineage matches the files now.
 */
export async function cachedStaleness(
  ws: Workspace,
  cache = new RunCache(ws),
  matchesNow: (step: string) => Promise<boolean> = async () => false,
): Promise<{ judged: Map<string, Judged>; order: string[]; files: string[] }> {
  const abs = (p: string) => (isAbsolute(p) ? p : join(ws.dir, p));
  const files = new Set<string>(cache.file === null ? [] : [cache.file]);
  const statDir = fingerprintStatDir(ws);
  const judged = new Map<string, Promise<Judged | null>>();
  const judge = (name: string): Promise<Judged | null> => {
    let j = judged.get(name);
    if (j === undefined) {
      j = judgeOne(name, cache.get(name));
      judged.set(name, j);
    }
    return j;
  };
  const judgeOne = async (name: string, rec: CacheRecord | undefined): Promise<Judged | null> => {
    if (rec?.facts === undefined) return null;
    const f = rec.facts;
    for (const p of [f.file, ...f.codeFiles, ...Object.values(f.inputs), ...Object.values(f.outputs)]) if (p !== null) files.add(abs(p));
    const base = { step: name, startTime: rec.startTime ?? '', upstream: [] as string[], outputs: Object.keys(f.outputs) };
    // A pipeline file step's declaration is part of its code; it is removed when the file no longer declares it.
    const declaration = f.file !== null && basename(f.file) === PIPELINE_FILE ? currentDeclaration(abs(f.file), name) : undefined;
    if (f.file !== null && (!existsSync(abs(f.file)) || declaration === null)) return { fingerprint: 'removed', stale: null, removed: { step: name, file: f.file } };
    const changed: StaleStep['changed'] = [];
    const present = f.codeFiles.map(abs).filter((x) => existsSync(x));
    const code = present.length === f.codeFiles.length ? codeHash(ws.dir, present, declaration ?? undefined) : 'missing';
    if (code !== rec.parts.code) changed.push({ ref: f.file ?? f.codeFiles.join(', '), kind: 'code', recorded: short(rec.parts.code), current: short(code) });
    const inputs: Record<string, string> = {};
    for (const [ref, path] of Object.entries(f.inputs)) {
      inputs[ref] = path === null ? 'no-local-files' : await pathHash(abs(path), statDir);
      if (rec.parts.inputs[ref] !== inputs[ref]) changed.push({ ref, kind: 'input', recorded: short(rec.parts.inputs[ref] ?? 'none'), current: short(inputs[ref]!) });
    }
    const upstream: Record<string, string> = {};
    for (const u of Object.keys(rec.parts.upstream)) upstream[u] = (await judge(u))?.fingerprint ?? 'unknown';
    const parts: FingerprintParts = { code, params: rec.parts.params, inputs, upstream };
    const outputs: Record<string, string> = {};
    for (const [ref, path] of Object.entries(f.outputs)) outputs[ref] = path === null ? 'no-local-files' : await pathHash(abs(path), statDir);
    let reason = staleReason(rec, parts, outputs);
    if (reason !== null && changed.length === 0 && rec.notCurrent === undefined && (await matchesNow(name))) reason = null;
    return { fingerprint: fingerprintOf(parts), stale: reason === null ? null : { ...base, reason, changed }, removed: null };
  };
  const order = cache.steps();
  for (const name of order) await judge(name);
  const out = new Map<string, Judged>();
  for (const name of order) {
    const j = await judge(name);
    if (j !== null) out.set(name, j);
  }
  // Downstream of a stale step is stale too: the runner would run it after its upstream (and
  // skip it then only if the upstream's outputs come out byte-identical).
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of order) {
      const j = out.get(name);
      const facts = cache.get(name)?.facts;
      if (!j || !facts || j.removed) continue;
      const ups = facts.upstream.filter((u) => out.get(u)?.stale && !(j.stale?.upstream.includes(u) ?? false));
      if (ups.length === 0) continue;
      j.stale ??= { step: name, startTime: cache.get(name)?.startTime ?? '', reason: `upstream step ${ups[0]} is stale`, changed: [], upstream: [], outputs: Object.keys(facts.outputs) };
      j.stale.upstream.push(...ups);
      grew = true;
    }
  }
  return { judged: out, order, files: [...files] };
}

/**
 * Staleness of every step of the workspace: by fingerprints for the steps the runner ran, by
 * certificates for the others. `store` is the lineage to read steps from (with its fallback to
 * the latest snapshot for moved results, lineage/store.ts).
 */
export async function workspaceStaleness(ws: Workspace, store: LineageStore, resources: Resource[], currentHash?: (r: Resource) => Promise<string | null>): Promise<Staleness> {
  const { judged, order, files } = await cachedStaleness(ws, undefined, recordMatchesNow(store, resources, currentHash));
  const byLineage = await staleSteps(store, resources, currentHash, new Set(judged.keys()));
  const steps = [...order.flatMap((n) => (judged.get(n)?.stale ? [judged.get(n)!.stale!] : [])), ...byLineage.steps];
  const removed = order.flatMap((n) => (judged.get(n)?.removed ? [judged.get(n)!.removed!] : []));
  // A step recorded only in lineage by `dws run FILE` whose file is gone.
  for (const s of byLineage.recorded) {
    const file = recordedStepFile(s);
    if (file === null) continue;
    const path = isAbsolute(file) ? file : join(ws.dir, file);
    files.push(path);
    if (!judged.has(s.stepName) && !existsSync(path) && !removed.some((r) => r.step === s.stepName)) {
      removed.push({ step: s.stepName, file });
    }
  }
  const gone = new Set(removed.map((r) => r.step));
  const stale = steps.filter((s) => !gone.has(s.step));
  return {
    steps: stale,
    outputs: [...new Set(stale.flatMap((s) => s.outputs))],
    removed,
    current: order.filter((n) => judged.get(n) && !judged.get(n)!.stale && !judged.get(n)!.removed),
    files,
  };
}

/** Whether step `name` of `file` (workspace-relative or absolute) is gone: the file deleted, or a pipeline file that no longer declares it. */
export function stepGone(ws: Workspace, name: string, file: string): boolean {
  const path = isAbsolute(file) ? file : join(ws.dir, file);
  return !existsSync(path) || (basename(path) === PIPELINE_FILE && currentDeclaration(path, name) === null);
}

function short(h: string): string {
  return /^[0-9a-f]{16,}$/.test(h) ? h.slice(0, 8) : h;
}
