/**
 * Step files' run() in worker threads (runner/step-worker.ts), so that independent CPU-bound
 * steps really run at the same time. Up to `jobs` workers, started when a step first needs one
 * and reused by later steps; each step's bundled module is written to a temporary directory of
 * the run (removed by close()). The main thread keeps the DAG, the run cache, lineage and
 * events: a worker only runs the step, sending its log lines and results.write calls back here.
 *
 * An interrupted step gets an abort message (its signal fires); one that has not returned after
 * ABORT_GRACE_MS is terminated. Without a bundled step-worker.js (running from the TypeScript
 * source, e.g. engine tests under vitest) there is no pool and steps run in the calling thread.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { bundledFile, WORKER_EXEC_ARGV } from '../server/bundled.js';
import { OutputLines } from './output-lines.js';
import { errorText, StepFailure, type FromWorker, type StepRunData, type ToWorker } from './step-thread-protocol.js';
import type { StepWork } from './types.js';

/** How long an interrupted step may take to stop before its thread is terminated. */
const ABORT_GRACE_MS = 1000;

/** A step to run in a thread: its plain data, and the functions that stay on this side. */
export interface ThreadRun extends StepRunData {
  writeResults: (metrics: Record<string, unknown>) => Promise<string>;
  log: (message: string, partial?: boolean) => void;
  signal: AbortSignal;
}

interface Slot {
  worker: Worker;
  /** The running step's message handler; null when idle. */
  busy: Promise<void> | null;
  /**
   * Where the thread's console output goes: the step running, or the last one that ran (its
   * output may arrive just after its `done` message: the two travel on different ports).
   */
  output: (line: string, partial: boolean) => void;
}

type ModuleWork = Extract<StepWork, { type: 'module' }>;

export class StepThreads {
  private readonly slots: Slot[] = [];
  private readonly modules = new Map<Uint8Array, string>();
  private dir: string | null = null;
  private ids = 0;

  private constructor(
    private readonly url: URL,
    private readonly size: number,
  ) {}

  /**
   * A pool of up to `jobs` workers, `start` of them started now (they warm up while the main
   * thread checks and records); null when no bundled worker exists (run steps in this thread).
   */
  static create(jobs: number, start: number): StepThreads | null {
    const url = bundledFile('step-worker.js');
    if (!url) return null;
    const pool = new StepThreads(url, Math.max(1, jobs));
    for (let i = 0; i < Math.min(start, pool.size); i++) pool.spawn();
    return pool;
  }

  /** Run one step in an idle (or new) worker; rejects with the step's failure. */
  run(bundle: NonNullable<ModuleWork['bundle']>, r: ThreadRun): Promise<void> {
    const slot = this.slots.find((s) => s.busy === null) ?? this.spawn();
    const id = ++this.ids;
    const msg: ToWorker = {
      type: 'run',
      id,
      moduleUrl: this.moduleUrl(bundle),
      exportName: bundle.exportName,
      stepName: r.stepName,
      params: r.params,
      inputs: r.inputs,
      outputs: r.outputs,
      workspaceDir: r.workspaceDir,
      hasResults: r.hasResults,
    };
    const w = slot.worker;
    slot.output = (line, partial) => r.log(line, partial);
    const consoleLines = new OutputLines((line, partial) => r.log(line, partial));
    const busy = new Promise<void>((resolve, reject) => {
      let grace: NodeJS.Timeout | undefined;
      const finish = (e?: Error) => {
        consoleLines.end();
        clearTimeout(grace);
        r.signal.removeEventListener('abort', onAbort);
        w.off('message', onMessage).off('error', onError).off('exit', onExit);
        slot.busy = null;
        if (e) reject(e);
        else resolve();
      };
      const onAbort = () => {
        w.postMessage({ type: 'abort', id } satisfies ToWorker);
        grace = setTimeout(() => {
          this.drop(slot);
          finish(new StepFailure('interrupted'));
        }, ABORT_GRACE_MS);
      };
      const onMessage = (m: FromWorker) => {
        if (m.id !== id) return;
        if (m.type === 'log') r.log(m.message);
        else if (m.type === 'output') consoleLines.write(m.text);
        else if (m.type === 'results') {
          r.writeResults(m.metrics).then(
            (file) => w.postMessage({ type: 'results-done', call: m.call, file } satisfies ToWorker),
            (e: unknown) => w.postMessage({ type: 'results-failed', call: m.call, message: errorText(e) } satisfies ToWorker),
          );
        } else if (m.type === 'done') finish();
        else {
          const e = new StepFailure(m.message);
          if (m.stack !== undefined) e.stack = m.stack;
          finish(e);
        }
      };
      // An error nobody caught inside the worker (e.g. an unhandled rejection of the step) ends the thread.
      const onError = (e: Error) => {
        this.drop(slot);
        finish(new StepFailure(errorText(e)));
      };
      const onExit = (code: number) => {
        this.drop(slot);
        finish(new StepFailure(`it called process.exit(${code}) before finishing: a step must return (or throw); this ended only its own thread`));
      };
      w.on('message', onMessage).on('error', onError).on('exit', onExit);
      r.signal.addEventListener('abort', onAbort, { once: true });
      w.postMessage(msg);
    });
    slot.busy = busy;
    return busy;
  }

  /** Stop every worker (a running, interrupted step gets its grace period) and remove the modules written. */
  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.busy?.catch(() => {})));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
  }

  private spawn(): Slot {
    if (this.slots.length >= this.size) throw new Error(`step-threads: more than ${this.size} steps at once`);
    // stdout/stderr: the thread's console is captured (never the process's own stdout, which
    // may carry JSON-RPC or --json output) and becomes the step's log lines.
    const worker = new Worker(this.url, { execArgv: WORKER_EXEC_ARGV, stdout: true, stderr: true });
    const slot: Slot = { worker, busy: null, output: () => {} };
    for (const stream of [worker.stdout, worker.stderr]) {
      const lines = new OutputLines((line, partial) => slot.output(line, partial));
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => lines.write(chunk));
      stream.on('end', () => lines.end());
    }
    this.slots.push(slot);
    return slot;
  }

  private drop(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.worker.terminate();
  }

  /** The step file's bundle as a module file of this run (one per step file). */
  private moduleUrl(bundle: NonNullable<ModuleWork['bundle']>): string {
    let file = this.modules.get(bundle.code);
    if (file === undefined) {
      this.dir ??= mkdtempSync(join(tmpdir(), 'dws-steps-'));
      file = join(this.dir, `${this.modules.size}-${basename(bundle.file).replace(/\.[^.]+$/, '')}.mjs`);
      writeFileSync(file, bundle.code);
      this.modules.set(bundle.code, file);
    }
    return pathToFileURL(file).href;
  }
}
