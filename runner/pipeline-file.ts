/**
 * The pipeline file `dws.yaml` (issue 12 item 8): command steps in any language, declared in YAML
 * at the workspace root (where `dvc.yaml` users look), plus the step files that belong to the
 * pipeline. One zod schema checks it; every problem is reported at `dws.yaml:LINE:COL` (the `yaml`
 * package keeps each node's source range). The same reading serves the runner (command steps
 * load into the LoadedStep every step file loads into), `dws status` (a step's declaration is part
 * of its code) and the editor (diagnostics, hovers, completion and lenses on the file's refs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { ConfigurationError } from '../protocol/errors.js';
import { PIPELINE_FILE } from '../protocol/step-file.js';
import { parseRef } from '../lineage/model.js';
import type { Resource } from '../server/resources/types.js';
import { isWithin } from '../server/workspace/paths.js';
import type { Workspace } from '../server/workspace/workspace.js';
import { stableJson } from './cache.js';
import { commandCodeFiles } from './load.js';
import { GIVEN_TEXT, type GivenParams } from './plan.js';
import type { LoadedStep, StepResources } from './types.js';

export { PIPELINE_FILE };

const REF = /^[^\s:/]+(:\/.*)?$/;
const Ref = z.string({ error: "a ref is a string: 'resource' or 'resource:/subpath'" }).regex(REF, { error: "a ref is 'resource' or 'resource:/subpath'" });
/** `{ key: ref }` (the key names the path in DWS_INPUTS / DWS_OUTPUTS), or a list of refs (each its own key). */
const Refs = z.union([z.record(z.string(), Ref), z.array(Ref)], { error: "expected a mapping of name: ref, or a list of refs ('resource' or 'resource:/subpath')" });

const ParamValue = z.union([z.number(), z.string(), z.boolean()], { error: 'a param value is a number, a string or a boolean' });
const ParamType = z.enum(['number', 'integer', 'string', 'boolean'], { error: 'type is one of number, integer, string, boolean' });
/** A param: its default alone (`scale: 2`, the type taken from it), or `{ type, default, description, choices }`. */
const Param = z.union([
  ParamValue,
  z
    .strictObject({ type: ParamType.optional(), default: ParamValue.optional(), description: z.string().optional(), choices: z.array(ParamValue).min(1).optional() })
    .superRefine((p, ctx) => {
      if (p.type === undefined && p.default === undefined) ctx.addIssue({ code: 'custom', message: 'a param needs a type or a default' });
      const check = (v: string | number | boolean | undefined, path: Array<string | number>) => {
        if (v !== undefined && p.type !== undefined && !fitsType(v, p.type)) ctx.addIssue({ code: 'custom', path, message: `${JSON.stringify(v)} is not of type ${p.type}` });
      };
      check(p.default, ['default']);
      p.choices?.forEach((c, i) => check(c, ['choices', i]));
    }),
]);
export type ParamDecl = z.infer<typeof Param>;

/** What a step asks of the machine that runs it (StepResources, runner/types.ts): checked here, used by executors such as Slurm. */
const Resources = z.strictObject({
  cpus: z.number().int().min(1).optional(),
  /** `4G`, or a number of megabytes as sbatch reads it. */
  memory: z.union([z.string().regex(/^\d+[KMGT]?$/i, { error: "memory is like 4G, 512M or a number of megabytes" }), z.number().int().positive()]).transform(String).optional(),
  /** `01:00:00`, `2-00:00:00`, or a number of minutes as sbatch reads it. */
  time: z.union([z.string().min(1), z.number().int().positive()]).transform(String).optional(),
  partition: z.string().min(1).optional(),
  sbatch: z.array(z.string()).optional(),
}) satisfies z.ZodType<StepResources, unknown>;

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const Step = z.strictObject({
  name: z.string({ error: 'every step needs a name' }).regex(NAME, { error: 'a step name is letters, digits, _ . - (and does not start with . or -)' }),
  description: z.string().optional(),
  /** Run by `sh -c` when a string; run as it is (no shell) when a list. */
  command: z.union([z.string().min(1), z.array(z.string()).min(1)], { error: 'command is a string (run by sh -c) or a list of arguments' }),
  inputs: Refs.default({}),
  outputs: Refs.default({}),
  params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'a param name is letters, digits and _' }), Param).default({}),
  resources: Resources.optional(),
});
export type PipelineStep = z.infer<typeof Step>;

export const PipelineFileSchema = z.strictObject({
  /** Step files or folders of them (workspace-relative) that belong to the pipeline. */
  stepFiles: z.array(z.string().min(1).refine((f) => basename(f) !== PIPELINE_FILE, { error: `stepFiles names step files and folders of them, not a pipeline file (${PIPELINE_FILE})` })).default([]),
  steps: z.array(Step).default([]),
});
export type PipelineFileContent = z.infer<typeof PipelineFileSchema>;

