/**
 * The step API users write against (docs/runner.md):
 *
 *   import { defineStep, z } from 'dataworkspaces';
 *   export default defineStep({ name: 'prepare', params: z.object({ scale: z.number().default(2) }),
 *     inputs: { raw: 'source-data' }, outputs: { prepared: 'intermediate-data:/prepared' },
 *     async run({ params, inputs, outputs, results, log, signal }) { ... } });
 *
 * A step is a plain frozen object tagged with a global symbol, so a step made by the copy of
 * dws a step file imports is recognised by the copy that runs it.
 */
import type { z } from 'zod';
import type { StepResources } from './types.js';

/** Marks a value made by defineStep (Symbol.for: shared by every copy of this module). */
export const STEP_MARK: unique symbol = Symbol.for('dataworkspaces.step') as never;

/** A declared input or output: a resource name, or `resource:/subpath`. */
export type RefString = string;

/** What a step's `run` gets. */
export interface StepRunContext<P, I extends string, O extends string> {
  /** The params after validation by the step's schema (defaults filled in). */
  params: P;
  /** Absolute local paths of the declared inputs, by the names they were declared under. */
  inputs: Record<I, string>;
  /** Absolute local paths of the declared outputs; each must be written by the step. */
  outputs: Record<O, string>;
  /**
   * `write(metrics)` writes results.json ({step, start_time, execution_time_seconds, parameters,
   * run_description, metrics}, as 1.6 does) into the step's output in a results resource.
   */
  results: { write(metrics: Record<string, unknown>): Promise<string> };
  /** A line for the person running the step (prefixed with the step's name). */
  log(message: string): void;
  /** Aborted when the run is interrupted (Ctrl-C): stop early. */
  signal: AbortSignal;
  /** The workspace root. */
  workspaceDir: string;
}

export interface StepDefinition<S extends z.ZodType = z.ZodType, I extends string = string, O extends string = string> {
  /** Unique in a run; recorded in lineage. */
  name: string;
  /** A zod schema for the params (`--param k=v`); default: no params. */
  params?: S;
  inputs?: Record<I, RefString>;
  outputs?: Record<O, RefString>;
  /** Optional one-line description shown by `--dry-run`. */
  description?: string;
  /**
   * What the step asks of the machine that runs it, for executors that schedule steps
   * (`dws run --executor slurm`: cpus, memory, time, partition, extra sbatch options); running
   * locally ignores it. E.g. `{ cpus: 4, memory: '8G', time: '01:00:00' }`.
   */
  resources?: StepResources;
  run(ctx: StepRunContext<z.output<S>, I, O>): Promise<void> | void;
}

export interface Step<S extends z.ZodType = z.ZodType, I extends string = string, O extends string = string> extends StepDefinition<S, I, O> {
  readonly [STEP_MARK]: true;
}

/** Declare a pipeline step (checked here for shape; refs are checked against the workspace by the runner). */
export function defineStep<S extends z.ZodType = z.ZodObject<{}>, I extends string = never, O extends string = never>(def: StepDefinition<S, I, O>): Step<S, I, O> {
  const where = typeof def?.name === 'string' ? `step '${def.name}'` : 'defineStep()';
  if (typeof def !== 'object' || def === null) throw new TypeError('defineStep() needs an object { name, inputs, outputs, run }');
  if (typeof def.name !== 'string' || !/\S/.test(def.name)) throw new TypeError(`${where}: 'name' must be a non-empty string`);
  if (typeof def.run !== 'function') throw new TypeError(`${where}: 'run' must be a function`);
  for (const key of ['inputs', 'outputs'] as const) {
    const m = def[key];
    if (m === undefined) continue;
    if (typeof m !== 'object' || m === null) throw new TypeError(`${where}: '${key}' must be an object of name: 'resource' or 'resource:/subpath'`);
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string' || v === '') throw new TypeError(`${where}: ${key}.${k} must be a string 'resource' or 'resource:/subpath'`);
    }
  }
  if (def.resources !== undefined) checkResources(where, def.resources);
  if (def.params !== undefined && typeof (def.params as { safeParse?: unknown }).safeParse !== 'function') {
    throw new TypeError(`${where}: 'params' must be a zod schema (z.object({...}))`);
  }
  return Object.freeze({ ...def, [STEP_MARK]: true as const });
}

export function isStep(v: unknown): v is Step {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[STEP_MARK] === true;
}

/** A step's `resources` must be what sbatch can take: a wrong one is refused when the step file loads, not on the cluster. */
function checkResources(where: string, r: unknown): void {
  const bad = (what: string) => new TypeError(`${where}: resources.${what}`);
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new TypeError(`${where}: 'resources' must be an object { cpus, memory, time, partition, sbatch }`);
  const known = ['cpus', 'memory', 'time', 'partition', 'sbatch'];
  const unknown = Object.keys(r).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new TypeError(`${where}: resources has no field ${unknown.join(', ')} (known: ${known.join(', ')})`);
  const v = r as Record<string, unknown>;
  if (v.cpus !== undefined && !(Number.isInteger(v.cpus) && (v.cpus as number) >= 1)) throw bad('cpus must be a whole number >= 1');
  if (v.memory !== undefined && !(typeof v.memory === 'string' && /^\d+[KMGT]?$/i.test(v.memory))) throw bad("memory must be a size as sbatch --mem takes it, e.g. '4G' or '500M'");
  if (v.time !== undefined && !(typeof v.time === 'string' && /^(\d+-)?\d+(:\d+){0,2}$/.test(v.time))) throw bad("time must be a time limit as sbatch --time takes it, e.g. '30', '01:00:00' or '2-00:00:00'");
  if (v.partition !== undefined && !(typeof v.partition === 'string' && /^[\w.-]+$/.test(v.partition))) throw bad('partition must be a partition name');
  if (v.sbatch !== undefined && !(Array.isArray(v.sbatch) && v.sbatch.every((x) => typeof x === 'string' && x.startsWith('-')))) {
    throw bad("sbatch must be a list of sbatch options, e.g. ['--gres=gpu:1', '--account=lab']");
  }
}
