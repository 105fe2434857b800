/**
 * The slurm executor (`dws run --executor slurm`, docs/slurm.md): each ready step becomes one
 * `sbatch` job. A command step runs its command in the job; a step file runs there through this
 * dws (`dws run-step SPEC`, runner/executors/slurm-job.ts). The job's files live in the
 * workspace's git directory (`.git/dws/slurm/RUN/`), which the nodes must share with this
 * machine: the job script, its output (tailed here into the step's log lines), and an exit-status
 * file the job writes as it ends (Slurm's accounting may be off, so the status comes from the job
 * itself; `squeue` gives the states on the way, `scontrol show job` the end of a job that wrote
 * none). Interrupting the run cancels its jobs (`scancel`) and waits until Slurm has let them go.
 *
 *   submit (sbatch) → PENDING → RUNNING → status file: exit 0 → results back → succeeded
 *                                       ↘ non-zero / gone without status → failed (job id, log tail)
 */
import { execFile } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError } from '../../protocol/errors.js';
import { bundledFile } from '../../server/bundled.js';
import { shellQuote } from '../../server/workspace/paths.js';
import { localCacheDir } from '../../server/workspace/workspace.js';
import { OutputLines } from '../output-lines.js';
import { StepFailure } from '../step-thread-protocol.js';
import type { Executor, ExecutorOptions, StepJob } from '../executor.js';
import type { StepResources } from '../types.js';
import { commandEnv } from './local.js';
import { resultsCalls, type StepSpec } from './slurm-job.js';

/** How often job output and status files are read (cheap: a stat and a read per job). */
const TICK_MS = 100;
/** How often `squeue` is asked for the jobs' states. */
const SQUEUE_MS = 1000;
/** How long a job Slurm says has ended may take to show its status file (a shared filesystem's caching). */
const STATUS_GRACE_MS = 3000;
/** The exit code of a job whose node cannot see the workspace (the job script's first check). */
const NO_WORKSPACE_EXIT = 97;
/** Lines of a failed job's log quoted in the step's failure. */
const TAIL_LINES = 15;
/**
 * Reasons a pending job will never start: it asks more than the partition or any node gives
 * (Slurm accepts such a job unless the cluster sets EnforcePartLimits). The step fails with it.
 */
const NEVER = new Map([
  ['PartitionConfig', 'it asks for more than the partition or any of its nodes has (cpus, memory, nodes)'],
  ['PartitionNodeLimit', 'it asks for more nodes than the partition allows'],
  ['PartitionTimeLimit', "its time limit is above the partition's"],
  ['BadConstraints', 'no node can satisfy its constraints'],
  ['InvalidAccount', 'its account is not valid'],
  ['InvalidQOS', 'its QOS is not valid'],
  ['DependencyNeverSatisfied', 'its dependency can never be satisfied'],
]);
/** States in which Slurm still holds a job (squeue's default listing). */
const LIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'RESIZING', 'SIGNALING', 'STAGE_OUT']);
/** States only a job whose script ran reaches: a job squeue first sees in one of them ran between two polls. */
const PAST_RUNNING = new Set(['COMPLETING', 'COMPLETED', 'STAGE_OUT']);

interface Job {
  id: string;
  j: StepJob;
  out: string;
  status: string;
  results: string | null;
  /** The step's resource options given to sbatch (for its failure message). */
  args: string[];
  state: string;
  reason: string;
  /** Whether its RUNNING event was sent (editors show every job as pending, running, then ended). */
  ran: boolean;
  /** Bytes of the output file already turned into log lines. */
  offset: number;
  lines: OutputLines;
  /** When squeue first said the job had ended (or no longer knew it) with no status file yet. */
  goneAt: number | null;
  settle: (e?: Error) => void;
}

/** Whether an executable of this name is on PATH. */
function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => {
    if (d === '') return false;
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function exec(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (e, stdout, stderr) => {
      const err = e as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr: err && !stderr ? err.message : stderr });
    });
  });
}

