/**
 * The pipeline engine: plan, validate, then run the steps of a DAG with p-queue (independent
 * steps in parallel, `jobs` at a time; a step file's run() in a worker thread, runner/step-threads.ts),
 * each recorded through the lineage API (lineage/step.ts, in this thread);
 * skip what the run cache says is current; one snapshot at the end through `dws/snapshot`.
 * Outcomes are values (RunEvent, StepOutcome): the engine never prints. Every check that can
 * refuse the run happens before any step starts.
 *
 *   load → plan (refs, DAG, cycles, writers) → params → inputs exist → [dry run: stop]
 *        → per step, when its upstream succeeded: fingerprint → skip | run + lineage
 *        → cache → snapshot (if something ran and nothing failed)
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import PQueue from 'p-queue';
import { ConfigurationError, InvalidParamsError } from '../protocol/errors.js';
import { openExecutor, type Executor } from './executor.js';
import { LineageStep, recertifyInputs, type StepOptions } from '../lineage/step.js';
import { covers, ref, refEquals, refName, type ObservedWriteRecord } from '../lineage/model.js';
import { recordObservedWrites } from '../lineage/store.js';
import { callMethod } from '../server/commands/index.js';
import type { Context, ProgressTask } from '../server/context.js';
import { wordedFor } from '../server/store/advice.js';
import { openResources } from '../server/resources/registry.js';
import { keptByMove } from '../server/resources/results-move.js';
import type { Resource } from '../server/resources/types.js';
import { SnapshotStore } from '../server/backends/git/snapshots.js';
import { isWithin, relativePosix } from '../server/workspace/paths.js';
import { faultPoint } from '../server/workspace/fault.js';
import type { Workspace } from '../server/workspace/workspace.js';
import { codeHash, filesChangedSince, stableJson, fingerprintOf, fingerprintStatDir, pathHash, RunCache, staleReason, statCacheFile, statSignature, type FingerprintParts, type StepFacts } from './cache.js';
import { captureOutputs, commitEntries, entrySnapshot, findEntries, restoreOutputs, restoreTrash, runCacheEnabled, writeEntry, type OutputPlace, type RunCacheEntry } from '../server/store/run-cache.js';
import { GIVEN_TEXT, overlaps, planSteps, type GivenParams, type PlannedStep } from './plan.js';
import { escapedOutputs, shownPath, type EscapedOutput } from './escapes.js';
import { errorText, StepFailure } from './step-thread-protocol.js';
import type { RestoredFrom, SourceFrame } from '../protocol/runner.js';
import type { WrittenFile } from '../server/resources/hashtree/index.js';
import type { LoadedStep, RunEvent, RunOptions, RunResult, StepOutcome } from './types.js';

export type { LoadedStep, RunEvent, RunObserver, RunOptions, RunResult, StepOutcome, StepStatus } from './types.js';

/** Thrown inside a step's promise when the run is interrupted. */
class Interrupted extends Error {}

