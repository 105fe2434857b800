/**
 * The lineage model of dws 1.6 (lineage.md §1-2): resource refs, certificates, the four kinds of
 * lineage records, and their JSON form, read and written byte for byte as Python does (key order
 * of §2, the `is_ouput` key). Parsing names the file and the place of anything malformed.
 */
import { ConfigurationError, ConflictError, CorruptMetadataError, InternalError, NotFoundError } from '../protocol/errors.js';
import { PyFloat, pyRepr } from '../server/workspace/pyjson.js';

/** A resource, or a path inside it (`subpath` uses `/`, no leading slash). */
export interface ResourceRef {
  name: string;
  subpath: string | null;
}

export type Certificate =
  | { type: 'hash'; ref: ResourceRef; hashval: string; comment: string }
  /** `isOutput`: made by a step writing the ref; always false when read from disk (§2 interop trap). */
  | { type: 'placeholder'; ref: ResourceRef; version: number; comment: string; isOutput: boolean };

export interface StepLineage {
  type: 'step';
  stepName: string;
  /** `YYYY-MM-DDTHH:MM:SS.ffffff`, naive local time. */
  startTime: string;
  executionTimeSeconds: number | PyFloat | null;
  /** As read (Python number forms kept, so a rewrite is byte-identical). */
  parameters: Record<string, unknown>;
  inputs: Certificate[];
  code: Certificate[];
  outputs: Certificate[];
  commandLine: string[] | null;
  runFromDirectory: ResourceRef | null;
  /**
   * dws's addition (issue 12 items 3 and 9): writes seen while the step ran that it did not
   * declare, and declared outputs a symlink led out of their resource. Written as
   * `observed_writes` after 1.6's keys, only when there are some, so other records stay
   * byte-identical; 1.6 ignores the key (and drops it if it rewrites the file).
   */
  observedWrites?: ObservedWriteRecord[];
  /**
   * dws's addition (issue 12 item 7): set when the outputs were restored from the run cache
   * instead of being computed; the record is then the original run's (its start time, params and
   * execution time). Written as `restored_from` after 1.6's keys, only when set; 1.6 ignores it.
   */
  restoredFrom?: RestoredFrom;
}

/** The run a restored step's outputs came from (the run cache entry, server/store/run-cache.ts). */
export interface RestoredFrom {
  runId: string;
  /** The snapshot that run ended in, when it took one. */
  snapshot: string | null;
  /** When the outputs were restored (`YYYY-MM-DDTHH:MM:SS.ffffff`). */
  restoredAt: string;
}

/** One write a step made outside its declared outputs, or through a symlink out of its resource. */
export interface ObservedWriteRecord {
  /** As reported: workspace-relative when inside the workspace, else absolute. */
  path: string;
  /** The resource ref written, when the path is inside a resource's local files. */
  ref: ResourceRef | null;
  /** The real place written when a symlink led the write out of its resource (absolute), else null. */
  outside: string | null;
  /** Other steps running when the write was seen: it may be theirs. */
  runningWith: string[];
}
export interface SourceDataLineage { type: 'source_data'; cert: Certificate }
export interface CodeLineage { type: 'code'; cert: Certificate }
/** Lineage another workspace exported for one of our (imported) resources. */
export interface ImportedLineage { type: 'imported'; resourceName: string; nested: Lineage[] }
export type Lineage = StepLineage | SourceDataLineage | CodeLineage | ImportedLineage;

// ---------------------------------------------------------------------------------------------
// Errors (1.6's LineageError family: all print as "Configuration error: ...")
// ---------------------------------------------------------------------------------------------

/** Two records claim overlapping refs (same output twice, nested outputs, nested inputs). */
export class LineageConflictError extends ConflictError {}
/** A step would depend on two versions of the same data. */
export class LineageConsistencyError extends ConflictError {}
export class LineageNotFoundError extends NotFoundError {}
/** A snapshot would freeze a step whose certificates are not all known. */
export class LineagePlaceHolderError extends ConfigurationError {}

// ---------------------------------------------------------------------------------------------
// Refs and certificates
// ---------------------------------------------------------------------------------------------

export function ref(name: string, subpath: string | null = null): ResourceRef {
  return { name, subpath };
}