/** A problem in the file, at offsets of its text. */
export interface PipelineProblem {
  message: string;
  start: number;
  end: number;
}

/** A ref string of a step as written, with the offsets of its text (for editors). */
export interface LocatedRef {
  key: string;
  value: string;
  start: number;
  end: number;
  kind: 'input' | 'output';
}

/** A step as written, located in the text: found even when the file does not pass the schema (someone is typing). */
export interface LocatedStep {
  name: string | null;
  /** Offsets of the step's entry (where code lenses go). */
  start: number;
  end: number;
  nameRange: { start: number; end: number } | null;
  refs: LocatedRef[];
}

export interface ReadPipeline {
  /** The checked content, or null when any problem was found. */
  content: PipelineFileContent | null;
  problems: PipelineProblem[];
  steps: LocatedStep[];
  /** Line and column (1-based) of an offset. */
  lineCol(offset: number): { line: number; column: number };
  /** The offsets of the node at a path (`['steps', 0, 'name']`), or of its nearest ancestor that exists. */
  rangeAt(path: Array<string | number>): { start: number; end: number };
}

/** Read a pipeline file's text: YAML syntax, the schema, unique step names. Never throws. */
export function readPipelineText(text: string): ReadPipeline {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineCol = (offset: number) => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const rangeAt = (path: Array<string | number>) => nodeRange(doc, path);
  const steps = locateSteps(doc);
  const problems: PipelineProblem[] = doc.errors.map((e) => ({ message: `YAML: ${e.message}`, start: e.pos[0], end: e.pos[1] }));
  const read = (content: PipelineFileContent | null): ReadPipeline => ({ content, problems, steps, lineCol, rangeAt });
  if (problems.length > 0) return read(null);
  const js = (doc.toJS() ?? {}) as { steps?: unknown };
  const parsed = PipelineFileSchema.safeParse(js);
  if (!parsed.success) for (const issue of parsed.error.issues) problems.push(...issueProblems(doc, issue));
  // Duplicate names from the text as it is, so they are listed with the schema's problems (every problem at once).
  const names = Array.isArray(js.steps) ? js.steps.map((x: unknown) => (typeof x === 'object' && x !== null ? (x as { name?: unknown }).name : undefined)) : [];
  names.forEach((name, i) => {
    const first = names.indexOf(name);
    if (typeof name === 'string' && first !== i) problems.push({ ...rangeAt(['steps', i, 'name']), message: `steps[${i}].name: a second step named '${name}' (the first is steps[${first}]): step names must be unique` });
  });
  problems.sort((a, b) => a.start - b.start);
  return read(problems.length > 0 || !parsed.success ? null : parsed.data);
}

/** The problems as one error: `dws.yaml:LINE:COL: message` each. */
export function pipelineError(shown: string, read: ReadPipeline, problems = read.problems): ConfigurationError {
  const list = problems.map((p) => ({ ...read.lineCol(p.start), message: p.message }));
  return new ConfigurationError(`Invalid pipeline file ${shown}, nothing was run:\n${list.map((p) => `  ${shown}:${p.line}:${p.column}: ${p.message}`).join('\n')}`, { file: shown, problems: list });
}

/**
 * The refs of the file that name no resource of the workspace, or whose subpath leaves its
 * resource: the runner would refuse them without saying where they are written.
 */
export function refProblems(read: ReadPipeline, resourceNames: string[]): PipelineProblem[] {
  const out: PipelineProblem[] = [];
  for (const s of read.steps) {
    for (const r of s.refs) {
      const { name, subpath } = parseRef(r.value);
      const sub = subpath ?? '';
      const what = `step ${s.name ?? '(unnamed)'}: ${r.kind} '${r.key}'`;
      if (!resourceNames.includes(name)) out.push({ start: r.start, end: r.end, message: `${what}: no resource named '${name}' (this workspace has ${resourceNames.join(', ') || 'no resources'})` });
      else if (sub.split('/').includes('..')) out.push({ start: r.start, end: r.end, message: `${what}: subpath '${sub}' leaves resource ${name} ('..' is not allowed)` });
    }
  }
  return out;
}

/**
 * The zod schema of a step's params (defaults filled in, unknown keys dropped): what the engine
 * validates `--param` values with. `given`: those values (parseParams'), for the text of a number.
 */
