/**
 * Lineage end to end: a two-step TypeScript program (real `node` processes importing the built
 * package) records lineage; a snapshot freezes it and writes results.json / lineage.json; a
 * changed input shows as stale in `dws status`; restore brings the lineage back; bad
 * declarations are refused before the step runs, and a failed step records nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, fingerprint, git, gitLog, newWorkspace, readJson, REPO, tempDir, TEST_ENV } from '../helpers.js';
import { currentSteps, stepSource, stepWorkspace } from '../runner-fixture.js';

const API = pathToFileURL(join(REPO, 'dist', 'index.js')).href;

const PREPARE = `
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { recordStep } from '${API}';
const scale = Number(process.argv[2] ?? 2);
await recordStep(
  { name: 'prepare', params: { scale }, inputs: ['source-data'], code: ['code/prepare.mjs'], outputs: ['intermediate-data:/prepared'] },
  async (step) => {
    const rows = readFileSync('source-data/data.csv', 'utf8').trim().split('\\n').slice(1).map(Number);
    mkdirSync(step.outputPaths[0], { recursive: true });
    writeFileSync(step.outputPaths[0] + '/data.txt', rows.map((v) => v * scale).join('\\n') + '\\n');
  },
);
`;

const TRAIN = `
import { readFileSync } from 'node:fs';
import { recordStep } from '${API}';
const alpha = Number(process.argv[2] ?? 0.5);
await recordStep(
  { name: 'train', params: { alpha }, inputs: ['intermediate-data/prepared'], code: ['code/train.mjs'], results: { dir: 'results', runDescription: 'test run' } },
  async (step) => {
    const values = readFileSync(step.inputPaths[0] + '/data.txt', 'utf8').trim().split('\\n').map(Number);
    const sum = values.reduce((a, b) => a + b, 0);
    await step.writeResults({ sum, mean: sum / values.length, alpha });
  },
);
`;

let ws: string;
const node = (script: string, args: string[] = []) => spawnSync(process.execPath, [script, ...args], { cwd: ws, env: TEST_ENV, encoding: 'utf8' });
const meta = (...p: string[]) => join(ws, '.dataworkspace', ...p);

beforeAll(async () => {
  ws = await newWorkspace(['--create-resources', 'source-data,intermediate-data,code,results']);
  writeFileSync(join(ws, 'source-data', 'data.csv'), 'value\n1\n2\n3\n');
  writeFileSync(join(ws, 'code', 'prepare.mjs'), PREPARE);
  writeFileSync(join(ws, 'code', 'train.mjs'), TRAIN);
  mkdirSync(join(ws, 'intermediate-data'), { recursive: true });
  git(ws, ['add', '-A']);
  git(ws, ['commit', '-q', '-m', 'data and code']);
});
afterAll(cleanup);

describe('lineage recorded by a TypeScript program', () => {
  it('records both steps, freezes them in a snapshot with results.json and lineage.json', async () => {
    const p = node('code/prepare.mjs', ['2']);
    expect(p.stderr).toBe('');
    expect(p.status).toBe(0);
    const t = node('code/train.mjs', ['0.5']);
    expect(t.stderr).toBe('');
    expect(t.status).toBe(0);

    const inter = readJson(meta('current_lineage', 'intermediate-data.json'));
    const step = inter.lineages[0];
    expect(Object.keys(step)).toEqual(['type', 'step_name', 'start_time', 'execution_time_seconds', 'parameters', 'input_resources', 'code_resources', 'output_resources', 'command_line', 'run_from_directory']);
    expect(step.step_name).toBe('prepare');
    expect(step.parameters).toEqual({ scale: 2 });
    expect(step.start_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(step.output_resources[0]).toMatchObject({ resource_name: 'intermediate-data', subpath: 'prepared' });
    expect(step.output_resources[0].certificate).toEqual({ cert_type: 'placeholder', version: 1, comment: `Step prepare at ${step.start_time.replace('T', ' ')}`, is_ouput: true });
    expect(readJson(meta('current_lineage', 'source-data.json')).lineages[0].type).toBe('source_data');
    expect(readJson(meta('current_lineage', 'code.json')).lineages[0].type).toBe('code');
    const results = readJson(join(ws, 'results', 'results.json'));
    expect(Object.keys(results)).toEqual(['step', 'start_time', 'execution_time_seconds', 'parameters', 'run_description', 'metrics']);
    expect(results).toMatchObject({ step: 'train', parameters: { alpha: 0.5 }, run_description: 'test run', metrics: { sum: 12, mean: 4, alpha: 0.5 } });
    expect(gitLog(ws)[0]).toBe('Added results/results.json');

    const out = await dwsOk(ws, ['--batch', 'snapshot', '-m', 'first', 'S1']);
    const hash = /hash is ([0-9a-f]{40})/.exec(out)![1]!;
    // Placeholders became the snapshot's hashes.
    const manifest = Object.fromEntries(readJson(meta('snapshots', `snapshot-${hash}.json`)).map((r: { name: string; hash: string }) => [r.name, r.hash]));
    const frozen = readJson(meta('snapshot_lineage', hash, 'intermediate-data.json')).lineages[0];
    expect(frozen.output_resources[0].certificate).toMatchObject({ cert_type: 'hash', hashval: manifest['intermediate-data'] });
    expect(frozen.input_resources[0].certificate).toMatchObject({ cert_type: 'hash', hashval: manifest['source-data'] });
    expect(readJson(meta('snapshot_lineage', hash, 'results.json')).lineages[0].step_name).toBe('train');
    // lineage.json next to the moved results: train, prepare, code, source-data (lineage.md §6).
    const lj = readJson(join(ws, 'results', 'snapshots', 'test-S1', 'lineage.json'));
    expect(lj.resource_name).toBe('results');
    expect(lj.complete).toBe(true);
    expect(lj.lineages.map((l: { type: string; step_name?: string }) => l.step_name ?? l.type)).toEqual(['train', 'prepare', 'code', 'source_data']);
    expect(gitLog(ws)).toContain('Added results/snapshots/test-S1/lineage.json');
    // Results moved: their current lineage is cleared, the others stay.
    expect(existsSync(meta('current_lineage', 'results.json'))).toBe(false);
    expect(existsSync(meta('current_lineage', 'intermediate-data.json'))).toBe(true);
    expect(await dwsOk(ws, ['report', 'history'])).toMatch(/\| S1 .*\| +12 \| +4 \|/);
    expect(git(ws, ['status', '--porcelain'])).toBe('');

    const table = await dwsOk(ws, ['report', 'lineage', '--snapshot', 'S1']);
    expect(table).toContain('Lineage for S1');
    expect(table).toMatch(/\| results +\| Step +\| train at .*\| intermediate-data:\/prepared \(current\)/);
    expect(await dwsOk(ws, ['lineage', 'table', '--snapshot', 'S1'])).toBe(table);
  });

  it('queries: upstream, downstream, show, graph', async () => {
    const up = JSON.parse(await dwsOk(ws, ['lineage', 'upstream', 'results', '--snapshot', 'S1', '--json']));
    expect(up.records.map((r: { stepName?: string; type: string }) => r.stepName ?? r.type)).toEqual(['train', 'prepare', 'code', 'source_data']);
    const down = JSON.parse(await dwsOk(ws, ['lineage', 'downstream', 'source-data/data.csv', '--snapshot', 'S1', '--json']));
    expect(down.steps.map((s: { stepName: string }) => s.stepName)).toEqual(['prepare', 'train']);
    expect(down.outputs).toEqual(['intermediate-data:/prepared', 'results']);
    expect(await dwsOk(ws, ['lineage', 'show', '--snapshot', 'S1'])).toMatch(/Step prepare at .*\n  parameters: scale=2\n  inputs: +source-data \(Hash:/);
    const before = fingerprint(ws);
    const file = join(ws, '..', `graph-${process.pid}.html`);
    expect(await dwsOk(ws, ['lineage', 'graph', '--snapshot', 'S1', '-o', file])).toBe(`Wrote lineage for results as of snapshot S1 to ${file}\n`);
    const html = readFileSync(file, 'utf8');
    for (const name of ['prepare', 'train', 'source-data', 'intermediate-data', 'results']) expect(html).toContain(name);
    expect(fingerprint(ws)).toBe(before);
  });

  it('names the steps whose inputs changed in `dws status`, and records the new input state (1.6 bug fixed)', async () => {
    expect(await dwsOk(ws, ['status'])).not.toContain('Stale steps');
    writeFileSync(join(ws, 'source-data', 'data.csv'), 'value\n1\n2\n3\n4\n');
    const before = fingerprint(ws);
    const status = await dwsOk(ws, ['status']);
    expect(status).toMatch(/\nStale steps \(dws run would rerun them\):\n  prepare \(run at .*\): input source-data changed \(recorded Hash:[0-9a-f]{8}, now Hash:[0-9a-f]{8}\)\n/);
    // train's lineage was moved into S1 (a results step): it still shows, stale through prepare (issue 12 item 4).
    expect(status).toMatch(/\n {2}train \(run at .*\): reads the output of stale step prepare\n/);
    expect(status).toContain('Outputs that depend on them: intermediate-data:/prepared, results\n');
    expect(fingerprint(ws)).toBe(before); // status hashed the working tree without staging or committing

    // Re-running prepare records a placeholder for the changed source data, not its old hash.
    expect(node('code/prepare.mjs', ['3']).status).toBe(0);
    const step = readJson(meta('current_lineage', 'intermediate-data.json')).lineages[0];
    expect(step.input_resources[0].certificate).toMatchObject({ cert_type: 'placeholder', version: 1 });
    expect(readJson(meta('current_lineage', 'source-data.json')).lineages[0].certificate.cert_type).toBe('placeholder');
    // prepare is current again; train (as S1 recorded it) read the old prepared data.
    const after = await dwsOk(ws, ['status']);
    expect(after).not.toMatch(/^ {2}prepare /m);
    expect(after).toMatch(/^ {2}train \(run at .*\): input intermediate-data:\/prepared changed \(recorded Hash:[0-9a-f]{8}, now Hash:[0-9a-f]{8}\)$/m);
    expect(node('code/train.mjs', ['0.25']).status).toBe(0);
    expect(await dwsOk(ws, ['status'])).not.toContain('Stale steps');
    const out = await dwsOk(ws, ['--batch', 'snapshot', 'S2']);
    const hash = /hash is ([0-9a-f]{40})/.exec(out)![1]!;
    const manifest = Object.fromEntries(readJson(meta('snapshots', `snapshot-${hash}.json`)).map((r: { name: string; hash: string }) => [r.name, r.hash]));
    expect(readJson(meta('snapshot_lineage', hash, 'intermediate-data.json')).lineages[0].input_resources[0].certificate.hashval).toBe(manifest['source-data']);
    const diff = await dwsOk(ws, ['lineage', 'diff', 'S1', 'S2']);
    expect(diff).toContain('Step prepare: changed');
    expect(diff).toContain('  parameter scale: 2 -> 3\n');
    expect(diff).toMatch(/  input source-data: Hash:\w{8} -> Hash:\w{8}\n/);
  });

  it('brings the lineage of a snapshot back with restore', async () => {
    const s1 = readJson(meta('snapshot_lineage', findHash('S1'), 'intermediate-data.json'));
    await dwsOk(ws, ['--batch', 'restore', 'S1']);
    expect(readJson(meta('current_lineage', 'intermediate-data.json'))).toEqual(s1);
    expect(await dwsOk(ws, ['report', 'lineage'])).toMatch(/prepare at/);
  });

  it('refuses bad declarations before the step runs, and a failed step records nothing', async () => {
    const scripts = tempDir('dws-lineage-steps-');
    const run = (decl: string, body = '') => {
      const script = join(scripts, 'step.mjs');
      writeFileSync(script, `import { recordStep } from '${API}';\nawait recordStep(${decl}, async () => { ${body} });\n`);
      return node(script);
    };
    const before = fingerprint(ws);
    const unknown = run(`{ name: 'x', inputs: ['nosuch:/a'], outputs: [] }`, `throw new Error('ran')`);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain("No resource named 'nosuch'");
    const escape = run(`{ name: 'x', inputs: ['source-data'], outputs: ['intermediate-data:/../code'] }`, `throw new Error('ran')`);
    expect(escape.stderr).toContain("Subpath '../code' of intermediate-data:/../code leaves its resource");
    const nested = run(`{ name: 'x', inputs: ['source-data', 'source-data:/data.csv'] }`, `throw new Error('ran')`);
    expect(nested.stderr).toContain("which is a subpath of ResourceRef(name='source-data', subpath=None)");
    expect(unknown.stderr + escape.stderr + nested.stderr).not.toContain('Error: ran');
    expect(fingerprint(ws)).toBe(before);

    const failed = run(`{ name: 'broken', inputs: ['source-data'], outputs: ['intermediate-data:/prepared'] }`, `throw new Error('boom')`);
    expect(failed.stderr).toContain('boom');
    expect(readJson(meta('current_lineage', 'intermediate-data.json')).lineages).toEqual([]);
    expect(await dwsOk(ws, ['report', 'lineage'])).not.toContain('broken');
  });
});

function findHash(tag: string): string {
  const dir = meta('snapshot_metadata');
  const out = execFileSync('grep', ['-l', `"${tag}"`, '-r', dir], { encoding: 'utf8' }).trim().split('\n')[0]!;
  return out.slice(dir.length + 1, dir.length + 41);
}

describe('source data read in part, then whole', () => {
  it('a step reading a whole source resource runs after one that read a file of it: the file’s source lineage gives way to the whole', async () => {
    const copy = (name: string, input: string, read: string) =>
      stepSource({ name, inputs: { src: input }, outputs: { out: `intermediate-data:/${name}` }, body: `    mkdirSync(outputs.out, { recursive: true });\n    writeFileSync(join(outputs.out, 'x'), readFileSync(${read}, 'utf8'));` });
    const ws = await stepWorkspace({ 'one.step.ts': copy('one', 'source-data:/in.txt', 'inputs.src'), 'all.step.ts': copy('all', 'source-data', "join(inputs.src, 'in.txt')") });
    await dwsOk(ws, ['--batch', 'run', 'code/one.step.ts']);
    // It failed at every run: "Cannot store new lineage data at ResourceRef(name='source-data', subpath=None): existing lineage data ... subpath='in.txt') is a child path".
    const r = await dws(ws, ['--batch', 'run']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(ws, 'intermediate-data', 'all', 'x'), 'utf8')).toBe('21');
    const all = currentSteps(ws, 'intermediate-data').find((s) => s.step_name === 'all') as unknown as { input_resources: Array<{ resource_name: string; subpath: string | null }> };
    expect(all.input_resources).toEqual([expect.objectContaining({ resource_name: 'source-data', subpath: null })]);
  });
});
