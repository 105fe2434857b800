// Lineage graphs for the renderer tests: the Python fixture's v3 snapshot lineage, turned into a
// LineageGraph by hand (lineage.md §2), and a generated 50-step pipeline.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GraphEdge, GraphNode, LineageGraph } from '../lineage/graph-model.js';

export const FIXTURE_EXPECTED = fileURLToPath(new URL('./fixtures/python-dws-1.6/expected/', import.meta.url));
const V3 = 'e2cbb8e19eb52338512e1ab3823f46278bc71730';

interface CertRef { resource_name: string; subpath?: string | null; certificate: { cert_type: string; hashval?: string; version?: number } }
interface Lineage extends Partial<CertRef> {
  type: 'step' | 'source_data' | 'code';
  step_name?: string; start_time?: string; execution_time_seconds?: number | null; parameters?: Record<string, unknown>;
  input_resources?: CertRef[]; code_resources?: CertRef[]; output_resources?: CertRef[]; command_line?: string[] | null;
}

/** The graph of snapshot v3 of the Python fixture: steps prepare and train and their resources. */
export function fixtureGraph(): LineageGraph {
  const dws = FIXTURE_EXPECTED + 'dataworkspace/';
  const roles = new Map((JSON.parse(readFileSync(dws + 'resources.json', 'utf8')) as Array<{ name: string; role: string }>).map((r) => [r.name, r.role]));
  const dir = `${dws}snapshot_lineage/${V3}/`;
  const lineages = readdirSync(dir).sort().flatMap((f) => (JSON.parse(readFileSync(dir + f, 'utf8')) as { lineages: Lineage[] }).lineages);
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const resource = (ref: CertRef, origin: 'source_data' | 'code' | 'step_output'): string => {
    const c = ref.certificate;
    const id = `${ref.resource_name}:${ref.subpath ?? ''}@${c.hashval ?? `p${c.version}`}`;
    const known = nodes.get(id);
    if (known?.kind === 'resource' && origin === 'step_output') known.origin = origin;
    if (!known) {
      nodes.set(id, {
        id, kind: 'resource', resource: ref.resource_name, subpath: ref.subpath ?? null, role: roles.get(ref.resource_name) ?? null, origin,
        certificate: c.cert_type === 'hash' ? { type: 'hash', hash: c.hashval! } : { type: 'placeholder', version: c.version! },
      });
    }
    return id;
  };
  for (const l of lineages) {
    if (l.type !== 'step') { resource(l as CertRef, l.type); continue; }
    const id = `step:${l.step_name}@${l.start_time}`;
    nodes.set(id, {
      id, kind: 'step', name: l.step_name!, startTime: l.start_time!, executionTimeSeconds: l.execution_time_seconds ?? null,
      parameters: l.parameters!, commandLine: l.command_line ?? null,
    });
    for (const r of l.input_resources!) edges.push({ from: resource(r, 'source_data'), to: id, kind: 'input' });
    for (const r of l.code_resources!) edges.push({ from: resource(r, 'code'), to: id, kind: 'code' });
    for (const r of l.output_resources!) edges.push({ from: id, to: resource(r, 'step_output'), kind: 'output' });
  }
  return { title: 'Lineage of snapshot v3', nodes: [...nodes.values()], edges };
}

/**
 * A pipeline of `count` steps: ten loaders read parts of the source data, each later step reads
 * two earlier outputs; every step runs the same code. `tricky` puts quotes, `<` and `&` in names.
 */
export function generatedGraph(count: number, tricky = false): LineageGraph {
  const nodes: GraphNode[] = [
    { id: 'code', kind: 'resource', resource: 'code', subpath: null, role: 'code', certificate: { type: 'hash', hash: 'c0de'.repeat(10) }, origin: 'code' },
  ];
  const edges: GraphEdge[] = [];
  for (let i = 0; i < count; i++) {
    const name = tricky && i === 3 ? `load "raw" <part> & 3` : `${i < 10 ? 'load' : 'transform'}-${String(i).padStart(2, '0')}`;
    nodes.push({
      id: `s${i}`, kind: 'step', name, startTime: `2026-11-25T16:${String(i % 60).padStart(2, '0')}:00.000000`,
      executionTimeSeconds: i * 1.5, parameters: { index: i, rate: 0.5, note: tricky ? '</script><b>&amp;' : 'ok' }, commandLine: ['node', `steps/s${i}.js`],
    });
    edges.push({ from: 'code', to: `s${i}`, kind: 'code' });
    if (i < 10) {
      nodes.push({ id: `raw${i}`, kind: 'resource', resource: 'source-data', subpath: `raw/part-${i}.csv`, role: 'source-data', certificate: { type: 'hash', hash: `${i}`.repeat(40) }, origin: 'source_data' });
      edges.push({ from: `raw${i}`, to: `s${i}`, kind: 'input' });
    } else {
      edges.push({ from: `out${i - 10}`, to: `s${i}`, kind: 'input' }, { from: `out${i - 3 - (i % 7)}`, to: `s${i}`, kind: 'input' });
    }
    const results = i >= count - 5;
    nodes.push({
      id: `out${i}`, kind: 'resource', resource: results ? 'results' : 'intermediate-data', subpath: results ? `run-${i}` : `stage-${i}/table.parquet`,
      role: results ? 'results' : 'intermediate-data', certificate: i % 4 === 0 ? { type: 'placeholder', version: 1 + (i % 3) } : { type: 'hash', hash: 'ab'.repeat(20) }, origin: 'step_output',
    });
    edges.push({ from: `s${i}`, to: `out${i}`, kind: 'output' });
  }
  return { title: `A pipeline of ${count} steps`, nodes, edges };
}

/** Every step name and resource ref (`name` or `name:/subpath`) of a graph. */
export function nodeNames(g: LineageGraph): string[] {
  return g.nodes.map((n) => (n.kind === 'step' ? n.name : n.subpath === null ? n.resource : `${n.resource}:/${n.subpath}`));
}
