/** What the lineage handlers share: opening the store they ask about, refs given by the user, records as the protocol shows them. */
import type { LineageRecord } from '../../protocol/lineage.js';
import { certName, refName, type Certificate, type Lineage } from '../../lineage/model.js';
import { resolveRef } from '../../lineage/step.js';
import { LineageStore } from '../../lineage/store.js';
import { SnapshotStore } from '../backends/git/snapshots.js';
import { openResources } from '../resources/registry.js';
import { numberValue } from '../workspace/pyjson.js';
import type { Workspace } from '../workspace/workspace.js';

/**
 * The current lineage, or the lineage of `snapshot` (tag, hash or prefix). The current lineage
 * falls back to the newest snapshot's for results resources a snapshot moved away (issue 12
 * item 4), unless `fallback` is false (the 1.6 table keeps 1.6's view).
 */
export function openLineage(ws: Workspace, snapshot: string | undefined, fallback = true): { store: LineageStore; hash: string | null } {
  if (snapshot === undefined) return { store: fallback ? LineageStore.withFallback(ws) : new LineageStore(ws), hash: null };
  const hash = new SnapshotStore(ws).resolve(snapshot).hash;
  return { store: new LineageStore(ws, hash), hash };
}

/** A ref (`name`, `name:/subpath`) or a local path inside a resource, as typed by the user. */
export async function userRef(ws: Workspace, spec: string) {
  return resolveRef(await openResources(ws), spec, ws.ctx.cwd, 'argument');
}

const info = (c: Certificate) => ({ ref: refName(c.ref), certificate: certName(c) });

/** A record for the protocol (imported records become the records they hold). */
export function records(l: Lineage): LineageRecord[] {
  switch (l.type) {
    case 'imported':
      return l.nested.flatMap(records);
    case 'source_data':
    case 'code':
      return [{ type: l.type, ...info(l.cert) }];
    case 'step':
      return [
        {
          type: 'step',
          stepName: l.stepName,
          startTime: l.startTime,
          executionTimeSeconds: l.executionTimeSeconds === null ? null : numberValue(l.executionTimeSeconds),
          parameters: l.parameters,
          inputs: l.inputs.map(info),
          code: l.code.map(info),
          outputs: l.outputs.map(info),
          commandLine: l.commandLine,
          ...(l.observedWrites && l.observedWrites.length > 0
            ? { observedWrites: l.observedWrites.map((w) => ({ path: w.path, outside: w.outside, runningWith: w.runningWith })) }
            : {}),
        },
      ];
  }
}
