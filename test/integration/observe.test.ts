/**
 * Observed writes (issue 6 item 5): `dws run` watches the resources' local files while steps run;
 * a write outside the declared outputs is a warning (the run still succeeds and snapshots), an
 * error with --strict (exit 1, no snapshot). The flush markers leave nothing behind.
 */
import { readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, gitLog, tempDir } from '../helpers.js';
import { currentSteps, DOUBLE, stepSource, stepWorkspace } from '../runner-fixture.js';

afterAll(cleanup);

const STRAY = stepSource({
  name: 'stray',
  inputs: { raw: 'source-data:/in.txt' },
  outputs: { out: 'intermediate-data:/declared' },
  body: `    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'ok.txt'), 'ok');
    writeFileSync(join(workspaceDir, 'intermediate-data', 'stray.txt'), 'not declared');`,
});

/** Reads double's output and also overwrites it: outside its own declared outputs. */
const CLOBBER = stepSource({
  name: 'clobber',
  inputs: { d: 'intermediate-data:/doubled' },
  outputs: { out: 'intermediate-data:/clobbered.txt' },
  body: `    writeFileSync(outputs.out, readFileSync(join(inputs.d, 'out.txt')));
    writeFileSync(join(inputs.d, 'out.txt'), 'clobbered');`,
});

const noMarkers = (dir: string) =>
  ['source-data', 'code', 'intermediate-data', 'results'].flatMap((r) => readdirSync(join(dir, r)).filter((f) => f.startsWith('.dws-observe')));

