/**
 * `dws run` (issue 6 items 1-4, 8): real processes, real git. Ordering is controlled by the
 * steps themselves (each waits for a file the other creates), never by sleeps.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, DWS, dws, dwsOk, fingerprint, gitLog, newWorkspace, TEST_ENV, tempDir } from '../helpers.js';

afterAll(cleanup);

/** A step module: reads its inputs, writes `text` into its output; `pre` runs first (e.g. a rendezvous). */
function stepFile(o: { name: string; inputs: Record<string, string>; outputs: Record<string, string>; body: string; params?: string }): string {
  return `import { defineStep, z } from 'dataworkspaces';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
${RENDEZVOUS}
export default defineStep({
  name: ${JSON.stringify(o.name)},
  ${o.params ? `params: ${o.params},` : ''}
  inputs: ${JSON.stringify(o.inputs)},
  outputs: ${JSON.stringify(o.outputs)},
  async run({ params, inputs, outputs, results, log, signal }) {
${o.body}
  },
});
`;
}

/** Steps wait for each other's marker files in $SYNC_DIR (bounded: a missing partner fails the step, not the test run). */
const RENDEZVOUS = `
async function meet(me, other) {
  writeFileSync(join(process.env.SYNC_DIR, me), '');
  for (let i = 0; i < 1000 && !existsSync(join(process.env.SYNC_DIR, other)); i++) await new Promise((r) => setTimeout(r, 10));
  if (!existsSync(join(process.env.SYNC_DIR, other))) throw new Error('partner ' + other + ' never started');
}`;

const WRITE = (out: string, text: string) => `    mkdirSync(outputs.${out}, { recursive: true });\n    writeFileSync(join(outputs.${out}, 'data.txt'), ${text});`;

async function pipelineWorkspace(): Promise<{ dir: string; sync: string; env: NodeJS.ProcessEnv }> {
  const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
  const sync = tempDir('dws-sync-');
  writeFileSync(join(dir, 'source-data', 'a.txt'), 'A');
  writeFileSync(join(dir, 'source-data', 'b.txt'), 'B');
  mkdirSync(join(dir, 'code', 'pipe'));
  writeFileSync(
    join(dir, 'code', 'pipe', 'a.step.mjs'),
    stepFile({ name: 'a', inputs: { src: 'source-data:/a.txt' }, outputs: { out: 'intermediate-data:/a' }, body: `    await meet('a', 'b');\n${WRITE('out', "readFileSync(inputs.src, 'utf8') + '!'")}` }),
  );
  writeFileSync(
    join(dir, 'code', 'pipe', 'b.step.ts'),
    stepFile({ name: 'b', inputs: { src: 'source-data:/b.txt' }, outputs: { out: 'intermediate-data:/b' }, body: `    if (!process.env.NO_MEET) await meet('b', 'a');\n${WRITE('out', "readFileSync(inputs.src, 'utf8') + '?'")}` }),
  );
  writeFileSync(
    join(dir, 'code', 'pipe', 'c.step.ts'),
    stepFile({
      name: 'c',
      params: 'z.object({ scale: z.number().default(1) })',
      inputs: { a: 'intermediate-data:/a', b: 'intermediate-data:/b' },
      outputs: { res: 'results' },
      body: `    const text = readFileSync(join(inputs.a, 'data.txt'), 'utf8') + readFileSync(join(inputs.b, 'data.txt'), 'utf8');\n    await results.write({ length: text.length * params.scale });`,
    }),
  );
  return { dir, sync, env: { ...TEST_ENV, SYNC_DIR: sync } };
}

function lineageOf(dir: string, resource: string): Array<{ step_name: string; start_time: string; execution_time_seconds: number; parameters: Record<string, unknown>; command_line: string[] }> {
  const file = join(dir, '.dataworkspace', 'current_lineage', `${resource}.json`);
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as { lineages: Array<{ type: string }> }).lineages.filter((l) => l.type === 'step') as never;
}

function snapshotLineage(dir: string): Array<{ step_name: string; start_time: string; execution_time_seconds: number }> {
  const snaps = join(dir, '.dataworkspace', 'snapshot_lineage');
  const hash = readdirSync(snaps)[0]!;
  return readdirSync(join(snaps, hash)).flatMap((f) => (JSON.parse(readFileSync(join(snaps, hash, f), 'utf8')) as { lineages: Array<{ type: string }> }).lineages.filter((l) => l.type === 'step')) as never;
}

const ms = (t: string) => Date.parse(`${t.slice(0, 23)}Z`) + Number(`0.${t.slice(23) || '0'}`);