export function paramsSchema(params: Record<string, ParamDecl>, given: GivenParams = {}) {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, decl] of Object.entries(params)) {
    const d = typeof decl === 'object' ? decl : { default: decl };
    const type = d.type ?? (typeof d.default === 'number' ? 'number' : typeof d.default === 'boolean' ? 'boolean' : 'string');
    // `--param name=3` reads 3 as JSON: a string param takes it as text, as it was given (`1.0`, not `1`).
    const text = (v: number | boolean) => (typeof v === 'number' ? (given[GIVEN_TEXT]?.[name] ?? String(v)) : String(v));
    let t: z.ZodType =
      type === 'number' ? z.number() : type === 'integer' ? z.number().int() : type === 'boolean' ? z.boolean() :
        z.preprocess((v) => (typeof v === 'number' || typeof v === 'boolean' ? text(v) : v), z.string());
    if (d.choices) {
      const choices = d.choices;
      t = t.refine((v) => choices.includes(v as never), { error: `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}` });
    }
    shape[name] = d.default === undefined ? t : t.default(d.default as never);
  }
  return z.object(shape);
}

/**
 * What makes a command step what it is besides its script files: its command, params and refs
 * as declared. Hashed with its code files (runner/cache.ts codeHash), so editing the step in
 * dws.yaml reruns it, and editing another step does not.
 */
export function declarationOf(s: PipelineStep): string {
  return stableJson({ command: s.command, params: s.params, inputs: s.inputs, outputs: s.outputs });
}

/** `${name}` of each declared param replaced by its value; other `${...}` (shell variables) left alone. */
export function substituteParams(text: string, values: Record<string, unknown>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => (Object.hasOwn(values, name) ? String(values[name]) : whole));
}

/**
 * Load the pipeline file's command steps (the `${param}`s filled in from the given params, with
 * defaults; left as written when the params are invalid, which the engine then refuses), and its
 * step files. Every problem is an error at `dws.yaml:LINE:COL`.
 */
export function loadPipelineFile(ws: Workspace, resources: Resource[], file: string, given: GivenParams): { steps: LoadedStep[]; stepFiles: string[] } {
  const read = readPipelineText(readFileSync(file, 'utf8'));
  // Every problem at once, in the order of the file (refs are checked unless the YAML is broken).
  const yamlBroken = read.problems.some((p) => p.message.startsWith('YAML:'));
  const problems = [...read.problems, ...(yamlBroken ? [] : [...refProblems(read, ws.resources.map((r) => r.name)), ...missingStepFiles(ws, read)])];
  if (read.content === null || problems.length > 0) throw pipelineError(basename(file), read, problems.sort((x, y) => x.start - y.start));
  const content = read.content;
  return { steps: content.steps.map((s) => commandStepOf(ws, resources, file, s, given)), stepFiles: content.stepFiles.map((f) => join(ws.dir, f)) };
}

/** `stepFiles` entries that do not exist. */
export function missingStepFiles(ws: Workspace, read: ReadPipeline): PipelineProblem[] {
  const listed = read.content?.stepFiles ?? [];
  return listed.flatMap((f, i) => (existsSync(join(ws.dir, f)) ? [] : [{ ...read.rangeAt(['stepFiles', i]), message: `stepFiles: ${f} does not exist (paths are relative to the workspace root ${ws.dir})` }]));
}

