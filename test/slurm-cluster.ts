/**
 * A real one-node Slurm cluster for tests and benches (../shared/SLURM-NOTES.md): munged (started
 * if not running), and slurmctld + slurmd on a temporary slurm.conf with free ports. Every Slurm
 * command and every dws under test gets `SLURM_CONF` through `env`. The daemons are stopped by the
 * PIDs in their pid files, never by process name. No Slurm installed: a clear error naming the
 * packages (.ci/run installs them).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

const PACKAGES = 'apt-get install -y --no-install-recommends slurmd slurmctld slurm-client munge';
const MUNGE_PID = '/run/munge/munged.pid';

export interface SlurmCluster {
  /** The temporary directory holding slurm.conf, state, spool, logs and pid files. */
  dir: string;
  conf: string;
  /** Slurm's name for the node ("dws-node", not the hostname: what a job reports must be Slurm's name). */
  node: string;
  /** The node's CPUs. */
  cpus: number;
  /** process.env (or the given base) with SLURM_CONF set. */
  env: NodeJS.ProcessEnv;
  /** Run a Slurm command (squeue, scontrol, ...) against this cluster; its stdout. */
  run(cmd: string, args: string[]): string;
  /** Cancel jobs left over, stop slurmctld and slurmd (and munged if this harness started it), remove the directory. */
  stop(): Promise<void>;
}

/** Where a daemon is: its absolute path, or an error naming the packages to install. */
function need(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin']) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`The Slurm tests need a real Slurm: ${name} was not found. Install it (${PACKAGES}; .ci/run does it).`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** munged running, with a key (made if missing); true when this call started it. */
function ensureMunge(): boolean {
  const munged = need('munged');
  if (spawnSync('sh', ['-c', 'munge -n | unmunge'], { stdio: 'ignore' }).status === 0) return false;
  const key = '/etc/munge/munge.key';
  if (!existsSync(key)) execFileSync('dd', ['if=/dev/urandom', 'bs=1', 'count=1024', `of=${key}`], { stdio: 'ignore' });
  execFileSync('chown', ['munge:munge', key]);
  execFileSync('chmod', ['400', key]);
  mkdirSync('/run/munge', { recursive: true });
  execFileSync('chown', ['munge:munge', '/run/munge']);
  execFileSync('runuser', ['-u', 'munge', '--', munged]);
  if (spawnSync('sh', ['-c', 'munge -n | unmunge'], { stdio: 'ignore' }).status !== 0) throw new Error('munged started but `munge -n | unmunge` fails: see /var/log/munge/munged.log');
  return true;
}

function killPidFile(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 'SIGTERM');
    return pid;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Start the cluster. The scheduler is tuned for a test machine (said in docs/slurm.md):
 * `batch_sched_delay=0` lets a batch job submitted just after another start at once (Slurm's
 * default waits up to 3 s to batch submissions) and `sched_min_interval=0` lets the scheduler run
 * as often as it is asked to. `Epilog=/bin/true` makes the end of a job (its epilog's completion)
 * trigger the scheduler, so the next pending job starts within milliseconds instead of at the
 * scheduler's next background pass (~1 s; docs/slurm.md "Many short steps"). None of it changes
 * what a job does.
 */
export async function startSlurm(o: { cpus?: number } = {}): Promise<SlurmCluster> {
  const slurmctld = need('slurmctld');
  const slurmd = need('slurmd');
  need('sbatch');
  const startedMunge = ensureMunge();
  const dir = mkdtempSync(join(tmpdir(), 'dws-slurm-'));
  // Open to other users as a cluster's spool is: a job run as another user (sbatch --uid) reaches its script.
  chmodSync(dir, 0o755);
  for (const d of ['state', 'spool', 'log']) mkdirSync(join(dir, d));
  const host = hostname();
  const node = 'dws-node';
  const cpus = o.cpus ?? 2;
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=dwstest',
      `SlurmctldHost=${host}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/log/ctld.log`,
      `SlurmdLogFile=${dir}/log/d.log`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'JobAcctGatherType=jobacct_gather/none',
      'MpiDefault=none',
      'ReturnToService=2',
      'SchedulerParameters=batch_sched_delay=0,sched_min_interval=0',
      'Epilog=/bin/true',
      'MinJobAge=600',
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      `NodeName=${node} NodeHostname=${host} CPUs=${cpus} RealMemory=4000 State=UNKNOWN`,
      `PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = async () => {
    // Jobs a failed test left: cancelled while the daemons still run, so no job step outlives them.
    const left = spawnSync('squeue', ['--noheader', '--format=%i'], { env, encoding: 'utf8' }).stdout?.trim().split('\n').filter(Boolean) ?? [];
    if (left.length > 0) {
      spawnSync('scancel', left, { env });
      for (let i = 0; i < 100 && spawnSync('squeue', ['--noheader'], { env, encoding: 'utf8' }).stdout?.trim(); i++) await sleep(100);
    }
    const pids = [killPidFile(join(dir, 'slurmd.pid')), killPidFile(join(dir, 'slurmctld.pid')), startedMunge ? killPidFile(MUNGE_PID) : null].filter((p): p is number => p !== null);
    for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(100);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync(slurmctld, [], { env, stdio: 'ignore' });
    execFileSync(slurmd, [], { env, stdio: 'ignore' });
    for (let i = 0; ; i++) {
      const state = spawnSync('sinfo', ['--noheader', '--format=%t'], { env, encoding: 'utf8' }).stdout?.trim();
      if (state === 'idle') break;
      if (i > 300) throw new Error(`Slurm did not come up within 30 s (sinfo: ${state || 'no answer'}); logs in ${dir}/log`);
      await sleep(100);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, conf, node, cpus, env, run, stop };
}
