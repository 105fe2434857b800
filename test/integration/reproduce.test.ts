/**
 * `dws reproduce` (issue 6 item 7): a deterministic step's snapshot reproduces (every output
 * equal, exit 0 with --check); a step that writes the time and random bytes differs (exit 1 with
 * --check). Reproducing changes nothing in the workspace.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, fingerprint } from '../helpers.js';
import { DOUBLE, stepSource, stepWorkspace } from '../runner-fixture.js';

afterAll(cleanup);

const NOISY = stepSource({
  name: 'noisy',
  inputs: { raw: 'source-data:/in.txt' },
  outputs: { out: 'intermediate-data:/noisy' },
  body: `    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'stamp.txt'), new Date().toISOString() + ' ' + Math.random() + '\\n');`,
});

describe('dws reproduce', () => {
  it('a deterministic pipeline reproduces: every output equal, --check exits 0, nothing changed', async () => {
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE });
    await dwsOk(dir, ['run', 'code/double.step.mjs', '--tag', 'v1']);
    const before = fingerprint(dir);
    const r = await dws(dir, ['reproduce', 'v1', '--check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('  ran double (step file code/double.step.mjs)\n');
    expect(r.stdout).toMatch(/^ {2}intermediate-data:\/doubled: equal \(Hash:[0-9a-f]{8}\)$/m);
    expect(r.stdout).toContain('Every output reproduced.');
    expect(fingerprint(dir)).toBe(before);
  });

  it('a non-deterministic step differs: exit 1 with --check, 0 without', async () => {
    const dir = await stepWorkspace({ 'noisy.step.mjs': NOISY });
    await dwsOk(dir, ['run', 'code/noisy.step.mjs', '--tag', 'v1']);
    const r = await dws(dir, ['reproduce', 'v1', '--check']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}intermediate-data:\/noisy: differs \(recorded Hash:[0-9a-f]{8}, recomputed Hash:[0-9a-f]{8}\)$/m);
    expect(r.stdout).toContain('Not reproduced.');
    const json = await dws(dir, ['--json', 'reproduce', 'v1']);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { allEqual: boolean; outputs: Array<{ equal: boolean }> }).outputs.map((o) => o.equal)).toEqual([false]);
  });

  it('an unknown snapshot, or one without steps, is refused and changes nothing', async () => {
    const dir = await stepWorkspace({});
    await dwsOk(dir, ['snapshot', 'plain']);
    const before = fingerprint(dir);
    const unknown = await dws(dir, ['reproduce', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Snapshot for tag nope not found');
    const empty = await dws(dir, ['reproduce', 'plain']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('has no recorded steps in its lineage: nothing to reproduce');
    expect(fingerprint(dir)).toBe(before);
  });
});
