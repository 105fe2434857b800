/**
 * Fault injection (issue 13 item 5): `DWS_FAULT=<point>` (or `<point>:<N>`, the Nth time the
 * point is reached) kills this process with SIGKILL at that named write point, so no cleanup,
 * `finally` or exit handler runs: what a power cut or `kill -9` leaves behind. The fault suite
 * (test/integration/faults.test.ts) kills every command at every point listed here and checks
 * that the workspace survives; docs/fault-injection.md says how to use it.
 *
 * This is the only module that reads DWS_FAULT. Unset, a call costs one comparison.
 */
import { writeSync } from 'node:fs';

/**
 * Every write point, and the command whose run reaches it (the fault suite has a scenario for each).
 * A new point added here without a scenario in the suite makes the suite fail.
 */
export const FAULT_POINTS = {
  // dws snapshot (server/commands/snapshot.ts, resources/results-move.ts, store/pack.ts)
  'snapshot.after-hash': 'snapshot',
  'store.large-object-stored': 'snapshot', // a file of 1 MB or more made visible in the store
  'snapshot.after-journal': 'snapshot',
  'snapshot.results-move-partial': 'snapshot',
  'snapshot.after-results-move': 'snapshot',
  'snapshot.after-resource-snapshots': 'snapshot',
  'snapshot.after-lineage': 'snapshot',
  'snapshot.after-manifest': 'snapshot',
  'store.pack-before-index': 'snapshot', // every pack written (snapshot, gc, restore --force); the suite kills a snapshot
  'snapshot.after-store-commit': 'snapshot',
  'snapshot.after-store-record': 'snapshot',
  'snapshot.after-metadata': 'snapshot',
  'snapshot.after-commit': 'snapshot',
  // dws restore (server/commands/restore.ts, store/restore-files.ts)
  'restore.after-force-save': 'restore --force', // unsnapshotted files kept in the store first
  'restore.after-prepare': 'restore',
  'restore.files-after-temp-writes': 'restore',
  'restore.files-rename-partial': 'restore',
  'restore.files-set-aside': 'restore', // every file in place, those replaced or removed in the store's trash
  'restore.after-files': 'restore',
  'restore.after-resources': 'restore',
  'restore.after-lineage': 'restore',
  // dws delete-snapshot (server/commands/delete-snapshot.ts)
  'delete-snapshot.after-results-dirs': 'delete-snapshot',
  'delete-snapshot.after-rm': 'delete-snapshot',
  // dws push (server/commands/share-common.ts, store/remote.ts)
  'push.after-resources': 'push',
  'push.store-large-objects-before-packs': 'push',
  'push.after-store': 'push',
  'push.after-workspace-push': 'push',
  // dws pull (server/commands/pull.ts, store/remote.ts)
  'pull.after-merge': 'pull',
  'pull.after-resources': 'pull',
  'pull.store-fetch-partial': 'pull',
  'pull.after-materialize': 'pull',
  // dws gc (server/store/gc.ts)
  'gc.after-new-pack': 'gc',
  'gc.index-removed-before-pack': 'gc',
  'gc.after-removals': 'gc',
  // dws run (runner/engine.ts)
  'run.after-step-start': 'run',
  'run.after-step-complete': 'run',
  'run.after-cache-entries': 'run', // the run cache's entries written, not yet committed by the snapshot
  'run.after-snapshot': 'run',
} as const;

export type FaultPointName = keyof typeof FAULT_POINTS;

/** The line written to stderr just before the kill, so a test knows the point was reached. */
export const FAULT_MARKER = 'dws fault injected: killed at ';

/** `DWS_FAULT` parsed once: the point to kill at and on which hit (1 = the first). */
const target = parseTarget(process.env.DWS_FAULT);
let hits = 0;

function parseTarget(v: string | undefined): { point: string; hit: number } | null {
  if (v === undefined || v === '') return null;
  const m = /^(.*?)(?::(\d+))?$/.exec(v)!;
  const point = m[1]!;
  if (!Object.hasOwn(FAULT_POINTS, point)) {
    // A misspelt point would make a fault test pass without killing anything: say so loudly.
    writeSync(2, `DWS_FAULT=${v}: unknown write point '${point}' (known: ${Object.keys(FAULT_POINTS).join(', ')})\n`);
    process.exit(70);
  }
  return { point, hit: m[2] === undefined ? 1 : Math.max(1, Number(m[2])) };
}

/** A named write point: dies here (SIGKILL) when DWS_FAULT names it; otherwise nothing. */
export function faultPoint(name: FaultPointName): void {
  if (target === null || target.point !== name || ++hits < target.hit) return;
  writeSync(2, `${FAULT_MARKER}${name}\n`);
  process.kill(process.pid, 'SIGKILL');
}