describe('observed writes', () => {
  it('a write outside the declared outputs is a warning, reported in the result; the run succeeds and snapshots', async () => {
    const dir = await stepWorkspace({ 'stray.step.mjs': STRAY });
    const r = await dws(dir, ['run', 'code/stray.step.mjs']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('WARNING: intermediate-data/stray.txt was written outside the declared outputs');
    expect(r.stdout).toContain('Written outside the declared outputs: intermediate-data/stray.txt');
    expect(gitLog(dir)[0]).toMatch(/^Completed snapshot /);
    expect(currentSteps(dir, 'intermediate-data').map((s) => s.step_name)).toEqual(['stray']);
    expect(noMarkers(dir)).toEqual([]);

    const again = await dws(dir, ['--json', 'run', 'code/stray.step.mjs', '--force', '--no-snapshot']);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { observedWrites: Array<{ path: string }> }).observedWrites.map((w) => w.path)).toEqual(['intermediate-data/stray.txt']);
  });

  it('a file written in a directory the step creates (two levels deep) is reported, and so are the new directories', async () => {
    const DEEP = stepSource({
      name: 'deep',
      inputs: { raw: 'source-data:/in.txt' },
      outputs: { out: 'intermediate-data:/declared' },
      body: `    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'ok.txt'), 'ok');
    mkdirSync(join(workspaceDir, 'intermediate-data', 'fresh', 'deep'), { recursive: true });
    writeFileSync(join(workspaceDir, 'intermediate-data', 'fresh', 'deep', 'stray.txt'), 'not declared');`,
    });
    const dir = await stepWorkspace({ 'deep.step.mjs': DEEP });
    const r = await dws(dir, ['--json', 'run', 'code/deep.step.mjs', '--no-snapshot']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { observedWrites: Array<{ path: string; step?: string }> }).observedWrites).toEqual(
      ['intermediate-data/fresh', 'intermediate-data/fresh/deep', 'intermediate-data/fresh/deep/stray.txt'].map((path) => expect.objectContaining({ path, step: 'deep' })),
    );
    expect(noMarkers(dir)).toEqual([]);
  });

  it('--strict fails the run: exit 1, no snapshot', async () => {
    const dir = await stepWorkspace({ 'stray.step.mjs': STRAY });
    const before = gitLog(dir);
    const r = await dws(dir, ['run', '--strict', 'code/stray.step.mjs']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Run failed');
    expect(r.stdout).toContain('No snapshot taken.');
    expect(gitLog(dir)).toEqual(before);
    expect(noMarkers(dir)).toEqual([]);
  });

  it('after a --strict failure the step is not current: the next run reruns it and fails again, it does not succeed as "every step was current"', async () => {
    const dir = await stepWorkspace({ 'stray.step.mjs': STRAY });
    const before = gitLog(dir);
    expect((await dws(dir, ['run', '--strict', 'code/stray.step.mjs'])).code).toBe(1);
    const again = await dws(dir, ['--json', 'run', '--strict', 'code/stray.step.mjs']);
    expect(again.code, again.stdout).toBe(1);
    const result = JSON.parse(again.stdout) as { steps: Array<{ step: string; status: string }>; observedWrites: unknown[] };
    expect(result.steps.map((s) => [s.step, s.status])).toEqual([['stray', 'succeeded']]);
    expect(result.observedWrites).toEqual([expect.objectContaining({ path: 'intermediate-data/stray.txt', step: 'stray' })]);
    expect(gitLog(dir)).toEqual(before);
  });

  it("a write into another step's declared output, one that has ended or is restored from the run cache, is reported; --strict fails the run", async () => {
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE, 'clobber.step.mjs': CLOBBER });
    const files = ['code/double.step.mjs', 'code/clobber.step.mjs'];
    await dwsOk(dir, ['run', '--no-snapshot', files[0]!]); // double alone: its run-cache entry
    const r = await dws(dir, ['--json', 'run', '--no-snapshot', ...files]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { observedWrites: unknown[] }).observedWrites).toEqual([expect.objectContaining({ path: 'intermediate-data/doubled/out.txt', step: 'clobber' })]);
    // Without double's output the run cache restores it from its own entry (the restore's writes are
    // not reported); without its output and entry, clobber runs again.
    rmSync(join(dir, 'intermediate-data', 'doubled'), { recursive: true });
    rmSync(join(dir, 'intermediate-data', 'clobbered.txt'));
    const entryDir = join(dir, '.dataworkspace', 'run_cache');
    for (const f of readdirSync(entryDir)) if (JSON.parse(readFileSync(join(entryDir, f), 'utf8')).step === 'clobber') rmSync(join(entryDir, f));
    const strict = await dws(dir, ['--json', 'run', '--strict', ...files]);
    expect(strict.code).toBe(1);
    const result = JSON.parse(strict.stdout) as { snapshot: unknown; steps: Array<{ step: string; status: string }>; observedWrites: unknown[] };
    expect(result.steps.map((s) => [s.step, s.status])).toEqual([['double', 'restored'], ['clobber', 'succeeded']]);
    expect(result.observedWrites).toEqual([expect.objectContaining({ path: 'intermediate-data/doubled/out.txt', step: 'clobber' })]);
    expect(result.snapshot).toBeNull();
    expect(noMarkers(dir)).toEqual([]);
  });

  it("with --jobs 1, a write into the declared output of a step still waiting its turn is reported", async () => {
    const early = stepSource({
      name: 'early',
      inputs: { raw: 'source-data:/in.txt' },
      outputs: { out: 'intermediate-data:/early.txt' },
      body: `    writeFileSync(outputs.out, 'early');
    writeFileSync(join(outputs.out, '..', 'late.txt'), 'written by early');`,
    });
    const late = stepSource({ name: 'late', inputs: { raw: 'source-data:/in.txt' }, outputs: { out: 'intermediate-data:/late.txt' }, body: `    writeFileSync(outputs.out, 'late');` });
    const dir = await stepWorkspace({ 'early.step.mjs': early, 'late.step.mjs': late });
    const r = await dws(dir, ['--json', 'run', '--no-snapshot', '--jobs', '1', 'code/early.step.mjs', 'code/late.step.mjs']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { steps: Array<{ step: string }>; observedWrites: unknown[] };
    expect(result.steps.map((s) => s.step)).toEqual(['early', 'late']);
    // late was queued, not under way: the write is early's, outside its outputs (it was taken for late's).
    expect(result.observedWrites).toEqual([expect.objectContaining({ path: 'intermediate-data/late.txt', step: 'early' })]);
  });

  it('a step whose output another step overwrote is not current afterwards, and the run cache keeps no entry of what it did not make', async () => {
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE, 'clobber.step.mjs': CLOBBER });
    const files = ['code/double.step.mjs', 'code/clobber.step.mjs'];
    expect((await dws(dir, ['run', '--no-snapshot', ...files])).code).toBe(0);
    const entryDir = join(dir, '.dataworkspace', 'run_cache');
    expect(readdirSync(entryDir).map((f) => JSON.parse(readFileSync(join(entryDir, f), 'utf8')).step)).toEqual(['clobber']);
    const again = await dws(dir, ['--json', 'run', '--no-snapshot', ...files]);
    const steps = (JSON.parse(again.stdout) as { steps: Array<{ step: string; status: string }> }).steps;
    expect(steps.find((x) => x.step === 'double')?.status).toBe('succeeded'); // not skipped as current with clobbered output
  });

  it('a step that writes only its outputs is not reported, even with --strict; --no-observe skips watching', async () => {
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE });
    const r = await dws(dir, ['--json', 'run', '--strict', 'code/double.step.mjs', '--no-snapshot']);
    expect(r.code, r.stdout).toBe(0);
    expect((JSON.parse(r.stdout) as { observedWrites: unknown[] }).observedWrites).toEqual([]);
    expect(readFileSync(join(dir, 'intermediate-data', 'doubled', 'out.txt'), 'utf8')).toBe('42\n');
    const stray = await stepWorkspace({ 'stray.step.mjs': STRAY });
    const off = await dws(stray, ['run', '--no-observe', '--strict', 'code/stray.step.mjs', '--no-snapshot']);
    expect(off.code).toBe(0);
    expect(off.stderr).not.toContain('WARNING');
  });
});