/** Run (or with dryRun, plan) the pipeline. Bad declarations and params throw before anything runs. */
export async function runPipeline(ctx: Context, ws: Workspace, o: RunOptions): Promise<RunResult> {
  const emit = (e: RunEvent) => o.onEvent?.(e);
  const resources = await openResources(ws);
  const plan = planSteps(o.steps, resources, ctx.cwd);
  const params = validateParams(ctx, o.steps, o.params);
  checkInputsExist(plan.steps);

  const cache = new RunCache(ws);
  const outcomes = new Map<string, StepOutcome>();
  const fingerprints = new Map<string, string>();
  const outcome = (step: string, status: StepOutcome['status'], reason: string | null, extra: Partial<StepOutcome> = {}): StepOutcome => {
    const r: StepOutcome = { step, status, reason, durationMs: null, leftInOutputs: [], fingerprint: fingerprints.get(step) ?? null, where: [], ...extra };
    outcomes.set(step, r);
    return r;
  };

  const statDir = fingerprintStatDir(ws);
  const shared = runCacheEnabled(ws);
  // Freshness of one step: its fingerprint parts now, and why it must run (null: it may be skipped).
  // `known`: input ref → its hash, for inputs a dry-run would restore from the run cache first.
  const freshness = async (p: PlannedStep, known?: ReadonlyMap<string, string>): Promise<{ parts: FingerprintParts; reason: string | null }> => {
    const inputs: Record<string, string> = {};
    for (const i of p.inputs) inputs[refName(i.ref)] = known?.get(refName(i.ref)) ?? (i.path === null ? 'no-local-files' : await hashWithProgress(ctx, `Fingerprinting ${p.step.name}: ${refName(i.ref)}`, i.path, statDir));
    const upstream = Object.fromEntries(fingerprintUpstream(p, plan.steps).map((u) => [u, fingerprints.get(u) ?? 'unknown']));
    const parts: FingerprintParts = { code: codeHash(ws.dir, p.step.codeFiles, p.step.declaration), params: params.get(p.step.name), inputs, upstream };
    fingerprints.set(p.step.name, fingerprintOf(parts));
    if (o.force) return { parts, reason: '--force' };
    // Outputs are hashed only when nothing else made the step stale (they can be big).
    const prev = cache.get(p.step.name);
    const reason = staleReason(prev, parts, {});
    return { parts, reason: reason ?? staleReason(prev, parts, await outputHashes(p, statDir)) };
  };
  // The newest run-cache entry of this fingerprint that fits the step's declared outputs (undefined: none).
  const cachedRun = (p: PlannedStep): { file: string; entry: RunCacheEntry } | undefined => {
    if (!shared || p.outputs.length === 0 || p.outputs.some((x) => x.path === null)) return undefined;
    const refs = p.outputs.map((x) => refName(x.ref)).sort();
    return findEntries(ws, fingerprints.get(p.step.name)!).find(({ entry }) => stableKeys(entry.outputs) === refs.join('\n'));
  };

  if (o.dryRun) {
    // Output ref → its hash once restored from the run cache (the entry records it): a step reading
    // it is judged on that content, as the real run judges it after the restore.
    const restoredHashes = new Map<string, string>();
    const predictable = (p: PlannedStep, u: string) => {
      const up = plan.steps.find((q) => q.step.name === u)!;
      return p.inputs.filter((i) => up.outputs.some((x) => overlaps(x.ref, i.ref))).every((i) => restoredHashes.has(refName(i.ref)));
    };
    for (const p of plan.steps) {
      const ranUp = p.upstream.find((u) => outcomes.get(u)?.status === 'would-run' && !predictable(p, u));
      if (ranUp !== undefined) {
        outcome(p.step.name, 'would-run', `upstream step ${ranUp} would run`);
        continue;
      }
      const { reason } = await freshness(p, restoredHashes);
      const hit = reason === null || o.force ? undefined : cachedRun(p);
      if (reason === null) outcome(p.step.name, 'skipped', 'unchanged since its last successful run');
      else if (hit === undefined) outcome(p.step.name, 'would-run', reason);
      else {
        for (const [ref, x] of Object.entries(hit.entry.outputs)) if (x.hash !== undefined) restoredHashes.set(ref, x.hash);
        const from = await fromEntry(ws, hit);
        outcome(p.step.name, 'would-run', `${reason}; its outputs would be restored from the run cache (${describeRun(from)})`, { restoredFrom: from });
      }
    }
    return { ok: true, interrupted: false, steps: plan.steps.map((p) => outcomes.get(p.step.name)!), snapshot: null, sameAsSnapshot: null, observedWrites: [], stepsMs: null };
  }

  // --strict: an output a symlink leads out of its resource is refused before anything runs (item 9).
  if (o.strict) {
    const escaped = plan.steps.flatMap((p) => escapedOutputs(p, resources).map((e) => ({ step: p.step.name, ...e })));
    if (escaped.length > 0) throw escapeError(ws, escaped);
  }
  const escapes = new Map<string, EscapedOutput[]>();

  const signal = o.signal ?? new AbortController().signal;
  const interrupted = new Promise<never>((_, reject) => {
    const stop = () => reject(new Interrupted('interrupted'));
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
  interrupted.catch(() => {});
  // Lineage store updates are read-modify-write of files: one at a time.
  let lineageLock: Promise<unknown> = Promise.resolve();
  const serially = <T>(f: () => Promise<T>): Promise<T> => {
    const r = lineageLock.then(f);
    lineageLock = r.catch(() => {});
    return r;
  };
  const succeededParts = new Map<string, FingerprintParts>();
  /** The steps that failed or were interrupted: recorded as not current, so that `dws status` lists them as `dws run` would rerun them. */
  const failedRuns = new Map<string, { parts: FingerprintParts; startTime: string | null; why: string }>();
  const startTimes = new Map<string, string>();
  // The observer starts when the first step is about to run: watching every resource's files
  // costs far more than a run that skips or restores every step (issue 12 item 7, speed).
  let observing: Promise<void> | null = null;
  const observe = () => (observing ??= o.observer?.start(ws, new Map(plan.steps.map((p) => [p.step.name, p.outputs.flatMap((x) => (x.path === null ? [] : [x.path]))]))) ?? Promise.resolve());
  /** Per restored step, the files its restore wrote and their ids: its outputs' hashes without reading them again. */
  const restoredFiles = new Map<string, Map<string, Map<string, WrittenFile>>>();
  /** The outputs of the steps that ran and succeeded: the run-cache entries of this run. */
  const toCapture = new Map<string, { places: OutputPlace[]; executionTimeSeconds: number | null }>();

  // The files restores replace are freed after the steps, in libuv's threads while the run's
  // bookkeeping goes on (store/trash.ts); the run ends once they are. Emptied at the start too: a
  // crashed run may have left some.
  let trashEmptied: Promise<unknown> = Promise.resolve();
  const emptyTrash = () => {
    if (!shared) return;
    try {
      trashEmptied = Promise.all([trashEmptied, restoreTrash(ws).empty()]);
    } catch {
      // no store directory (no git directory): no restore either
    }
  };
  emptyTrash();
  // Restore a step's outputs from the run cache: null when there is no entry, or when its objects
  // are missing (here and on the store remote) or corrupt, which is said, and the step then runs.
  const restore = async (p: PlannedStep, parts: FingerprintParts): Promise<StepOutcome | null> => {
    const hit = cachedRun(p);
    if (hit === undefined || escapedOutputs(p, resources).length > 0) return null;
    const name = p.step.name;
    // While the outputs are written (a large object is copied in libuv's threads), the lineage is
    // started and its files written and synced under temp names; they are renamed into place once
    // the outputs are (the lineage lock held till then, so no other step's record comes between).
    // Started before the writes, it would delay them: it takes the main thread for a few ms. The
    // snapshot that took the entry is looked up meanwhile (git, unless known for this HEAD). A restore
    // that fails drops the staged files: the step runs instead.
    let writesStarted: (started: boolean) => void = () => {};
    const started = new Promise<boolean>((resolve) => (writesStarted = resolve));
    let outputsPlaced: (placed: boolean) => void = () => {};
    const placed = new Promise<boolean>((resolve) => (outputsPlaced = resolve));
    const startMs = Date.now();
    const places = outputPlaces(ws, p, resources);
    // Called first: a large file's copy starts within it at once, and the lookups below overlap it.
    const restoring = restoreOutputs(ws, hit.entry, places, (path) => statCacheFile(statDir, path), () => writesStarted(true));
    const finding = fromEntry(ws, hit);
    const recording = Promise.all([finding, started]).then(([from, go]) => {
      if (!go) return null;
      const restored = { startTime: hit.entry.start_time, executionTimeSeconds: hit.entry.execution_time_seconds, runId: hit.entry.run_id, snapshot: from.snapshot };
      return serially(async () => {
        const lineage = await startLineage(ws, p, params.get(name) as Record<string, unknown>, resources, restored);
        const staged = await lineage.completeStaged();
        if (!(await placed)) return void staged.discard();
        staged.commit();
        return lineage;
      });
    });
    recording.catch(() => {}); // awaited below when the restore succeeds
    try {
      restoredFiles.set(name, await restoring);
    } catch (e) {
      writesStarted(false);
      outputsPlaced(false);
      emit({ type: 'log', step: name, message: `the run cache has this run (${describeRun(await finding)}) but cannot restore it: ${errorText(wordedFor(ws.ctx, e))} Running the step instead.` });
      return null;
    }
    outputsPlaced(true);
    // The restore's writes seen while its outputs are still the step's own (observed writes).
    await o.observer?.flush?.().catch(() => {});
    const from = await finding;
    let lineage: LineageStep;
    try {
      lineage = (await recording)!;
    } catch (e) {
      // As for a step that ran: its outputs are there, but without lineage the step has not succeeded.
      const why = `its outputs were restored from the run cache (${describeRun(from)}), but its lineage could not be recorded: ${errorText(e)}`;
      cache.set(name, null);
      failedRuns.set(name, { parts, startTime: null, why: 'its last run failed' });
      emit({ type: 'failed', step: name, reason: why });
      return outcome(name, 'failed', why, { durationMs: Date.now() - startMs, restoredFrom: from });
    }
    succeededParts.set(name, parts);
    startTimes.set(name, lineage.startTime);
    const durationMs = Date.now() - startMs;
    emit({ type: 'restored', step: name, from, durationMs });
    return outcome(name, 'restored', `restored from the run cache (${describeRun(from)})`, { durationMs, restoredFrom: from });
  };

  const execute = async (p: PlannedStep): Promise<StepOutcome> => {
    const name = p.step.name;
    if (signal.aborted) return outcome(name, 'not-run', 'the run was interrupted');
    o.observer?.begin?.(name); // not when queued: with --jobs 1 a step waiting its turn writes nothing
    const { parts, reason } = await freshness(p);
    if (reason === null) {
      // Early cutoff after a step upstream reran (in this run or an earlier one that took no
      // snapshot): its record is made to name the new versions of its inputs, of the same content.
      if (p.upstream.length > 0) await serially(async () => recertifyInputs(ws, name, p.outputs.map((x) => x.ref)));
      emit({ type: 'skipped', step: name, reason: 'unchanged since its last successful run' });
      return outcome(name, 'skipped', 'unchanged since its last successful run');
    }
    if (!o.force) {
      const restored = await restore(p, parts);
      if (restored !== null) return restored;
    }
    await observe();
    const startMs = Date.now();
    emit({ type: 'started', step: name, at: new Date(startMs).toISOString() });
    const outPaths = p.outputs.flatMap((x) => (x.path === null ? [] : [x.path]));
    let lineage: LineageStep | null = null;
    const fail = (why: string, where: SourceFrame[] = []): StepOutcome => {
      const left = filesChangedSince(ws.dir, outPaths, startMs);
      emit({ type: 'failed', step: name, reason: why, leftInOutputs: left, ...(where.length > 0 ? { where } : {}) });
      return outcome(name, 'failed', why, { durationMs: Date.now() - startMs, leftInOutputs: left, where });
    };
    try {
      lineage = await serially(() => startLineage(ws, p, params.get(name) as Record<string, unknown>, resources));
      faultPoint('run.after-step-start');
      for (const out of outPaths) mkdirSync(dirname(out), { recursive: true });
      const before = new Map(outPaths.map((x) => [x, statSignature(x)]));
      const step = lineage;
      const log = (m: string, partial?: boolean) => emit({ type: 'log', step: name, message: m, ...(partial ? { partial } : {}) });
      await Promise.race([runWork(ws, p, params.get(name), step, signal, log, executor, emit), interrupted]);
      const unwritten = p.outputs.filter((x) => x.path !== null && (!existsSync(x.path) || statSignature(x.path) === before.get(x.path)));
      if (unwritten.length > 0) throw new StepFailure(`it did not write its declared output${unwritten.length > 1 ? 's' : ''} ${unwritten.map((x) => refName(x.ref)).join(', ')}`);
      // A link the step made that leads its output out of the resource (item 9).
      const escaped = escapedOutputs(p, resources);
      if (escaped.length > 0 && o.strict) throw new StepFailure(escapeError(ws, escaped.map((e) => ({ step: name, ...e }))).message);
      if (escaped.length > 0) escapes.set(name, escaped);
      const record = await serially(() => step.complete());
      faultPoint('run.after-step-complete');
      // For the run cache (its outputs go to the content store at the end of the steps, before the snapshot moves results).
      if (shared && escaped.length === 0 && p.outputs.length > 0 && p.outputs.every((x) => x.path !== null)) {
        const et = record.executionTimeSeconds;
        toCapture.set(name, { places: outputPlaces(ws, p, resources), executionTimeSeconds: et === null ? null : Number(et) });
      }
    } catch (e) {
      const why = e instanceof Interrupted ? 'interrupted' : errorText(e);
      lineage?.abort(why, { interrupted: e instanceof Interrupted });
      cache.set(name, null);
      failedRuns.set(name, { parts, startTime: lineage?.startTime ?? null, why: e instanceof Interrupted ? 'its last run was interrupted' : 'its last run failed' });
      // Its writes seen before it leaves the running set (observed writes are attributed by it).
      await o.observer?.flush?.().catch(() => {});
      return fail(why, e instanceof Error ? stepFrames(e.stack, ws.dir, p.step.codeFiles) : []);
    }
    succeededParts.set(name, parts);
    startTimes.set(name, lineage.startTime);
    await o.observer?.flush?.();
    const durationMs = Date.now() - startMs;
    emit({ type: 'succeeded', step: name, durationMs });
    return outcome(name, 'succeeded', null, { durationMs });
  };

  // Where steps run (runner/executor.ts); it refuses here, before anything runs, when it cannot run them.
  const executor = await openExecutor(o.executor ?? 'local', { ws, jobs: o.jobs, steps: o.steps, signal });
  const queue = new PQueue({ concurrency: Math.max(1, o.jobs) });
  const done = new Map<string, Promise<StepOutcome>>();
  const stepsStart = performance.now();
  for (const p of plan.steps) {
    const ups = p.upstream.map((u) => done.get(u)!);
    done.set(
      p.step.name,
      Promise.all(ups).then((results) => {
        const bad = results.find((r) => r.status === 'failed' || r.status === 'not-run');
        if (bad) {
          emit({ type: 'skipped', step: p.step.name, reason: `upstream step ${bad.step} ${bad.status === 'failed' ? 'failed' : 'did not run'}` });
          return outcome(p.step.name, 'not-run', `upstream step ${bad.step} ${bad.status === 'failed' ? 'failed' : 'did not run'}`);
        }
        if (signal.aborted) return outcome(p.step.name, 'not-run', 'the run was interrupted');
        emit({ type: 'queued', step: p.step.name });
        return queue.add(() => execute(p));
      }),
    );
  }
  let stepsMs: number;
  try {
    await Promise.all(done.values());
  } finally {
    stepsMs = performance.now() - stepsStart;
    emptyTrash();
    await executor.close();
  }
  const observedWrites: RunResult['observedWrites'] = observing === null ? [] : [...((await o.observer?.stop()) ?? [])];
  // A step's own writes are never observed: one seen in its outputs is another step's (or process's).
  // Its outputs are then not what it made: no run-cache entry for them, and it is not current.
  const overwritten = new Set(
    plan.steps.filter((p) => observedWrites.some((w) => p.outputs.some((x) => x.path !== null && isWithin(isAbsolute(w.path) ? w.path : join(ws.dir, w.path), x.path)))).map((p) => p.step.name),
  );
  // --strict: the steps running as such a write was seen failed the run. Kept as current, the next
  // run would skip them and succeed ("every step was current") with the write still unsnapshotted.
  if (o.strict) for (const w of observedWrites) for (const s of w.steps) overwritten.add(s);
  for (const [step, list] of escapes) {
    for (const e of list) {
      const path = shownPath(ws.dir, e.path);
      if (!observedWrites.some((w) => w.path === path)) observedWrites.push({ path, step, steps: [step], outside: e.outside });
    }
  }
  observedWrites.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const w of observedWrites) emit({ type: 'observed-write', path: w.path, ...(w.step ? { step: w.step } : {}), ...(w.outside ? { outside: w.outside } : {}) });
  // Into the lineage of the steps that ran then (item 3), before the snapshot freezes it.
  await recordObserved(ws, resources, observedWrites, startTimes);

  const steps = plan.steps.map((p) => outcomes.get(p.step.name)!);
  // --strict (observed writes, runner/observe.ts): a write outside the declared outputs fails the run.
  const ok = !signal.aborted && steps.every((s) => s.status === 'succeeded' || s.status === 'restored' || s.status === 'skipped') && !(o.strict === true && observedWrites.length > 0);
  const ran = steps.filter((s) => s.status === 'succeeded' || s.status === 'restored');
  // The shared run cache: one entry per step that ran and succeeded (unless an entry of the same
  // fingerprint has the same outputs), written before the snapshot so that its commit takes them.
  const entries: string[] = [];
  const succeeded = [...toCapture].filter(([name]) => outcomes.get(name)?.status === 'succeeded' && !overwritten.has(name));
  let captured = new Map<string, RunCacheEntry['outputs']>();
  try {
    if (succeeded.length > 0) captured = await captureOutputs(ws, new Map(succeeded.map(([name, c]) => [name, c.places])), (path) => statCacheFile(statDir, path));
  } catch (e) {
    // The run cache only saves time: the run's results stand without it.
    ctx.log.warn(`The outputs of ${succeeded.map(([name]) => name).join(', ')} could not be kept in the run cache: ${errorText(e)}`);
  }
  for (const [name, c] of succeeded) {
    const outputs = captured.get(name);
    if (outputs === undefined) continue;
    const fingerprint = fingerprints.get(name)!;
    // Before the snapshot (which moves results): the state a restore gives outputs without kept paths.
    for (const place of c.places) if (!place.kept && outputs[place.ref]) outputs[place.ref]!.hash = await pathHash(place.path, statDir);
    if (findEntries(ws, fingerprint).some(({ entry }) => stableJson(entry.outputs) === stableJson(outputs))) continue;
    writeEntry(ws, { step: name, fingerprint, start_time: startTimes.get(name)!, execution_time_seconds: c.executionTimeSeconds, outputs });
    entries.push(name);
  }
  if (entries.length > 0) faultPoint('run.after-cache-entries');
  let snapshot: RunResult['snapshot'] = null;
  let sameAsSnapshot: string | null = null;
  // A Ctrl-C while the outputs went into the store takes no snapshot; one during the snapshot stops it
  // before its commit, with what it changed put back (server/commands/snapshot.ts): both are an interrupted run.
  if (ok && o.snapshot && ran.length > 0 && !signal.aborted) {
    const msg = o.message ?? runMessage(ran.map((s) => s.step), o.params);
    try {
      // The outputs may come out as an existing snapshot (a --force rerun, a step restored after a
      // failure): that is no new snapshot, whatever its message, and a run asks nothing about it.
      const r = await callMethod(ctx, 'dws/snapshot', { workspaceDir: ws.dir, message: msg, keepExistingMessage: true, ...(o.tag !== undefined ? { tag: o.tag, moveTagFrom: o.moveTagFrom ?? [] } : {}) });
      snapshot = { hash: r.hash, tag: r.tag, message: msg };
    } catch (e) {
      // Steps that reran (--force, a comment-only change) and wrote the same bytes leave the
      // workspace as an existing snapshot has it: that is a success, with no new snapshot.
      const same = unchangedSnapshot(e);
      if (same === null && !signal.aborted) throw e;
      sameAsSnapshot = same;
    }
  }
  faultPoint('run.after-snapshot');
  // Interrupted before its snapshot: what ran is in no snapshot. Current, it would be skipped next
  // time ("nothing changed") and never snapshotted; not current, the next run restores it from the
  // run cache and takes the snapshot.
  const unsnapshotted = signal.aborted && o.snapshot && snapshot === null && sameAsSnapshot === null ? { notCurrent: 'its last run was interrupted before its snapshot' } : {};
  // Output states after the snapshot (which moves results files): what the next run compares to.
  for (const p of plan.steps) {
    const parts = succeededParts.get(p.step.name);
    const failed = failedRuns.get(p.step.name);
    if (overwritten.has(p.step.name)) cache.set(p.step.name, null);
    else if (parts) cache.set(p.step.name, { fingerprint: fingerprintOf(parts), parts, outputs: await outputHashes(p, statDir, restoredFiles.get(p.step.name)), facts: stepFacts(ws, p), startTime: startTimes.get(p.step.name)!, ...unsnapshotted });
    else if (failed) cache.set(p.step.name, { fingerprint: fingerprintOf(failed.parts), parts: failed.parts, outputs: {}, facts: stepFacts(ws, p), ...(failed.startTime !== null ? { startTime: failed.startTime } : {}), notCurrent: failed.why });
  }
  cache.save();
  await trashEmptied;
  // Entries the snapshot did not commit because the workspace was already an existing snapshot.
  if (sameAsSnapshot !== null && entries.length > 0) await commitEntries(ws, entries);
  return { ok: ok && !signal.aborted, interrupted: signal.aborted, steps, snapshot, sameAsSnapshot, observedWrites, stepsMs };
}


/**
 * The upstream steps whose fingerprint is part of `p`'s: those whose outputs reach it through a
 * ref without local files (its content cannot be hashed). Every other link is covered by the
 * content of `p`'s inputs, which is what makes early cutoff work.
 */
export function fingerprintUpstream(p: PlannedStep, all: PlannedStep[]): string[] {
  return p.upstream.filter((u) => {
    const up = all.find((q) => q.step.name === u);
    if (!up) return true;
    return p.inputs.some((i) => i.path === null && up.outputs.some((o) => refEquals(o.ref, i.ref) || covers(o.ref, i.ref) || covers(i.ref, o.ref)));
  });
}

/**
 * The outputs of `p` (each with local files) as the run cache captures and restores them. In a
 * results resource the results of earlier snapshots and the README are not the step's (keptByMove).
 */
function outputPlaces(ws: Workspace, p: PlannedStep, resources: Resource[]): OutputPlace[] {
  return p.outputs.map((x) => {
    const place: OutputPlace = { ref: refName(x.ref), path: x.path! };
    const root = resources.find((r) => r.name === x.ref.name)?.localPath;
    if (x.role !== 'results' || root == null) return place;
    const kept = keptByMove(ws.moveExcludeFiles, new SnapshotStore(ws).resultsDirsKept());
    const prefix = x.path === root ? '' : `${relativePosix(root, x.path!)}/`;
    return { ...place, kept: (path, dir) => kept(prefix + path, dir) };
  });
}

/** What the cache keeps to recompute `p`'s fingerprint later without loading it (runner/freshness.ts). */
function stepFacts(ws: Workspace, p: PlannedStep): StepFacts {
  const rel = (f: string) => (isWithin(f, ws.dir) ? relativePosix(ws.dir, f) : f);
  const paths = (refs: PlannedStep['inputs']) => Object.fromEntries(refs.map((x) => [refName(x.ref), x.path === null ? null : rel(x.path)]));
  return { file: p.step.file === null ? null : rel(p.step.file), codeFiles: p.step.codeFiles.map(rel), inputs: paths(p.inputs), outputs: paths(p.outputs), upstream: p.upstream };
}

/** `written`: by output path, files a restore wrote (pathHash does not read them while unchanged). */
export async function outputHashes(p: PlannedStep, statDir: string | null, written?: Map<string, ReadonlyMap<string, WrittenFile>>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const x of p.outputs) out[refName(x.ref)] = x.path === null ? 'no-local-files' : await pathHash(x.path, statDir, undefined, written?.get(x.path));
  return out;
}

