/**
 * The hashing worker threads of this process. A thread takes 30-100 ms of CPU to start, so threads
 * are kept between hash-tree runs (idle ones never keep the process alive), and the CLI starts
 * them ahead for a `dws snapshot` or `restore` of a workspace with a large tree while it is still
 * loading its own code (clients/cli/bin.ts, stat-cache.ts knowsLargeTree).
 * Kept small and free of other imports: bin.ts loads it before anything else.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { bundledFile, WORKER_EXEC_ARGV } from '../../bundled.js';

/** Threads for one run unless told otherwise: one per core, at most 4. */
export const DEFAULT_HASH_THREADS = Math.min(availableParallelism(), 4);

const idle: Worker[] = [];

/** The bundled worker (dist/hash-worker.js); null when running from source. */
export function hashWorkerUrl(): URL | null {
  return bundledFile('hash-worker.js');
}

function park(worker: Worker): void {
  worker.removeAllListeners();
  // A thread that dies while idle is simply forgotten.
  worker.once('exit', () => {
    const i = idle.indexOf(worker);
    if (i >= 0) idle.splice(i, 1);
  });
  worker.on('error', () => {});
  worker.unref();
  idle.push(worker);
}

/** Start threads now, to be taken later; does nothing where there is no bundled worker. */
export function prestartHashThreads(count = DEFAULT_HASH_THREADS): void {
  const url = hashWorkerUrl();
  if (url === null) return;
  while (idle.length < count) park(new Worker(url, { execArgv: WORKER_EXEC_ARGV }));
}

/** `count` threads for a run, idle ones first; they keep the process alive until given back. */
export function takeHashThreads(url: URL, count: number): Worker[] {
  const taken = idle.splice(0, count);
  while (taken.length < count) taken.push(new Worker(url, { execArgv: WORKER_EXEC_ARGV }));
  for (const w of taken) {
    w.removeAllListeners();
    w.ref();
  }
  return taken;
}

/** Give back a thread that finished its jobs; a thread that failed is stopped instead. */
export function giveBackHashThread(worker: Worker, healthy: boolean): void {
  if (healthy) park(worker);
  else {
    worker.unref();
    void worker.terminate();
  }
}