type Observed = { path: string; resource_name: string | null; subpath: string | null; outside: string | null; running_with: string[] };
const observedOf = (dir: string, resource: string, step: string): Observed[] | undefined =>
  (currentSteps(dir, resource) as Array<{ step_name: string; observed_writes?: Observed[] }>).find((s) => s.step_name === step)?.observed_writes;

describe('observed writes in lineage (issue 12 item 3)', () => {
  it("a write outside the declared outputs is recorded in the step's lineage, its snapshot's and the graph", async () => {
    const dir = await stepWorkspace({ 'stray.step.mjs': STRAY });
    const r = await dws(dir, ['--json', 'run', 'code/stray.step.mjs']);
    expect(r.code, r.stderr).toBe(0);
    const stray: Observed = { path: 'intermediate-data/stray.txt', resource_name: 'intermediate-data', subpath: 'stray.txt', outside: null, running_with: [] };
    expect(observedOf(dir, 'intermediate-data', 'stray')).toEqual([stray]);
    const hash = (JSON.parse(r.stdout) as { snapshot: { hash: string } }).snapshot.hash;
    const frozen = JSON.parse(readFileSync(join(dir, '.dataworkspace', 'snapshot_lineage', hash, 'intermediate-data.json'), 'utf8')) as { lineages: Array<{ observed_writes?: Observed[] }> };
    expect(frozen.lineages[0]!.observed_writes).toEqual([stray]);

    const file = join(dir, '..', 'g.json');
    await dws(dir, ['lineage', 'graph', '--resource', 'intermediate-data', '--format', 'json', file]);
    const g = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Array<{ id: string; kind: string; name?: string; resource?: string; subpath?: string; origin?: string }>; edges: Array<{ from: string; to: string; kind: string }> };
    const node = g.nodes.find((n) => n.origin === 'observed_write')!;
    expect(node).toMatchObject({ kind: 'resource', resource: 'intermediate-data', subpath: 'stray.txt' });
    const step = g.nodes.find((n) => n.kind === 'step' && n.name === 'stray')!;
    expect(g.edges).toContainEqual({ from: step.id, to: node.id, kind: 'observed' });
    expect(await dwsOk(dir, ['lineage', 'show', '--snapshot', hash])).toContain('  observed:   intermediate-data/stray.txt\n');
  });

  it('a write is recorded with the step that made it, not the one that ran next', async () => {
    const NEXT = stepSource({
      name: 'next',
      inputs: { d: 'intermediate-data:/declared' },
      outputs: { out: 'intermediate-data:/next' },
      body: `    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'n.txt'), readFileSync(join(inputs.d, 'ok.txt'), 'utf8'));`,
    });
    const dir = await stepWorkspace({ 'stray.step.mjs': STRAY, 'next.step.mjs': NEXT });
    const r = await dws(dir, ['run', '--jobs', '1', '--no-snapshot', 'code/stray.step.mjs', 'code/next.step.mjs']);
    expect(r.code, r.stderr).toBe(0);
    expect(observedOf(dir, 'intermediate-data', 'stray')?.map((w) => w.path)).toEqual(['intermediate-data/stray.txt']);
    expect(observedOf(dir, 'intermediate-data', 'next')).toBeUndefined();
  });
});