describe('dws run: a three-step pipeline', () => {
  it('runs independent steps in parallel, the third after both, one snapshot; a second run skips all; a changed input reruns exactly its downstream', async () => {
    const { dir, env } = await pipelineWorkspace();
    const r = await dws(dir, ['run', 'code/pipe', '--jobs', '2', '--param', 'scale=3', '--tag', 'first'], { env });
    expect(r.stderr).toContain('[a] running');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Took snapshot [0-9a-f]{40} tagged 'first': dws run: a, b, c \(scale=3\)/);
    expect(gitLog(dir)[0]).toMatch(/^Completed snapshot/);

    // Overlap and ordering from the recorded start and execution times.
    const steps = new Map(snapshotLineage(dir).map((l) => [l.step_name, { start: ms(l.start_time), end: ms(l.start_time) + l.execution_time_seconds * 1000 }]));
    const [a, b, c] = ['a', 'b', 'c'].map((n) => steps.get(n)!);
    expect(a!.start < b!.end && b!.start < a!.end).toBe(true);
    expect(c!.start).toBeGreaterThanOrEqual(Math.max(a!.end, b!.end) - 1);
    const results = JSON.parse(readFileSync(join(dir, 'results', 'snapshots', 'test-first', 'results.json'), 'utf8'));
    expect(results.metrics).toEqual({ length: 12 });
    expect(results.parameters).toEqual({ scale: 3 });

    // Everything current: every step skipped, exit 0, nothing changes (no snapshot).
    const before = fingerprint(dir);
    const again = await dws(dir, ['run', 'code/pipe', '--param', 'scale=3'], { env });
    expect(again.code, again.stderr).toBe(0);
    for (const s of ['a', 'b', 'c']) expect(again.stderr).toContain(`[${s}] skipped: unchanged since its last successful run`);
    expect(again.stdout).toContain('no snapshot taken');
    expect(fingerprint(dir)).toBe(before);

    // Dry run after changing b's input: the plan names b and c, nothing changes.
    writeFileSync(join(dir, 'source-data', 'b.txt'), 'BB');
    const changed = fingerprint(dir);
    const plan = await dws(dir, ['run', 'code/pipe', '--param', 'scale=3', '--dry-run'], { env });
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('skip  a: unchanged since its last successful run');
    expect(plan.stdout).toContain('run   b: input source-data:/b.txt changed');
    expect(plan.stdout).toContain('run   c: upstream step b would run');
    expect(fingerprint(dir)).toBe(changed);

    const third = await dws(dir, ['run', 'code/pipe', '--param', 'scale=3'], { env: { ...env, NO_MEET: '1' } });
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).toContain('[a] skipped');
    expect(third.stderr).toContain('[b] done');
    expect(third.stderr).toContain('[c] done');
    expect(third.stdout).toMatch(/Run succeeded: 2 ran, 1 skipped/);

    // --force reruns a current step.
    const forced = await dws(dir, ['run', 'code/pipe/b.step.ts', '--force', '--no-snapshot'], { env: { ...env, NO_MEET: '1' } });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('[b] done');

    // --json: the steps phase's wall time covers every step's run (none for a dry run).
    const timed = await dws(dir, ['--json', 'run', 'code/pipe', '--param', 'scale=3', '--force', '--no-snapshot'], { env: { ...env, NO_MEET: '1' } });
    expect(timed.code, timed.stderr).toBe(0);
    const result = JSON.parse(timed.stdout) as { stepsMs: number; steps: Array<{ durationMs: number }> };
    expect(result.stepsMs).toBeGreaterThanOrEqual(Math.max(...result.steps.map((x) => x.durationMs)) - 1); // durations are whole ms
    const dry = await dws(dir, ['--json', 'run', 'code/pipe', '--param', 'scale=3', '--dry-run'], { env });
    expect(JSON.parse(dry.stdout).stepsMs).toBeNull();
  });

  it('a failing step stops its downstream, lets unrelated steps finish, records no lineage for it and takes no snapshot', async () => {
    const { dir, env } = await pipelineWorkspace();
    writeFileSync(
      join(dir, 'code', 'pipe', 'a.step.mjs'),
      stepFile({ name: 'a', inputs: { src: 'source-data:/a.txt' }, outputs: { out: 'intermediate-data:/a' }, body: `${WRITE('out', "'partial'")}\n    throw new Error('disk on fire');` }),
    );
    const head = gitLog(dir)[0];
    const r = await dws(dir, ['run', 'code/pipe'], { env: { ...env, NO_MEET: '1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[a] FAILED: disk on fire');
    expect(r.stderr).toContain('[b] done');
    expect(r.stderr).toContain('[c] skipped: upstream step a failed');
    expect(r.stdout).toContain('it left in its outputs: intermediate-data/a/data.txt');
    expect(r.stdout).toContain('No snapshot taken.');
    expect(gitLog(dir)[0]).toBe(head);
    expect(lineageOf(dir, 'intermediate-data').map((l) => l.step_name)).toEqual(['b']);
  });
});