/** A step of a checked pipeline file as the runner runs it. */
export function commandStepOf(ws: Workspace, resources: Resource[], file: string, s: PipelineStep, given: GivenParams): LoadedStep {
  const schema = paramsSchema(s.params, given);
  const parsed = schema.safeParse(given);
  const fill = (t: string) => (parsed.success ? substituteParams(t, parsed.data as Record<string, unknown>) : t);
  const argv = typeof s.command === 'string' ? ['sh', '-c', fill(s.command)] : s.command.map(fill);
  const words = typeof s.command === 'string' ? fill(s.command).split(/[\s;|&<>()'"=]+/) : argv;
  const keyed = (refs: PipelineStep['inputs']) => (Array.isArray(refs) ? Object.fromEntries(refs.map((r) => [r, r])) : { ...refs });
  const inputs = keyed(s.inputs);
  const outputs = keyed(s.outputs);
  // What the step reads and writes through its refs is its data (fingerprinted as inputs), not its code.
  const data = [...Object.values(inputs), ...Object.values(outputs)].flatMap((r) => {
    const ref = parseRef(r);
    const local = resources.find((x) => x.name === ref.name)?.localPath;
    return local ? [ref.subpath === null ? local : join(local, ref.subpath)] : [];
  });
  return {
    name: s.name,
    file,
    codeFiles: commandCodeFiles(ws, ws.dir, words).filter((f) => !data.some((d) => isWithin(f, d))),
    declaration: declarationOf(s),
    inputs,
    outputs,
    paramsSchema: schema,
    ...(s.description !== undefined ? { description: s.description } : {}),
    ...(s.resources !== undefined ? { resources: s.resources } : {}),
    work: { type: 'command', argv, cwd: ws.dir },
  };
}

/**
 * The declaration of step `name` in a pipeline file now (what `dws status` recomputes a step's
 * code from): null when the file no longer declares it, `unreadable` when the file is broken.
 */
export function currentDeclaration(file: string, name: string): string | null {
  if (!existsSync(file)) return null;
  const read = readPipelineText(readFileSync(file, 'utf8'));
  if (read.content === null) return read.steps.some((s) => s.name === name) ? 'unreadable' : null;
  const s = read.content.steps.find((x) => x.name === name);
  return s === undefined ? null : declarationOf(s);
}

/** Offsets of the node at `path`, or of the nearest ancestor that exists (a missing field is reported on its step). */
function nodeRange(doc: Document, path: Array<string | number>): { start: number; end: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return { start: range[0], end: range[1] };
  }
  return { start: 0, end: 0 };
}

/** `steps[1] (train).inputs.raw`: the step's name when it has one. */
function pathText(doc: Document, path: PropertyKey[]): string {
  const text = path.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`)).join('') || 'the file';
  const name = path[0] === 'steps' && typeof path[1] === 'number' ? doc.getIn(['steps', path[1], 'name']) : undefined;
  return typeof name === 'string' ? text.replace(/^steps\[\d+\]/, (m) => `${m} (${name})`) : text;
}

/** A schema issue at the node it is about; an unknown field at its own key. */
function issueProblems(doc: Document, issue: z.core.$ZodIssue, prefix: Array<string | number> = []): PipelineProblem[] {
  const path = [...prefix, ...issue.path.filter((k): k is string | number => typeof k !== 'symbol')];
  // A union neither form of which fits: the form that got furthest into the value says best what is wrong (`inputs: [3]`: a list whose item is not a ref).
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const depth = (issues: z.core.$ZodIssue[]) => Math.min(...issues.map((i) => i.path.length));
    const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0]!;
    if (best.length > 0 && depth(best) > 0) return best.flatMap((i) => issueProblems(doc, i, path));
  }
  if (issue.code === 'unrecognized_keys') {
    const parent = doc.getIn(path, true);
    const known = path.length === 0 ? Object.keys(PipelineFileSchema.shape) : path.length === 2 && path[0] === 'steps' ? Object.keys(Step.shape) : null;
    return issue.keys.map((key) => {
      const pair = isMap(parent) ? parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key) : undefined;
      const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
      return {
        ...(range ? { start: range[0], end: range[1] } : nodeRange(doc, path)),
        message: `${pathText(doc, [...path, key])}: unknown field '${key}'${known ? ` (known: ${known.join(', ')})` : ''}`,
      };
    });
  }
  return [{ ...nodeRange(doc, path), message: `${pathText(doc, path)}: ${issue.message}` }];
}

/** The steps as written, with the offsets of their names and ref strings, however much of the file is valid. */
function locateSteps(doc: Document): LocatedStep[] {
  const list = doc.getIn(['steps'], true);
  if (!isSeq(list)) return [];
  const out: LocatedStep[] = [];
  for (const item of list.items) {
    if (!isMap(item) || !item.range) continue;
    const name = item.get('name', true);
    const step: LocatedStep = {
      name: isScalar(name) && typeof name.value === 'string' ? name.value : null,
      start: item.range[0],
      end: item.range[1],
      nameRange: isScalar(name) && name.range ? contentRange(name) : null,
      refs: [],
    };
    for (const kind of ['input', 'output'] as const) {
      const refs = item.get(`${kind}s`, true);
      const add = (key: string, v: unknown) => {
        if (isScalar(v) && v.range && (typeof v.value === 'string' || v.value === null)) step.refs.push({ key, value: typeof v.value === 'string' ? v.value : '', ...contentRange(v), kind });
      };
      if (isMap(refs)) for (const p of refs.items) add(isScalar(p.key) ? String(p.key.value) : '', p.value);
      if (isSeq(refs)) for (const v of refs.items) add(isScalar(v) && typeof v.value === 'string' ? v.value : '', v);
    }
    out.push(step);
  }
  return out;
}

/** The offsets of a scalar's text: inside its quotes when quoted. */
function contentRange(s: { range?: [number, number, number] | null; type?: string }): { start: number; end: number } {
  const [start, end] = s.range!;
  const quoted = s.type === 'QUOTE_DOUBLE' || s.type === 'QUOTE_SINGLE';
  return quoted ? { start: start + 1, end: Math.max(start + 1, end - 1) } : { start, end };
}

function fitsType(v: string | number | boolean, type: 'number' | 'integer' | 'string' | 'boolean'): boolean {
  return type === 'integer' ? Number.isInteger(v) : typeof v === type;
}