/** pathHash with a progress line on a terminal while a big directory (1,000 files and more) is walked. */
async function hashWithProgress(ctx: Context, title: string, path: string, statDir: string | null): Promise<string> {
  const shown: { task: ProgressTask | null } = { task: null };
  try {
    return await pathHash(path, statDir, (done, total) => {
      if (shown.task === null && total >= 1000) shown.task = ctx.progress.begin(title);
      shown.task?.report(done, total);
    });
  } finally {
    shown.task?.end();
  }
}

async function fromEntry(ws: Workspace, hit: { file: string; entry: RunCacheEntry }): Promise<RestoredFrom> {
  return { runId: hit.entry.run_id, startTime: hit.entry.start_time, snapshot: await entrySnapshot(ws, hit.file) };
}

/** "run 1a2b3c4d5e6f of 2026-12-06T02:40:00.123456, snapshot 0123abcd" */
function describeRun(f: RestoredFrom): string {
  return `run ${f.runId} of ${f.startTime}${f.snapshot ? `, snapshot ${f.snapshot.slice(0, 8)}` : ''}`;
}

/** An object's keys, sorted and joined: compares the outputs an entry recorded with those declared. */
function stableKeys(o: Record<string, unknown>): string {
  return Object.keys(o).sort().join('\n');
}

