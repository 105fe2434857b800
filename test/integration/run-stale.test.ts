/**
 * Issue 12 items 2, 4, 6: a forced run whose outputs come out identical succeeds without a new
 * snapshot; `dws status` and `dws run` agree on what is stale (fingerprints: an unrelated file in
 * code/ changes nothing; early cutoff); a results step stays visible after a snapshot; a step
 * whose file is gone is shown as removed.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, fingerprint, gitLog, newWorkspace } from '../helpers.js';
import { currentSteps, DOUBLE, stepSource, stepWorkspace } from '../runner-fixture.js';

afterAll(cleanup);

const QUAD = stepSource({
  name: 'quad',
  inputs: { d: 'intermediate-data:/doubled' },
  outputs: { out: 'intermediate-data:/quad' },
  body: `    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'out.txt'), String(Number(readFileSync(join(inputs.d, 'out.txt'), 'utf8')) * 2));`,
});

const TRAIN = stepSource({
  name: 'train',
  inputs: { d: 'intermediate-data:/doubled' },
  outputs: { res: 'results' },
  body: `    mkdirSync(outputs.res, { recursive: true });
    writeFileSync(join(outputs.res, 'model.txt'), readFileSync(join(inputs.d, 'out.txt'), 'utf8'));`,
});

describe('honest runs and one notion of stale', () => {
  it('--force with identical outputs exits 0 and says no new snapshot was needed', async () => {
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE });
    await dwsOk(dir, ['run', 'code/double.step.mjs']);
    const head = gitLog(dir)[0];
    const r = await dws(dir, ['run', 'code/double.step.mjs', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/The outputs came out identical: the workspace is still snapshot [0-9a-f]{40}, no new snapshot was needed\./);
    expect(gitLog(dir)[0]).toBe(head);
  });

  it('a rerun whose outputs come out as a snapshot with another message asks nothing: exit 0, no new snapshot, the message kept', async () => {
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE, 'quad.step.mjs': QUAD });
    await dwsOk(dir, ['run', 'code']); // "dws run: double, quad"
    const head = gitLog(dir)[0];
    // Not --batch: a question would wait for an answer on stdin (there is none) and fail the run.
    const r = await dws(dir, ['run', 'code/double.step.mjs', '--force']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).not.toContain('Do you want to update the message');
    expect(r.stdout).toMatch(/The outputs came out identical: the workspace is still snapshot [0-9a-f]{40}, no new snapshot was needed\./);
    expect(gitLog(dir)[0]).toBe(head);
    expect(await dwsOk(dir, ['report', 'history'])).toContain('dws run: double, quad');
  });

  it('after a restore of an older run\'s snapshot its step is current, as long as the files are what that run recorded', async () => {
    const dir = await newWorkspace(['--create-resources=source-data,intermediate-data']);
    writeFileSync(join(dir, 'source-data', 'rows.csv'), '1,2\n');
    writeFileSync(
      join(dir, 'dws.yaml'),
      ['steps:', '  - name: double', '    command: echo $(( $(wc -c < source-data/rows.csv) * ${factor} )) > intermediate-data/doubled.txt', '    params: { factor: 2 }', '    inputs: [source-data:/rows.csv]', '    outputs: [intermediate-data:/doubled.txt]', ''].join('\n'),
    );
    await dwsOk(dir, ['--batch', 'run', '--tag', 'two']);
    await dwsOk(dir, ['--batch', 'run', '--param', 'factor=3', '--tag', 'three']);
    await dwsOk(dir, ['--batch', 'restore', 'two']);
    const stale = async () => (JSON.parse(await dwsOk(dir, ['--batch', '--json', 'status'])).stale.steps as { step: string; reason: string }[]).map((s) => `${s.step}: ${s.reason}`);
    // It was "output intermediate-data:/doubled.txt changed since the last run" (the factor=3 one).
    expect(await stale()).toEqual([]);
    expect(await dwsOk(dir, ['--batch', 'status'])).not.toContain('Stale steps');
    // Changed by hand: no record matches it any more.
    writeFileSync(join(dir, 'intermediate-data', 'doubled.txt'), '99\n');
    expect(await stale()).toEqual(['double: output intermediate-data:/doubled.txt changed since the last run']);
    await dwsOk(dir, ['--batch', 'restore', '--force', 'two']);
    writeFileSync(join(dir, 'source-data', 'rows.csv'), '1,2,3\n');
    expect(await stale()).toEqual(['double: input source-data:/rows.csv changed']);
  });

  it('status agrees with run: an unrelated file in code/ makes nothing stale; a changed input makes its step and what reads it stale', async () => {
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE, 'quad.step.mjs': QUAD, 'train.step.mjs': TRAIN });
    await dwsOk(dir, ['run', 'code']);
    writeFileSync(join(dir, 'code', 'notes.txt'), 'unrelated');
    expect(await dwsOk(dir, ['status'])).not.toContain('Stale steps');
    const again = await dws(dir, ['run', 'code']);
    expect(again.stdout).toContain('0 ran, 3 skipped');

    // The input changes: status names double and, downstream, quad and train (a results step, after a snapshot).
    writeFileSync(join(dir, 'source-data', 'in.txt'), '5');
    const status = await dwsOk(dir, ['status']);
    expect(status).toMatch(/ {2}double \(run at .*\): input source-data:\/in\.txt changed/);
    expect(status).toMatch(/ {2}train.*reads the output of stale step double/);
    const plan = await dwsOk(dir, ['run', 'code', '--dry-run']);
    expect(plan).toContain('run   double: input source-data:/in.txt changed');
    expect(plan).toContain('run   train: upstream step double would run');
    await dwsOk(dir, ['run', 'code']);
    expect(await dwsOk(dir, ['status'])).not.toContain('Stale steps');
  });

  it('a step whose last run failed is stale in dws status, as dws run --dry-run says, listed before the steps downstream of it', async () => {
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE, 'quad.step.mjs': QUAD });
    await dwsOk(dir, ['run', 'code']);
    // double fails midway, having written half its output.
    const failing = stepSource({
      name: 'double',
      inputs: { raw: 'source-data:/in.txt' },
      outputs: { out: 'intermediate-data:/doubled' },
      body: `    writeFileSync(join(outputs.out, 'out.txt'), 'partial');\n    throw new Error('out of memory');`,
    });
    writeFileSync(join(dir, 'code', 'double.step.mjs'), failing);
    expect((await dws(dir, ['run', 'code'])).code).toBe(1);
    const stale = async () => (JSON.parse(await dwsOk(dir, ['--json', 'status'])).stale.steps as { step: string; reason: string }[]).map((s) => `${s.step}: ${s.reason}`);
    expect(await stale()).toEqual(['double: its last run failed', 'quad: input intermediate-data:/doubled changed']);
    const plan = await dwsOk(dir, ['run', 'code', '--dry-run']);
    expect(plan).toContain('run   double: its last run failed');
    // Fixed again: it runs (its earlier run is restored from the run cache) and nothing is stale.
    writeFileSync(join(dir, 'code', 'double.step.mjs'), DOUBLE);
    await dwsOk(dir, ['run', 'code']);
    expect(await stale()).toEqual([]);
  });

  it('early cutoff; a results step survives its snapshot; a deleted step is removed, not stale', async () => {
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE, 'quad.step.mjs': QUAD, 'train.step.mjs': TRAIN });
    await dwsOk(dir, ['run', 'code']);

    // Early cutoff: a comment-only change reruns double; its output is identical, so quad and train are skipped.
    writeFileSync(join(dir, 'code', 'double.step.mjs'), `// a comment\n${DOUBLE}`);
    const cut = await dws(dir, ['run', 'code']);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stderr).toContain('[double] done');
    expect(cut.stderr).toContain('[quad] skipped: unchanged since its last successful run');
    expect(cut.stderr).toContain('[train] skipped: unchanged since its last successful run');

    // The results step's lineage was moved by the snapshot: the graph still finds it.
    const graph = await dws(dir, ['--json', 'lineage', 'graph', '--resource', 'results', '--format', 'json', join(dir, '..', 'g.json')]);
    expect(graph.code, graph.stderr).toBe(0);
    expect((JSON.parse(graph.stdout) as { steps: number }).steps).toBeGreaterThan(0);

    // A deleted step file: removed, not stale.
    rmSync(join(dir, 'code', 'quad.step.mjs'));
    const gone = await dwsOk(dir, ['status']);
    expect(gone).toContain('Removed steps');
    expect(gone).toContain('  quad (code/quad.step.mjs)');
    expect(gone).not.toMatch(/Stale steps[\s\S]*quad/);
  });

  it('early cutoff with a step downstream that runs: it reads the rerun output and the skipped step\'s output, one version of each (no lineage conflict)', async () => {
    // report reads doubled (double's output) and quad (quad's, made from doubled), and takes a param.
    const REPORT = `import { defineStep, z } from 'dataworkspaces';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default defineStep({
  name: 'report',
  params: z.object({ label: z.string() }),
  inputs: { d: 'intermediate-data:/doubled', q: 'intermediate-data:/quad' },
  outputs: { out: 'intermediate-data:/report' },
  async run({ params, inputs, outputs }) {
    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'r.txt'), params.label + readFileSync(join(inputs.d, 'out.txt'), 'utf8') + readFileSync(join(inputs.q, 'out.txt'), 'utf8'));
  },
});
`;
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE, 'quad.step.mjs': QUAD, 'report.step.mjs': REPORT });
    await dwsOk(dir, ['run', 'code', '--param', 'label=a']);
    // double reruns (a comment) with the same output, quad is skipped (early cutoff), report runs (its param).
    writeFileSync(join(dir, 'code', 'double.step.mjs'), `// a comment\n${DOUBLE}`);
    const r = await dws(dir, ['--json', 'run', 'code', '--param', 'label=b']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const steps = (JSON.parse(r.stdout) as { steps: Array<{ step: string; status: string }> }).steps;
    expect(steps.map((x) => [x.step, x.status])).toEqual([['double', 'succeeded'], ['quad', 'skipped'], ['report', 'succeeded']]);
    expect(await dwsOk(dir, ['status'])).not.toContain('Stale steps');
  });

  it('dws lineage forget drops a removed step: run cache, current lineage, and a results step seen in the latest snapshot', async () => {
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE, 'quad.step.mjs': QUAD, 'train.step.mjs': TRAIN });
    await dwsOk(dir, ['run', 'code']);
    const snapshotLineage = () => fingerprint(join(dir, '.dataworkspace', 'snapshot_lineage'));

    // Its file is still there: refused without --force, nothing changed.
    const present = await dws(dir, ['lineage', 'forget', 'quad']);
    expect(present.code).toBe(1);
    expect(present.stderr).toContain('code/quad.step.mjs still exists');
    const unknown = await dws(dir, ['lineage', 'forget', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No recorded step named nope');

    rmSync(join(dir, 'code', 'quad.step.mjs'));
    rmSync(join(dir, 'code', 'train.step.mjs'));
    const frozen = snapshotLineage();
    expect(await dwsOk(dir, ['status'])).toMatch(/Removed steps[^\n]*\n {2}quad \(code\/quad\.step\.mjs\)\n {2}train \(code\/train\.step\.mjs\)\n/);

    const r = JSON.parse(await dwsOk(dir, ['--json', 'lineage', 'forget', 'quad'])) as { step: string; runCache: boolean; records: number; resources: string[] };
    expect(r).toMatchObject({ step: 'quad', runCache: true, records: 1, resources: ['intermediate-data'] });
    expect(currentSteps(dir, 'intermediate-data').map((s) => s.step_name)).toEqual(['double']);
    // train's lineage was moved into the snapshot: hidden from the current view, the snapshot untouched.
    expect(await dwsOk(dir, ['lineage', 'forget', 'train'])).toMatch(/^Forgot step train: /);
    expect(snapshotLineage()).toBe(frozen);
    const after = await dwsOk(dir, ['status']);
    expect(after).not.toContain('Removed steps');
    expect(after).not.toContain('Stale steps');
    expect(await dwsOk(dir, ['lineage', 'show', '--snapshot', gitLog(dir)[0]!.split(' ')[2]!])).toContain('Step train at');
  });
});
