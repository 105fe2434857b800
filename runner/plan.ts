/**
 * Planning a run: each step's declared refs resolved against the workspace's resources, and the
 * DAG formed by matching outputs to inputs (an input depends on the step whose output is the
 * same ref, covers it, or is covered by it). Everything that would make the run meaningless —
 * unknown resources, two steps writing the same or nested outputs, an output overlapping an
 * input, a cycle — is refused here, before anything runs.
 */
import { join } from 'node:path';
import { ConflictError, InvalidParamsError, NotFoundError } from '../protocol/errors.js';
import { resolveRef } from '../lineage/step.js';
import { covers, refEquals, refName, type ResourceRef } from '../lineage/model.js';
import type { Resource } from '../server/resources/types.js';
import type { Context } from '../server/context.js';
import type { LoadedStep } from './types.js';

export interface PlannedRef {
  /** The declared name (`raw` in `inputs: { raw: 'source-data' }`). */
  key: string;
  ref: ResourceRef;
  /** Absolute local path, or null for a resource without local files. */
  path: string | null;
  role: Resource['role'];
}

export interface PlannedStep {
  step: LoadedStep;
  inputs: PlannedRef[];
  outputs: PlannedRef[];
  /** Names of the steps this one reads from, in plan order. */
  upstream: string[];
}

export interface Plan {
  /** Steps in a topological order (declaration order among independent steps). */
  steps: PlannedStep[];
}

/** Whether two refs name the same place, or one lies within the other. */
export const overlaps = (a: ResourceRef, b: ResourceRef) => refEquals(a, b) || covers(a, b) || covers(b, a);

export function planSteps(steps: LoadedStep[], resources: Resource[], cwd: string): Plan {
  const seen = new Map<string, LoadedStep>();
  for (const s of steps) {
    const other = seen.get(s.name);
    if (other) throw new ConflictError(`Two steps are named '${s.name}' (${where(other)} and ${where(s)}): step names must be unique in a run`, { step: s.name });
    seen.set(s.name, s);
  }
  const resolve = (s: LoadedStep, decl: Record<string, string>, what: string): PlannedRef[] =>
    Object.entries(decl).map(([key, spec]) => {
      const ref = resolveRef(resources, spec, cwd, `${what} '${key}' of step ${s.name}`);
      const r = resources.find((x) => x.name === ref.name)!;
      return { key, ref, role: r.role, path: r.localPath === null ? null : ref.subpath === null ? r.localPath : join(r.localPath, ref.subpath) };
    });
  const planned = steps.map((step) => ({ step, inputs: resolve(step, step.inputs, 'input'), outputs: resolve(step, step.outputs, 'output'), upstream: [] as string[] }));

  for (const p of planned) {
    for (const [i, o] of p.outputs.entries()) {
      for (const o2 of p.outputs.slice(0, i)) {
        if (overlaps(o.ref, o2.ref)) throw conflict(`Step ${p.step.name} declares overlapping outputs ${refName(o2.ref)} and ${refName(o.ref)}: declare each place once`, p.step.name);
      }
      const inp = p.inputs.find((x) => overlaps(x.ref, o.ref));
      if (inp) throw conflict(`Step ${p.step.name} reads ${refName(inp.ref)} and writes ${refName(o.ref)}, which overlap: a step may not write what it reads`, p.step.name);
    }
  }
  for (const [i, p] of planned.entries()) {
    for (const q of planned.slice(0, i)) {
      for (const o of p.outputs) {
        const o2 = q.outputs.find((x) => overlaps(x.ref, o.ref));
        if (o2) {
          throw conflict(`Steps ${q.step.name} and ${p.step.name} both write ${refName(o2.ref)}${refEquals(o.ref, o2.ref) ? '' : ` / ${refName(o.ref)}`}: each output must have one writer`, p.step.name);
        }
      }
    }
  }
  for (const p of planned) {
    p.upstream = planned.filter((q) => q !== p && q.outputs.some((o) => p.inputs.some((i) => overlaps(o.ref, i.ref)))).map((q) => q.step.name);
  }
  return { steps: topoSort(planned) };
}

/**
 * `dws run STEP...`: the targets and every step upstream of them (like `dvc repro TARGET`); the
 * engine then skips those that are current. An unknown name is refused with the known ones.
 */
export function selectSteps(plan: Plan, targets: string[]): LoadedStep[] {
  const byName = new Map(plan.steps.map((p) => [p.step.name, p]));
  const unknown = targets.filter((t) => !byName.has(t));
  if (unknown.length > 0) {
    const known = plan.steps.map((p) => p.step.name);
    throw new NotFoundError(`No step named ${unknown.map((u) => `'${u}'`).join(', ')} in this pipeline (nor a file of that name): its steps are ${known.join(', ') || 'none'}`, { steps: unknown, known });
  }
  const wanted = new Set<string>();
  const add = (name: string) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    byName.get(name)!.upstream.forEach(add);
  };
  targets.forEach(add);
  return plan.steps.filter((p) => wanted.has(p.step.name)).map((p) => p.step);
}

function topoSort(planned: PlannedStep[]): PlannedStep[] {
  const byName = new Map(planned.map((p) => [p.step.name, p]));
  const state = new Map<string, 'visiting' | 'done'>();
  const order: PlannedStep[] = [];
  const visit = (p: PlannedStep, path: string[]) => {
    const s = state.get(p.step.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(p.step.name)), p.step.name];
      throw new ConflictError(`The steps form a cycle: ${cycle.join(' -> ')} (each reads what the next writes). Break it by changing an input or output.`, { cycle });
    }
    state.set(p.step.name, 'visiting');
    for (const u of p.upstream) visit(byName.get(u)!, [...path, p.step.name]);
    state.set(p.step.name, 'done');
    order.push(p);
  };
  for (const p of planned) visit(p, []);
  return order;
}

function conflict(message: string, step: string): ConflictError {
  return new ConflictError(message, { step });
}

function where(s: LoadedStep): string {
  return s.file ?? 'command line';
}

/** The key of GivenParams' texts. */
export const GIVEN_TEXT = Symbol('given text');

/**
 * `--param` values by name, as parseParams makes them. Under GIVEN_TEXT, the text given for each
 * value that parsed as a number printing back otherwise (`1.0`, `1e400`): a string param (dws.yaml)
 * takes the text as given, not `1` or `Infinity`. That property is not enumerable, so the values
 * alone are the params (Object.entries, spread, zod, JSON and equality see only them); params made
 * otherwise (reproduce, tests) have no texts.
 */
export type GivenParams = Record<string, unknown> & { readonly [GIVEN_TEXT]?: Readonly<Record<string, string>> };

/** `--param k=v` strings → values: JSON when the value parses as JSON, else the string. `option`: the front end's words (Context). */
export function parseParams(pairs: string[], option: Context['option']): GivenParams {
  const out: Record<string, unknown> = {};
  const texts: Record<string, string> = {};
  Object.defineProperty(out, GIVEN_TEXT, { value: texts });
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidParamsError(`${option('param')} '${pair}' is not of the form NAME=VALUE (e.g. ${option('param')} scale=3)`, { param: pair });
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: the string itself
    }
    out[pair.slice(0, eq)] = value;
    if (typeof value === 'number' && String(value) !== raw) texts[pair.slice(0, eq)] = raw;
  }
  return out;
}
