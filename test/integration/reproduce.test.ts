/**
 * `dws reproduce` (issue 6 item 7): a deterministic step's snapshot reproduces (every output
 * equal, exit 0 with --check); a step that writes the time and random bytes differs (exit 1 with
 * --check). Reproducing changes nothing in the workspace.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

  it('compares each output by its own subpath, not the whole resource (issue 12 item 1)', async () => {
    // single ran before v1; joined ran after it, into the same resource: v2's lineage keeps
    // single's record with the resource hash taken at v1.
    const SINGLE = stepSource({
      name: 'single',
      inputs: { raw: 'source-data:/in.txt' },
      outputs: { out: 'intermediate-data:/single' },
      body: `    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'one.txt'), readFileSync(inputs.raw, 'utf8') + '!\\n');`,
    });
    const JOINED = stepSource({
      name: 'joined',
      inputs: { single: 'intermediate-data:/single' },
      outputs: { out: 'intermediate-data:/joined' },
      body: `    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'two.txt'), readFileSync(join(inputs.single, 'one.txt'), 'utf8') + 'joined\\n');`,
    });
    const dir = await stepWorkspace({ 'single.step.mjs': SINGLE });
    await dwsOk(dir, ['run', 'code/single.step.mjs', '--tag', 'v1']);
    writeFileSync(join(dir, 'code', 'joined.step.mjs'), JOINED);
    await dwsOk(dir, ['run', 'code/joined.step.mjs', '--tag', 'v2']);
    const r = await dws(dir, ['reproduce', 'v2', '--check']);
    expect(r.stdout).toMatch(/^ {2}intermediate-data:\/single: equal \(Hash:[0-9a-f]{8}\)$/m);
    expect(r.stdout).toMatch(/^ {2}intermediate-data:\/joined: equal \(Hash:[0-9a-f]{8}\)$/m);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const json = JSON.parse((await dwsOk(dir, ['--json', 'reproduce', 'v2']))) as { outputs: Array<{ ref: string; recorded: string; recomputed: string; equal: boolean }> };
    const single = json.outputs.find((o) => o.ref === 'intermediate-data:/single')!;
    const joined = json.outputs.find((o) => o.ref === 'intermediate-data:/joined')!;
    // Each output's own tree: the two subpaths hold different content, so their hashes differ.
    expect(single.recorded).not.toBe(joined.recorded);
    expect(single.recomputed).toBe(single.recorded);
  });

  it('reports a changed subpath as differing and its unchanged sibling as equal', async () => {
    const HALF = stepSource({
      name: 'half',
      inputs: { raw: 'source-data:/in.txt' },
      outputs: { a: 'intermediate-data:/stable', b: 'intermediate-data:/noisy' },
      body: `    mkdirSync(outputs.a, { recursive: true });
    mkdirSync(outputs.b, { recursive: true });
    writeFileSync(join(outputs.a, 'a.txt'), readFileSync(inputs.raw, 'utf8'));
    writeFileSync(join(outputs.b, 'b.txt'), String(Math.random()));`,
    });
    const dir = await stepWorkspace({ 'half.step.mjs': HALF });
    await dwsOk(dir, ['run', 'code/half.step.mjs', '--tag', 'v1']);
    const r = await dws(dir, ['reproduce', 'v1', '--check']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}intermediate-data:\/stable: equal \(Hash:[0-9a-f]{8}\)$/m);
    expect(r.stdout).toMatch(/^ {2}intermediate-data:\/noisy: differs \(recorded Hash:[0-9a-f]{8}, recomputed Hash:[0-9a-f]{8}\)$/m);
  });

  it('compares subpath outputs of a local-files resource by their hash-tree entries', async () => {
    const STEP = (name: string, sub: string, text: string) =>
      stepSource({
        name,
        inputs: { raw: 'source-data:/in.txt' },
        outputs: { out: `data:/${sub}` },
        body: `    mkdirSync(join(outputs.out, 'deep'), { recursive: true });
    writeFileSync(join(outputs.out, 'deep', 'f.txt'), readFileSync(inputs.raw, 'utf8') + ${JSON.stringify(text)});`,
      });
    const dir = await stepWorkspace({ 'a.step.mjs': STEP('a', 'a', 'A'), 'b.step.mjs': STEP('b', 'b', 'B') });
    mkdirSync(join(dir, 'data'));
    await dwsOk(dir, ['--batch', 'add', 'local-files', '--role', 'intermediate-data', '--compute-hash', 'data']);
    await dwsOk(dir, ['run', 'code/a.step.mjs', '--tag', 'v1']);
    await dwsOk(dir, ['run', 'code/b.step.mjs', '--tag', 'v2']);
    const r = await dws(dir, ['--json', 'reproduce', 'v2']);
    const outputs = (JSON.parse(r.stdout) as { outputs: Array<{ ref: string; recorded: string; recomputed: string; equal: boolean }> }).outputs;
    expect(outputs.map((o) => [o.ref, o.equal])).toEqual([
      ['data:/a', true],
      ['data:/b', true],
    ]);
    expect(outputs[0]!.recorded).not.toBe(outputs[1]!.recorded);
  });

  it('replays a command step that names a local-files resource of the workspace by its relative path: the copy has it at the same place', async () => {
    const dir = await stepWorkspace({});
    mkdirSync(join(dir, 'data'));
    await dwsOk(dir, ['--batch', 'add', 'local-files', '--role', 'intermediate-data', '--compute-hash', 'data']);
    writeFileSync(join(dir, 'dws.yaml'), 'steps:\n  - name: copy\n    command: mkdir -p data/out && cp source-data/in.txt data/out/in.txt\n    inputs: [source-data:/in.txt]\n    outputs: [data:/out]\n');
    await dwsOk(dir, ['run', '--tag', 'v1']);
    const before = fingerprint(dir);
    const r = await dws(dir, ['reproduce', 'v1', '--check']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('  ran copy (step copy of dws.yaml)\n');
    expect(r.stdout).toMatch(/^ {2}data:\/out: equal \(Hash:[0-9a-f]{8}\)$/m);
    expect(fingerprint(dir)).toBe(before);
  });

  it('replays with local-files data as the snapshot had it, from the content store, after the data changed (and a gc)', async () => {
    const dir = await stepWorkspace({
      'double.step.mjs': stepSource({
        name: 'double',
        inputs: { raw: 'data:/in.txt' },
        outputs: { out: 'intermediate-data:/doubled' },
        body: `    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'out.txt'), String(Number(readFileSync(inputs.raw, 'utf8')) * 2) + '\\n');`,
      }),
    });
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'in.txt'), '21');
    await dwsOk(dir, ['--batch', 'add', 'local-files', '--role', 'source-data', '--compute-hash', 'data']);
    await dwsOk(dir, ['run', 'code/double.step.mjs', '--tag', 'v1']);
    writeFileSync(join(dir, 'data', 'in.txt'), '50');
    await dwsOk(dir, ['snapshot', 'v2']);
    await dwsOk(dir, ['gc']);
    const before = fingerprint(dir);
    const r = await dws(dir, ['reproduce', 'v1', '--check']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}intermediate-data:\/doubled: equal \(Hash:[0-9a-f]{8}\)$/m);
    expect(r.stdout).not.toContain('Note:');
    expect(fingerprint(dir)).toBe(before);
  });

  it('a step that fails in the replay is reported with the last lines it printed', async () => {
    // scratch/ is not in git: the replay's copy has no marker, and the command says so.
    const dir = await stepWorkspace({});
    mkdirSync(join(dir, 'scratch'), { recursive: true });
    writeFileSync(join(dir, 'scratch', 'marker'), 'here\n');
    const script = 'cat scratch/marker > intermediate-data/out.txt || { echo "no marker in scratch/" >&2; exit 3; }';
    await dwsOk(dir, ['run', '--name', 'mark', '--out', 'intermediate-data:/out.txt', '--tag', 'v1', '--', 'sh', '-c', script]);
    const r = await dws(dir, ['reproduce', 'v1']);
    expect(r.stdout).toMatch(/^ {2}FAILED mark \(command sh -c .*\): command exited with code 3; its last output: .*no marker in scratch\/$/m);
    // The command line as one can paste it into a shell.
    expect(r.stdout).toContain(`(command sh -c '${script}')`);
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