describe('writes through a symlink out of the workspace (issue 12 item 9)', () => {
  const outsideDir = () => realpathSync(tempDir('dws-outside-'));

  it('an output that is a link out of its resource is recorded in lineage; --strict refuses it before anything runs', async () => {
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE });
    const ext = outsideDir();
    symlinkSync(ext, join(dir, 'intermediate-data', 'doubled'));
    const before = gitLog(dir);
    const strict = await dws(dir, ['run', '--strict', 'code/double.step.mjs']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain(`Writes through a symlink out of the workspace (--strict): intermediate-data/doubled (step double) is a link to ${ext}, outside resource intermediate-data`);
    expect(readdirSync(ext)).toEqual([]);
    expect(gitLog(dir)).toEqual(before);

    const r = await dws(dir, ['run', 'code/double.step.mjs']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`WARNING: intermediate-data/doubled leads through a symlink out of its resource, to ${ext}`);
    expect(readFileSync(join(ext, 'out.txt'), 'utf8')).toBe('42\n');
    expect(observedOf(dir, 'intermediate-data', 'double')).toEqual([
      { path: 'intermediate-data/doubled', resource_name: 'intermediate-data', subpath: 'doubled', outside: ext, running_with: [] },
    ]);
  });

  it('an undeclared write through a link out of the resource is recorded with where it went; --strict fails the run', async () => {
    const THROUGH = stepSource({
      name: 'through',
      inputs: { raw: 'source-data:/in.txt' },
      outputs: { out: 'intermediate-data:/declared' },
      body: `    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'ok.txt'), 'ok');
    writeFileSync(join(workspaceDir, 'intermediate-data', 'ext', 'leak.txt'), 'leaked');`,
    });
    const dir = await stepWorkspace({ 'through.step.mjs': THROUGH });
    const ext = outsideDir();
    symlinkSync(ext, join(dir, 'intermediate-data', 'ext'));
    const strict = await dws(dir, ['run', '--strict', '--no-snapshot', 'code/through.step.mjs']);
    expect(strict.code).toBe(1);
    const r = await dws(dir, ['run', '--force', 'code/through.step.mjs']);
    expect(r.code, r.stderr).toBe(0);
    expect(observedOf(dir, 'intermediate-data', 'through')).toEqual([
      { path: 'intermediate-data/ext/leak.txt', resource_name: 'intermediate-data', subpath: 'ext/leak.txt', outside: join(ext, 'leak.txt'), running_with: [] },
    ]);
  });
});
