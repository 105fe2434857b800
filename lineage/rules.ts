/**
 * The consistency rules a step must satisfy before it runs (lineage.md §4). The rules on outputs
 * (no nested or repeated outputs; nothing stored over a parent or child ref) live in step.ts
 * and in LineageStore.checkStore.
 */
import { certEquals, certFor, certText, covers, LineageConflictError, LineageConsistencyError, refEquals, refKey, refName, refRepr, type Certificate, type ResourceRef } from './model.js';
import type { LineageStore } from './store.js';

/** Within one list of refs (inputs, or code), no ref may cover another. */
export function checkNoNesting(stepName: string, refs: ResourceRef[]): void {
  for (const parent of refs) {
    const child = refs.find((r) => covers(parent, r));
    if (child) {
      throw new LineageConflictError(
        `Step ${stepName} has dependency on ${refRepr(child)}, which is a subpath of ${refRepr(parent)}. Please use ${refRepr(parent)} only.`,
        { step: stepName, ref: refName(child), parent: refName(parent) },
      );
    }
  }
}

/** Declared outputs: no repeats, none inside another. */
export function checkOutputs(stepName: string, refs: ResourceRef[]): void {
  refs.forEach((r, i) => {
    for (const other of refs.slice(0, i)) {
      if (refEquals(other, r)) {
        throw new LineageConflictError(`Attempt to add ${refRepr(r)} as an output to step ${stepName} multiple times.`, { step: stepName, ref: refName(r) });
      }
      if (covers(other, r)) {
        throw new LineageConflictError(`Error adding output ${refRepr(r)} to step ${stepName}: this is a subpath of ${refRepr(other)}`, { step: stepName, ref: refName(r) });
      }
      if (covers(r, other)) {
        throw new LineageConflictError(`Error adding output ${refRepr(r)} to step ${stepName}: a subpath already exists in the outputs: ${refRepr(other)}`, {
          step: stepName,
          ref: refName(r),
        });
      }
    }
  });
}

/**
 * A step must not depend, directly or through the steps that produced its inputs, on two versions
 * of the same ref. `inputs` are the certificates the step will record (those of refs without
 * lineage are left out). Walks breadth first through the producing steps' recorded inputs; a
 * producer is followed only while the store still holds the version that was read.
 */
export function checkTransitive(store: LineageStore, stepName: string, inputs: Certificate[]): void {
  const seen = new Map<string, Certificate>();
  const queue = [...inputs];
  for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
    const key = refKey(c.ref);
    const before = seen.get(key);
    if (before) {
      if (!certEquals(before, c)) {
        throw new LineageConsistencyError(
          `Step ${stepName} (transitively) depends on ${refName(c.ref)} which has two versions: ${certText(before)} and ${certText(c)}`,
          { step: stepName, ref: refName(c.ref) },
        );
      }
      continue;
    }
    seen.set(key, c);
    const entry = store.lookup(c.ref);
    if (entry?.lineage.type !== 'step') continue;
    const provided = certFor(entry.lineage, c.ref);
    if (provided && certEquals(provided, c)) queue.push(...entry.lineage.inputs);
  }
}
