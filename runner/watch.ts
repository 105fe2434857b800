/**
 * Watch mode (`dws watch`, issue 6 item 6): rerun a step when its inputs or its code change.
 *
 *            change                quiet for debounceMs
 *   idle ───────────────> debouncing ──────────────────> running ──(done, nothing pending)──> idle
 *    ^                     │  ^ change: restart timer       │  change: remember it,
 *    │                     └──┘                             │  debounce again when done
 *    └──────────────────────────────────────────────────────┘
 *   abort (any state) ──> stopping (the running step gets the abort, no lineage for it) ──> stopped
 *
 * One run at a time, so a step never runs twice at once. Each run hands the whole pipeline to
 * the engine: the changed steps are stale by their fingerprints, the steps downstream follow
 * (their upstream fingerprints changed), and the run cache skips everything else. Changes under
 * a step's declared outputs are the pipeline's own writes and start nothing. chokidar is loaded
 * only here (through observe.ts).
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { refName } from '../lineage/model.js';
import { LineageStore } from '../lineage/store.js';
import type { Context } from '../server/context.js';
import { openResources } from '../server/resources/registry.js';
import { isWithin } from '../server/workspace/paths.js';
import type { Workspace } from '../server/workspace/workspace.js';
import { runPipeline } from './engine.js';
import { loadStepFiles } from './load.js';
import { startWatcher } from './observe.js';
import { planSteps, type Plan } from './plan.js';
import { recordedStepFile } from './reproduce.js';
import type { RunEvent, RunResult } from './types.js';

export type WatchState = 'idle' | 'debouncing' | 'running' | 'stopping' | 'stopped';

export interface WatchOptions {
  files: string[];
  params: Record<string, unknown>;
  jobs: number;
  snapshot: boolean;
  /** Stops watching; a running step is aborted and records no lineage. */
  signal: AbortSignal;
  /** Quiet time after the last change before a run starts. */
  debounceMs?: number;
  /** Each run's events, as `dws run` emits them. */
  onEvent?: (e: RunEvent) => void;
  /** What ran and why, for a person: "ran prepare because source-data:/data.csv changed". */
  onLine: (line: string) => void;
}

/** With no files given: the step files of the steps in the current lineage that `dws run FILE` recorded and that still exist. */
export function recordedStepFiles(ws: Workspace): string[] {
  const store = LineageStore.withFallback(ws);
  const files = store.resourceNames().flatMap((r) => store.fileLineages(r).flatMap((l) => (l.type === 'step' ? [recordedStepFile(l)] : [])));
  return [...new Set(files)].filter((f): f is string => f !== null && existsSync(f)).sort();
}

/** Watch until `signal` aborts; resolves once the last run has ended and the watcher is closed. */
export async function watchPipeline(ctx: Context, ws: Workspace, o: WatchOptions): Promise<void> {
  let state: WatchState = 'idle';
  let steps = await loadStepFiles(ctx, ws, o.files);
  let plan = planSteps(steps, await openResources(ws), ctx.cwd);
  /** Step → why it must rerun (the changes seen since its last run). */
  let pending = new Map<string, Set<string>>();
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<void> | null = null;
  let codeChanged = false;
  const debounceMs = o.debounceMs ?? 200;
  const show = (p: string) => (isWithin(p, ws.dir) ? relative(ws.dir, p) : p);

  const watched = () => [...new Set(plan.steps.flatMap((p) => [...p.step.codeFiles, ...p.inputs.flatMap((i) => (i.path === null ? [] : [i.path]))]))];
  const watcher = await startWatcher(watched(), (_event, path) => onChange(path));
  o.onLine(`Watching ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'} (${plan.steps.map((p) => p.step.name).join(', ')}): Ctrl-C to stop`);

  function onChange(path: string): void {
    if (state === 'stopping' || state === 'stopped') return;
    if (plan.steps.some((p) => p.outputs.some((x) => x.path !== null && isWithin(path, x.path)))) return;
    for (const p of plan.steps) {
      const why: string[] = [];
      if (p.step.codeFiles.includes(path)) why.push(show(path));
      for (const i of p.inputs) if (i.path !== null && isWithin(path, i.path)) why.push(refName({ name: i.ref.name, subpath: [i.ref.subpath, relative(i.path, path)].filter(Boolean).join('/') || null }));
      if (why.length === 0) continue;
      if (p.step.codeFiles.includes(path)) codeChanged = true;
      const set = pending.get(p.step.name) ?? new Set<string>();
      why.forEach((w) => set.add(w));
      pending.set(p.step.name, set);
    }
    if (pending.size > 0 && state !== 'running') schedule();
  }

  function schedule(): void {
    state = 'debouncing';
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      current = runOnce('it was stale').finally(() => {
        current = null;
        if (state === 'running') state = 'idle';
        if (pending.size > 0 && state === 'idle') schedule();
      });
    }, debounceMs);
  }

  async function runOnce(otherwise: string): Promise<void> {
    state = 'running';
    const why = pending;
    pending = new Map();
    try {
      if (codeChanged) {
        codeChanged = false;
        steps = await loadStepFiles(ctx, ws, o.files);
        plan = planSteps(steps, await openResources(ws), ctx.cwd);
        watcher.add(watched());
      }
      const result = await runPipeline(ctx, ws, { steps, params: o.params, jobs: o.jobs, force: false, dryRun: false, snapshot: o.snapshot, signal: o.signal, ...(o.onEvent ? { onEvent: o.onEvent } : {}) });
      report(result, why, plan, otherwise);
    } catch (e) {
      // A bad edit (syntax error, bad declaration): say so and keep watching for the fix.
      o.onLine(`not run: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  function report(r: RunResult, why: Map<string, Set<string>>, p: Plan, otherwise: string): void {
    const ran = new Set(r.steps.filter((s) => s.status === 'succeeded' || s.status === 'restored').map((s) => s.step));
    for (const s of r.steps) {
      const changed = why.get(s.step);
      const upstream = p.steps.find((x) => x.step.name === s.step)?.upstream.filter((u) => ran.has(u)) ?? [];
      const because = changed ? `${[...changed].join(', ')} changed` : upstream.length > 0 ? `upstream step ${upstream.join(', ')} ran` : otherwise;
      if (s.status === 'succeeded') o.onLine(`ran ${s.step} because ${because}`);
      else if (s.status === 'restored') o.onLine(`restored ${s.step} from the run cache because ${because}`);
      else if (s.status === 'failed') o.onLine(`failed ${s.step}: ${s.reason}`);
      else if (s.status === 'not-run' && !r.interrupted) o.onLine(`did not run ${s.step}: ${s.reason}`);
      else if (s.status === 'skipped' && changed) o.onLine(`skipped ${s.step}: ${s.reason}`);
    }
    if (r.interrupted) o.onLine('interrupted: unfinished steps recorded no lineage');
    else if (r.snapshot) o.onLine(`took snapshot ${r.snapshot.hash}`);
  }

  // First, bring the pipeline up to date (the run cache skips what is current).
  current = runOnce('it was not current when watching started').finally(() => {
    current = null;
    if (state === 'running') state = 'idle';
    if (pending.size > 0 && state === 'idle') schedule();
  });

  await new Promise<void>((resolve) => {
    if (o.signal.aborted) resolve();
    else o.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  state = 'stopping';
  if (timer) clearTimeout(timer);
  await current;
  await watcher.close();
  state = 'stopped';
}