describe('dws run: params and any-language steps', () => {
  it('reads --param as JSON when it parses, validates with the schema, and refuses bad params before running anything', async () => {
    const { dir, env } = await pipelineWorkspace();
    const before = fingerprint(dir);
    const r = await dws(dir, ['run', 'code/pipe/c.step.ts', '--param', 'scale=big', '--param', 'colour=red'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('step c: param scale: Invalid input: expected number, received string');
    expect(r.stderr).toContain('param colour: no step of this run takes it');
    expect(fingerprint(dir)).toBe(before);
  });

  it('runs a command as a step and records the same lineage, with its command line', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,results']);
    writeFileSync(join(dir, 'source-data', 'x.csv'), '1,2,3\n');
    writeFileSync(
      join(dir, 'code', 'train.mjs'),
      "import { readFileSync, writeFileSync } from 'node:fs';\nconst alpha = process.argv[2];\nwriteFileSync('results/results.json', JSON.stringify({ alpha, n: readFileSync('source-data/x.csv', 'utf8').length }));\nconsole.log('trained');\n",
    );
    const r = await dws(dir, ['run', '--name', 'train', '--in', 'source-data', '--out', 'results', '--', process.execPath, 'code/train.mjs', '0.5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('[train] trained');
    expect(r.stdout).toMatch(/Took snapshot [0-9a-f]{40}: dws run: train/);
    const lin = snapshotLineage(dir) as unknown as Array<{ step_name: string; command_line: string[]; input_resources: Array<{ resource_name: string }>; code_resources: Array<{ resource_name: string }> }>;
    expect(lin[0]!.step_name).toBe('train');
    expect(lin[0]!.command_line).toEqual([process.execPath, 'code/train.mjs', '0.5']);
    expect(lin[0]!.input_resources.map((x) => x.resource_name)).toEqual(['source-data']);
    expect(lin[0]!.code_resources.map((x) => x.resource_name)).toEqual(['code']);
    // Same command, same inputs: skipped.
    const again = await dws(dir, ['run', '--name', 'train', '--in', 'source-data', '--out', 'results', '--', process.execPath, 'code/train.mjs', '0.5']);
    expect(again.stderr).toContain('[train] skipped');
  });
});

describe('dws run: bad input changes nothing', () => {
  const cases: Array<{ what: string; file: string; text: string; args?: string[]; code: number; message: RegExp }> = [
    { what: 'a file that exports no step', file: 'code/none.step.ts', text: 'export const x = 1;\n', code: 1, message: /Step file code\/none\.step\.ts exports no step: write `export default defineStep/ },
    { what: 'a syntax error', file: 'code/bad.step.ts', text: "import { defineStep } from 'dataworkspaces';\nexport default defineStep({ name: 'x', run() { return ( } });\n", code: 1, message: /Cannot load step file code\/bad\.step\.ts:\ncode\/bad\.step\.ts:2:\d+: / },
    {
      what: 'an undeclared resource',
      file: 'code/u.step.ts',
      text: stepFile({ name: 'u', inputs: { x: 'nowhere:/x' }, outputs: {}, body: '' }),
      code: 1,
      message: /No resource named 'nowhere' \(input 'x' of step u nowhere:\/x\)\. Known resources: source-data, code, intermediate-data, results/,
    },
    { what: 'a missing input', file: 'code/m.step.ts', text: stepFile({ name: 'm', inputs: { x: 'source-data:/missing.csv' }, outputs: {}, body: '' }), code: 1, message: /Input 'x' of step m \(source-data:\/missing\.csv\) does not exist/ },
    {
      what: 'an output overlapping an input',
      file: 'code/o.step.ts',
      text: stepFile({ name: 'o', inputs: { x: 'intermediate-data' }, outputs: { y: 'intermediate-data:/sub' }, body: '' }),
      code: 1,
      message: /Step o reads intermediate-data and writes intermediate-data:\/sub, which overlap/,
    },
    {
      what: '--tag or -m with --no-snapshot (they would be dropped silently)',
      file: 'code/t.step.ts',
      text: stepFile({ name: 't', inputs: {}, outputs: { y: 'intermediate-data:/t.txt' }, body: "    writeFileSync(outputs.y, 't');" }),
      args: ['--no-snapshot', '--tag', 'v1', '-m', 'first'],
      code: 2,
      message: /--no-snapshot takes no snapshot: drop -m\/--tag/,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.what}`, async () => {
      const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
      writeFileSync(join(dir, c.file), c.text);
      const before = fingerprint(dir);
      const r = await dws(dir, ['run', c.file, ...(c.args ?? [])]);
      expect(r.code, r.stderr).toBe(c.code);
      expect(r.stderr).toMatch(c.message);
      expect(fingerprint(dir)).toBe(before);
    });
  }

  it('refuses a --tag the snapshot would refuse before any step runs: a bad one, or in --batch a used one', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    const used = /hash is ([0-9a-f]{40})/.exec(await dwsOk(dir, ['--batch', 'snapshot', 'used']))![1]!;
    writeFileSync(join(dir, 'code', 't.step.ts'), stepFile({ name: 't', inputs: {}, outputs: { y: 'intermediate-data:/t.txt' }, body: "    writeFileSync(outputs.y, 't');" }));
    const before = fingerprint(dir);
    let r = await dws(dir, ['--batch', 'run', 'code/t.step.ts', '--tag', 'bad_tag']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("Error: Tag 'bad_tag' is not valid: a tag must be");
    r = await dws(dir, ['--batch', 'run', 'code/t.step.ts', '--tag', 'used']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^Configuration error: Tag 'used' already exists for snapshot ${used} taken \\S+\\n$`));
    expect(fingerprint(dir)).toBe(before); // the step did not run
    // Too long for the results directory name (test-<tag>, at most 255 bytes): the snapshot used to
    // fail with ENAMETOOLONG after the step ran.
    const long = Array.from({ length: 251 }, (_, i) => (i % 50 === 25 ? '.' : 'x')).join('');
    r = await dws(dir, ['run', 'code/t.step.ts', '--tag', long]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `Error: Tag '${long.slice(0, 80)}...' is 251 bytes long; the limit here is 250 bytes: the tag goes into the results directory name 'test-{TAG}' (results.dir_template 'snapshots/{HOSTNAME}-{TAG}'), and a file name may have at most 255 bytes\n`,
    );
    expect(fingerprint(dir)).toBe(before);
  });

  it('refuses a run before any step runs when the hostname leaves no room for the results directory name', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    writeFileSync(join(dir, 'code', 't.step.ts'), stepFile({ name: 't', inputs: {}, outputs: { y: 'intermediate-data:/t.txt' }, body: "    writeFileSync(outputs.y, 't');" }));
    // Hand-edited (dws config refuses it): the snapshot at the end used to fail with ENAMETOOLONG after the step ran.
    const long = Array.from({ length: 5 }, () => 'h'.repeat(63)).join('.');
    writeFileSync(join(dir, '.dataworkspace', 'local_params.json'), JSON.stringify({ hostname: long }, null, 2));
    const before = fingerprint(dir);
    const r = await dws(dir, ['--batch', 'run', 'code/t.step.ts']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`Configuration error: Results directory name '${long.slice(0, 80)}...' (results.dir_template 'snapshots/{HOSTNAME}-{TAG}' with hostname '${long.slice(0, 80)}...') has 320 bytes without {TAG}`);
    expect(fingerprint(dir)).toBe(before); // the step did not run
    // --no-snapshot takes none: the run goes ahead.
    await dwsOk(dir, ['--batch', 'run', 'code/t.step.ts', '--no-snapshot']);
    expect(readFileSync(join(dir, 'intermediate-data', 't.txt'), 'utf8')).toBe('t');
    // Nor does a run whose steps are all current: nothing to refuse.
    expect(await dwsOk(dir, ['--batch', 'run', 'code/t.step.ts'])).toContain('Every step was current: nothing changed, no snapshot taken.\n');
  });

  it('asks whether to move a used --tag before any step runs, and uses the answer at the end without asking again', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    const used = /hash is ([0-9a-f]{40})/.exec(await dwsOk(dir, ['--batch', 'snapshot', 'used']))![1]!;
    writeFileSync(join(dir, 'code', 't.step.ts'), stepFile({ name: 't', inputs: {}, outputs: { y: 'intermediate-data:/t.txt' }, body: "    writeFileSync(outputs.y, 't');" }));
    const before = fingerprint(dir);
    const question = new RegExp(`Tag 'used' already exists for snapshot ${used} taken \\S+\\. Remove this tag so we can add it to the new snapshot\\? \\[y/N\\]: `, 'g');
    // No: nothing runs (the question used to come after every step had run).
    const no = await dws(dir, ['run', 'code/t.step.ts', '--tag', 'used'], { input: 'n\n' });
    expect(no.code, no.stderr).toBe(1);
    expect(`${no.stdout}${no.stderr}`.match(question)).toHaveLength(1);
    expect(no.stderr).toContain('Not a positive response, exiting without doing anything');
    expect(existsSync(join(dir, 'intermediate-data', 't.txt'))).toBe(false);
    expect(fingerprint(dir)).toBe(before);
    // Yes: asked once, up front; the step runs and its snapshot takes the tag from the old one.
    const yes = await dws(dir, ['--json', 'run', 'code/t.step.ts', '--tag', 'used'], { input: 'y\n' });
    expect(yes.code, yes.stderr).toBe(0);
    expect(`${yes.stdout}${yes.stderr}`.match(question)).toHaveLength(1);
    const snap = (JSON.parse(yes.stdout) as { snapshot: { hash: string; tag: string } }).snapshot;
    expect(snap.tag).toBe('used');
    const md = (h: string) => JSON.parse(readFileSync(join(dir, '.dataworkspace', 'snapshot_metadata', `${h}_md.json`), 'utf8')) as { tags: string[] };
    expect(md(snap.hash).tags).toEqual(['used']);
    expect(md(used).tags).toEqual([]);
    expect(readFileSync(join(dir, 'intermediate-data', 't.txt'), 'utf8')).toBe('t');
  });

  it('refuses --tag for a tag whose snapshot holds the results directory it names before any step runs, asking nothing', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    writeFileSync(join(dir, 'results', 'r.txt'), 'old');
    await dwsOk(dir, ['--batch', 'snapshot', 'used']); // its results went to results/snapshots/test-used
    writeFileSync(join(dir, 'code', 't.step.ts'), stepFile({ name: 't', inputs: {}, outputs: { y: 'results:/r.txt' }, body: "    writeFileSync(outputs.y, 'new');" }));
    const before = fingerprint(dir);
    // The step used to run, the question come, and the snapshot then fail on the existing directory.
    const r = await dws(dir, ['run', 'code/t.step.ts', '--tag', 'used'], { input: 'y\n' });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).not.toContain('Remove this tag');
    expect(r.stderr).toContain(`Configuration error: Tag 'used' cannot move to a new snapshot: the results directory it names, ${join(dir, 'results', 'snapshots', 'test-used')}`);
    expect(existsSync(join(dir, 'results', 'r.txt'))).toBe(false);
    expect(fingerprint(dir)).toBe(before);
  });

  it('asks nothing about a used --tag when every step is current: no snapshot follows', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    const used = /hash is ([0-9a-f]{40})/.exec(await dwsOk(dir, ['--batch', 'snapshot', 'used']))![1]!;
    writeFileSync(join(dir, 'code', 't.step.ts'), stepFile({ name: 't', inputs: {}, outputs: { y: 'intermediate-data:/t.txt' }, body: "    writeFileSync(outputs.y, 't');" }));
    await dwsOk(dir, ['--batch', 'run', 'code/t.step.ts']);
    const before = fingerprint(dir);
    // It used to ask, and a no failed the run (exit 1) that had nothing to do; a yes moved nothing.
    const r = await dws(dir, ['run', 'code/t.step.ts', '--tag', 'used'], { input: 'n\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toContain('Remove this tag');
    expect(r.stdout).toContain('Every step was current: nothing changed, no snapshot taken.\n');
    const md = JSON.parse(readFileSync(join(dir, '.dataworkspace', 'snapshot_metadata', `${used}_md.json`), 'utf8')) as { tags: string[] };
    expect(md.tags).toEqual(['used']);
    expect(fingerprint(dir)).toBe(before);
    // --force reruns the step, so a snapshot follows: it asks.
    const forced = await dws(dir, ['run', 'code/t.step.ts', '--tag', 'used', '--force'], { input: 'n\n' });
    expect(forced.code, forced.stderr).toBe(1);
    expect(`${forced.stdout}${forced.stderr}`).toContain(`Tag 'used' already exists for snapshot ${used} taken`);
    expect(fingerprint(dir)).toBe(before);
  });

  it('refuses cycles and two writers of nested outputs before running anything', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    writeFileSync(
      join(dir, 'code', 'cycle.step.ts'),
      `import { defineStep } from 'dataworkspaces';
export const p = defineStep({ name: 'p', inputs: { x: 'intermediate-data:/q' }, outputs: { y: 'intermediate-data:/p' }, run() {} });
export const q = defineStep({ name: 'q', inputs: { x: 'intermediate-data:/p' }, outputs: { y: 'intermediate-data:/q' }, run() {} });
`,
    );
    writeFileSync(
      join(dir, 'code', 'writers.step.ts'),
      `import { defineStep } from 'dataworkspaces';
export const w1 = defineStep({ name: 'w1', outputs: { y: 'intermediate-data:/out' }, run() {} });
export const w2 = defineStep({ name: 'w2', outputs: { y: 'intermediate-data:/out/inner' }, run() {} });
`,
    );
    const before = fingerprint(dir);
    const cyc = await dws(dir, ['run', 'code/cycle.step.ts']);
    expect(cyc.code).toBe(1);
    expect(cyc.stderr).toMatch(/The steps form a cycle: (p -> q -> p|q -> p -> q)/);
    const wr = await dws(dir, ['run', 'code/writers.step.ts']);
    expect(wr.code).toBe(1);
    expect(wr.stderr).toContain('Steps w1 and w2 both write intermediate-data:/out / intermediate-data:/out/inner: each output must have one writer');
    expect(fingerprint(dir)).toBe(before);
  });

  it('fails a step that throws or never writes its output: non-zero exit, no lineage, no snapshot', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    writeFileSync(join(dir, 'code', 'lazy.step.ts'), stepFile({ name: 'lazy', inputs: {}, outputs: { out: 'intermediate-data:/never' }, body: '    log("did nothing");' }));
    writeFileSync(join(dir, 'code', 'throws.step.ts'), stepFile({ name: 'throws', inputs: {}, outputs: { out: 'intermediate-data:/t' }, body: "    throw new TypeError('bad value 42');" }));
    const head = gitLog(dir)[0];
    const r = await dws(dir, ['run', 'code/lazy.step.ts', 'code/throws.step.ts']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[lazy] FAILED: it did not write its declared output intermediate-data:/never');
    expect(r.stderr).toContain('[throws] FAILED: TypeError: bad value 42');
    expect(r.stdout).toContain('it left nothing in its outputs');
    expect(lineageOf(dir, 'intermediate-data')).toEqual([]);
    expect(gitLog(dir)[0]).toBe(head);
  });

  it('stops cleanly on SIGINT: exit 130, no lineage for the unfinished step, no snapshot', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    const sync = tempDir('dws-sync-');
    writeFileSync(
      join(dir, 'code', 'hang.step.ts'),
      stepFile({ name: 'hang', inputs: {}, outputs: { out: 'intermediate-data:/h' }, body: "    writeFileSync(join(process.env.SYNC_DIR, 'started'), '');\n    await new Promise(() => setInterval(() => {}, 1000));" }),
    );
    const head = gitLog(dir)[0];
    const { child, out, exited } = await runningDws(dir, ['run', 'code/hang.step.ts'], sync);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(out.stderr).toContain('[hang] FAILED: interrupted');
    expect(lineageOf(dir, 'intermediate-data')).toEqual([]);
    expect(gitLog(dir)[0]).toBe(head);
  });

  it('on SIGINT, what a step that ignores its signal writes into its own output until it is terminated is not reported as written outside the declared outputs', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    const sync = tempDir('dws-sync-');
    // Busy, never yielding: it goes on writing its own output after Ctrl-C until its thread is terminated (1 s).
    const body = `    writeFileSync(outputs.out, 'start\\n');
    writeFileSync(join(process.env.SYNC_DIR, 'started'), '');
    for (const end = Date.now() + 5000; Date.now() < end; ) {
      appendFileSync(outputs.out, 'tick\\n');
      for (const t = Date.now(); Date.now() - t < 50; );
    }`;
    writeFileSync(join(dir, 'code', 'busy.step.ts'), stepFile({ name: 'busy', inputs: {}, outputs: { out: 'intermediate-data:/log.txt' }, body }).replace('import { existsSync,', 'import { appendFileSync, existsSync,'));
    const { child, out, exited } = await runningDws(dir, ['run', 'code/busy.step.ts'], sync);
    await new Promise((res) => setTimeout(res, 200));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(out.stderr).toContain('[busy] FAILED: interrupted');
    expect(out.stdout).toContain('it left in its outputs: intermediate-data/log.txt');
    expect(out.stdout + out.stderr).not.toContain('outside the declared outputs');
  });
});

describe('dws run: Ctrl-C after the steps', () => {
  it('a SIGINT once the outputs are kept in the run cache, as the snapshot is taken, is an interrupted run (exit 130, no snapshot), not an internal error', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    // A big output: keeping it in the content store takes a while after the step is done.
    const body = `    mkdirSync(outputs.out, { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(outputs.out, 'part' + i), randomBytes(32 * 1024 * 1024));`;
    writeFileSync(join(dir, 'code', 'big.step.ts'), `import { randomBytes } from 'node:crypto';\n${stepFile({ name: 'big', inputs: {}, outputs: { out: 'intermediate-data:/big' }, body })}`);
    const head = gitLog(dir)[0];
    const child = spawn(process.execPath, [DWS, 'run', 'code/big.step.ts'], { cwd: dir, env: TEST_ENV });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
    // Once its run-cache entry is written (the outputs are in the store), the snapshot comes next: Ctrl-C then (once: a second quits at once).
    const entries = join(dir, '.dataworkspace', 'run_cache');
    const poll = setInterval(() => {
      if (existsSync(entries) && readdirSync(entries).length > 0) {
        clearInterval(poll);
        child.kill('SIGINT');
      }
    }, 5);
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    clearInterval(poll);
    expect(out.stderr).not.toContain('internal error');
    expect(code, out.stdout + out.stderr).toBe(130);
    expect(out.stdout).toContain('Run interrupted: 1 ran, 0 skipped.');
    const last = gitLog(dir)[0];
    const again = await dws(dir, ['run', 'code/big.step.ts']);
    expect(again.code, again.stderr).toBe(0);
    // Two outcomes, each consistent. The snapshot's checks run in one stretch of the event loop
    // (~100 ms here), so a signal sent as it starts may be handled only once it is past its last
    // check for one: it then completes and says so (seen in ~1 run in 3 on a fast machine).
    const took = /Took snapshot ([0-9a-f]{40}): dws run: big/.exec(out.stdout);
    if (took === null) {
      expect(out.stdout).toContain('No snapshot taken.');
      expect(last).toBe(head);
      // Its outputs are in no snapshot: the next run does not call the step current ("nothing changed"), it takes the snapshot.
      expect(again.stdout).not.toContain('Every step was current');
      expect(again.stdout).toMatch(/Took snapshot [0-9a-f]{40}: dws run: big/);
    } else {
      expect(last).toBe(`Completed snapshot ${took[1]}`);
      expect(again.stdout).toContain('Every step was current');
    }
  });
});

/** A `dws` process running `args` in `dir`, once its step has written SYNC_DIR/started (it runs then). */
async function runningDws(dir: string, args: string[], sync: string) {
  const child = spawn(process.execPath, [DWS, ...args], { cwd: dir, env: { ...TEST_ENV, SYNC_DIR: sync } });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  await new Promise<void>((res) => {
    const poll = setInterval(() => {
      if (existsSync(join(sync, 'started'))) {
        clearInterval(poll);
        res();
      }
    }, 10);
  });
  return { child, out, exited };
}

describe('dws run: SIGTERM', () => {
  it('on Ctrl-C a command step that ignores SIGTERM is killed after a grace period: nothing writes into the workspace after dws has gone', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    const sync = tempDir('dws-sync-');
    const out = join(dir, 'intermediate-data', 'ticks.txt');
    const script = `trap '' TERM; touch "$SYNC_DIR/started"; for i in $(seq 50); do echo tick >> ${JSON.stringify(out)}; sleep 0.2; done`;
    const run = await runningDws(dir, ['run', '--name', 'stubborn', '--out', 'intermediate-data:/ticks.txt', '--', 'sh', '-c', script], sync);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    const atExit = readFileSync(out, 'utf8');
    await new Promise((res) => setTimeout(res, 1500));
    expect(readFileSync(out, 'utf8')).toBe(atExit);
  });

  it('stops on SIGTERM as on Ctrl-C: its command step and what it started are terminated (nothing writes into the workspace after dws has gone), exit 143, no lineage, no snapshot', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    const sync = tempDir('dws-sync-');
    const head = gitLog(dir)[0];
    const late = join(dir, 'intermediate-data', 'late.txt');
    // The late write is made by a process the command started: the whole command is stopped, not only its shell.
    const script = `touch "$SYNC_DIR/started"; (sleep 2; echo late > ${JSON.stringify(late)}) & wait`;
    const { child, out, exited } = await runningDws(dir, ['run', '--name', 'slow', '--out', 'intermediate-data:/late.txt', '--', 'sh', '-c', script], sync);
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(out.stdout).toContain('Run interrupted');
    await new Promise((res) => setTimeout(res, 2500)); // the command's sleep is over by now
    expect(existsSync(late)).toBe(false);
    expect(lineageOf(dir, 'intermediate-data')).toEqual([]);
    expect(gitLog(dir)[0]).toBe(head);
  });
});

describe('dws run: worker threads', () => {
  it('runs two CPU-bound steps at the same time in different threads with --jobs 2, and removes the modules it wrote for them', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    const sync = tempDir('dws-sync-');
    const tmp = tempDir('dws-tmp-');
    // Each step writes its marker, then spins WITHOUT yielding until the other's exists: only two
    // threads running at once can both get past it (in one thread, the first would spin to its deadline).
    const spin = (me: string, other: string) =>
      `    writeFileSync(join(process.env.SYNC_DIR, '${me}'), '');
    const deadline = Date.now() + 20000;
    while (!existsSync(join(process.env.SYNC_DIR, '${other}'))) {
      if (Date.now() > deadline) throw new Error('step ${me}: step ${other} never ran at the same time (steps are not running in parallel threads)');
    }
${WRITE('out', `'${me}'`)}`;
    mkdirSync(join(dir, 'code', 'cpu'));
    writeFileSync(join(dir, 'code', 'cpu', 'x.step.ts'), stepFile({ name: 'x', inputs: {}, outputs: { out: 'intermediate-data:/x' }, body: spin('x', 'y') }));
    writeFileSync(join(dir, 'code', 'cpu', 'y.step.ts'), stepFile({ name: 'y', inputs: {}, outputs: { out: 'intermediate-data:/y' }, body: spin('y', 'x') }));
    const r = await dws(dir, ['run', 'code/cpu', '--jobs', '2', '--no-snapshot'], { env: { ...TEST_ENV, SYNC_DIR: sync, TMPDIR: tmp } });
    expect(r.stderr).not.toContain('FAILED');
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'intermediate-data', 'x', 'data.txt'), 'utf8')).toBe('x');
    expect(readFileSync(join(dir, 'intermediate-data', 'y', 'data.txt'), 'utf8')).toBe('y');
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('dws run: loading', () => {
  it('loads a file exporting several steps, resolves dataworkspaces to the running dws, and covers local imports in the code', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    writeFileSync(join(dir, 'source-data', 'n.txt'), '5');
    writeFileSync(join(dir, 'code', 'helper.ts'), 'export const double = (n: number): number => n * 2;\n');
    writeFileSync(
      join(dir, 'code', 'two.step.ts'),
      `import { defineStep } from 'dataworkspaces';
import { readFileSync, writeFileSync } from 'node:fs';
import { double } from './helper.js';
export default defineStep({ name: 'first', inputs: { n: 'source-data:/n.txt' }, outputs: { o: 'intermediate-data:/one.txt' },
  run({ inputs, outputs }) { writeFileSync(outputs.o, String(double(Number(readFileSync(inputs.n, 'utf8'))))); } });
export const second = defineStep({ name: 'second', inputs: { o: 'intermediate-data:/one.txt' }, outputs: { t: 'intermediate-data:/two.txt' },
  run({ inputs, outputs }) { writeFileSync(outputs.t, String(double(Number(readFileSync(inputs.o, 'utf8'))))); } });
`,
    );
    await dwsOk(dir, ['run', 'code/two.step.ts', '--no-snapshot']);
    expect(readFileSync(join(dir, 'intermediate-data', 'two.txt'), 'utf8')).toBe('20');
    // A change in the local import is a code change of both steps.
    writeFileSync(join(dir, 'code', 'helper.ts'), 'export const double = (n: number): number => n * 2 + 0;\n');
    const plan = await dws(dir, ['run', 'code/two.step.ts', '--dry-run']);
    expect(plan.stdout).toContain('run   first: code changed');
    expect(plan.stdout).toContain('run   second: upstream step first would run');
  });
});

describe('dws demo', () => {
  it('builds a two-step pipeline, runs it twice (the second run skips prepare), snapshots and graphs it', async () => {
    const parent = tempDir();
    const out = await dwsOk(parent, ['demo', 'd']);
    const dir = join(parent, 'd');
    expect(out).toContain('[prepare] skipped: unchanged since its last successful run');
    expect(out).toMatch(/snapshot [0-9a-f]{40}: dws run: train \(threshold=5\.5\)/);
    expect(JSON.parse(readFileSync(join(dir, 'results', 'snapshots', 'demo-v2', 'results.json'), 'utf8')).metrics).toEqual({ accuracy: 1, rows: 6 });
    expect(readFileSync(join(dir, 'lineage.mmd'), 'utf8')).toContain('flowchart LR');
  });
});

describe('dws run --pipeline', () => {
  it("runs every step file of the code resources at any depth, skipping node_modules; says where it looked when there are none", async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data']);
    const empty = await dws(dir, ['run', '--pipeline']);
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toContain('No step files (*.step.ts, *.step.js) in the code resource code: name step files like prepare.step.ts');
    mkdirSync(join(dir, 'code', 'deep', 'er'), { recursive: true });
    mkdirSync(join(dir, 'code', 'node_modules', 'pkg'), { recursive: true });
    const write = (name: string) => `    mkdirSync(outputs.out, { recursive: true }); writeFileSync(join(outputs.out, 'x'), '${name}');`;
    writeFileSync(join(dir, 'code', 'a.step.ts'), stepFile({ name: 'a', inputs: {}, outputs: { out: 'intermediate-data:/a' }, body: write('a') }));
    writeFileSync(join(dir, 'code', 'deep', 'er', 'b.step.ts'), stepFile({ name: 'b', inputs: { a: 'intermediate-data:/a' }, outputs: { out: 'intermediate-data:/b' }, body: write('b') }));
    writeFileSync(join(dir, 'code', 'node_modules', 'pkg', 'c.step.ts'), 'this is not even TypeScript');
    const out = await dwsOk(dir, ['--json', 'run', '--pipeline', '--no-snapshot']);
    expect((JSON.parse(out) as { ok: boolean; steps: Array<{ step: string; status: string }> }).steps.map((s) => `${s.step} ${s.status}`)).toEqual(['a succeeded', 'b succeeded']);
    const both = await dws(dir, ['run', '--pipeline', 'code/a.step.ts']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('Give one of step files, --pipeline, or a command after --');
  });
});
