/**
 * Code lenses on each step (a step file's `defineStep`, a pipeline file's entry): `Run <name>`
 * (runs the file through `dws/run`; in the pipeline file, that step and its upstream), and the
 * step's last recorded run from lineage: `last run: <status>, <time>, snapshot <short hash>`
 * (status by the runner's fingerprints: current, stale, or removed).
 */
import type { CodeLens } from 'vscode-languageserver/node.js';
import { steps as lineageSteps } from '../../../lineage/queries.js';
import { LineageStore } from '../../../lineage/store.js';
import { SnapshotStore } from '../../backends/git/snapshots.js';
import { isMethodName } from '../../commands/index.js';
import type { Resource } from '../../resources/types.js';
import type { LoadedWorkspace } from './loaded-workspace.js';
import type { StepDecl } from './step-scan.js';
import { rangeOf } from './text.js';

/** `selectStep`: the Run lens runs only that step (with its upstream), not the whole file. */
export async function codeLenses(steps: StepDecl[], text: string, uri: string, lw: LoadedWorkspace, o: { selectStep: boolean }): Promise<CodeLens[]> {
  const decls = steps.filter((s) => s.name !== null);
  if (decls.length === 0) return [];
  // With the fallback: a results step's lineage moved into the last snapshot is still its last run.
  const store = LineageStore.withFallback(lw.ws);
  const recorded = lineageSteps(store);
  // The runner's notion of stale (runner/freshness.ts), as `dws status` and `dws run --dry-run`.
  const { workspaceStaleness } = await import('../../../runner/freshness.js');
  const stale = await workspaceStaleness(lw.ws, store, [...lw.resources.values()].filter((r): r is Resource => r !== null));
  const snapshots = new SnapshotStore(lw.ws).history();
  const lenses: CodeLens[] = [];
  for (const d of decls) {
    const range = rangeOf(text, d.start, d.end);
    if (isMethodName('dws/run')) lenses.push({ range, command: { title: `Run ${d.name}`, command: 'dws.run', arguments: [o.selectStep ? { uri, steps: [d.name] } : { uri }] } });
    const last = recorded.filter((s) => s.stepName === d.name).sort((a, b) => (a.startTime < b.startTime ? 1 : -1))[0];
    let title = 'never run';
    if (last) {
      // The newest snapshot whose lineage holds this very run.
      const snap = snapshots.find((md) => {
        try {
          return lineageSteps(new LineageStore(lw.ws, md.hash)).some((s) => s.stepName === last.stepName && s.startTime === last.startTime);
        } catch {
          return false; // a snapshot without lineage
        }
      });
      const status = stale.removed.some((s) => s.step === d.name) ? 'removed' : stale.steps.some((s) => s.step === d.name) ? 'stale' : 'current';
      title = `last run: ${status}, ${last.startTime.replace('T', ' ').slice(0, 19)}, ${snap ? `snapshot ${snap.hash.slice(0, 7)}` : 'not in a snapshot yet'}`;
    }
    // No command: an informational lens (clients show its title, nothing to click).
    lenses.push({ range, command: { title, command: '' } });
  }
  return lenses;
}
