/**
 * Which recorded steps no longer match the workspace (for `dws status`): a step is stale when an
 * input or code certificate it recorded is a hash that differs from the resource's hash now, or
 * when it read an output of a stale step. Certificates are per resource (1.6 format), so a change
 * anywhere in a resource makes every step that read part of it stale.
 */
import type { Resource } from '../server/resources/types.js';
import { currentCompareHash } from './current-hash.js';
import { certName, covers, refEquals, refName, type ResourceRef, type StepLineage } from './model.js';
import { steps } from './queries.js';
import type { LineageStore } from './store.js';

export interface StaleStep {
  step: string;
  startTime: string;
  /** Why, in one line (the runner's words for steps it ran: `input source-data:/a.txt changed`). */
  reason: string;
  /** Why: each changed input/code ref, or the stale steps whose outputs it read. */
  changed: Array<{ ref: string; kind: 'input' | 'code'; recorded: string; current: string }>;
  upstream: string[];
  outputs: string[];
}

/**
 * `currentHash` gives a resource's hash now (a watcher's cache in the server). Steps named in
 * `exclude` are judged elsewhere (by their fingerprints, runner/freshness.ts) and skipped here.
 * `recorded`: the step records judged.
 */
export async function staleSteps(
  store: LineageStore,
  resources: Resource[],
  currentHash: (r: Resource) => Promise<string | null> = currentCompareHash,
  exclude: Set<string> = new Set(),
): Promise<{ steps: StaleStep[]; outputs: string[]; recorded: StepLineage[] }> {
  const all = steps(store).filter((s) => !exclude.has(s.stepName));
  if (all.length === 0) return { steps: [], outputs: [], recorded: [] };
  const hashOf = hashesNow(resources, currentHash);
  const stale = new Map<(typeof all)[number], StaleStep>();
  for (const s of all) {
    const changed: StaleStep['changed'] = [];
    for (const [certs, kind] of [[s.inputs, 'input'], [s.code, 'code']] as const) {
      for (const c of certs) {
        if (c.type !== 'hash') continue; // recorded since the last snapshot: nothing to compare yet
        const now = await hashOf(c.ref.name);
        if (now !== null && now !== c.hashval) changed.push({ ref: refName(c.ref), kind, recorded: certName(c), current: now.includes('+') ? 'uncommitted changes' : `Hash:${now.slice(0, 8)}` });
      }
    }
    if (changed.length > 0) stale.set(s, { step: s.stepName, startTime: s.startTime, reason: `${changed[0]!.kind} ${changed[0]!.ref} changed`, changed, upstream: [], outputs: s.outputs.map((o) => refName(o.ref)) });
  }
  // Steps that read what a stale step wrote are stale too, transitively.
  const overlaps = (a: ResourceRef, b: ResourceRef) => refEquals(a, b) || covers(a, b) || covers(b, a);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of all) {
      const from = [...stale.keys()].filter((u) => u !== s && u.outputs.some((o) => s.inputs.some((i) => overlaps(i.ref, o.ref))));
      const names = [...new Set(from.map((u) => u.stepName))].filter((n) => !stale.get(s)?.upstream.includes(n));
      if (names.length === 0) continue;
      const entry = stale.get(s) ?? { step: s.stepName, startTime: s.startTime, reason: `upstream step ${names[0]} is stale`, changed: [], upstream: [], outputs: s.outputs.map((o) => refName(o.ref)) };
      entry.upstream.push(...names);
      stale.set(s, entry);
      grew = true;
    }
  }
  const list = [...stale.values()];
  return { steps: list, outputs: [...new Set(list.flatMap((s) => s.outputs))], recorded: all };
}

/**
 * A test of whether a step's last record in `store` matches the workspace now: every input, code
 * and output certificate a hash equal to its resource's hash now. After a restore the lineage is
 * the snapshot's, so a step whose files are exactly what that record says is current, whatever
 * the runner ran last (runner/freshness.ts).
 */
export function recordMatchesNow(store: LineageStore, resources: Resource[], currentHash: (r: Resource) => Promise<string | null> = currentCompareHash): (step: string) => Promise<boolean> {
  const hashOf = hashesNow(resources, currentHash);
  return async (step) => {
    const s = steps(store).findLast((x) => x.stepName === step);
    if (s === undefined) return false;
    for (const c of [...s.inputs, ...s.code, ...s.outputs]) if (c.type !== 'hash' || (await hashOf(c.ref.name)) !== c.hashval) return false;
    return true;
  };
}

/** Each resource's hash now, by name (null: no such resource), each computed once. */
function hashesNow(resources: Resource[], currentHash: (r: Resource) => Promise<string | null>): (name: string) => Promise<string | null> {
  const hashes = new Map<string, Promise<string | null>>();
  return (name) => {
    let h = hashes.get(name);
    if (h === undefined) {
      const r = resources.find((x) => x.name === name);
      h = r ? currentHash(r) : Promise.resolve(null);
      hashes.set(name, h);
    }
    return h;
  };
}
