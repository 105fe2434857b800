/**
 * The local executor (the default): a step file's run() in a worker thread of this process
 * (runner/step-threads.ts; in this thread when there is no bundled worker, e.g. engine tests
 * from source), a command step as a child process whose output becomes the step's log lines.
 */
import { spawn } from 'node:child_process';
import { ConfigurationError } from '../../protocol/errors.js';
import { OutputLines } from '../output-lines.js';
import { StepFailure } from '../step-thread-protocol.js';
import { StepThreads } from '../step-threads.js';
import type { Executor, ExecutorOptions, StepJob } from '../executor.js';

/** How long an interrupted command may take to stop after SIGTERM before its process group is killed (as a step thread, step-threads.ts). */
const ABORT_GRACE_MS = 1000;

export class LocalExecutor implements Executor {
  /** Interrupted commands until their process group is gone: close() waits for them. */
  private readonly stopping = new Set<Promise<void>>();

  private constructor(private readonly threads: StepThreads | null) {}

  static open(o: ExecutorOptions): LocalExecutor {
    // Every step file's run() goes to a thread (issue 12 item 5): its console output is captured
    // there (never this process's stdout, which may carry JSON-RPC or --json output) and its
    // process.exit() ends only its thread. Workers start when a step first needs one, so a run
    // whose steps are all skipped starts none.
    const moduleSteps = o.steps.some((s) => s.work.type === 'module');
    return new LocalExecutor(moduleSteps ? StepThreads.create(Math.max(1, o.jobs), 0) : null);
  }

  async run(j: StepJob): Promise<void> {
    const work = j.step.work;
    if (work.type === 'module' && this.threads !== null && work.bundle !== undefined) {
      const r = { stepName: j.step.name, params: j.params, inputs: j.inputs, outputs: j.outputs, workspaceDir: j.workspaceDir, hasResults: j.hasResults };
      await this.threads.run(work.bundle, { ...r, writeResults: j.writeResults, log: j.log, signal: j.signal });
      return;
    }
    if (work.type === 'module') {
      await work.run({
        params: j.params,
        inputs: j.inputs,
        outputs: j.outputs,
        results: {
          write: (metrics) => {
            if (!j.hasResults) {
              throw new ConfigurationError(`Step ${j.step.name} wrote results but declares no output in a results resource: add one, e.g. outputs: { results: 'results' }`, { step: j.step.name });
            }
            return j.writeResults(metrics);
          },
        },
        log: (m: string) => j.log(m),
        signal: j.signal,
        workspaceDir: j.workspaceDir,
      });
      return;
    }
    const [cmd, ...args] = work.argv;
    await new Promise<void>((resolve, reject) => {
      // A process group of its own, stopped as a whole: a shell's SIGTERM alone left what it had
      // started (`cmd &`, a pipeline, a script's subprocess) running on and writing into the workspace.
      const child = spawn(cmd!, args, { cwd: work.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...commandEnv(j) }, detached: true });
      const send = (sig: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, sig);
          return true;
        } catch {
          return child.kill(sig); // the group is gone already (or was never made)
        }
      };
      // A command that ignores SIGTERM (a trap, a cleanup handler that hangs) would write on into
      // the workspace after dws has gone: its group is killed after the grace, and close() waits.
      const kill = () => {
        send('SIGTERM');
        const stopped = (async () => {
          for (const end = Date.now() + ABORT_GRACE_MS; Date.now() < end; ) {
            if (!groupAlive(child.pid!)) return;
            await new Promise((r) => setTimeout(r, 20));
          }
          send('SIGKILL');
        })();
        this.stopping.add(stopped);
      };
      j.signal.addEventListener('abort', kill, { once: true });
      // Each stream cut into lines on its own; a progress bar's carriage returns become partial lines.
      for (const stream of [child.stdout, child.stderr]) {
        const lines = new OutputLines(j.log);
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => lines.write(chunk));
        stream.on('end', () => lines.end());
      }
      child.on('error', (e) => reject(new StepFailure(`could not start '${cmd}': ${e.message}`)));
      child.on('close', (code, sig) => {
        j.signal.removeEventListener('abort', kill);
        if (code === 0) resolve();
        else reject(new StepFailure(sig ? `command killed by ${sig}` : `command exited with code ${code}`));
      });
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.threads?.close(), ...this.stopping]);
  }
}

/** Whether a process of group `pgid` is still there. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What a command step finds in its environment, wherever it runs: its params, inputs and outputs as JSON. */
export function commandEnv(j: Pick<StepJob, 'params' | 'inputs' | 'outputs'>): Record<string, string> {
  return { DWS_PARAMS: JSON.stringify(j.params ?? {}), DWS_INPUTS: JSON.stringify(j.inputs), DWS_OUTPUTS: JSON.stringify(j.outputs) };
}
