/**
 * Questions asked of a lineage store (current, or as of a snapshot): the 1.6 table (§9), the
 * transitive lineage of a resource (§6, for lineage.json and "what produced X"), what depends on
 * a ref, the graph (§10), and the difference between two stores.
 */
import { ConfigurationError } from '../protocol/errors.js';
import { numberValue, pyStr } from '../server/workspace/pyjson.js';
import type { GraphEdge, GraphNode, LineageGraph } from './graph-model.js';
import {
  certEquals, certFor, certName, certText, covers, refEquals, refKey, refName,
  type Certificate, type Lineage, type ObservedWriteRecord, type ResourceRef, type StepLineage,
} from './model.js';
import type { LineageStore } from './store.js';

/** A row of `report lineage`: ref, Step / Source Data / Code, details, inputs (steps only). */
export interface TableRow {
  resource: string;
  type: 'Step' | 'Source Data' | 'Code';
  details: string;
  inputs: string[] | null;
}

export function lineageTable(store: LineageStore): TableRow[] {
  const rows: TableRow[] = [];
  for (const { ref, lineage } of store.iterate()) {
    if (lineage.type === 'step') {
      rows.push({
        resource: refName(ref),
        type: 'Step',
        details: `${lineage.stepName} at ${lineage.startTime.replace('T', ' ')}`,
        inputs: lineage.inputs.map((c) => {
          const current = store.currentCert(c.ref);
          return `${refName(c.ref)} (${current && certEquals(current, c) ? 'current' : certName(c)})`;
        }),
      });
    } else if (lineage.type !== 'imported') {
      rows.push({ resource: refName(ref), type: lineage.type === 'code' ? 'Code' : 'Source Data', details: certName(lineage.cert), inputs: null });
    }
  }
  return rows;
}

/**
 * The lineage records behind some refs, breadth first through the steps' inputs and code
 * (lineage.md §6): the refs' own records, then their inputs', level by level. A ref met with
 * two different certificates, or an input without lineage, is a warning (then `complete` is false).
 */
export function upstream(store: LineageStore, start: ResourceRef[], label: string): { lineages: Lineage[]; warnings: string[] } {
  const lineages: Lineage[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, Certificate>();
  const added = new Set<Lineage>();
  const queue: Array<{ ref: ResourceRef; cert: Certificate | null }> = start.map((ref) => ({ ref, cert: null }));
  const add = (l: Lineage) => {
    if (!added.has(l)) lineages.push(l);
    added.add(l);
  };
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const entry = store.lookup(item.ref);
    if (!entry) continue;
    const cert = item.cert ?? certFor(entry.lineage, item.ref);
    if (!cert) continue;
    const before = seen.get(refKey(cert.ref));
    if (before && !certEquals(before, cert)) {
      warnings.push(`WARNING: Resource ${label} (transitively) depends on ${refName(cert.ref)} which has two versions: ${certText(before)} and ${certText(cert)}`);
      continue;
    }
    if (before && item.cert === null) continue;
    seen.set(refKey(cert.ref), cert);
    add(entry.lineage);
    if (entry.lineage.type !== 'step') continue;
    const step = entry.lineage;
    for (const [certs, what] of [[step.inputs, 'input'], [step.code, 'code resource']] as const) {
      for (const c of certs) {
        const prior = seen.get(refKey(c.ref));
        if (prior) {
          if (!certEquals(prior, c)) {
            warnings.push(`WARNING: Resource ${label} (transitively) depends on ${refName(c.ref)} which has two versions: ${certText(prior)} and ${certText(c)}`);
          }
          continue;
        }
        seen.set(refKey(c.ref), c);
        const e = store.lookup(c.ref);
        if (!e) {
          // [sic] "lingeage": 1.6's wording.
          warnings.push(`WARNING: step ${step.stepName} references ${what} ${refName(c.ref)}, which has no lingeage`);
          continue;
        }
        add(e.lineage);
        if (e.lineage.type === 'step') queue.push({ ref: c.ref, cert: c });
      }
    }
  }
  return { lineages, warnings };
}

/** Every ref of a resource that has a record in the store. */
export function refsOfResource(store: LineageStore, resource: string): ResourceRef[] {
  return [...store.entries(resource).values()].map((e) => e.ref);
}

