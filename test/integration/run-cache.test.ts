/**
 * Issue 12 item 7: the run cache remembers every successful run. Going back to an earlier param
 * value, or losing an output, restores the outputs from the content store instead of running the
 * step; the entries travel with push/pull, so a second clone's identical step is restored (its
 * objects fetched from the store remote); an entry whose objects are gone falls back to running;
 * --force reruns. The step counts its executions in a file outside the workspace.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, git, readJson, stdioServer, tempDir, TEST_ENV } from '../helpers.js';
import { currentSteps, stepWorkspace } from '../runner-fixture.js';

afterAll(cleanup);

/** `scale` reads source-data/in.txt and writes it times the param `scale` into intermediate-data:/scaled/out.txt; each run appends a line to `counter`. */
function scaleStep(counter: string): string {
  return `import { defineStep, z } from 'dataworkspaces';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default defineStep({
  name: 'scale',
  params: z.object({ scale: z.number().default(2) }),
  inputs: { raw: 'source-data:/in.txt' },
  outputs: { out: 'intermediate-data:/scaled' },
  async run({ params, inputs, outputs }) {
    appendFileSync(${JSON.stringify(counter)}, 'ran\\n');
    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'out.txt'), String(Number(readFileSync(inputs.raw, 'utf8')) * params.scale) + '\\n');
  },
});
`;
}

const runs = (counter: string) => (existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0);
const output = (dir: string) => readFileSync(join(dir, 'intermediate-data', 'scaled', 'out.txt'), 'utf8');
const entries = (dir: string) => (existsSync(join(dir, '.dataworkspace', 'run_cache')) ? readdirSync(join(dir, '.dataworkspace', 'run_cache')).sort() : []);

