/**
 * Lineage written by Python dws 1.6 steps (the fixture's prepare and train): read, reported byte
 * for byte, queried, graphed, and checked for staleness. Extracted into a private temp dir; the
 * local-files resources are pointed at it so nothing outside is read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dwsOk, extractFixture, FIXTURE, fingerprint, tempDir } from '../helpers.js';

const EXPECTED = join(FIXTURE, 'expected');
const expected = (name: string) => readFileSync(join(EXPECTED, name), 'utf8');
let WS: string;

beforeAll(() => {
  const dir = tempDir('dws-lineage-fixture-');
  WS = extractFixture(dir);
  const resources = join(WS, '.dataworkspace', 'resources.json');
  writeFileSync(resources, readFileSync(resources, 'utf8').replaceAll('/tmp/dwsref/fixtures/build/python-workspace', WS));
});
afterAll(cleanup);

describe("the fixture's lineage, written by Python steps", () => {
  it.each([
    ['report-lineage', []],
    ['report-lineage-v1', ['--snapshot', 'v1']],
    ['report-lineage-v2', ['--snapshot', 'v2']],
    ['report-lineage-v3', ['--snapshot', 'v3']],
  ])('%s prints exactly what dws 1.6 printed', async (name, args) => {
    const before = fingerprint(WS);
    expect(await dwsOk(WS, ['--batch', 'report', 'lineage', ...args])).toBe(expected(`${name}.txt`));
    expect(fingerprint(WS)).toBe(before);
  });

  it('graphs v3 with the steps prepare and train and the resources 1.6 drew, in the same order', async () => {
    const file = join(WS, '..', 'v3.json');
    expect(await dwsOk(WS, ['--batch', 'lineage', 'graph', '--snapshot', 'v3', '--format', 'json', file])).toBe(`Wrote lineage for results as of snapshot v3 to ${file}\n`);
    const g = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Array<{ kind: string; name?: string; resource?: string; subpath?: string | null; certificate?: { hash: string } }>; edges: unknown[] };
    expect(g.nodes.filter((n) => n.kind === 'step').map((n) => n.name)).toEqual(['train', 'prepare']);
    // 1.6's graph: certificate nodes (without code), labelled by ref and hash prefix.
    const py = JSON.parse(expected('lineage-graph-v3.html.graph.json')).graph.nodes as Array<{ name: string; label: string }>;
    const ours = g.nodes
      .filter((n) => n.kind === 'resource' && n.resource !== 'code')
      .map((n) => ({ name: n.subpath ? `${n.resource}:/${n.subpath}` : n.resource, label: n.certificate!.hash.slice(0, 7) }));
    expect(ours).toEqual(py.map(({ name, label }) => ({ name, label })));
    expect(g.nodes.some((n) => n.resource === 'code')).toBe(true);
  });

  it('writes an html page naming every step and resource', async () => {
    const file = join(WS, '..', 'v3.html');
    await dwsOk(WS, ['--batch', 'lineage', 'graph', '--snapshot', 'v3', file]);
    const html = readFileSync(file, 'utf8');
    for (const name of ['prepare', 'train', 'results', 'intermediate-data', 'source-data', 'code']) expect(html).toContain(name);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
  });

  it('graphs the current lineage of results from the snapshot that moved it (1.6 failed here; issue 12 item 4)', async () => {
    const file = join(WS, '..', 'current.dot');
    // 1.6: "No lineage found for resource results" — its snapshot moved results' lineage away.
    expect(expected('lineage-graph-current.stderr.txt')).toContain('No lineage found for resource results');
    expect(await dwsOk(WS, ['--batch', 'lineage', 'graph', '--format', 'dot', file])).toBe(`Wrote lineage for results to ${file}\n`);
    const dot = readFileSync(file, 'utf8');
    for (const name of ['train', 'prepare', 'intermediate-data:/prepared', 'source-data']) expect(dot).toContain(name);
  });

  it('graphs another resource with --resource', async () => {
    const r = JSON.parse(await dwsOk(WS, ['lineage', 'graph', '--resource', 'intermediate-data', '--format', 'dot', '--json', join(WS, '..', 'i.dot')]));
    expect(r).toMatchObject({ resource: 'intermediate-data', snapshot: null, steps: 1 });
    expect(readFileSync(join(WS, '..', 'i.dot'), 'utf8')).toContain('prepare');
  });

  it('answers queries about it', async () => {
    const up = JSON.parse(await dwsOk(WS, ['lineage', 'upstream', 'results', '--snapshot', 'v3', '--json']));
    expect(up.records.map((r: { stepName?: string; type: string }) => r.stepName ?? r.type)).toEqual(['train', 'prepare', 'code', 'source_data']);
    expect(up.warnings).toEqual([]);
    const down = JSON.parse(await dwsOk(WS, ['lineage', 'downstream', 'source-data', '--snapshot', 'v2', '--json']));
    expect(down.outputs).toEqual(['intermediate-data:/prepared', 'results']);
    const diff = JSON.parse(await dwsOk(WS, ['lineage', 'diff', 'v2', 'v3', '--json']));
    expect(diff.steps).toEqual([
      { step: 'prepare', status: 'changed', parameters: { scale: [2, 3] }, inputs: {}, code: {}, outputs: ['intermediate-data:/prepared'] },
      {
        step: 'train',
        status: 'changed',
        parameters: { alpha: [0.5, 0.25] },
        inputs: { 'intermediate-data:/prepared': ['Hash:e7c3d20a', 'Hash:e4e8f835'] },
        code: {},
        outputs: ['results'],
      },
    ]);
  });

  it('shows prepare and train as stale in status: 1.6 recorded the v1 source data and code hashes', async () => {
    const before = fingerprint(WS);
    const out = await dwsOk(WS, ['--batch', 'status']);
    // After 1.6's whole output (python-fixture.test.ts compares that part byte for byte).
    expect(out.indexOf('\nStale steps')).toBeGreaterThan(out.lastIndexOf('relative_path=results'));
    expect(out).toContain('  prepare (run at 2026-11-25 16:35:32.978474): input source-data changed (recorded Hash:5acfacd8, now Hash:3faabe04); code code changed (recorded Hash:76cf6a44, now Hash:fabc335c)\n');
    // train (a results step whose lineage the snapshot moved) reads prepare's output: stale too.
    expect(out).toContain('  train (run at 2026-11-25 16:35:33.219154): code code changed (recorded Hash:76cf6a44, now Hash:fabc335c); reads the output of stale step prepare\n');
    expect(out).toContain('Outputs that depend on them: intermediate-data:/prepared, results\n');
    // 1.6's snapshots kept no files: status says so instead of counting changes.
    expect(out).toMatch(/\n {2}source-data: no snapshot holds its files yet \(the next dws snapshot will; Python dws 1\.6 keeps none\)\n/);
    expect(fingerprint(WS)).toBe(before);
  });
});
