/** The lineage model, store, consistency rules and queries (lineage.md §1-4, §6, §9-10), on a workspace written by hand. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CorruptMetadataError } from '../../protocol/errors.js';
import { certEquals, covers, LineageConflictError, LineageConsistencyError, LineagePlaceHolderError, lineageToJson, parseResourceLineageFile, ref, type Certificate, type StepLineage } from '../../lineage/model.js';
import { buildGraph, diffStores, downstream, lineageTable, upstream } from '../../lineage/queries.js';
import { checkNoNesting, checkOutputs, checkTransitive } from '../../lineage/rules.js';
import { LineageStep } from '../../lineage/step.js';
import { LineageStore, replacePlaceholders } from '../../lineage/store.js';
import { createContext } from '../../server/context.js';
import { dumpPyJson, parsePyJson } from '../../server/workspace/pyjson.js';
import { Workspace } from '../../server/workspace/workspace.js';
import { cleanup, FIXTURE, fingerprint, tempDir } from '../helpers.js';

afterAll(cleanup);

/** A workspace with local-files resources S (source-data), I (intermediate-data), C (code), written by hand (no git needed). */
function workspace(): Workspace {
  const dir = tempDir('dws-lineage-unit-');
  const meta = join(dir, '.dataworkspace');
  mkdirSync(join(meta, 'current_lineage'), { recursive: true });
  const res = (name: string, role: string) => {
    mkdirSync(join(dir, name));
    return { resource_type: 'file', name, role, local_path: join(dir, name), compute_hash: true };
  };
  writeFileSync(join(meta, 'config.json'), JSON.stringify({ name: 't', 'dws-version': '1.6.0', global_params: {} }));
  writeFileSync(join(meta, 'local_params.json'), JSON.stringify({ hostname: 'h' }));
  writeFileSync(join(meta, 'resources.json'), JSON.stringify([res('S', 'source-data'), res('I', 'intermediate-data'), res('C', 'code')]));
  writeFileSync(join(meta, 'resource_local_params.json'), '{}');
  execFileSync('git', ['init', '-q'], { cwd: dir });
  writeFileSync(join(dir, 'S', 'data.csv'), '1\n2\n');
  writeFileSync(join(dir, 'C', 'step.mjs'), '//\n');
  return Workspace.load(createContext(), dir);
}

const hash = (name: string, subpath: string | null, h: string): Certificate => ({ type: 'hash', ref: ref(name, subpath), hashval: h.padEnd(40, '0'), comment: 'c' });
const step = (name: string, inputs: Certificate[], outputs: Certificate[], parameters: Record<string, unknown> = {}): StepLineage => ({
  type: 'step',
  stepName: name,
  startTime: '2026-01-01T00:00:00.000001',
  executionTimeSeconds: 0.5,
  parameters,
  inputs,
  code: [],
  outputs,
  commandLine: null,
  runFromDirectory: null,
});

let ws: Workspace;
let store: LineageStore;
beforeEach(() => {
  ws = workspace();
  store = new LineageStore(ws);
});