/** `name` or `name:/subpath`: how refs are shown to people and typed on the command line. */
export function refName(r: ResourceRef): string {
  return r.subpath === null ? r.name : `${r.name}:/${r.subpath}`;
}

/** `resource` or `resource:/sub/path` as written (in a step's refs, `dws run --in`): refName's inverse, without checks. */
export function parseRef(value: string): ResourceRef {
  const colon = value.indexOf(':/');
  if (colon === -1) return { name: value, subpath: null };
  const subpath = value.slice(colon + 2).replace(/\/+$/, '');
  return { name: value.slice(0, colon), subpath: subpath === '' ? null : subpath };
}

/** Python's repr, as 1.6 puts it into error messages. */
export function refRepr(r: ResourceRef): string {
  return `ResourceRef(name=${pyRepr(r.name)}, subpath=${r.subpath === null ? 'None' : pyRepr(r.subpath)})`;
}

export function refKey(r: ResourceRef): string {
  return r.subpath === null ? r.name : `${r.name}\0${r.subpath}`;
}

export function refEquals(a: ResourceRef, b: ResourceRef): boolean {
  return a.name === b.name && a.subpath === b.subpath;
}

/** `a` covers `b`: same resource, and `a` is the whole resource or a strict parent path of `b`'s. A ref does not cover itself. */
export function covers(a: ResourceRef, b: ResourceRef): boolean {
  if (a.name !== b.name || b.subpath === null) return false;
  if (a.subpath === null) return true;
  return a.subpath !== b.subpath && b.subpath.startsWith(`${a.subpath}/`);
}

/** Hash certs: same ref and hash; placeholders: same kind, ref and version (comments ignored). */
export function certEquals(a: Certificate, b: Certificate): boolean {
  if (!refEquals(a.ref, b.ref)) return false;
  if (a.type === 'hash') return b.type === 'hash' && a.hashval === b.hashval;
  return b.type === 'placeholder' && a.version === b.version && a.isOutput === b.isOutput;
}

/** `Hash:<first 8>` for a 40-hex hash (full value otherwise), `Placeholder:version=<v>` (lineage.md §9). */
export function certName(c: Certificate): string {
  if (c.type === 'placeholder') return `Placeholder:version=${c.version}`;
  return /^[0-9a-f]{40}$/.test(c.hashval) ? `Hash:${c.hashval.slice(0, 8)}` : `Hash:${c.hashval}`;
}

/** A certificate in messages: `source-data (Hash:5acfacd8)`. */
export function certText(c: Certificate): string {
  return `${refName(c.ref)} (${certName(c)})`;
}

/** The comment certificates of a step carry: `Step <name> at <YYYY-MM-DD HH:MM:SS.ffffff>`. */
export function stepComment(stepName: string, startTime: string): string {
  return `Step ${stepName} at ${startTime.replace('T', ' ')}`;
}

/** The certificates a record provides (for imported records: the nested ones of its resource). */
export function providedCerts(l: Lineage): Certificate[] {
  switch (l.type) {
    case 'step':
      return l.outputs;
    case 'source_data':
    case 'code':
      return [l.cert];
    case 'imported': {
      const certs = l.nested.flatMap(providedCerts).filter((c) => c.ref.name === l.resourceName);
      if (certs.length === 0) {
        throw new InternalError(`Imported lineage for ${l.resourceName} does not have any references to the resource`, { resource: l.resourceName });
      }
      return certs;
    }
  }
}

/** The certificate `l` provides for `r`: one for the same ref, else one covering it. */
export function certFor(l: Lineage, r: ResourceRef): Certificate | undefined {
  const certs = providedCerts(l);
  return certs.find((c) => refEquals(c.ref, r)) ?? certs.find((c) => covers(c.ref, r));
}

// ---------------------------------------------------------------------------------------------
// JSON (lineage.md §2)
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function certBodyToJson(c: Certificate): Json {
  return c.type === 'hash'
    ? { cert_type: 'hash', hashval: c.hashval, comment: c.comment }
    : // Python writes the misspelled key (and reads `is_output`): keep the bytes it writes.
      { cert_type: 'placeholder', version: c.version, comment: c.comment, is_ouput: c.isOutput };
}

export function certToJson(c: Certificate): Json {
  return { resource_name: c.ref.name, subpath: c.ref.subpath, certificate: certBodyToJson(c) };
}

