/**
 * `dws run --executor slurm` on a real one-node Slurm cluster (test/slurm-cluster.ts starts and
 * stops it): each step an sbatch job, with the same lineage, outputs and snapshot as a local run.
 */
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync, mkdirSync, symlinkSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import { registerCommands } from '../../clients/vscode/src/commands.js';
import { fake } from '../fake-vscode.js';
import { cleanup, DWS, dws, fingerprint, gitLog, newWorkspace, readJson, requireOnPath, tempDir, TEST_ENV } from '../helpers.js';
import { LiveDws } from '../runner-fixture.js';
import { startSlurm, type SlurmCluster } from '../slurm-cluster.js';

vi.mock('vscode', async () => (await import('../fake-vscode.js')).fake.module());

let cluster: SlurmCluster;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  cluster = await startSlurm();
  env = { ...TEST_ENV, SLURM_CONF: cluster.conf };
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
  cleanup();
});

/** A step file; `body` is its run function's body (inputs, outputs, results, log in scope); it imports defineStep `from` dataworkspaces (or a subpath). */
function step(o: { name: string; inputs?: Record<string, string>; outputs: Record<string, string>; body: string; extra?: string; from?: string }): string {
  return `import { defineStep } from '${o.from ?? 'dataworkspaces'}';
import { readFileSync, writeFileSync } from 'node:fs';
export default defineStep({
  name: ${JSON.stringify(o.name)},
  inputs: ${JSON.stringify(o.inputs ?? {})},
  outputs: ${JSON.stringify(o.outputs)},${o.extra ?? ''}
  async run({ inputs, outputs, results, log }) {
${o.body}
  },
});
`;
}

const num = (f: string) => `Number(readFileSync(${f}, 'utf8'))`;

/**
 * Four steps, one pipeline file: left and right (independent step files of 1.5 s, each reading
 * its own input, importing the step API alone: dataworkspaces/step), join (a step file reading
 * both, writes results), and total, an any-language command step (sh + awk) declared in dws.yaml
 * with the resources its job asks of Slurm.
 */
async function pipelineWorkspace(): Promise<string> {
  const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
  writeFileSync(join(dir, 'source-data', 'a.txt'), '21');
  writeFileSync(join(dir, 'source-data', 'b.txt'), '5');
  const code = join(dir, 'code');
  // Long enough that the two overlap however far apart their jobs start on a busy machine.
  const wait = '    await new Promise((r) => setTimeout(r, 1500));\n';
  writeFileSync(join(code, 'left.step.ts'), step({ name: 'left', from: 'dataworkspaces/step', inputs: { a: 'source-data:/a.txt' }, outputs: { out: 'intermediate-data:/left.txt' }, body: `    log('doubling');\n${wait}    writeFileSync(outputs.out, String(${num('inputs.a')} * 2) + '\\n');` }));
  writeFileSync(join(code, 'right.step.ts'), step({ name: 'right', from: 'dataworkspaces/step', inputs: { b: 'source-data:/b.txt' }, outputs: { out: 'intermediate-data:/right.txt' }, body: `    console.log('tripling');\n${wait}    writeFileSync(outputs.out, String(${num('inputs.b')} * 3) + '\\n');` }));
  writeFileSync(
    join(code, 'join.step.ts'),
    step({ name: 'join', inputs: { l: 'intermediate-data:/left.txt', r: 'intermediate-data:/right.txt' }, outputs: { results: 'results' }, body: `    await results.write({ sum: ${num('inputs.l')} + ${num('inputs.r')} });` }),
  );
  writeFileSync(join(code, 'total.sh'), 'awk \'{ s += $1 } END { print "total", s }\' "$1" "$2" > "$3"\necho "summed $1 and $2"\n');
  writeFileSync(
    join(dir, 'dws.yaml'),
    `stepFiles: [code]
steps:
  - name: total
    command: sh code/total.sh intermediate-data/left.txt intermediate-data/right.txt intermediate-data/total.txt
    inputs: [intermediate-data:/left.txt, intermediate-data:/right.txt]
    outputs: [intermediate-data:/total.txt]
    resources: { cpus: 1, time: '00:07:00', sbatch: ['--comment=dws step total'] }
`,
  );
  return dir;
}