describe('model', () => {
  it('covers: parent paths by component, never itself', () => {
    expect(covers(ref('r'), ref('r', 'a'))).toBe(true);
    expect(covers(ref('r', 'bar'), ref('r', 'bar/baz'))).toBe(true);
    expect(covers(ref('r', 'bar/b'), ref('r', 'bar/baz'))).toBe(false);
    expect(covers(ref('r', 'a'), ref('r', 'a'))).toBe(false);
    expect(covers(ref('r'), ref('r'))).toBe(false);
    expect(covers(ref('r'), ref('q', 'a'))).toBe(false);
  });

  it('compares certificates ignoring comments; hash never equals placeholder', () => {
    expect(certEquals(hash('r', null, 'a'), { ...hash('r', null, 'a'), comment: 'other' })).toBe(true);
    expect(certEquals(hash('r', null, 'a'), hash('r', 'x', 'a'))).toBe(false);
    const p: Certificate = { type: 'placeholder', ref: ref('r'), version: 1, comment: '', isOutput: false };
    expect(certEquals(p, { ...p, isOutput: true })).toBe(false);
    expect(certEquals(p, hash('r', null, 'a'))).toBe(false);
  });

  it('reads and rewrites a Python-written lineage file byte for byte', () => {
    const file = join(FIXTURE, 'expected', 'dataworkspace', 'snapshot_lineage', 'e2cbb8e19eb52338512e1ab3823f46278bc71730', 'intermediate-data.json');
    const text = readFileSync(file, 'utf8');
    const parsed = parseResourceLineageFile(parsePyJson(text), file);
    expect(dumpPyJson({ resource_name: parsed.resourceName, lineages: parsed.lineages.map(lineageToJson) })).toBe(text);
  });

  it('writes `is_ouput` as Python does, and reads every placeholder back as an input one', () => {
    const out: Certificate = { type: 'placeholder', ref: ref('r'), version: 2, comment: 'c', isOutput: true };
    const json = lineageToJson({ type: 'source_data', cert: out });
    expect(json).toEqual({ resource_name: 'r', subpath: null, certificate: { cert_type: 'placeholder', version: 2, comment: 'c', is_ouput: true }, type: 'source_data' });
    const back = parseResourceLineageFile({ resource_name: 'r', lineages: [json] }, 'f.json').lineages[0]!;
    expect(back.type === 'source_data' && back.cert.type === 'placeholder' && back.cert.isOutput).toBe(false);
  });

  it('writes restored_from after 1.6 keys only for a restored step, reads it back, and names a malformed one', () => {
    const step: StepLineage = {
      type: 'step', stepName: 's', startTime: '2026-01-01T00:00:00.000001', executionTimeSeconds: 1.5, parameters: {}, inputs: [], code: [], outputs: [], commandLine: null, runFromDirectory: null,
    };
    expect(Object.keys(lineageToJson(step))).not.toContain('restored_from');
    const restored = { ...step, restoredFrom: { runId: '0123456789ab', snapshot: null, restoredAt: '2026-01-02T00:00:00.000001' } };
    const json = lineageToJson(restored) as Record<string, unknown>;
    expect(Object.keys(json).at(-1)).toBe('restored_from');
    expect(json.restored_from).toEqual({ run_id: '0123456789ab', snapshot: null, restored_at: '2026-01-02T00:00:00.000001' });
    expect(parseResourceLineageFile({ resource_name: 'r', lineages: [json] }, 'f.json').lineages[0]).toEqual(restored);
    expect(() => parseResourceLineageFile({ resource_name: 'r', lineages: [{ ...json, restored_from: { snapshot: 3 } }] }, '/w/r.json')).toThrow(
      /Malformed lineage file \/w\/r.json: lineages\[0\]\.restored_from\.snapshot must be a string or null/,
    );
  });

  it('names the file and the place of malformed lineage, never dropping it silently', () => {
    const bad = (v: unknown) => () => parseResourceLineageFile(v, '/w/x.json');
    expect(bad({ resource_name: 'x' })).toThrow(/Malformed lineage file \/w\/x.json: lineages is missing/);
    expect(bad({ resource_name: 'x', lineages: [{ type: 'step', step_name: 's' }] })).toThrow(/lineages\[0\]\.start_time is missing/);
    expect(bad({ resource_name: 'x', lineages: [{ type: 'code', resource_name: 'x', certificate: { cert_type: 'magic', comment: '' } }] })).toThrow(
      "lineages[0].certificate.cert_type has value 'magic', valid values are: hash, placeholder",
    );
    expect(bad({ resource_name: 'x', lineages: [{ type: 'step', step_name: 's', start_time: '2026-01-01T00:00:00' }] })).toThrow(/start_time is '2026-01-01T00:00:00'/);
    writeFileSync(ws.meta('current_lineage', 'S.json'), '{"resource_name": "S", "lineages": [');
    const err = (() => {
      try {
        new LineageStore(ws).retrieve(ref('S'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CorruptMetadataError);
    expect((err as Error).message).toContain(ws.meta('current_lineage', 'S.json'));
  });
});

describe('store', () => {
  it('refuses data stored under or over existing refs, replaces the same ref', () => {
    store.store(step('a', [], [hash('I', 'x', '1')]));
    expect(() => store.store(step('b', [], [hash('I', null, '2')]))).toThrow(LineageConflictError);
    expect(() => store.store(step('b', [], [hash('I', null, '2')]))).toThrow(
      "Cannot store new lineage data at ResourceRef(name='I', subpath=None): existing lineage data ResourceRef(name='I', subpath='x') is a child path",
    );
    expect(() => store.store(step('b', [], [hash('I', 'x/y', '2')]))).toThrow(/is a parent path/);
    store.store(step('a2', [], [hash('I', 'x', '3')]));
    expect((new LineageStore(ws).retrieve(ref('I', 'x/deeper')) as StepLineage).stepName).toBe('a2');
  });

  it('checks every output before writing any file', () => {
    store.store(step('a', [], [hash('I', 'x', '1')]));
    expect(() => store.store(step('b', [], [hash('S', null, '1'), hash('I', null, '2')]))).toThrow(LineageConflictError);
    expect(existsSync(ws.meta('current_lineage', 'S.json'))).toBe(false);
  });

  it('clears a ref and what it covers; clearing a subpath without a file is a no-op (1.6 crashed)', () => {
    store.store(step('a', [], [hash('I', 'x/1', '1'), hash('I', 'x/2', '1'), hash('I', 'y', '1')]));
    store.clear(ref('I', 'x'));
    const left = [...new LineageStore(ws).entries('I').values()];
    expect(left.map((e) => e.ref.subpath)).toEqual(['y']);
    // The record stays for what it still explains, without the cleared outputs.
    expect((left[0]!.lineage as StepLineage).outputs.map((c) => c.ref.subpath)).toEqual(['y']);
    expect(() => store.clear(ref('S', 'nothing'))).not.toThrow();
    store.clear(ref('I'));
    expect(existsSync(ws.meta('current_lineage', 'I.json'))).toBe(false);
  });

  it('creates and stores input placeholders; output placeholders count up from the current one', () => {
    const c = store.getOrCreateCert(ref('S'), 'Step s at x', false);
    expect(c).toMatchObject({ type: 'placeholder', version: 1 });
    expect(new LineageStore(ws).retrieve(ref('S', 'sub')).type).toBe('source_data');
    expect(store.placeholderForOutput(ref('S', 'sub'), 'c')).toMatchObject({ version: 2, isOutput: true });
    expect(store.placeholderForOutput(ref('I'), 'c')).toMatchObject({ version: 1 });
  });

  it('replaces placeholders by snapshot hashes, and refuses a step left with unmapped ones (writing nothing)', () => {
    const p = (name: string): Certificate => ({ type: 'placeholder', ref: ref(name), version: 1, comment: 'c', isOutput: false });
    store.store(step('a', [p('S')], [p('I')]));
    const before = fingerprint(ws.dir);
    expect(() => replacePlaceholders(ws, new Map([['S', 'h'.repeat(40)]]))).toThrow(LineagePlaceHolderError);
    expect(() => replacePlaceholders(ws, new Map([['S', 'h'.repeat(40)]]))).toThrow(/Lineage step a will be included in snapshot, but has unmapped placeholders: I \(Placeholder:version=1\)/);
    expect(fingerprint(ws.dir)).toBe(before);
    replacePlaceholders(ws, new Map([['S', 'h'.repeat(40)], ['I', 'i'.repeat(40)]]));
    const s = new LineageStore(ws).retrieve(ref('I')) as StepLineage;
    expect(s.inputs[0]).toMatchObject({ type: 'hash', hashval: 'h'.repeat(40), comment: 'c' });
  });
});

describe('consistency rules', () => {
  it('refuses inputs (or code) nested in each other', () => {
    expect(() => checkNoNesting('s', [ref('S', 'a'), ref('S')])).toThrow(
      "Step s has dependency on ResourceRef(name='S', subpath='a'), which is a subpath of ResourceRef(name='S', subpath=None). Please use ResourceRef(name='S', subpath=None) only.",
    );
    expect(() => checkNoNesting('s', [ref('S', 'a'), ref('S', 'ab')])).not.toThrow();
  });

  it('refuses repeated or nested outputs of one step', () => {
    expect(() => checkOutputs('s', [ref('I', 'a'), ref('I', 'a')])).toThrow("Attempt to add ResourceRef(name='I', subpath='a') as an output to step s multiple times.");
    expect(() => checkOutputs('s', [ref('I', 'a'), ref('I', 'a/b')])).toThrow(/this is a subpath of ResourceRef\(name='I', subpath='a'\)/);
    expect(() => checkOutputs('s', [ref('I', 'a/b'), ref('I', 'a')])).toThrow(/a subpath already exists in the outputs/);
  });

  it('refuses a step depending, through its inputs, on two versions of a ref', () => {
    store.store({ type: 'source_data', cert: hash('S', null, '2') });
    store.store(step('prep', [hash('S', null, '1')], [hash('I', 'x', 'i')]));
    expect(() => checkTransitive(store, 'train', [hash('I', 'x', 'i'), hash('S', null, '2')])).toThrow(LineageConsistencyError);
    expect(() => checkTransitive(store, 'train', [hash('I', 'x', 'i'), hash('S', null, '2')])).toThrow(
      /Step train \(transitively\) depends on S which has two versions: S \(Hash:20000000\) and S \(Hash:10000000\)/,
    );
    expect(() => checkTransitive(store, 'train', [hash('I', 'x', 'i')])).not.toThrow();
    // A producer overwritten since (another version of I:/x) is not followed.
    expect(() => checkTransitive(store, 'train', [hash('I', 'x', 'other'), hash('S', null, '2')])).not.toThrow();
  });
});

describe('queries', () => {
  beforeEach(() => {
    store.store({ type: 'source_data', cert: hash('S', null, '5a') });
    store.store({ type: 'code', cert: hash('C', null, 'c0') });
    store.store({ ...step('prep', [hash('S', null, '5a')], [hash('I', 'p', '1a')], { k: 1 }), code: [hash('C', null, 'c0')] });
    store.store(step('train', [hash('I', 'p', '1a'), hash('S', null, '01d')], [hash('I', 'r', 'e0')]));
  });

  it('tabulates as 1.6: inputs that are the current version say so', () => {
    const rows = lineageTable(new LineageStore(ws));
    const train = rows.find((r) => r.details.startsWith('train'))!;
    expect(train).toEqual({ resource: 'I:/r', type: 'Step', details: 'train at 2026-01-01 00:00:00.000001', inputs: ['I:/p (current)', 'S (Hash:01d00000)'] });
    expect(rows.find((r) => r.resource === 'C')).toEqual({ resource: 'C', type: 'Code', details: 'Hash:c0000000', inputs: null });
  });

  it('walks upstream breadth first, warning about two versions', () => {
    const r = upstream(store, [ref('I', 'r')], 'I');
    expect(r.lineages.map((l) => (l.type === 'step' ? l.stepName : l.type))).toEqual(['train', 'prep', 'source_data', 'code']);
    expect(r.warnings).toEqual(['WARNING: Resource I (transitively) depends on S which has two versions: S (Hash:01d00000) and S (Hash:5a000000)']);
  });

  it('finds everything downstream of a path', () => {
    const d = downstream(store, ref('S', 'data.csv'));
    expect(d.steps.map((s) => s.stepName)).toEqual(['prep', 'train']);
    expect(d.outputs.map((o) => o.subpath)).toEqual(['p', 'r']);
    expect(downstream(store, ref('I', 'r')).steps).toEqual([]);
  });

  it('diffs the steps of two stores', () => {
    const other = workspace();
    const b = new LineageStore(other);
    b.store({ ...step('prep', [hash('S', null, '5b')], [hash('I', 'p', '1a')], { k: 2 }), code: [hash('C', null, 'c0')] });
    b.store(step('new', [], [hash('I', 'n', 'e1')]));
    expect(diffStores(store, b)).toEqual([
      { step: 'prep', status: 'changed', parameters: { k: [1, 2] }, inputs: { S: ['Hash:5a000000', 'Hash:5b000000'] }, code: {}, outputs: ['I:/p'] },
      { step: 'train', status: 'removed', parameters: {}, inputs: {}, code: {}, outputs: ['I:/r'] },
      { step: 'new', status: 'added', parameters: {}, inputs: {}, code: {}, outputs: ['I:/n'] },
    ]);
  });

  it('builds the graph: steps, certificates, input/code/output edges', () => {
    const { graph } = buildGraph(store, 'I', new Map([['S', 'source-data']]), 't');
    expect(graph.nodes.filter((n) => n.kind === 'step').map((n) => n.kind === 'step' && n.name)).toEqual(['prep', 'train']);
    const kinds = graph.edges.map((e) => e.kind).sort();
    expect(kinds).toEqual(['code', 'input', 'input', 'input', 'output', 'output']);
    expect(() => buildGraph(store, 'C2', new Map(), 't')).toThrow('No lineage found for resource C2');
  });
});

describe('LineageStep (in-process)', () => {
  it('records a step with placeholders, and refuses bad declarations before changing anything', async () => {
    const before = fingerprint(ws.dir);
    await expect(LineageStep.start({ workspaceDir: ws.dir, name: 's', inputs: ['nope'] })).rejects.toThrow(/Path 'nope' does not correspond to a resource/);
    await expect(LineageStep.start({ workspaceDir: ws.dir, name: 's', outputs: ['I:/a/../../S'] })).rejects.toThrow(/leaves its resource/);
    await expect(LineageStep.start({ workspaceDir: ws.dir, name: 's', code: ['S'] })).rejects.toThrow("Expected resource 'S' to be in role 'code', but role was 'source-data'");
    await expect(LineageStep.start({ workspaceDir: ws.dir, name: 's', inputs: ['S:/missing'] })).rejects.toThrow(/Subpath missing does not exist for resource S/);
    expect(fingerprint(ws.dir)).toBe(before);
    const s = await LineageStep.start({ workspaceDir: ws.dir, name: 's', params: { a: 1 }, inputs: [join(ws.dir, 'S', 'data.csv')], code: ['C:/step.mjs'], outputs: ['I:/out'], commandLine: null });
    expect(s.outputPaths).toEqual([join(ws.dir, 'I', 'out')]);
    const l = await s.complete();
    expect(l.inputs[0]).toMatchObject({ type: 'placeholder', ref: { name: 'S', subpath: 'data.csv' } });
    expect(l.code[0]!.ref).toEqual(ref('C'));
    expect(l.outputs[0]).toMatchObject({ type: 'placeholder', version: 1, isOutput: true });
  });

  it('completeStaged: the record is written and synced aside, visible only after commit(); discard() leaves nothing', async () => {
    const file = join(ws.dir, '.dataworkspace', 'current_lineage', 'I.json');
    const leftovers = () => readdirSync(join(ws.dir, '.dataworkspace', 'current_lineage')).filter((f) => f.endsWith('.tmp'));
    const before = existsSync(file) ? readFileSync(file, 'utf8') : null;
    const dropped = await (await LineageStep.start({ workspaceDir: ws.dir, name: 'dropped', outputs: ['I:/d'], commandLine: null })).completeStaged();
    expect(leftovers()).toHaveLength(1);
    dropped.discard();
    expect(leftovers()).toEqual([]);
    expect(existsSync(file) ? readFileSync(file, 'utf8') : null).toBe(before);
    const kept = await (await LineageStep.start({ workspaceDir: ws.dir, name: 'kept', outputs: ['I:/k'], commandLine: null })).completeStaged();
    expect(existsSync(file) ? readFileSync(file, 'utf8') : null).toBe(before);
    kept.commit();
    expect(leftovers()).toEqual([]);
    expect(new LineageStore(Workspace.open(createContext(), ws.dir)).retrieve(ref('I', 'k'))).toMatchObject({ type: 'step', stepName: 'kept' });
  });

  it('refuses, through the API, a step reading data built from an older version of another input', async () => {
    const first = await LineageStep.start({ workspaceDir: ws.dir, name: 'prep', inputs: ['S'], outputs: ['I:/p'], commandLine: null });
    await first.complete();
    // A snapshot: placeholders become the hashes of the data as it is now.
    const { currentCompareHash } = await import('../../lineage/current-hash.js');
    const { openResources } = await import('../../server/resources/registry.js');
    const [S, I] = await openResources(ws);
    replacePlaceholders(ws, new Map([['S', (await currentCompareHash(S!))!], ['I', (await currentCompareHash(I!))!]]));
    mkdirSync(join(ws.dir, 'I', 'p'));
    writeFileSync(join(ws.dir, 'S', 'data.csv'), '1\n2\n3\n');
    await expect(LineageStep.start({ workspaceDir: ws.dir, name: 'train', inputs: ['I:/p', 'S'], outputs: ['I:/t'], commandLine: null })).rejects.toThrow(
      /Step train \(transitively\) depends on S which has two versions/,
    );
    // Reading only the prepared data is fine.
    const ok = await LineageStep.start({ workspaceDir: ws.dir, name: 'train', inputs: ['I:/p'], outputs: ['I:/t'], commandLine: null });
    expect(ok.inputCerts[0]).toMatchObject({ type: 'hash' });
  });
});