/**
 * The frames of a stack that lie in the step's own source files (stacks are source-mapped in
 * step threads), innermost first, with workspace-relative paths: where a failing step failed.
 */
export function stepFrames(stack: string | undefined, wsDir: string, codeFiles: string[]): SourceFrame[] {
  if (stack === undefined) return [];
  const own = new Set(codeFiles);
  const frames: SourceFrame[] = [];
  for (const line of stack.split('\n')) {
    const m = /^\s+at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/.exec(line);
    if (!m) continue;
    let file = m[2]!;
    if (file.startsWith('file://')) file = fileURLToPath(file);
    if (!own.has(file)) continue;
    frames.push({ file: isWithin(file, wsDir) ? relativePosix(wsDir, file) : file, line: Number(m[3]), column: Number(m[4]), function: m[1] ?? null });
  }
  return frames;
}

/** The existing snapshot named by `dws/snapshot`'s "No differences" refusal, else null. */
function unchangedSnapshot(e: unknown): string | null {
  if (!(e instanceof ConfigurationError) || !/^No differences from previous snapshot/.test(e.message)) return null;
  return typeof e.data.snapshot === 'string' ? e.data.snapshot : null;
}

/** "dws run: prepare, train (scale=3)" */
function runMessage(steps: string[], params: GivenParams): string {
  const ps = Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'string' ? v : (params[GIVEN_TEXT]?.[k] ?? JSON.stringify(v))}`);
  return `dws run: ${steps.join(', ')}${ps.length > 0 ? ` (${ps.join(', ')})` : ''}`;
}

/**
 * Each step's params: the given ones validated by its schema (unknown keys are dropped by zod
 * objects). Every bad field of every step is listed; a param no step declares is refused too.
 */
function validateParams(ctx: Context, steps: LoadedStep[], given: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const problems: string[] = [];
  const known = new Set<string>();
  let open = false;
  for (const s of steps) {
    if (s.paramsSchema === null) {
      out.set(s.name, given);
      open = true;
      continue;
    }
    const shape = (s.paramsSchema as { shape?: Record<string, unknown> }).shape;
    if (shape && typeof shape === 'object') Object.keys(shape).forEach((k) => known.add(k));
    else open = true;
    const r = s.paramsSchema.safeParse(given);
    if (r.success) out.set(s.name, r.data);
    else for (const i of r.error.issues) problems.push(`step ${s.name}: param ${i.path.map(String).join('.') || '(all)'}: ${i.message}`);
  }
  if (!open) for (const k of Object.keys(given)) if (!known.has(k)) problems.push(`param ${k}: no step of this run takes it (known: ${[...known].join(', ') || 'none'})`);
  if (problems.length > 0) {
    throw new InvalidParamsError(`Invalid params, nothing was run:\n  ${problems.join('\n  ')}\nPass each as ${ctx.option('param')} NAME=VALUE (VALUE is read as JSON when it parses, e.g. 3, true, "x").`, { problems });
  }
  return out;
}

/** Declared inputs not written by a step of this run must exist now. */
function checkInputsExist(steps: PlannedStep[]): void {
  for (const p of steps) {
    for (const i of p.inputs) {
      if (i.path === null || existsSync(i.path)) continue;
      const producer = steps.some((q) => p.upstream.includes(q.step.name) && q.outputs.some((o) => i.path !== null && o.path !== null && (isWithin(i.path, o.path) || isWithin(o.path, i.path))));
      if (!producer) {
        throw new ConfigurationError(`Input '${i.key}' of step ${p.step.name} (${refName(i.ref)}) does not exist: expected it at ${i.path}. Create it, or run the step that writes it.`, {
          step: p.step.name,
          ref: refName(i.ref),
        });
      }
    }
  }
}

/** Each observed write into the lineage record of every step (that succeeded) running when it was seen. */
async function recordObserved(ws: Workspace, resources: Awaited<ReturnType<typeof openResources>>, writes: RunResult['observedWrites'], startTimes: Map<string, string>): Promise<void> {
  const perStep = new Map<string, ObservedWriteRecord[]>();
  for (const w of writes) {
    const abs = isAbsolute(w.path) ? w.path : join(ws.dir, w.path);
    const r = resources.find((x) => x.localPath !== null && isWithin(abs, x.localPath));
    const subpath = r ? relativePosix(r.localPath!, abs) : null;
    const at = r ? ref(r.name, subpath === '' ? null : subpath) : null;
    for (const s of w.steps) {
      if (!startTimes.has(s)) continue;
      perStep.set(s, [...(perStep.get(s) ?? []), { path: w.path, ref: at, outside: w.outside ?? null, runningWith: w.steps.filter((x) => x !== s) }]);
    }
  }
  for (const [s, list] of perStep) recordObservedWrites(ws, s, startTimes.get(s)!, list);
}

/** The refusal of outputs a symlink leads out of their resource (--strict). */
function escapeError(ws: Workspace, escaped: Array<EscapedOutput & { step: string }>): ConfigurationError {
  const list = escaped.map((e) => `${shownPath(ws.dir, e.path)} (step ${e.step}) is a link to ${e.outside}, outside resource ${e.resource}`).join('; ');
  return new ConfigurationError(
    `Writes through a symlink out of the workspace (${ws.ctx.option('strict')}): ${list}. A snapshot would not hold what is written there: make it a directory inside the resource, or run without ${ws.ctx.option('strict')} to record it in the step's lineage.`,
    { paths: escaped.map((e) => e.path) },
  );
}

