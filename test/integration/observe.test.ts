/**
 * Observed writes (issue 6 item 5): `dws run` watches the resources' local files while steps run;
 * a write outside the declared outputs is a warning (the run still succeeds and snapshots), an
 * error with --strict (exit 1, no snapshot). The flush markers leave nothing behind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, gitLog } from '../helpers.js';
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