/** Whether a step that read `read` depends on `target`: same ref, or one inside the other. */
function overlaps(read: ResourceRef, target: ResourceRef): boolean {
  return refEquals(read, target) || covers(read, target) || covers(target, read);
}

/** Distinct step records of the store, in store order. */
export function steps(store: LineageStore): StepLineage[] {
  const out = new Set<StepLineage>();
  for (const { lineage } of store.iterate()) if (lineage.type === 'step') out.add(lineage);
  return [...out];
}

/**
 * Everything downstream of `target`: the steps that read it (as input or code), then the steps
 * that read their outputs, and so on; with the refs they wrote.
 */
export function downstream(store: LineageStore, target: ResourceRef): { steps: StepLineage[]; outputs: ResourceRef[] } {
  const all = steps(store);
  const found: StepLineage[] = [];
  const outputs: ResourceRef[] = [];
  let frontier = [target];
  while (frontier.length > 0) {
    const next: ResourceRef[] = [];
    for (const s of all) {
      if (found.includes(s)) continue;
      if (![...s.inputs, ...s.code].some((c) => frontier.some((t) => overlaps(c.ref, t)))) continue;
      found.push(s);
      for (const o of s.outputs) {
        if (!outputs.some((x) => refEquals(x, o.ref))) outputs.push(o.ref);
        next.push(o.ref);
      }
    }
    frontier = next;
  }
  return { steps: found, outputs };
}

// ---------------------------------------------------------------------------------------------
// Graph (lineage.md §10)
// ---------------------------------------------------------------------------------------------

/**
 * The graph of `resource`'s lineage: one node per certificate (a resource version), one per
 * step run; edges from inputs and code to the step, from the step to its outputs. Follows a
 * step's input only while the store still holds the version it read (1.6 rule), else warns.
 */
export function buildGraph(store: LineageStore, resource: string, roles: Map<string, string>, title: string): { graph: LineageGraph; warnings: string[] } {
  const refs = refsOfResource(store, resource);
  if (refs.length === 0) throw new ConfigurationError(`No lineage found for resource ${resource}`, { resource });
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const warnings: string[] = [];
  const certIds = new Map<string, string>();
  const stepIds = new Map<StepLineage, string>();
  const certKey = (c: Certificate) => `${refKey(c.ref)}\0${c.type === 'hash' ? c.hashval : `p${c.version}`}`;
  type Origin = 'source_data' | 'code' | 'step_output' | 'imported';
  const origin = (l: Lineage | undefined): Origin => (l === undefined || l.type === 'source_data' ? 'source_data' : l.type === 'step' ? 'step_output' : l.type);

  const certNode = (c: Certificate, from: Origin): { id: string; isNew: boolean } => {
    const key = certKey(c);
    const known = certIds.get(key);
    if (known) return { id: known, isNew: false };
    const id = `r${certIds.size + 1}`;
    certIds.set(key, id);
    nodes.push({
      id,
      kind: 'resource',
      resource: c.ref.name,
      subpath: c.ref.subpath,
      role: roles.get(c.ref.name) ?? null,
      certificate: c.type === 'hash' ? { type: 'hash', hash: c.hashval } : { type: 'placeholder', version: c.version },
      origin: from,
    });
    return { id, isNew: true };
  };

  const observedIds = new Map<string, string>();
  const observedNode = (w: ObservedWriteRecord): string => {
    const known = observedIds.get(w.path);
    if (known) return known;
    const id = `o${observedIds.size + 1}`;
    observedIds.set(w.path, id);
    nodes.push({
      id,
      kind: 'resource',
      resource: w.ref?.name ?? w.path,
      subpath: w.ref?.subpath ?? null,
      role: w.ref ? (roles.get(w.ref.name) ?? null) : null,
      certificate: null,
      origin: 'observed_write',
      ...(w.outside !== null ? { outside: w.outside } : {}),
    });
    return id;
  };

  const expand = (l: Lineage, fromImport: boolean): void => {
    if (l.type === 'imported') {
      for (const n of l.nested) expand(n, true);
      return;
    }
    if (l.type !== 'step' || stepIds.has(l)) return;
    const id = `s${stepIds.size + 1}`;
    stepIds.set(l, id);
    nodes.push({
      id,
      kind: 'step',
      name: l.stepName,
      startTime: l.startTime,
      executionTimeSeconds: l.executionTimeSeconds === null ? null : numberValue(l.executionTimeSeconds),
      parameters: l.parameters,
      commandLine: l.commandLine,
    });
    for (const o of l.outputs) edges.push({ from: id, to: certNode(o, fromImport ? 'imported' : 'step_output').id, kind: 'output' });
    for (const w of l.observedWrites ?? []) edges.push({ from: id, to: observedNode(w), kind: 'observed' });
    for (const [certs, kind] of [[l.inputs, 'input'], [l.code, 'code']] as const) {
      for (const c of certs) {
        const entry = store.lookup(c.ref);
        const n = certNode(c, fromImport ? 'imported' : origin(entry?.lineage));
        edges.push({ from: n.id, to: id, kind });
        if (!n.isNew || !entry) continue;
        const current = certFor(entry.lineage, c.ref);
        if (current && certEquals(current, c)) expand(entry.lineage, fromImport || entry.lineage.type === 'imported');
        else if (current) warnings.push(`Warning: Certificate ${certText(c)} not found in store, was overwritten by ${certText(current)}`);
      }
    }
  };

  for (const r of refs) {
    const entry = store.lookup(r)!;
    const c = certFor(entry.lineage, r);
    if (c) certNode(c, origin(entry.lineage));
    expand(entry.lineage, false);
  }
  return { graph: { title, nodes, edges }, warnings };
}