/** Start the step's lineage: inputs, the code resources holding its code files, outputs (a results-role output as the results dir). */
async function startLineage(ws: Workspace, p: PlannedStep, params: Record<string, unknown>, resources: Awaited<ReturnType<typeof openResources>>, restored?: StepOptions['restored']): Promise<LineageStep> {
  const codeResources = [...new Set(p.step.codeFiles.flatMap((f) => resources.filter((r) => r.role === 'code' && r.localPath !== null && isWithin(f, r.localPath)).map((r) => r.name)))];
  const resultsOut = p.outputs.find((x) => x.role === 'results' && x.path !== null);
  return LineageStep.start({
    workspaceDir: ws.dir,
    name: p.step.name,
    params: params ?? {},
    inputs: p.inputs.map((x) => refName(x.ref)),
    code: codeResources,
    outputs: p.outputs.filter((x) => x !== resultsOut).map((x) => refName(x.ref)),
    ...(resultsOut ? { results: { dir: refName(resultsOut.ref) } } : {}),
    // A step file is recorded relative to the workspace, so a restored copy elsewhere can rerun it.
    commandLine: p.step.work.type === 'command' ? p.step.work.argv : ['dws', 'run', ...(p.step.file ? [relativePosix(ws.dir, p.step.file)] : [])],
    ...(restored ? { restored } : {}),
  });
}

/** Hand the step's work to the executor, with its paths and the callbacks that stay here (lineage, events). */
function runWork(ws: Workspace, p: PlannedStep, params: unknown, lineage: LineageStep, signal: AbortSignal, log: (m: string, partial?: boolean) => void, executor: Executor, emit: (e: RunEvent) => void): Promise<void> {
  const paths = (refs: PlannedStep['inputs']) => Object.fromEntries(refs.map((x) => [x.key, x.path ?? refName(x.ref)]));
  return executor.run({
    step: p.step,
    params,
    inputs: paths(p.inputs),
    outputs: paths(p.outputs),
    hasResults: p.outputs.some((x) => x.role === 'results'),
    resultsDir: p.outputs.find((x) => x.role === 'results' && x.path !== null)?.path ?? null,
    workspaceDir: ws.dir,
    log,
    writeResults: (metrics) => lineage.writeResults(metrics),
    onJob: (job) => emit({ type: 'job', step: p.step.name, ...job }),
    signal,
  });
}