export function lineageToJson(l: Lineage): Json {
  switch (l.type) {
    case 'source_data':
    case 'code':
      return { ...certToJson(l.cert), type: l.type };
    case 'imported':
      return { type: 'imported', resource_name: l.resourceName, nested_lineage: l.nested.map(lineageToJson) };
    case 'step':
      return {
        type: 'step',
        step_name: l.stepName,
        start_time: l.startTime,
        execution_time_seconds: l.executionTimeSeconds,
        parameters: l.parameters,
        input_resources: l.inputs.map(certToJson),
        code_resources: l.code.map(certToJson),
        output_resources: l.outputs.map(certToJson),
        command_line: l.commandLine,
        run_from_directory: l.runFromDirectory === null ? null : [l.runFromDirectory.name, l.runFromDirectory.subpath],
        ...(l.observedWrites && l.observedWrites.length > 0 ? { observed_writes: l.observedWrites.map(observedToJson) } : {}),
        ...(l.restoredFrom ? { restored_from: { run_id: l.restoredFrom.runId, snapshot: l.restoredFrom.snapshot, restored_at: l.restoredFrom.restoredAt } } : {}),
      };
  }
}

function parseRestoredFrom(v: unknown, at: At): RestoredFrom {
  const o = obj(v, at);
  const snapshot = o.snapshot ?? null;
  if (snapshot !== null && typeof snapshot !== 'string') at.child('snapshot').fail('must be a string or null');
  return { runId: str(o, 'run_id', at), snapshot: snapshot as string | null, restoredAt: str(o, 'restored_at', at) };
}

function observedToJson(w: ObservedWriteRecord): Json {
  return { path: w.path, resource_name: w.ref?.name ?? null, subpath: w.ref?.subpath ?? null, outside: w.outside, running_with: w.runningWith };
}

function parseObserved(v: unknown, at: At): ObservedWriteRecord {
  const o = obj(v, at);
  const path = str(o, 'path', at);
  const name = o.resource_name ?? null;
  if (name !== null && typeof name !== 'string') at.child('resource_name').fail('must be a string or null');
  const outside = o.outside ?? null;
  if (outside !== null && typeof outside !== 'string') at.child('outside').fail('must be a string or null');
  const rw = o.running_with ?? [];
  if (!Array.isArray(rw) || !rw.every((x) => typeof x === 'string')) at.child('running_with').fail('must be a list of strings');
  return { path, ref: name === null ? null : ref(name as string, optSubpath(o, at)), outside: outside as string | null, runningWith: rw as string[] };
}

/** Where in which file a value sits, for messages: `/w/.dataworkspace/current_lineage/x.json: lineages[0].input_resources[1]`. */
class At {
  constructor(
    readonly file: string,
    readonly path: string,
  ) {}
  child(key: string | number): At {
    return new At(this.file, typeof key === 'number' ? `${this.path}[${key}]` : this.path ? `${this.path}.${key}` : key);
  }
  fail(problem: string): never {
    throw new CorruptMetadataError(
      `Malformed lineage file ${this.file}: ${this.path || 'the top level'} ${problem}. Fix the file by hand, or delete it to forget this lineage.`,
      { file: this.file, where: this.path },
    );
  }
}

function obj(v: unknown, at: At): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) at.fail('must be a JSON object');
  return v as Json;
}
function list(v: unknown, at: At): unknown[] {
  if (!Array.isArray(v)) at.fail('must be a JSON list');
  return v;
}
function str(o: Json, key: string, at: At): string {
  const v = o[key];
  if (typeof v !== 'string') at.child(key).fail(key in o ? 'must be a string' : 'is missing');
  return v as string;
}
function optSubpath(o: Json, at: At): string | null {
  const v = o.subpath ?? null;
  if (v !== null && typeof v !== 'string') at.child('subpath').fail('must be a string or null');
  return v as string | null;
}

const START_TIME_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+$/;