/** Job lines of a run's stderr: step → its jobs' ids and final times. */
function jobsOf(stderr: string): Map<string, { id: string; start?: number; end?: number }> {
  const jobs = new Map<string, { id: string; start?: number; end?: number }>();
  for (const m of stderr.matchAll(/^\[(\S+)\] slurm job (\d+) (\w+)(?: on \S+)?(?: \(ran (\S+) to (\S+)\))?$/gm)) {
    const j = jobs.get(m[1]!) ?? { id: m[2]! };
    if (m[4] && m[5]) Object.assign(j, { start: Date.parse(m[4]), end: Date.parse(m[5]) });
    jobs.set(m[1]!, j);
  }
  return jobs;
}

/**
 * Lineage with what differs between any two runs taken out: times, and the order in which
 * independent steps happened to record (and so which step's comment a shared certificate has).
 * Hashes, refs, params and command lines are kept.
 */
function lineageOf(dir: string): unknown {
  const base = join(dir, '.dataworkspace', 'current_lineage');
  const out: Record<string, unknown> = {};
  for (const f of readdirSync(base).sort()) {
    const file = JSON.parse(
      readFileSync(join(base, f), 'utf8')
        .replace(/"Step \S+ at [^"]*"/g, '"STEP"')
        .replace(/\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?/g, 'TIME')
        .replace(/"execution_time_seconds": [\d.e-]+/g, '"execution_time_seconds": 0'),
    ) as { lineages: Array<{ step_name?: string }> };
    file.lineages.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    out[f] = file;
  }
  return out;
}

const snapshotHashes = (dir: string) => {
  const snaps = readdirSync(join(dir, '.dataworkspace', 'snapshots'));
  return snaps.map((f) => (readJson(join(dir, '.dataworkspace', 'snapshots', f)) as Array<{ name: string; hash: string }>).map((r) => `${r.name} ${r.hash}`));
};

const metrics = (dir: string) => readJson(join(dir, 'results', 'snapshots', 'test-001', 'results.json')).metrics;