export class SlurmExecutor implements Executor {
  private readonly jobs = new Map<string, Job>();
  private timer: NodeJS.Timeout | null = null;
  private lastSqueue = 0;
  private squeueBusy = false;
  private failed = false;
  private seq = 0;
  /** The last sbatch call: the next one waits for it (see submit). */
  private submitting: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly wsDir: string,
    private readonly dwsEntry: string | null,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => void this.cancelAll(), { once: true });
  }

  /** Refuse before anything runs when Slurm cannot take the steps: its commands missing, its controller down, no dws to run a step file. */
  static async open(o: ExecutorOptions): Promise<SlurmExecutor> {
    for (const cmd of ['sbatch', 'squeue', 'scancel', 'scontrol']) {
      if (!onPath(cmd)) {
        throw new ConfigurationError(
          `The slurm executor needs Slurm's commands on PATH: ${cmd} was not found. Run dws on a machine that submits to the cluster (a login node), install the Slurm client (e.g. apt-get install slurm-client), or run with --executor local. Nothing was run.`,
          { command: cmd },
        );
      }
    }
    const ping = await exec('scontrol', ['ping']);
    if (ping.code !== 0 || !/\bUP\b/.test(ping.stdout)) {
      // Without its banner of asterisks.
      const said = `${ping.stdout}${ping.stderr}`.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('*')).join('; ');
      throw new ConfigurationError(
        `Slurm's controller does not answer (scontrol ping: ${said || `exit code ${ping.code}`}). Check that slurmctld runs and that SLURM_CONF names the cluster's slurm.conf${process.env.SLURM_CONF ? ` (it is ${process.env.SLURM_CONF})` : ''}. Nothing was run.`,
        { said },
      );
    }
    const dwsUrl = bundledFile('dws.js');
    if (o.steps.some((s) => s.work.type === 'module' && s.work.bundle === undefined) || (o.steps.some((s) => s.work.type === 'module') && dwsUrl === null)) {
      throw new ConfigurationError('Step files run on the cluster through the installed dws (dist/dws.js) from their bundles, which this dws does not have: build it (npm run build). Nothing was run.', {});
    }
    const cache = localCacheDir(o.ws);
    if (cache === null) throw new ConfigurationError(`The slurm executor keeps its job files in the workspace's git directory, and ${o.ws.dir} has none. Nothing was run.`, {});
    const dir = join(cache, 'slurm', `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    return new SlurmExecutor(dir, o.ws.dir, dwsUrl && fileURLToPath(dwsUrl), o.signal);
  }

  async run(j: StepJob): Promise<void> {
    if (this.signal.aborted) throw new StepFailure('interrupted');
    const base = join(this.dir, `${++this.seq}-${j.step.name.replace(/[^\w.-]/g, '_')}`);
    const out = `${base}.out`;
    const status = `${base}.status`;
    let results: string | null = null;
    let body: string;
    const work = j.step.work;
    if (work.type === 'command') {
      const env = Object.entries(commandEnv(j)).map(([k, v]) => `${k}=${shellQuote(v)}`);
      body = `cd ${shellQuote(work.cwd)} && env ${env.join(' ')} ${work.argv.map(shellQuote).join(' ')}`;
    } else {
      results = `${base}.results`;
      writeFileSync(`${base}.mjs`, work.bundle!.code);
      const spec: StepSpec = {
        workspaceDir: j.workspaceDir,
        module: `${base}.mjs`,
        exportName: work.bundle!.exportName,
        stepName: j.step.name,
        params: j.params,
        inputs: j.inputs,
        outputs: j.outputs,
        hasResults: j.hasResults,
        resultsCalls: results,
        resultsFile: j.resultsDir === null ? null : join(j.resultsDir, 'results.json'),
      };
      writeFileSync(`${base}.json`, JSON.stringify(spec));
      body = `${[process.execPath, this.dwsEntry!, '--batch', 'run-step', `${base}.json`].map(shellQuote).join(' ')}`;
    }
    writeFileSync(`${base}.sh`, jobScript(j.step.name, this.wsDir, body, status));
    const args = ['--parsable', `--job-name=dws:${j.step.name}`, `--output=${out}`, ...resourceArgs(j.step.resources), `${base}.sh`];
    const r = await this.submit(args);
    if (r === null) throw new StepFailure('interrupted');
    if (r.code !== 0) {
      const said = r.stderr.trim().replace(/^sbatch: error: /gm, '').replace(/\n/g, '; ');
      throw new StepFailure(`Slurm refused the job: ${said || `sbatch exited with code ${r.code}`} (sbatch ${args.slice(3, -1).join(' ') || 'with no resource options'})`);
    }
    const id = r.stdout.trim().split(';')[0]!;
    return new Promise<void>((resolve, reject) => {
      const job: Job = {
        id,
        j,
        out,
        status,
        results,
        args: args.slice(3, -1),
        state: 'PENDING',
        reason: '',
        ran: false,
        offset: 0,
        lines: new OutputLines(j.log),
        goneAt: null,
        settle: (e) => {
          this.jobs.delete(id);
          if (this.jobs.size === 0 && this.timer !== null) {
            clearInterval(this.timer);
            this.timer = null;
          }
          if (e) {
            this.failed = true;
            reject(e);
          } else resolve();
        },
      };
      this.jobs.set(id, job);
      j.onJob({ executor: 'slurm', jobId: id, state: 'PENDING' });
      // Interrupted while sbatch was submitting it: cancel it now.
      if (this.signal.aborted) void this.cancelAll();
      this.timer ??= setInterval(() => void this.tick(), TICK_MS);
    });
  }

  /**
   * sbatch, one call at a time. When the DAG makes many steps ready at once, calls made together
   * share this machine's CPUs and all finish late, so the first job reaches Slurm only when the
   * last one does; one at a time, the first job starts while the others are being submitted (and
   * the controller gets one request at a time, as sites ask of scripts).
   */
  private submit(args: string[]): Promise<{ code: number; stdout: string; stderr: string } | null> {
    // Interrupted while waiting its turn: not submitted (null).
    const call = this.submitting.then(() => (this.signal.aborted ? null : exec('sbatch', args)));
    this.submitting = call;
    return call;
  }

  /** After an interrupt: cancel what is left and wait until Slurm no longer runs or queues any of it. Then remove the run's job files, unless a job failed (its log stays). */
  async close(): Promise<void> {
    if (this.signal.aborted) {
      const ids = await this.cancelAll();
      for (let i = 0; i < 150 && ids.length > 0; i++) {
        const r = await exec('squeue', ['--noheader', `--jobs=${ids.join(',')}`, '--format=%i']);
        if (r.code !== 0 || r.stdout.trim() === '') break;
        await new Promise((res) => setTimeout(res, 100));
      }
      for (const job of this.jobs.values()) job.settle(new StepFailure(`interrupted: Slurm job ${job.id} was cancelled`));
    }
    if (this.timer !== null) clearInterval(this.timer);
    if (!this.failed && !this.signal.aborted) rmSync(this.dir, { recursive: true, force: true });
  }

  private cancelled = new Set<string>();

  /** scancel every job of the run not cancelled yet; the ids of all the run's live jobs. */
  private async cancelAll(): Promise<string[]> {
    const ids = [...this.jobs.keys()];
    const fresh = ids.filter((id) => !this.cancelled.has(id));
    fresh.forEach((id) => this.cancelled.add(id));
    if (fresh.length > 0) await exec('scancel', fresh);
    return ids;
  }

  private async tick(): Promise<void> {
    for (const job of [...this.jobs.values()]) this.follow(job);
    if (this.squeueBusy || Date.now() - this.lastSqueue < SQUEUE_MS || this.jobs.size === 0) return;
    this.squeueBusy = true;
    try {
      await this.poll();
    } finally {
      this.lastSqueue = Date.now();
      this.squeueBusy = false;
    }
  }

  /** New output as log lines; the status file, once there, ends the job. */
  private follow(job: Job): void {
    this.readOutput(job);
    if (!existsSync(job.status)) return;
    const [code, start, end, node] = readFileSync(job.status, 'utf8').trim().split(/\s+/);
    this.readOutput(job);
    job.lines.end();
    const times = { startedAt: new Date(Number(start)).toISOString(), endedAt: new Date(Number(end)).toISOString() };
    const ok = code === '0';
    // A job quicker than squeue's polling still shows that it ran, and where.
    this.reportRunning(job, node);
    job.j.onJob({ executor: 'slurm', jobId: job.id, state: ok ? 'COMPLETED' : 'FAILED', ...(node ? { node } : {}), ...times });
    if (!ok) {
      job.settle(new StepFailure(`Slurm job ${job.id} failed: its command exited with code ${code}${node ? ` on ${node}` : ''}.${this.tail(job)}`));
      return;
    }
    // results.write calls made in the job, written here through the step's lineage, in order.
    this.jobs.delete(job.id);
    const calls = job.results ? resultsCalls(job.results) : [];
    calls
      .reduce<Promise<unknown>>((prev, m) => prev.then(() => job.j.writeResults(m)), Promise.resolve())
      .then(
        () => job.settle(),
        (e: unknown) => job.settle(e instanceof Error ? e : new Error(String(e))),
      );
  }

  private readOutput(job: Job): void {
    if (!existsSync(job.out)) return;
    const fd = openSync(job.out, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size <= job.offset) return;
      const buf = Buffer.alloc(size - job.offset);
      readSync(fd, buf, 0, buf.length, job.offset);
      job.offset = size;
      job.lines.write(buf.toString('utf8'));
    } finally {
      closeSync(fd);
    }
  }

  /** The RUNNING event of a job that was never seen running (quicker than squeue's polling). */
  private reportRunning(job: Job, node: string | undefined): void {
    if (job.ran) return;
    job.ran = true;
    job.j.onJob({ executor: 'slurm', jobId: job.id, state: 'RUNNING', ...(node ? { node } : {}) });
  }

  /** squeue's states of the run's jobs (events when they change); a job that ended without a status file fails after a grace period. */
  private async poll(): Promise<void> {
    const ids = [...this.jobs.keys()];
    if (ids.length === 0) return;
    const r = await exec('squeue', ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, '--format=%i|%T|%r|%N']);
    const seen = new Map<string, { state: string; reason: string; node: string }>();
    if (r.code === 0) {
      for (const line of r.stdout.split('\n')) {
        const [id, state, reason, node] = line.trim().split('|');
        if (id && state) seen.set(id, { state, reason: reason ?? '', node: node ?? '' });
      }
    } else if (!/Invalid job id/i.test(r.stderr)) return; // the controller busy or away: ask again next time
    for (const id of ids) {
      const job = this.jobs.get(id);
      if (!job) continue;
      const s = seen.get(id);
      if (s && (s.state !== job.state || (s.reason !== job.reason && s.state === 'PENDING'))) {
        job.state = s.state;
        job.reason = s.reason;
        if (PAST_RUNNING.has(s.state)) this.reportRunning(job, s.node); // it ran between two polls
        if (s.state === 'RUNNING') job.ran = true;
        job.j.onJob({ executor: 'slurm', jobId: id, state: s.state, ...(s.reason && s.reason !== 'None' ? { reason: s.reason } : {}), ...(s.node ? { node: s.node } : {}) });
      }
      const never = s?.state === 'PENDING' ? NEVER.get(s.reason) : undefined;
      if (never !== undefined) {
        this.cancelled.add(id);
        await exec('scancel', [id]);
        job.settle(new StepFailure(`Slurm will not run job ${id}: ${s!.reason} (${never}); it was cancelled. Asked with: sbatch ${job.args.join(' ') || '(no resource options)'}`));
        continue;
      }
      if (s && LIVE.has(s.state)) continue;
      job.goneAt ??= Date.now();
      if (Date.now() - job.goneAt >= STATUS_GRACE_MS && !existsSync(job.status)) await this.ended(job, s?.state);
    }
  }

  /** A job Slurm let go of without its status file: why, from `scontrol show job` while it still knows it. */
  private async ended(job: Job, state: string | undefined): Promise<void> {
    const r = await exec('scontrol', ['show', 'job', '--oneliner', job.id]);
    const field = (k: string) => new RegExp(`\\b${k}=(\\S+)`).exec(r.stdout)?.[1];
    const jobState = field('JobState') ?? state ?? 'unknown (Slurm no longer knows the job)';
    const exit = field('ExitCode');
    const reason = field('Reason');
    const node = field('BatchHost') ?? field('NodeList');
    this.readOutput(job);
    job.lines.end();
    job.j.onJob({ executor: 'slurm', jobId: job.id, state: jobState, ...(reason && reason !== 'None' ? { reason } : {}), ...(node && node !== '(null)' ? { node } : {}) });
    if (exit?.split(':')[0] === String(NO_WORKSPACE_EXIT)) {
      job.settle(new StepFailure(`Slurm job ${job.id} could not see the workspace ${this.wsDir} on node ${node ?? '?'}: the workspace must be on a filesystem every node shares (docs/slurm.md).`));
      return;
    }
    const why = [`state ${jobState}`, reason && reason !== 'None' ? `reason ${reason}` : '', exit ? `exit code ${exit}` : ''].filter(Boolean).join(', ');
    job.settle(
      new StepFailure(
        `Slurm job ${job.id} ended without finishing the step (${why}); if its node cannot see ${this.dir}, the workspace is not on a filesystem the nodes share (docs/slurm.md).${this.tail(job)}`,
      ),
    );
  }

  /** The last lines of a job's output, for its failure. */
  private tail(job: Job): string {
    if (!existsSync(job.out)) return ' It left no output.';
    const lines = readFileSync(job.out, 'utf8').trimEnd().split('\n');
    if (lines.length === 1 && lines[0] === '') return ' Its output was empty.';
    return `\nLast lines of its output (${job.out}):\n${lines.slice(-TAIL_LINES).map((l) => `  ${l}`).join('\n')}`;
  }
}

/** sbatch options of a step's resources. */
function resourceArgs(r: StepResources | undefined): string[] {
  if (!r) return [];
  return [
    ...(r.cpus !== undefined ? [`--cpus-per-task=${r.cpus}`] : []),
    ...(r.memory !== undefined ? [`--mem=${r.memory}`] : []),
    ...(r.time !== undefined ? [`--time=${r.time}`] : []),
    ...(r.partition !== undefined ? [`--partition=${r.partition}`] : []),
    ...(r.sbatch ?? []),
  ];
}

/**
 * The job: check the node sees the workspace (else exit NO_WORKSPACE_EXIT, which dws explains),
 * run the step, then write "exit start-ms end-ms node" to the status file (renamed into place,
 * so dws never reads half of it) and end with the step's exit code. The node is Slurm's name for
 * it (SLURMD_NODENAME, what squeue and scontrol show), which may differ from its hostname.
 */
function jobScript(step: string, wsDir: string, body: string, status: string): string {
  return `#!/bin/sh
# dws run --executor slurm: step ${step.replace(/\n/g, ' ')}
if [ ! -d ${shellQuote(join(wsDir, '.dataworkspace'))} ]; then
  echo "dws: node \${SLURMD_NODENAME:-$(hostname)} cannot see the workspace ${wsDir.replace(/["$`\\]/g, '\\$&')}: it must be on a filesystem every node shares" >&2
  exit ${NO_WORKSPACE_EXIT}
fi
start=$(date +%s%3N)
${body}
code=$?
printf '%s %s %s %s\\n' "$code" "$start" "$(date +%s%3N)" "\${SLURMD_NODENAME:-$(hostname)}" > ${shellQuote(`${status}.tmp`)} && mv ${shellQuote(`${status}.tmp`)} ${shellQuote(status)}
exit $code
`;
}
