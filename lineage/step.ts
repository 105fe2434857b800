/**
 * Recording a step from a TypeScript program (the counterpart of 1.6's `LineageBuilder`,
 * lineage.md §4 and §8):
 *
 *   const step = await LineageStep.start({ name: 'prepare', params: { scale: 2 },
 *     inputs: ['source-data'], code: ['code/prepare.mjs'], outputs: ['intermediate-data:/prepared'] });
 *   try { ...work...; await step.complete(); } catch (e) { step.abort(); throw e; }
 *
 * or `await recordStep(options, async (step) => ...)`, which does the same. Everything declared
 * is checked before the step starts (resources exist, subpaths stay inside them, the consistency
 * rules hold); input and code certificates are taken at the start, output certificates at the
 * end. A failed step records no lineage and forgets its outputs' lineage; its run is kept apart
 * as the step's last failure (lineage/failures.ts), for `lineage export`.
 */
import { existsSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { ConfigurationError, InvalidParamsError } from '../protocol/errors.js';
import { createContext, type Logger } from '../server/context.js';
import { openResources } from '../server/resources/registry.js';
import type { Resource } from '../server/resources/types.js';
import { isWithin, relativePosix } from '../server/workspace/paths.js';
import { PyFloat } from '../server/workspace/pyjson.js';
import { localIsoTimestamp } from '../server/workspace/time.js';
import { findWorkspaceDir, Workspace } from '../server/workspace/workspace.js';
import { currentCompareHash } from './current-hash.js';
import { certEquals, ref, refName, stepComment, type Certificate, type RestoredFrom, type ResourceRef, type StepLineage } from './model.js';
import { clearFailedStep, recordFailedStep } from './failures.js';
import { addResultsFile } from './results-file.js';
import { checkNoNesting, checkOutputs, checkTransitive } from './rules.js';
import { LineageStore } from './store.js';

export interface StepOptions {
  /** The workspace, or a directory inside it; default: the one enclosing the current directory. */
  workspaceDir?: string;
  /** Step name; default the script's file name without extension (`prepare.mjs` → `prepare`). */
  name?: string;
  /** Parameters that make this run what it is (recorded, and shown by `report lineage`). */
  params?: Record<string, unknown>;
  /**
   * What the step reads, writes, and runs. Each is a ref — a resource name, or
   * `resource:/subpath` — or a local path inside a resource (resources.md §1.2). Code paths
   * stand for their whole code resource, as in 1.6.
   */
  inputs?: string[];
  code?: string[];
  outputs?: string[];
  /** A results step: this directory (path or ref) becomes an output and `writeResults` writes its results.json. */
  results?: { dir: string; runDescription?: string };
  /** Recorded command line; default the running program's (`process.argv`). */
  commandLine?: string[] | null;
  /** Where "Wrote results to ..." goes; default nowhere. */
  log?: Logger;
  /**
   * The outputs are restored from the run cache (runner/engine.ts): the record is the original
   * run's (its start time and execution time), marked with where it came from.
   */
  restored?: { startTime: string; executionTimeSeconds: number | null; runId: string; snapshot: string | null };
}

/** A step in progress: its declared refs, their local paths, and complete/abort. */
export class LineageStep {
  private done: 'complete' | 'abort' | null = null;
  private executionTime: number | null = null;

  private constructor(
    private readonly ws: Workspace,
    readonly name: string,
    readonly startTime: string,
    private readonly startedAt: number,
    readonly parameters: Record<string, unknown>,
    readonly inputCerts: Certificate[],
    readonly codeCerts: Certificate[],
    readonly outputs: ResourceRef[],
    /** Local paths of the inputs and outputs, in declaration order (null: a resource without local files). */
    readonly inputPaths: Array<string | null>,
    readonly outputPaths: Array<string | null>,
    private readonly commandLine: string[] | null,
    private readonly results: { resource: Resource; subpath: string | null; runDescription: string | null } | null,
    private readonly restored: { from: RestoredFrom; executionTimeSeconds: number | null } | null,
  ) {}

  /** Check the declaration, take the input and code certificates, and start the clock. */
  static async start(o: StepOptions): Promise<LineageStep> {
    const ctx = createContext({ ...(o.log ? { log: o.log } : {}) });
    const ws = Workspace.open(ctx, o.workspaceDir === undefined ? undefined : (findWorkspaceDir(resolve(o.workspaceDir)) ?? o.workspaceDir));
    const resources = await openResources(ws);
    const name = o.name ?? defaultStepName();
    if (!/\S/.test(name)) throw new InvalidParamsError('The step name must not be empty', {});
    const inputs = (o.inputs ?? []).map((s) => resolveRef(resources, s, ctx.cwd, 'input'));
    for (const r of inputs) checkSubpathExists(resources, r);
    const code = (o.code ?? []).map((s) => codeRef(resources, s, ctx.cwd));
    const outputs = (o.outputs ?? []).map((s) => resolveRef(resources, s, ctx.cwd, 'output'));
    let results: LineageStep['results'] = null;
    if (o.results) {
      const r = resolveRef(resources, o.results.dir, ctx.cwd, 'results directory');
      const resource = resources.find((x) => x.name === r.name)!;
      if (resource.localPath === null) {
        throw new ConfigurationError(`Resource '${r.name}' does not support a file API and thus won't support writing results.`, { resource: r.name });
      }
      outputs.push(r);
      results = { resource, subpath: r.subpath, runDescription: o.results.runDescription ?? null };
    }
    checkNoNesting(name, inputs);
    checkNoNesting(name, code);
    checkOutputs(name, outputs);

    const start = ctx.now();
    const startTime = o.restored?.startTime ?? localIsoTimestamp(start);
    const comment = stepComment(name, startTime);
    const store = new LineageStore(ws);
    // The certificates this step will record, before anything is stored (so a refused step stores nothing).
    const plan = async (r: ResourceRef, forCode: boolean) => ({ forCode, ...(await certAtStart(store, resources, r, comment)) });
    const planned = [...(await Promise.all(inputs.map((r) => plan(r, false)))), ...(await Promise.all(code.map((r) => plan(r, true))))];
    checkTransitive(
      store,
      name,
      planned.filter((p) => !p.forCode && p.known).map((p) => p.cert),
    );
    for (const p of planned) if (p.fresh) store.newInputPlaceholder(p.cert.ref, comment, p.forCode);
    const certs = planned.map((p) => p.cert);
    const localPath = (r: ResourceRef) => {
      const lp = resources.find((x) => x.name === r.name)!.localPath;
      return lp === null ? null : r.subpath === null ? lp : join(lp, r.subpath);
    };
    return new LineageStep(
      ws,
      name,
      startTime,
      start.getTime(),
      o.params ?? {},
      certs.slice(0, inputs.length),
      certs.slice(inputs.length),
      outputs,
      inputs.map(localPath),
      outputs.map(localPath),
      o.commandLine === undefined ? [...process.argv] : o.commandLine,
      results,
      o.restored ? { from: { runId: o.restored.runId, snapshot: o.restored.snapshot, restoredAt: localIsoTimestamp(start) }, executionTimeSeconds: o.restored.executionTimeSeconds } : null,
    );
  }

  /** Write `<results dir>/results.json` (lineage.md §7) with these metrics; returns the file written. */
  async writeResults(metrics: Record<string, unknown>): Promise<string> {
    if (!this.results) throw new InvalidParamsError(`Step ${this.name} is not a results step: declare \`results: { dir }\` to write results`, { step: this.name });
    this.executionTime ??= this.elapsed();
    const rel = this.results.subpath === null ? 'results.json' : `${this.results.subpath}/results.json`;
    const file = await addResultsFile(this.results.resource, rel, {
      step: this.name,
      start_time: this.startTime,
      execution_time_seconds: pyFloat(this.executionTime),
      parameters: this.parameters,
      run_description: this.results.runDescription,
      metrics,
    });
    this.ws.ctx.log.info(`Wrote results to ${this.results.resource.name}:${rel}`);
    return file;
  }

  /** Record the step: output placeholders, execution time, stored at each output ref. */
  async complete(): Promise<StepLineage> {
    const staged = await this.completeStaged();
    staged.commit();
    return staged.lineage;
  }

  /**
   * complete() up to its files being written and synced under temp names; `commit()` puts them in
   * place, `discard()` drops them. A run-cache restore stages its lineage while its outputs are
   * copied, and commits once they are in place.
   */
  async completeStaged(): Promise<{ lineage: StepLineage; commit(): void; discard(): void }> {
    this.warnIfDone('complete');
    this.done = 'complete';
    this.executionTime ??= this.restored ? this.restored.executionTimeSeconds : this.elapsed();
    // Fresh: another step may have written lineage while this one ran.
    const store = new LineageStore(this.ws);
    const comment = stepComment(this.name, this.startTime);
    const lineage: StepLineage = {
      type: 'step',
      stepName: this.name,
      startTime: this.startTime,
      executionTimeSeconds: this.executionTime === null ? null : pyFloat(this.executionTime),
      parameters: this.parameters,
      inputs: this.inputCerts,
      code: this.codeCerts,
      outputs: this.outputs.map((r) => store.placeholderForOutput(r, comment)),
      commandLine: this.commandLine,
      runFromDirectory: null,
      ...(this.restored ? { restoredFrom: this.restored.from } : {}),
    };
    const staged = await store.stageAsync(lineage);
    return {
      lineage,
      commit: () => {
        staged.commit();
        clearFailedStep(this.ws, this.name);
      },
      discard: () => staged.discard(),
    };
  }

  /**
   * The step failed (`error`, or stopped from outside when `interrupted`): its outputs' lineage is
   * no longer known, so it is forgotten; the run is remembered as the step's last failure.
   */
  abort(error?: unknown, o: { interrupted?: boolean } = {}): void {
    this.warnIfDone('abort');
    this.done = 'abort';
    const store = new LineageStore(this.ws);
    for (const r of this.outputs) store.clear(r);
    recordFailedStep(this.ws, {
      stepName: this.name,
      startTime: this.startTime,
      executionTimeSeconds: this.executionTime ?? this.elapsed(),
      parameters: this.parameters,
      inputs: this.inputCerts,
      code: this.codeCerts,
      outputs: this.outputs,
      commandLine: this.commandLine,
      error: error === undefined ? 'the step failed' : error instanceof Error ? error.message : String(error),
      interrupted: o.interrupted === true,
    });
  }

  private warnIfDone(call: string): void {
    if (this.done) process.stderr.write(`WARNING: Lineage.${call}() called after complete() or abort() call for ${this.name}\n`);
  }

  private elapsed(): number {
    return Math.round((Date.now() - this.startedAt) * 1000) / 1e6;
  }
}

/** Run `work` as a recorded step: complete on success; on failure abort and rethrow. */
export async function recordStep<T>(options: StepOptions, work: (step: LineageStep) => Promise<T>): Promise<T> {
  const step = await LineageStep.start(options);
  let result: T;
  try {
    result = await work(step);
  } catch (e) {
    step.abort(e);
    throw e;
  }
  await step.complete();
  return result;
}

function defaultStepName(): string {
  const script = process.argv[1];
  if (!script) throw new InvalidParamsError('No step name given and no script to take it from: pass `name`', {});
  const base = basename(script);
  return base.slice(0, base.length - extname(base).length);
}

function pyFloat(seconds: number): number | PyFloat {
  return Number.isInteger(seconds) ? new PyFloat(seconds) : seconds;
}

/**
 * The certificate the step records for an input or code ref as it is now: the stored one, unless
 * it is source-data or code lineage whose hash is no longer the resource's: then a fresh
 * placeholder, replaced by the new hash at the next snapshot. 1.6 reused the old hash
 * (lineage.md §5 BUG, fixed here), so a step claimed to have read data it never read.
 * `fresh`: the placeholder is to be stored; `known`: the ref had lineage (checked transitively).
 */
async function certAtStart(store: LineageStore, resources: Resource[], r: ResourceRef, comment: string): Promise<{ cert: Certificate; fresh: boolean; known: boolean }> {
  const placeholder: Certificate = { type: 'placeholder', ref: r, version: 1, comment, isOutput: false };
  const entry = store.lookup(r);
  if (!entry) return { cert: placeholder, fresh: true, known: false };
  const cert = store.currentCert(r)!;
  if (cert.type === 'hash' && (entry.lineage.type === 'source_data' || entry.lineage.type === 'code')) {
    const now = await currentCompareHash(resources.find((x) => x.name === r.name)!);
    // At the stored (maybe covering) ref, so the new record replaces the old one.
    if (now !== null && now !== cert.hashval) return { cert: { ...placeholder, ref: cert.ref }, fresh: true, known: true };
  }
  return { cert, fresh: false, known: true };
}

/**
 * The runner skipped step `stepName` (early cutoff: its inputs hold the content it read last time)
 * while a step upstream reran and recorded new versions of them (placeholders). Its record is made
 * to name those versions, of the same content: else a step downstream that reads both would
 * depend on two versions of one input (rules.ts checkTransitive) and be refused.
 */
export function recertifyInputs(ws: Workspace, stepName: string, outputs: ResourceRef[]): void {
  const store = new LineageStore(ws);
  const l = outputs.map((r) => store.lookup(r)?.lineage).find((x): x is StepLineage => x?.type === 'step' && x.stepName === stepName);
  if (l === undefined) return;
  const inputs = l.inputs.map((c) => {
    const now = store.currentCert(c.ref);
    return now?.type === 'placeholder' && !certEquals(now, c) ? now : c;
  });
  if (inputs.some((c, i) => c !== l.inputs[i])) store.store({ ...l, inputs });
}

/**
 * A declared ref or path → a ref of a known resource, refusing unknown resources and subpaths
 * that leave their resource.
 */
export function resolveRef(resources: Resource[], spec: string, cwd: string, what: string): ResourceRef {
  const m = /^([^/:]+):\/(.*)$/.exec(spec);
  const name = m ? m[1]! : spec;
  if (m || resources.some((r) => r.name === spec)) {
    if (!resources.some((r) => r.name === name)) {
      throw new ConfigurationError(`No resource named '${name}' (${what} ${spec}). Known resources: ${resources.map((r) => r.name).join(', ')}`, { resource: name });
    }
    return ref(name, normalizeSubpath(m ? m[2]! : '', spec));
  }
  const path = resolve(cwd, spec);
  const owner = resources.find((r) => r.localPath !== null && isWithin(path, r.localPath));
  if (!owner) {
    throw new ConfigurationError(`Path '${spec}' does not correspond to a resource in this workspace (${what}). Give a path inside a resource, or a ref like 'resource:/subpath'.`, {
      path: spec,
    });
  }
  const rel = relativePosix(owner.localPath!, path);
  return ref(owner.name, rel === '' ? null : rel);
}

function normalizeSubpath(sub: string, spec: string): string | null {
  const parts = sub.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new InvalidParamsError(`Subpath '${sub}' of ${spec} leaves its resource ('..' is not allowed): name a path inside the resource`, { ref: spec });
  }
  return parts.length === 0 ? null : parts.join('/');
}

function checkSubpathExists(resources: Resource[], r: ResourceRef): void {
  const lp = resources.find((x) => x.name === r.name)!.localPath;
  if (r.subpath === null || lp === null) return;
  const p = join(lp, r.subpath);
  if (!existsSync(p)) throw new ConfigurationError(`Subpath ${r.subpath} does not exist for resource ${r.name}, expecting it at '${p}'`, { ref: refName(r) });
}

/** Code is recorded per code resource (a path's subpath is dropped, as in 1.6). */
function codeRef(resources: Resource[], spec: string, cwd: string): ResourceRef {
  const r = resolveRef(resources, spec, cwd, 'code');
  const role = resources.find((x) => x.name === r.name)!.role;
  if (role !== 'code') {
    throw new ConfigurationError(`Expected resource '${r.name}' to be in role 'code', but role was '${role}'`, { resource: r.name });
  }
  return ref(r.name, null);
}