describe('dws run --executor slurm: a four-step pipeline on a real Slurm', () => {
  it('gives the lineage, outputs and snapshot a local run of the same dws.yaml gives; the independent steps overlap on the cluster; the command step gets its resources; a rerun skips all; dws run STEP runs it and its stale upstream; a changed input reruns only its downstream (the runner.executor setting picks slurm)', async () => {
    const local = await pipelineWorkspace();
    const onSlurm = join(tempDir(), 'ws');
    cpSync(local, onSlurm, { recursive: true });

    const l1 = await dws(local, ['run'], { env });
    expect(l1.code, l1.stderr).toBe(0);
    expect(l1.stdout).toContain('Run succeeded: 4 ran, 0 skipped.');

    const s1 = await dws(onSlurm, ['run', '--executor', 'slurm'], { env });
    expect(s1.code, s1.stderr).toBe(0);
    expect(s1.stdout).toContain('Run succeeded: 4 ran, 0 skipped.');
    // Every step was a job, and its output came back as its lines.
    const jobs = jobsOf(s1.stderr);
    expect([...jobs.keys()].sort()).toEqual(['join', 'left', 'right', 'total']);
    expect(s1.stderr).toContain('[left] doubling\n');
    expect(s1.stderr).toContain('[right] tripling\n');
    expect(s1.stderr).toContain('[total] summed intermediate-data/left.txt and intermediate-data/right.txt\n');
    expect(s1.stderr).toMatch(new RegExp(`\\[left\\] slurm job ${jobs.get('left')!.id} RUNNING on ${cluster.node}\\n`));
    expect(s1.stderr).toMatch(new RegExp(`\\[total\\] slurm job ${jobs.get('total')!.id} COMPLETED on ${cluster.node}`));
    // left and right ran at the same time on the cluster (their jobs' own start and end times); join and total after both.
    const [l, r, j, t] = ['left', 'right', 'join', 'total'].map((s) => jobs.get(s)!);
    expect(l!.start! < r!.end! && r!.start! < l!.end!, `left ${l!.start}..${l!.end}, right ${r!.start}..${r!.end}`).toBe(true);
    expect(j!.start!).toBeGreaterThanOrEqual(Math.max(l!.end!, r!.end!));
    expect(t!.start!).toBeGreaterThanOrEqual(Math.max(l!.end!, r!.end!));
    // dws.yaml's resources reached sbatch: Slurm holds the job with that time limit and comment.
    const total = cluster.run('scontrol', ['show', 'job', '--oneliner', t!.id]);
    expect(total).toMatch(/\bTimeLimit=00:07:00\b/);
    expect(total).toContain('Comment=dws step total');
    expect(total).toMatch(/\bNumCPUs=1\b/);
    expect(cluster.run('scontrol', ['show', 'job', '--oneliner', l!.id])).not.toContain('Comment=');

    // Same outputs, lineage and snapshot (resource hashes) as the local run.
    for (const f of ['left.txt', 'right.txt', 'total.txt']) expect(readFileSync(join(onSlurm, 'intermediate-data', f), 'utf8')).toBe(readFileSync(join(local, 'intermediate-data', f), 'utf8'));
    expect(readFileSync(join(onSlurm, 'intermediate-data', 'total.txt'), 'utf8')).toBe('total 57\n');
    expect(metrics(onSlurm)).toEqual({ sum: 57 });
    expect(lineageOf(onSlurm)).toEqual(lineageOf(local));
    const [localSnaps, slurmSnaps] = [snapshotHashes(local), snapshotHashes(onSlurm)];
    expect(slurmSnaps.length).toBe(1);
    // results hold the run's times (results.json's start_time): every other resource is byte-identical.
    const noResults = (s: string[][]) => s.map((x) => x.filter((r) => !r.startsWith('results '))).sort();
    expect(noResults(slurmSnaps)).toEqual(noResults(localSnaps));
    // The job files were removed after the successful run.
    expect(readdirSync(join(onSlurm, '.git', 'dws', 'slurm'))).toEqual([]);

    // A rerun submits nothing.
    const again = await dws(onSlurm, ['run', '--executor', 'slurm'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Run succeeded: 0 ran, 4 skipped.');
    expect(again.stderr).not.toContain('slurm job');
    // b.txt changes. `dws run total` runs total and what upstream of it is not current, as jobs:
    // right and total; left is current (skipped); join is not upstream of total (not run).
    writeFileSync(join(onSlurm, 'source-data', 'b.txt'), '6');
    const changed = await dws(onSlurm, ['run', 'total', '--executor', 'slurm'], { env });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain('Run succeeded: 2 ran, 1 skipped.');
    expect([...jobsOf(changed.stderr).keys()].sort()).toEqual(['right', 'total']);
    expect(readFileSync(join(onSlurm, 'intermediate-data', 'right.txt'), 'utf8')).toBe('18\n');
    expect(readFileSync(join(onSlurm, 'intermediate-data', 'total.txt'), 'utf8')).toBe('total 60\n');

    // The workspace setting runner.executor (local to this clone: not committed) picks slurm too;
    // the whole pipeline then reruns only join, the one step downstream of b.txt still stale.
    const head = gitLog(onSlurm)[0];
    expect((await dws(onSlurm, ['config', 'runner.executor', 'slurm'], { env })).code).toBe(0);
    expect(gitLog(onSlurm)[0]).toBe(head);
    expect(readJson(join(onSlurm, '.dataworkspace', 'local_params.json'))['runner.executor']).toBe('slurm');
    const bad = await dws(onSlurm, ['config', 'runner.executor', 'kubernetes'], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("'runner.executor': must be one of local, slurm");
    const rest = await dws(onSlurm, ['run'], { env });
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout).toContain('Run succeeded: 1 ran, 3 skipped.');
    expect([...jobsOf(rest.stderr).keys()]).toEqual(['join']);
    const last = readdirSync(join(onSlurm, 'results', 'snapshots')).sort().at(-1)!;
    expect(readJson(join(onSlurm, 'results', 'snapshots', last, 'results.json')).metrics).toEqual({ sum: 60 });
  }, 180_000); // five dws runs, four of them on the cluster: more than the default minute on a busy machine
});

describe('dws run --executor slurm: jobs', () => {
  it('submits one sbatch at a time, however many steps are ready at once', async () => {
    const dir = await newWorkspace(['--create-resources', 'intermediate-data']);
    const steps = ['a', 'b', 'c', 'd'].map((n) => `  - name: ${n}\n    command: echo ${n} > intermediate-data/${n}.txt\n    outputs: [intermediate-data:/${n}.txt]\n`);
    writeFileSync(join(dir, 'dws.yaml'), `steps:\n${steps.join('')}`);
    // sbatch on PATH is the real one behind a script noting when each call starts and ends.
    const bin = tempDir('dws-bin-');
    const calls = join(bin, 'calls');
    writeFileSync(join(bin, 'sbatch'), `#!/bin/sh\necho start >> ${calls}\n${requireOnPath(['sbatch'], 'apt-get install slurm-client')} "$@"\ncode=$?\necho end >> ${calls}\nexit $code\n`, { mode: 0o755 });
    const r = await dws(dir, ['run', '--executor', 'slurm'], { env: { ...env, PATH: `${bin}:${env.PATH}` } });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('Run succeeded: 4 ran, 0 skipped.');
    expect(readFileSync(calls, 'utf8')).toBe('start\nend\n'.repeat(4));
  });

  it("a step file's job loads the step runner and dataworkspaces/step alone: not the CLI, not the integration API", async () => {
    const dir = await newWorkspace(['--create-resources', 'code,intermediate-data']);
    writeFileSync(join(dir, 'code', 'one.step.ts'), step({ name: 'one', from: 'dataworkspaces/step', outputs: { out: 'intermediate-data:/one.txt' }, body: "    writeFileSync(outputs.out, '1');" }));
    // Node lists each module it loads (NODE_DEBUG=esm, on stderr); the job's stderr comes back as the step's lines.
    const r = await dws(dir, ['run', '--executor', 'slurm', 'code/'], { env: { ...env, NODE_DEBUG: 'esm' } });
    expect(r.code, r.stdout).toBe(0);
    expect(readFileSync(join(dir, 'intermediate-data', 'one.txt'), 'utf8')).toBe('1');
    const dist = dirname(DWS);
    const loaded = [...r.stderr.matchAll(/^\[one\] ESM \d+: Storing (file:\/\/\S+) /gm)].map((m) => fileURLToPath(m[1]!)).filter((f) => f.startsWith(`${dist}/`));
    expect(loaded).toContain(join(dist, 'step.js'));
    expect(loaded).not.toContain(join(dist, 'index.js'));
    // The CLI's program (the text of its --batch option) is in none of them.
    for (const f of loaded) expect(readFileSync(f, 'utf8'), f).not.toContain('never ask questions: fail where an answer would be needed');
  });
});

describe('dws run --executor slurm: editors', () => {
  it("the server's run progress carries each job's id and state, and VS Code's Steps output shows them", async () => {
    const ws = await pipelineWorkspace();
    expect((await dws(ws, ['config', 'runner.executor', 'slurm'], { env })).code).toBe(0);
    fake.folder = ws;
    fake.activeFile = undefined;
    const child = spawn(process.execPath, [DWS, 'server', '--stdio'], { cwd: ws, env });
    const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    connection.onRequest(() => null);
    const events: unknown[] = [];
    connection.listen();
    const subscriptions: Array<{ dispose(): unknown }> = [];
    try {
      await connection.sendRequest('initialize', { processId: process.pid, rootUri: `file://${ws}`, capabilities: {} });
      await connection.sendNotification('initialized', {});
      // The extension's own connection, with the progress notifications it gets recorded on the way.
      registerCommands(
        { subscriptions },
        {
          sendRequest: (method, params) => connection.sendRequest(method, params),
          onNotification: (method, handler) => connection.onNotification(method, (p: { event: unknown }) => (events.push(p.event), handler(p))),
        },
      );
      await (fake.module().commands as { executeCommand(c: string): Promise<unknown> }).executeCommand('dataworkspaces.run');
      const text = fake.channels.get('Data Workspaces: Steps')!.text;
      const id = jobsOf(text).get('join')!.id;
      expect(text).toMatch(new RegExp(`\\[join\\] slurm job ${id} RUNNING on ${cluster.node}\\n`));
      expect(text).toMatch(new RegExp(`\\[join\\] slurm job ${id} COMPLETED on ${cluster.node} \\(ran \\S+ to \\S+\\)\\n`));
      expect(text).toMatch(/Run succeeded \(4 succeeded\)/);
      expect(events).toContainEqual({ type: 'job', step: 'join', executor: 'slurm', jobId: id, state: 'PENDING' });
      expect(events).toContainEqual({ type: 'job', step: 'join', executor: 'slurm', jobId: id, state: 'RUNNING', node: cluster.node });
    } finally {
      subscriptions.forEach((x) => x.dispose());
      connection.dispose();
      child.kill();
    }
  });
});

describe('dws run --executor slurm: failures', () => {
  it('fails a step whose job fails with the job id and the tail of its log; its downstream does not run; no snapshot', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    writeFileSync(join(dir, 'code', 'broken.step.ts'), step({ name: 'broken', outputs: { out: 'intermediate-data:/x.txt' }, body: "    log('about to fail');\n    throw new Error('no luck on the cluster');" }));
    writeFileSync(join(dir, 'code', 'after.step.ts'), step({ name: 'after', inputs: { x: 'intermediate-data:/x.txt' }, outputs: { out: 'intermediate-data:/y.txt' }, body: "    writeFileSync(outputs.out, 'y');" }));
    const head = gitLog(dir)[0];
    const r = await dws(dir, ['run', '--executor', 'slurm', 'code/'], { env });
    expect(r.code).toBe(1);
    const id = jobsOf(r.stderr).get('broken')!.id;
    expect(r.stderr).toContain(`[broken] slurm job ${id} FAILED on ${cluster.node}`);
    expect(r.stdout).toContain(`broken failed: Slurm job ${id} failed: its command exited with code 1 on ${cluster.node}.`);
    expect(r.stdout).toContain('Last lines of its output');
    expect(r.stdout).toContain('  about to fail\n');
    expect(r.stdout).toContain('  dws: step broken failed: no luck on the cluster\n');
    expect(r.stdout).toContain('Run failed: 0 ran, 0 skipped, 1 failed, 1 not run.');
    expect(jobsOf(r.stderr).has('after')).toBe(false);
    expect(gitLog(dir)[0]).toBe(head);
  });

  it('fails a step asking for more CPUs than any node has with Slurm’s reason, and cancels its job: a step file and a dws.yaml step alike', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    writeFileSync(join(dir, 'code', 'big.step.ts'), step({ name: 'big', outputs: { out: 'intermediate-data:/big.txt' }, extra: '\n  resources: { cpus: 64 },', body: "    writeFileSync(outputs.out, 'x');" }));
    writeFileSync(join(dir, 'dws.yaml'), 'stepFiles: [code]\nsteps:\n  - name: huge\n    command: echo x > intermediate-data/huge.txt\n    outputs: [intermediate-data:/huge.txt]\n    resources: { cpus: 64, time: 5 }\n');
    const r = await dws(dir, ['run', '--executor', 'slurm'], { env });
    expect(r.code).toBe(1);
    const jobs = jobsOf(r.stderr);
    for (const [name, asked] of [['big', '--cpus-per-task=64'], ['huge', '--cpus-per-task=64 --time=5']] as const) {
      const id = jobs.get(name)!.id;
      expect(r.stderr).toContain(`[${name}] slurm job ${id} PENDING: PartitionConfig\n`);
      expect(r.stdout).toContain(`${name} failed: Slurm will not run job ${id}: PartitionConfig (it asks for more than the partition or any of its nodes has (cpus, memory, nodes)); it was cancelled. Asked with: sbatch ${asked}\n`);
    }
    expect(r.stdout).toContain('Run failed: 0 ran, 0 skipped, 2 failed.');
    expect(cluster.run('squeue', ['--noheader'])).toBe('');
  });

  it('cancels its queued and running jobs on Ctrl-C: exit 130, none left in squeue, no lineage, no snapshot', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    // Three one-CPU steps on a two-CPU node: two run, one waits.
    for (const n of ['s1', 's2', 's3']) writeFileSync(join(dir, 'code', `${n}.step.ts`), step({ name: n, outputs: { out: `intermediate-data:/${n}.txt` }, body: "    log('sleeping');\n    await new Promise((r) => setTimeout(r, 120_000));" }));
    const head = gitLog(dir)[0];
    const live = new LiveDws(dir, ['run', '--executor', 'slurm', 'code/'], env);
    try {
      await live.waitFor(/\[s\d\] sleeping/, 60_000);
      await live.waitFor(/\[s\d\] slurm job \d+ PENDING: Resources/, 30_000);
      expect(cluster.run('squeue', ['--noheader', '--format=%T']).trim().split('\n').sort()).toEqual(['PENDING', 'RUNNING', 'RUNNING']);
      live.child.kill('SIGINT');
      expect(await live.exited).toBe(130);
    } finally {
      if (live.child.exitCode === null) live.child.kill('SIGKILL'); // a failed assertion must not leave it running
    }
    expect(cluster.run('squeue', ['--noheader'])).toBe('');
    expect(live.lines.join('\n')).toMatch(/FAILED: interrupted/);
    expect(readdirSync(join(dir, '.dataworkspace', 'current_lineage')).filter((f) => f.startsWith('intermediate'))).toEqual([]);
    expect(gitLog(dir)[0]).toBe(head);
  });

  it('fails a step whose node cannot see the workspace (its job exits 97 before the step) naming the job, the node and the workspace', async () => {
    // The job runs as nobody, who cannot enter the workspace's private temporary directory: a node
    // without the shared filesystem. (Its output goes nowhere and it starts in /: nobody can write or enter neither of dws's.)
    const dir = await newWorkspace(['--create-resources', 'intermediate-data']);
    writeFileSync(
      join(dir, 'dws.yaml'),
      "steps:\n  - name: blind\n    command: echo x > intermediate-data/x.txt\n    outputs: [intermediate-data:/x.txt]\n    resources: { sbatch: ['--uid=nobody', '--chdir=/', '--output=/dev/null'] }\n",
    );
    const r = await dws(dir, ['run', '--executor', 'slurm'], { env });
    expect(r.code).toBe(1);
    const id = jobsOf(r.stderr).get('blind')!.id;
    expect(cluster.run('scontrol', ['show', 'job', '--oneliner', id])).toMatch(/\bExitCode=97:0\b/);
    expect(r.stdout).toContain(`blind failed: Slurm job ${id} could not see the workspace ${dir} on node ${cluster.node}: the workspace must be on a filesystem every node shares (docs/slurm.md).`);
    expect(r.stdout).toContain('Run failed: 0 ran, 0 skipped, 1 failed.');
  }, 180_000); // the job's end is seen through squeue after the status file's grace period: slower than the others on a busy machine

  it('a step job whose spec file is missing (its node does not see it) exits 1 naming the file', async () => {
    const missing = join(tempDir(), 'gone.json');
    const r = await dws(tempDir(), ['--batch', 'run-step', missing], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`dws: cannot read the step spec ${missing}: ENOENT: no such file or directory, open '${missing}'\n`);
  });

  it('refuses before anything runs when sbatch is not on PATH or the controller is down: a clear error, the workspace unchanged', async () => {
    const dir = await pipelineWorkspace();
    const before = fingerprint(dir);
    // A PATH with git (dws needs it) and none of Slurm's commands.
    const bin = tempDir('dws-bin-');
    symlinkSync(requireOnPath(['git'], 'apt-get install git'), join(bin, 'git'));
    const noSbatch = await dws(dir, ['run', '--executor', 'slurm', 'code/'], { env: { ...env, PATH: bin } });
    expect(noSbatch.code).not.toBe(0);
    expect(noSbatch.stderr).toContain("The slurm executor needs Slurm's commands on PATH: sbatch was not found.");
    expect(noSbatch.stderr).not.toContain('[left]');
    expect(fingerprint(dir)).toBe(before);

    // A slurm.conf naming a controller port nobody listens on.
    const confDir = tempDir('dws-slurm-down-');
    mkdirSync(confDir, { recursive: true });
    const conf = readFileSync(cluster.conf, 'utf8').replace(/^SlurmctldPort=\d+$/m, 'SlurmctldPort=9');
    writeFileSync(join(confDir, 'slurm.conf'), conf);
    const down = await dws(dir, ['run', '--executor', 'slurm', 'code/'], { env: { ...env, SLURM_CONF: join(confDir, 'slurm.conf') } });
    expect(down.code).not.toBe(0);
    expect(down.stderr).toContain("Slurm's controller does not answer (scontrol ping: Slurmctld(primary) at");
    expect(down.stderr).toContain('is DOWN');
    expect(down.stderr).toContain('Nothing was run.');
    expect(down.stderr).not.toContain('[left]');
    expect(fingerprint(dir)).toBe(before);
  });
});