async function runJson(dir: string, args: string[], env = TEST_ENV) {
  const r = await dws(dir, ['--json', 'run', 'code/scale.step.mjs', ...args], { env });
  if (r.code !== 0) throw new Error(`dws run ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return { result: JSON.parse(r.stdout) as { ok: boolean; snapshot: { hash: string } | null; steps: Array<{ step: string; status: string; reason: string | null; restoredFrom?: { runId: string; startTime: string; snapshot: string | null } }> }, stderr: r.stderr };
}

/** A command step writing 3 MB that depend on its param v (an object of its own in the store); runs it with v. */
function bigFileStep(dir: string) {
  writeFileSync(join(dir, 'big.mjs'), `import { writeFileSync } from 'node:fs';
const v = JSON.parse(process.env.DWS_PARAMS).v;
writeFileSync(JSON.parse(process.env.DWS_OUTPUTS)['intermediate-data:/big.bin'], Buffer.alloc(3 << 20, v));
`);
  return (v: number) => dws(dir, ['--json', 'run', '--name', 'big', '--out', 'intermediate-data:/big.bin', '--param', `v=${v}`, '--no-snapshot', '--', process.execPath, 'big.mjs']);
}

describe('the run cache remembers every successful run', () => {
  it('param a -> b -> a: the third run restores the first run outputs (kept by gc) without running the step, and says from which run', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const dir = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter) });
    const first = await runJson(dir, ['--param', 'scale=2']);
    expect(first.result.steps[0]!.status).toBe('succeeded');
    const bytesA = output(dir);
    expect(bytesA).toBe('42\n');
    const [entryA] = entries(dir);
    expect(entryA).toMatch(/^[0-9a-f]{64}-[0-9a-f]{12}\.json$/);
    // Committed, so that push and pull carry it and find no uncommitted change.
    expect(git(dir, ['status', '--porcelain', '--', '.dataworkspace'])).toBe('');
    await runJson(dir, ['--param', 'scale=3']);
    expect(output(dir)).toBe('63\n');
    expect(runs(counter)).toBe(2);

    const plan = await dwsOk(dir, ['run', 'code/scale.step.mjs', '--param', 'scale=2', '--dry-run']);
    expect(plan).toMatch(/its outputs would be restored from the run cache \(run [0-9a-f]{12} of /);

    // gc keeps what entries reach (here nothing else does: intermediate-data is in git, not in the store).
    await dwsOk(dir, ['gc']);
    const third = await dws(dir, ['run', 'code/scale.step.mjs', '--param', 'scale=2']);
    expect(third.code, third.stderr).toBe(0);
    expect(runs(counter)).toBe(2); // not executed
    expect(output(dir)).toBe(bytesA);
    const runId = readJson(join(dir, '.dataworkspace', 'run_cache', entryA!)).run_id as string;
    const snapshotA = first.result.snapshot!.hash; // the snapshot whose commit took the entry
    expect(third.stderr).toContain(`[scale] restored from the run cache (run ${runId} of `);
    expect(third.stderr).toContain(`snapshot ${snapshotA.slice(0, 8)}`);
    expect(third.stdout).toContain('0 ran, 1 restored from the run cache, 0 skipped');
    // The lineage is the original run's, marked as restored.
    const [lineage] = currentSteps(dir, 'intermediate-data') as unknown as Array<{ start_time: string; parameters: unknown; restored_from: { run_id: string; snapshot: string } }>;
    expect(lineage!.parameters).toEqual({ scale: 2 });
    expect(lineage!.start_time).toBe(readJson(join(dir, '.dataworkspace', 'run_cache', entryA!)).start_time);
    expect(lineage!.restored_from).toMatchObject({ run_id: runId, snapshot: snapshotA });
    // Now current: the next run skips it.
    const fourth = await runJson(dir, ['--param', 'scale=2']);
    expect(fourth.result.steps[0]).toMatchObject({ status: 'skipped' });
  }, 120_000); // eight dws processes: over a minute when the machine is busy

  it('dry-run after going back to a snapshot: a step downstream of a restored step is restored too, as the real run does', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const sum = `import { defineStep } from 'dataworkspaces';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default defineStep({
  name: 'sum',
  inputs: { scaled: 'intermediate-data:/scaled' },
  outputs: { out: 'intermediate-data:/summed' },
  async run({ inputs, outputs }) {
    appendFileSync(${JSON.stringify(counter)}, 'sum\\n');
    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'sum.txt'), String(Number(readFileSync(join(inputs.scaled, 'out.txt'), 'utf8')) + 1) + '\\n');
  },
});
`;
    const dir = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter), 'sum.step.mjs': sum });
    const run = (args: string[]) => dws(dir, ['--json', 'run', 'code/scale.step.mjs', 'code/sum.step.mjs', ...args]);
    const statuses = async (args: string[]) => {
      const r = await run(args);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { steps: Array<{ step: string; status: string; reason: string | null }> }).steps.map((s) => [s.step, s.status, s.reason]);
    };
    await statuses(['--param', 'scale=2', '--tag', 'two']);
    await statuses(['--param', 'scale=3']);
    await dwsOk(dir, ['--batch', 'restore', 'two']);
    expect(runs(counter)).toBe(4);
    const plan = await statuses(['--param', 'scale=2', '--dry-run']);
    expect(plan.map(([step, status]) => [step, status])).toEqual([['scale', 'would-run'], ['sum', 'would-run']]);
    expect(plan[1]![2]).toMatch(/^input intermediate-data:\/scaled changed; its outputs would be restored from the run cache \(run [0-9a-f]{12} of /);
    const real = await statuses(['--param', 'scale=2']);
    expect(real.map(([step, status]) => [step, status])).toEqual([['scale', 'restored'], ['sum', 'restored']]);
    expect(runs(counter)).toBe(4);
    expect(readFileSync(join(dir, 'intermediate-data', 'summed', 'sum.txt'), 'utf8')).toBe('43\n');
  }, 120_000);

  it('asks git which snapshot took an entry once per HEAD commit: a restore of it at the same HEAD spawns no git, one after a new commit asks again', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const dir = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter) });
    for (const scale of [2, 3]) await runJson(dir, ['--param', `scale=${scale}`, '--no-snapshot']); // entries not committed
    const restore = async (scale: number, args: string[]) => {
      const r = await dws(dir, ['--verbose', '--json', 'run', 'code/scale.step.mjs', '--param', `scale=${scale}`, ...args]);
      expect(r.code, r.stderr).toBe(0);
      const step = (JSON.parse(r.stdout) as { steps: Array<{ status: string; restoredFrom?: { snapshot: string | null } }> }).steps[0]!;
      expect(step.status).toBe('restored');
      return { snapshot: step.restoredFrom!.snapshot, gitLookups: r.stderr.split('\n').filter((l) => l.includes('git log --diff-filter=A')).length, stdout: r.stdout };
    };
    expect(await restore(2, ['--no-snapshot'])).toMatchObject({ snapshot: null, gitLookups: 1 });
    expect(await restore(3, ['--no-snapshot'])).toMatchObject({ snapshot: null, gitLookups: 1 });
    expect(await restore(2, ['--no-snapshot'])).toMatchObject({ snapshot: null, gitLookups: 0 });
    // This run's snapshot commits both entries: HEAD moves, and the next restore asks git again.
    const committing = await restore(3, []);
    expect(committing.snapshot).toBeNull();
    const taken = (JSON.parse(committing.stdout) as { snapshot: { hash: string } }).snapshot.hash;
    expect(await restore(2, ['--no-snapshot'])).toMatchObject({ snapshot: taken, gitLookups: 1 });
    expect(await restore(3, ['--no-snapshot'])).toMatchObject({ snapshot: taken, gitLookups: 1 });
    expect(await restore(2, ['--no-snapshot'])).toMatchObject({ snapshot: taken, gitLookups: 0 });
    expect(runs(counter)).toBe(2);
  }, 120_000);

  it('records a restored run\'s lineage only once its outputs are in place: a run killed before the renames leaves the lineage as it was', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const dir = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter) });
    for (const scale of [2, 3]) await runJson(dir, ['--param', `scale=${scale}`]);
    const before = readFileSync(join(dir, '.dataworkspace', 'current_lineage', 'intermediate-data.json'), 'utf8');
    // Killed once the restored files are written beside their places, before they are renamed.
    const killed = await dws(dir, ['run', 'code/scale.step.mjs', '--param', 'scale=2'], { env: { ...TEST_ENV, DWS_FAULT: 'restore.files-after-temp-writes' } });
    expect(killed.code).not.toBe(0);
    expect(output(dir)).toBe('63\n');
    expect(readFileSync(join(dir, '.dataworkspace', 'current_lineage', 'intermediate-data.json'), 'utf8')).toBe(before);
    const again = await runJson(dir, ['--param', 'scale=2']);
    expect(again.result.steps[0]!.status).toBe('restored');
    expect(output(dir)).toBe('42\n');
    const [lineage] = currentSteps(dir, 'intermediate-data') as unknown as Array<{ parameters: unknown; restored_from?: unknown }>;
    expect(lineage).toMatchObject({ parameters: { scale: 2 }, restored_from: { run_id: again.result.steps[0]!.restoredFrom!.runId } });
    expect(runs(counter)).toBe(2);
  }, 120_000);

  it('ignores an entry edited into a wrong shape, naming its file and field, and runs the step; the intact entry is still restored', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const dir = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter) });
    await runJson(dir, ['--param', 'scale=2']);
    const [entryA] = entries(dir);
    await runJson(dir, ['--param', 'scale=3']);
    const kept = entries(dir);
    const file = join(dir, '.dataworkspace', 'run_cache', entryA!);
    const good = readFileSync(file, 'utf8');
    const cases: Array<[(e: Record<string, unknown>) => void, string]> = [
      [(e) => (e.run_id = 'not-hex'), 'run_id: not 12 hex digits'],
      [(e) => ((e.outputs as Record<string, { tree: string }>)['intermediate-data:/scaled']!.tree = 'abc'), 'outputs.intermediate-data:/scaled: not {"tree": <40 hex digits>, "file": <boolean>}'],
      [(e) => (e.execution_time_seconds = '1.5'), 'execution_time_seconds: not a number or null'],
      // a listed large file that would lead the restore's early copy out of the output
      [(e) => ((e.outputs as Record<string, { large?: unknown }>)['intermediate-data:/scaled']!.large = [{ path: '../../elsewhere/x', id: 'c'.repeat(40), exec: false }]), 'outputs.intermediate-data:/scaled.large.0: not {"path": <a relative path>, "id": <40 hex digits>, "exec": <boolean>}'],
    ];
    for (const [edit, why] of cases) {
      const e = JSON.parse(good) as Record<string, unknown>;
      edit(e);
      writeFileSync(file, JSON.stringify(e));
      const r = await runJson(dir, ['--param', 'scale=2']);
      expect(r.result.steps[0]!.status).toBe('succeeded');
      expect(r.stderr).toContain(`Run cache entry ${file} is not usable (${why}); ignored.`);
      for (const f of entries(dir)) if (!kept.includes(f)) rmSync(join(dir, '.dataworkspace', 'run_cache', f)); // the run's own new entry
      expect((await runJson(dir, ['--param', 'scale=3'])).result.steps[0]!.status).toBe('restored'); // from its intact entry
    }
    expect(runs(counter)).toBe(2 + cases.length);
    writeFileSync(file, good);
    expect((await runJson(dir, ['--param', 'scale=2'])).result.steps[0]!.status).toBe('restored');
    expect(runs(counter)).toBe(2 + cases.length);
  }, 120_000);

  it('names no snapshot for an entry whose snapshot was deleted since (its objects kept by gc)', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const dir = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter) });
    const first = await runJson(dir, ['--param', 'scale=2', '--tag', 'a']);
    await runJson(dir, ['--param', 'scale=3']);
    await dwsOk(dir, ['--batch', 'delete-snapshot', 'a']);
    await dwsOk(dir, ['gc']);
    const again = await runJson(dir, ['--param', 'scale=2']);
    expect(again.result.steps[0]).toMatchObject({ status: 'restored', restoredFrom: { snapshot: null } });
    expect(again.stderr).not.toContain(first.result.snapshot!.hash.slice(0, 8));
    expect(output(dir)).toBe('42\n');
  });

  it('restores a deleted output, and reruns with --force', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const dir = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter) });
    await runJson(dir, []);
    rmSync(join(dir, 'intermediate-data', 'scaled'), { recursive: true });
    const again = await runJson(dir, []);
    expect(again.result.steps[0]).toMatchObject({ status: 'restored', reason: expect.stringMatching(/^restored from the run cache \(run [0-9a-f]{12} of /) });
    expect(again.result.steps[0]!.restoredFrom!.runId).toMatch(/^[0-9a-f]{12}$/);
    expect(output(dir)).toBe('42\n');
    expect(runs(counter)).toBe(1);
    const forced = await runJson(dir, ['--force']);
    expect(forced.result.steps[0]!.status).toBe('succeeded');
    expect(runs(counter)).toBe(2);
    // The same outputs again: no second entry for the same fingerprint.
    expect(entries(dir)).toHaveLength(1);
  });

  it('restores a results output as the run\'s own files: the results of earlier snapshots (snapshots/HOST-TAG) and the README stay as they are', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const dir = await stepWorkspace({
      'score.step.mjs': `import { defineStep, z } from 'dataworkspaces';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default defineStep({
  name: 'score',
  params: z.object({ v: z.number() }),
  outputs: { res: 'results' },
  async run({ params, outputs, results }) {
    appendFileSync(${JSON.stringify(counter)}, 'ran\\n');
    writeFileSync(join(outputs.res, 'table.csv'), 'v\\n' + params.v + '\\n');
    await results.write({ v: params.v });
  },
});
`,
    });
    const run = async (v: number, tag: string) => {
      const r = await dws(dir, ['--json', 'run', 'code/score.step.mjs', '--param', `v=${v}`, '--tag', tag]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { steps: Array<{ status: string }> }).steps[0]!.status;
    };
    const snapshotDirs = () => readdirSync(join(dir, 'results', 'snapshots')).sort();
    expect(await run(1, 'a')).toBe('succeeded');
    expect(await run(2, 'b')).toBe('succeeded');
    // Restores a's entry (taken before any snapshot directory existed), then b's (taken with snapshots/test-a there).
    expect(await run(1, 'c')).toBe('restored');
    expect(await run(2, 'd')).toBe('restored');
    expect(runs(counter)).toBe(2);
    expect(snapshotDirs()).toEqual(['test-a', 'test-b', 'test-c', 'test-d']);
    for (const [tag, v] of [['a', 1], ['b', 2], ['c', 1], ['d', 2]] as const) {
      expect(readFileSync(join(dir, 'results', 'snapshots', `test-${tag}`, 'table.csv'), 'utf8')).toBe(`v\n${v}\n`);
      expect(readJson(join(dir, 'results', 'snapshots', `test-${tag}`, 'results.json')).metrics).toEqual({ v });
    }
    expect(existsSync(join(dir, 'results', 'README.txt'))).toBe(true);
    // No snapshot commit recorded the removal of an earlier snapshot's results.
    expect(git(dir, ['log', '--diff-filter=D', '--name-only', '--format=', '--', 'results/snapshots'])).toBe('');
    expect(git(dir, ['status', '--porcelain'])).toBe('');
  }, 60_000);

  it('restores a large file output by copying its store object, checked once (a record in verified-large); the copy is the user\'s, writable', async () => {
    const dir = await stepWorkspace({});
    const big = bigFileStep(dir);
    const file = join(dir, 'intermediate-data', 'big.bin');
    for (const v of [1, 2]) expect((await big(v)).code).toBe(0);
    const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
    const id = sha1(Buffer.alloc(3 << 20, 1));
    const record = join(dir, '.git', 'dws', 'store', 'verified-large', id);
    expect(existsSync(record)).toBe(false);
    for (let i = 0; i < 2; i++) {
      const back = await big(1);
      expect(back.code, back.stderr).toBe(0);
      expect((JSON.parse(back.stdout) as { steps: Array<{ status: string }> }).steps[0]!.status).toBe('restored');
      expect(sha1(readFileSync(file))).toBe(id);
      expect(statSync(file).mode & 0o200).toBe(0o200); // not the store's read-only mode
      const obj = statSync(join(dir, '.git', 'dws', 'store', 'objects', id.slice(0, 2), id.slice(2)), { bigint: true });
      expect(readFileSync(record, 'utf8')).toBe(`${obj.ino} ${obj.size} ${obj.mtimeNs}\n`);
      expect((await big(2)).code).toBe(0);
    }
  });

  it('restores a folder of large files, copying them while it plans, and leaves no copy behind when the restore fails', async () => {
    const dir = await stepWorkspace({});
    writeFileSync(join(dir, 'models.mjs'), `import { mkdirSync, writeFileSync } from 'node:fs';
const v = JSON.parse(process.env.DWS_PARAMS).v;
const o = JSON.parse(process.env.DWS_OUTPUTS)['intermediate-data:/models'];
mkdirSync(o + '/sub', { recursive: true });
writeFileSync(o + '/a.bin', Buffer.alloc(3 << 20, v));
writeFileSync(o + '/sub/b.bin', Buffer.alloc(3 << 20, 5));
writeFileSync(o + '/note.txt', 'v' + v);
`);
    const models = (v: number, env = TEST_ENV) => dws(dir, ['--json', 'run', '--name', 'models', '--out', 'intermediate-data:/models', '--param', `v=${v}`, '--no-snapshot', '--', process.execPath, 'models.mjs'], { env });
    const status = (r: { stdout: string }) => (JSON.parse(r.stdout) as { steps: Array<{ status: string }> }).steps[0]!.status;
    const out = join(dir, 'intermediate-data', 'models');
    const listing = () => readdirSync(out, { recursive: true }).map(String).sort();
    for (const v of [1, 2]) expect((await models(v)).code).toBe(0);
    // Each entry lists the folder's large files: what a restore copies before it reads the store.
    const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
    const listed = entries(dir).map((f) => (readJson(join(dir, '.dataworkspace', 'run_cache', f)) as { outputs: Record<string, { large?: unknown }> }).outputs['intermediate-data:/models']!.large);
    expect(listed).toContainEqual([
      { path: 'a.bin', id: sha1(Buffer.alloc(3 << 20, 1)), exec: false },
      { path: 'sub/b.bin', id: sha1(Buffer.alloc(3 << 20, 5)), exec: false },
    ]);
    const back = await models(1);
    expect(back.code, back.stderr).toBe(0);
    expect(status(back)).toBe('restored');
    expect(readFileSync(join(out, 'a.bin')).equals(Buffer.alloc(3 << 20, 1))).toBe(true);
    expect(readFileSync(join(out, 'sub', 'b.bin')).equals(Buffer.alloc(3 << 20, 5))).toBe(true);
    expect(readFileSync(join(out, 'note.txt'), 'utf8')).toBe('v1');
    expect(listing()).toEqual(['a.bin', 'note.txt', 'sub', 'sub/b.bin']);

    // Killed once the new files are written, before any is renamed into place: the large ones were
    // copied early (their temp names say so); the next run removes those and restores.
    const killed = await models(2, { ...TEST_ENV, DWS_FAULT: 'restore.files-after-temp-writes' });
    expect(killed.code).not.toBe(0);
    // note.txt's is an ordinary one; sub/b.bin, the same in both, is copied only while the stat
    // cache cannot vouch for it yet (written within the racy margin of the last scan).
    const temps = listing().filter((p) => p.includes('.dws-restore.tmp') && p !== 'sub/.dws-restore.tmp-early-1');
    expect(temps).toEqual(['.dws-restore.tmp-1', '.dws-restore.tmp-early-0']);
    expect(status(await models(2))).toBe('restored');
    expect(listing()).toEqual(['a.bin', 'note.txt', 'sub', 'sub/b.bin']);
    expect(status(await models(1))).toBe('restored');

    // sub/ replaced by a link to a folder elsewhere in the resource: the restore makes sub/ a folder again and writes nothing through the link.
    const elsewhere = join(dir, 'intermediate-data', 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'keep.txt'), 'mine');
    utimesSync(elsewhere, new Date(2020, 0, 1), new Date(2020, 0, 1));
    rmSync(join(out, 'sub'), { recursive: true });
    symlinkSync('../elsewhere', join(out, 'sub'));
    const throughLink = await models(2);
    expect(status(throughLink)).toBe('restored');
    expect(lstatSync(join(out, 'sub')).isDirectory()).toBe(true);
    expect(readFileSync(join(out, 'sub', 'b.bin')).equals(Buffer.alloc(3 << 20, 5))).toBe(true);
    expect(readdirSync(elsewhere)).toEqual(['keep.txt']);
    expect(statSync(elsewhere).mtime.getTime()).toBe(new Date(2020, 0, 1).getTime()); // nothing made and removed there either

    // Back at v=1, v=2's a.bin corrupt in the store: its copy fails, the restore stops, sub/b.bin's copy is removed and the step runs.
    const id = createHash('sha1').update(Buffer.alloc(3 << 20, 2)).digest('hex');
    const object = join(dir, '.git', 'dws', 'store', 'objects', id.slice(0, 2), id.slice(2));
    chmodSync(object, 0o644);
    writeFileSync(object, Buffer.alloc(3 << 20, 9));
    expect(status(await models(1))).toBe('restored');
    const failed = await models(2);
    expect(failed.code, failed.stderr).toBe(0);
    expect(failed.stderr).toMatch(/cannot restore it: CorruptObjectError/);
    expect(status(failed)).toBe('succeeded');
    expect(listing()).toEqual(['a.bin', 'note.txt', 'sub', 'sub/b.bin']);
    expect(readFileSync(join(out, 'a.bin')).equals(Buffer.alloc(3 << 20, 2))).toBe(true);
  });

  it('does not read an output file it is about to replace: one the stat cache does not vouch for is rewritten, even when equal', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const dir = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter) });
    await runJson(dir, ['--param', 'scale=2']);
    await runJson(dir, ['--param', 'scale=3']);
    // The first run's bytes, written just now: too recent for the stat cache to vouch for them.
    const out = join(dir, 'intermediate-data', 'scaled', 'out.txt');
    writeFileSync(out, '42\n');
    const ino = statSync(out).ino;
    const back = await runJson(dir, ['--param', 'scale=2']);
    expect(back.result.steps[0]!.status).toBe('restored');
    expect(output(dir)).toBe('42\n');
    expect(statSync(out).ino).not.toBe(ino); // replaced, not compared
    expect(runs(counter)).toBe(2);
  });

  it('records a restored output as its content hashes (not read again), and sees a later edit that keeps size and mtime as a change', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const dir = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter) });
    const big = bigFileStep(dir);
    const file = join(dir, 'intermediate-data', 'big.bin');
    const out = join(dir, 'intermediate-data', 'scaled', 'out.txt');
    for (const v of [1, 2, 1]) expect((await big(v)).code).toBe(0);
    await runJson(dir, ['--param', 'scale=2']);
    await runJson(dir, ['--param', 'scale=3']);
    expect((await runJson(dir, ['--param', 'scale=2'])).result.steps[0]!.status).toBe('restored');
    const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest('hex');
    const records = () => readJson(join(dir, '.git', 'dws', 'runner', 'cache.json')) as Record<string, { outputs: Record<string, string> }>;
    // What a hash of the files gives: a file's SHA-1; a folder's 1.6 tree hash (workspace-format §13).
    expect(records().big!.outputs).toEqual({ 'intermediate-data:/big.bin': `sha1:${sha1(Buffer.alloc(3 << 20, 1))}` });
    expect(records().scale!.outputs).toEqual({ 'intermediate-data:/scaled': `tree:${sha1(`${sha1('42\n')}\tblob\tout.txt\n`)}` });

    // Edited after the restore, size and mtime kept: both steps are restored again, not skipped.
    for (const [path, bytes] of [[file, Buffer.alloc(3 << 20, 7)], [out, '99\n']] as const) {
      const st = statSync(path);
      writeFileSync(path, bytes);
      utimesSync(path, st.atime, st.mtime);
    }
    const again = await big(1);
    expect((JSON.parse(again.stdout) as { steps: Array<{ status: string }> }).steps[0]!.status).toBe('restored');
    expect(readFileSync(file).equals(Buffer.alloc(3 << 20, 1))).toBe(true);
    const scaleAgain = await runJson(dir, ['--param', 'scale=2']);
    expect(scaleAgain.result.steps[0]).toMatchObject({ status: 'restored', reason: expect.stringMatching(/^restored from the run cache/) });
    expect(output(dir)).toBe('42\n');
    expect(runs(counter)).toBe(2);
  }, 120_000);

  it("says what to run about a corrupt object of an entry as the client words it: dws fsck ... on the CLI, dws/fsck ... in a server's dws/run/progress", async () => {
    const dir = await stepWorkspace({});
    const big = bigFileStep(dir);
    for (const v of [1, 2]) expect((await big(v)).code).toBe(0);
    const id = createHash('sha1').update(Buffer.alloc(3 << 20, 1)).digest('hex');
    const object = join(dir, '.git', 'dws', 'store', 'objects', id.slice(0, 2), id.slice(2));
    const corrupt = () => (chmodSync(object, 0o644), writeFileSync(object, Buffer.alloc(3 << 20, 9)));
    corrupt();
    const cli = await big(1);
    expect(cli.stderr).toContain(
      `cannot restore it: CorruptObjectError: Object ${id} in the content store is corrupt (${object}: its bytes do not hash to its id). Run 'dws fsck' to check the whole store; with a store remote that holds a good copy ('dws config store.remote REMOTE'), restore, pull, clone and 'dws fsck --repair' replace it. Running the step instead.`,
    );
    expect((await big(2)).code).toBe(0);
    corrupt();
    const c = await stdioServer(dir);
    const cannotRestore = new Promise<string>((resolve) =>
      c.connection.onNotification('dws/run/progress', (p: { event: { type: string; message?: string } }) => {
        if (p.event.type === 'log' && p.event.message!.includes('cannot restore it')) resolve(p.event.message!);
      }),
    );
    const command = { name: 'big', outputs: ['intermediate-data:/big.bin'], argv: [process.execPath, 'big.mjs'] };
    const r = await c.request('dws/run', { command, param: ['v=1'], snapshot: false });
    expect(r.steps[0]!.status).toBe('succeeded');
    const said = await cannotRestore;
    expect(said).toContain(`cannot restore it: CorruptObjectError: Object ${id} in the content store is corrupt`);
    expect(said).toContain(
      `Run 'dws/fsck' to check the whole store; with a store remote that holds a good copy ('dws/config with {"name": "store.remote", "value": "REMOTE"}'), restore, pull, clone and 'dws/fsck with {"repair": true}' replace it. Running the step instead.`,
    );
  });

  it('runs the step when the large object of an entry is corrupt, saying so; the output it had is not set aside', async () => {
    const dir = await stepWorkspace({});
    const big = bigFileStep(dir);
    const file = join(dir, 'intermediate-data', 'big.bin');
    for (const v of [1, 2]) expect((await big(v)).code).toBe(0);
    const id = createHash('sha1').update(Buffer.alloc(3 << 20, 1)).digest('hex');
    const object = join(dir, '.git', 'dws', 'store', 'objects', id.slice(0, 2), id.slice(2));
    chmodSync(object, 0o644);
    writeFileSync(object, Buffer.alloc(3 << 20, 9)); // same size, other bytes: checked again (its stamp changed)
    const ino = statSync(file).ino;
    const back = await big(1);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toMatch(new RegExp(`cannot restore it: CorruptObjectError: Object ${id} in the content store is corrupt`));
    expect((JSON.parse(back.stdout) as { steps: Array<{ status: string }> }).steps[0]!.status).toBe('succeeded');
    expect(statSync(file).ino).toBe(ino); // the step wrote it where it was: the restore had not moved it
    expect(readFileSync(file).equals(Buffer.alloc(3 << 20, 1))).toBe(true);
    const trash = join(dir, '.git', 'dws', 'store', 'trash');
    expect(existsSync(trash) ? readdirSync(trash) : []).toEqual([]);
  });

  it('sets the files a restore replaces aside in <store>/trash and empties it: outputs byte-exact, a hard link outside the resource keeps its bytes, the mode stays', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const dir = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter) });
    const big = bigFileStep(dir);
    const file = join(dir, 'intermediate-data', 'big.bin');
    const dirOutput = join(dir, 'intermediate-data', 'scaled', 'out.txt');
    const trash = join(dir, '.git', 'dws', 'store', 'trash');
    const outside = tempDir('dws-outside-');
    for (const v of [1, 2]) expect((await big(v)).code).toBe(0);
    await runJson(dir, ['--param', 'scale=2']);
    await runJson(dir, ['--param', 'scale=3']);
    // Links to the outputs from outside the workspace, and a mode of the user's.
    linkSync(file, join(outside, 'big.bin'));
    linkSync(dirOutput, join(outside, 'out.txt'));
    chmodSync(file, 0o640);

    const back = await big(1);
    expect(back.code, back.stderr).toBe(0);
    expect((JSON.parse(back.stdout) as { steps: Array<{ status: string }> }).steps[0]!.status).toBe('restored');
    expect(readFileSync(file).equals(Buffer.alloc(3 << 20, 1))).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(outside, 'big.bin')).equals(Buffer.alloc(3 << 20, 2))).toBe(true); // not written through
    expect((await runJson(dir, ['--param', 'scale=2'])).result.steps[0]!.status).toBe('restored');
    expect(output(dir)).toBe('42\n');
    expect(readFileSync(join(outside, 'out.txt'), 'utf8')).toBe('63\n');
    expect(runs(counter)).toBe(2);
    expect(readdirSync(trash)).toEqual([]);
  });

  it('empties a trash a crashed run left behind at the next run, touching nothing else', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const dir = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter) });
    await runJson(dir, ['--param', 'scale=2']);
    const trash = join(dir, '.git', 'dws', 'store', 'trash');
    mkdirSync(join(trash, '123-abcdef012345'), { recursive: true });
    writeFileSync(join(trash, '123-abcdef012345', 'f'), 'x');
    writeFileSync(join(trash, '123-0123456789ab'), 'y');
    const skip = await runJson(dir, ['--param', 'scale=2']);
    expect(skip.result.steps[0]!.status).toBe('skipped');
    expect(readdirSync(trash)).toEqual([]);
    expect(output(dir)).toBe('42\n');
    expect(git(dir, ['status', '--porcelain'])).toBe('');
  });

  it('runs the step, saying why, when an entry objects are neither in the store nor on a store remote', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const dir = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter) });
    await runJson(dir, ['--param', 'scale=2']);
    await runJson(dir, ['--param', 'scale=3']);
    rmSync(join(dir, '.git', 'dws', 'store'), { recursive: true });
    const r = await runJson(dir, ['--param', 'scale=2']);
    expect(r.result.steps[0]!.status).toBe('succeeded');
    expect(r.stderr).toMatch(/\[scale\] the run cache has this run \(run [0-9a-f]{12} of .*\) but cannot restore it: .*object\(s\) needed for the run cache entry of step scale .* are not in the content store .* Running the step instead\./);
    expect(runs(counter)).toBe(3);
    expect(output(dir)).toBe('42\n');
  });

  it('travels with push and pull: a second clone restores the identical step from the store remote instead of running it', async () => {
    const counter = join(tempDir('dws-counter-'), 'runs');
    const top = tempDir('dws-share-');
    const origin = join(top, 'origin.git');
    git(top, ['init', '--quiet', '--bare', origin]);
    const conf = join(top, 'rclone.conf');
    writeFileSync(conf, '[loc]\ntype = local\n');
    const env = { ...TEST_ENV, RCLONE_CONFIG: conf };
    const a = await stepWorkspace({ 'scale.step.mjs': scaleStep(counter) });
    git(a, ['add', '-A']);
    git(a, ['commit', '--quiet', '-m', 'step file']);
    await dws(a, ['config', 'store.remote', `loc:${join(top, 'remote-store')}`], { env });
    git(a, ['remote', 'add', 'origin', origin]);
    expect((await dws(a, ['--batch', 'push'], { env })).code).toBe(0);

    const b = join(top, 'b');
    await dws(top, ['--batch', 'clone', origin, b], { env }).then((r) => expect(r.code, r.stderr).toBe(0));
    // A runs scale=2 and scale=3 and pushes; B pulls and asks for scale=2.
    await runJson(a, ['--param', 'scale=2'], env);
    await runJson(a, ['--param', 'scale=3'], env);
    const pushed = await dws(a, ['--batch', 'push'], { env });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(runs(counter)).toBe(2);
    const pulled = await dws(b, ['--batch', 'pull'], { env });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(entries(b)).toEqual(entries(a));
    const r = await runJson(b, ['--param', 'scale=2'], env);
    expect(r.result.steps[0]).toMatchObject({ status: 'restored' });
    expect(runs(counter)).toBe(2);
    expect(output(b)).toBe('42\n');
  }, 120_000); // two clones, push, pull: over a minute when the machine is busy
});
