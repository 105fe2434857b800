/**
 * What `report experiments` and `diff` share: a snapshot seen as an experiment (the params of the
 * steps in its lineage, lineage.md §5, and the metrics of its metadata), and how two values compare.
 */
import type { Experiment, ValueChange } from '../../protocol/index.js';
import { LineageStore } from '../../lineage/store.js';
import { LineageNotFoundError, type Lineage, type StepLineage } from '../../lineage/model.js';
import type { SnapshotMetadata } from '../backends/git/snapshots.js';
import { isPyNumber, numberValue, toPlainJson } from '../workspace/pyjson.js';
import type { Workspace } from '../workspace/workspace.js';

/** The experiment of one snapshot. */
export function experimentOf(ws: Workspace, md: SnapshotMetadata): Experiment {
  return {
    hash: md.hash,
    tags: md.tags,
    timestamp: md.timestamp,
    message: md.message,
    params: snapshotParams(ws, md.hash),
    metrics: (md.metrics as Record<string, unknown> | null | undefined) ?? {},
  };
}

/** `<step>.<param>` of every step recorded in the snapshot's lineage; the latest run of a step wins. */
function snapshotParams(ws: Workspace, hash: string): Record<string, unknown> {
  let store: LineageStore;
  try {
    store = new LineageStore(ws, hash);
  } catch (e) {
    if (e instanceof LineageNotFoundError) return {}; // a snapshot taken without lineage
    throw e;
  }
  const latest = new Map<string, StepLineage>();
  const visit = (l: Lineage) => {
    if (l.type !== 'step') return; // imported lineage holds another workspace's steps, not this experiment's
    const seen = latest.get(l.stepName);
    if (!seen || seen.startTime < l.startTime) latest.set(l.stepName, l);
  };
  for (const resource of store.resourceNames()) store.fileLineages(resource).forEach(visit);
  const params: Record<string, unknown> = {};
  for (const [step, l] of [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) flatten(`${step}.`, l.parameters, params);
  return params;
}

function flatten(prefix: string, value: Record<string, unknown>, out: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && !isPyNumber(v)) flatten(`${prefix}${k}.`, v as Record<string, unknown>, out);
    else out[`${prefix}${k}`] = v;
  }
}

/** Equal values give equal keys (Python's 4.0 and 4 are the same number; missing differs from null). */
export function sameKey(v: unknown): string {
  if (v === undefined) return 'missing';
  if (isPyNumber(v)) return `n:${numberValue(v)}`;
  return `j:${JSON.stringify(toPlainJson(v))}`;
}

/** Params and metrics that differ between two experiments, sorted by name, with numeric deltas. */
export function valueChanges(a: Record<string, unknown>, b: Record<string, unknown>): ValueChange[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const changes: ValueChange[] = [];
  for (const name of names) {
    const from = Object.hasOwn(a, name) ? a[name] : undefined;
    const to = Object.hasOwn(b, name) ? b[name] : undefined;
    if (sameKey(from) === sameKey(to)) continue;
    const delta = isPyNumber(from) && isPyNumber(to) ? numberValue(to) - numberValue(from) : null;
    changes.push({ name, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), delta });
  }
  return changes;
}