// ---------------------------------------------------------------------------------------------
// Diff of two stores
// ---------------------------------------------------------------------------------------------

export interface StepChange {
  step: string;
  status: 'added' | 'removed' | 'changed';
  /** Parameter name → [before, after] (null: absent), for changed steps. */
  parameters: Record<string, [unknown, unknown]>;
  /** Input / code refs whose certificate differs: [before, after] cert names (null: absent). */
  inputs: Record<string, [string | null, string | null]>;
  code: Record<string, [string | null, string | null]>;
  /** Outputs before / after (ref names). */
  outputs: string[];
}

/** Steps matched by name between two stores; what was added, removed, or run differently. */
export function diffStores(a: LineageStore, b: LineageStore): StepChange[] {
  const byName = (s: StepLineage[]) => new Map(s.map((x) => [x.stepName, x]));
  const before = byName(steps(a));
  const after = byName(steps(b));
  const changes: StepChange[] = [];
  const names = [...new Set([...before.keys(), ...after.keys()])];
  for (const name of names) {
    const x = before.get(name);
    const y = after.get(name);
    const outputs = [...new Set([...(x?.outputs ?? []), ...(y?.outputs ?? [])].map((c) => refName(c.ref)))];
    if (!x || !y) {
      changes.push({ step: name, status: x ? 'removed' : 'added', parameters: {}, inputs: {}, code: {}, outputs });
      continue;
    }
    const parameters: Record<string, [unknown, unknown]> = {};
    for (const k of new Set([...Object.keys(x.parameters), ...Object.keys(y.parameters)])) {
      const p = x.parameters[k] ?? null;
      const q = y.parameters[k] ?? null;
      if (pyStr(p) !== pyStr(q) || (k in x.parameters) !== (k in y.parameters)) parameters[k] = [p, q];
    }
    const inputs = certDiff(x.inputs, y.inputs);
    const code = certDiff(x.code, y.code);
    if (Object.keys(parameters).length + Object.keys(inputs).length + Object.keys(code).length > 0) {
      changes.push({ step: name, status: 'changed', parameters, inputs, code, outputs });
    }
  }
  return changes;
}

function certDiff(x: Certificate[], y: Certificate[]): Record<string, [string | null, string | null]> {
  const out: Record<string, [string | null, string | null]> = {};
  const refs = [...new Set([...x, ...y].map((c) => refName(c.ref)))];
  for (const r of refs) {
    const p = x.find((c) => refName(c.ref) === r);
    const q = y.find((c) => refName(c.ref) === r);
    if (p && q && certEquals(p, q)) continue;
    out[r] = [p ? certName(p) : null, q ? certName(q) : null];
  }
  return out;
}