function parseCert(v: unknown, at: At): Certificate {
  const o = obj(v, at);
  const r = ref(str(o, 'resource_name', at), optSubpath(o, at));
  if (!('certificate' in o)) at.child('certificate').fail('is missing');
  const cAt = at.child('certificate');
  const c = obj(o.certificate, cAt);
  const type = str(c, 'cert_type', cAt);
  const comment = str(c, 'comment', cAt);
  if (type === 'hash') return { type: 'hash', ref: r, hashval: str(c, 'hashval', cAt), comment };
  if (type === 'placeholder') {
    const version = c.version;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) cAt.child('version').fail('must be a whole number of at least 1');
    // Python reads `is_output` but writes `is_ouput`: every placeholder read back is an input one.
    return { type: 'placeholder', ref: r, version: version as number, comment, isOutput: false };
  }
  return cAt.child('cert_type').fail(`has value ${pyRepr(type)}, valid values are: hash, placeholder`);
}

function certList(o: Json, key: string, at: At): Certificate[] {
  if (!(key in o)) at.child(key).fail('is missing');
  return list(o[key], at.child(key)).map((c, i) => parseCert(c, at.child(key).child(i)));
}

function parseLineageAt(v: unknown, at: At): Lineage {
  const o = obj(v, at);
  const type = str(o, 'type', at);
  switch (type) {
    case 'source_data':
    case 'code':
      return { type, cert: parseCert(o, at) };
    case 'imported':
      return {
        type,
        resourceName: str(o, 'resource_name', at),
        nested: list(o.nested_lineage, at.child('nested_lineage')).map((n, i) => parseLineageAt(n, at.child('nested_lineage').child(i))),
      };
    case 'step': {
      const startTime = str(o, 'start_time', at);
      if (!START_TIME_RE.test(startTime)) at.child('start_time').fail(`is ${pyRepr(startTime)}, expected YYYY-MM-DDTHH:MM:SS.ffffff`);
      if (!('parameters' in o)) at.child('parameters').fail('is missing');
      const parameters = obj(o.parameters, at.child('parameters'));
      const et = o.execution_time_seconds ?? null;
      if (et !== null && typeof et !== 'number' && !(et instanceof PyFloat)) at.child('execution_time_seconds').fail('must be a number or null');
      const cl = o.command_line ?? null;
      if (cl !== null && !(Array.isArray(cl) && cl.every((x) => typeof x === 'string'))) at.child('command_line').fail('must be a list of strings or null');
      const rd = o.run_from_directory ?? null;
      if (rd !== null && !(Array.isArray(rd) && rd.length === 2 && typeof rd[0] === 'string' && (rd[1] === null || typeof rd[1] === 'string'))) {
        at.child('run_from_directory').fail('must be null or ["<resource>", "<subpath>" or null]');
      }
      return {
        type,
        stepName: str(o, 'step_name', at),
        startTime,
        executionTimeSeconds: et as number | PyFloat | null,
        parameters,
        inputs: certList(o, 'input_resources', at),
        code: certList(o, 'code_resources', at),
        outputs: certList(o, 'output_resources', at),
        commandLine: cl as string[] | null,
        runFromDirectory: rd === null ? null : ref(...(rd as [string, string | null])),
        ...('observed_writes' in o ? { observedWrites: list(o.observed_writes, at.child('observed_writes')).map((w, i) => parseObserved(w, at.child('observed_writes').child(i))) } : {}),
        ...('restored_from' in o ? { restoredFrom: parseRestoredFrom(o.restored_from, at.child('restored_from')) } : {}),
      };
    }
    default:
      return at.child('type').fail(`has value ${pyRepr(type)}, valid values are: step, source_data, code, imported`);
  }
}

/** One certificate in its JSON form (`certToJson`) read from `file`. */
export function parseCertificate(v: unknown, file: string, where = ''): Certificate {
  return parseCert(v, new At(file, where));
}

/** One lineage record read from `file` (errors name the file and the place). */
export function parseLineage(v: unknown, file: string, where = ''): Lineage {
  return parseLineageAt(v, new At(file, where));
}

/** A resource lineage file: `{"resource_name": r, "lineages": [...]}` (also lineage.json, which adds `complete`). */
export function parseResourceLineageFile(v: unknown, file: string): { resourceName: string; lineages: Lineage[] } {
  const at = new At(file, '');
  const o = obj(v, at);
  const resourceName = str(o, 'resource_name', at);
  if (!('lineages' in o)) at.child('lineages').fail('is missing');
  const lineages = list(o.lineages, at.child('lineages')).map((l, i) => parseLineageAt(l, at.child('lineages').child(i)));
  return { resourceName, lineages };
}
