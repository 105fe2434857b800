/**
 * The hashing worker threads of this process. A thread takes 30-100 ms of CPU to start, so threads
 * are kept between hash-tree runs (idle ones never keep the process alive), and the CLI starts
 * them ahead for a `dws snapshot` or `restore` of a workspace with a large tree while it is still
 * loading its own code (clients/cli/bin.ts).
 * Kept small and free of other imports but node's: bin.ts loads it before anything else.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { bundledFile, WORKER_EXEC_ARGV } from '../../bundled.js';

/** Threads for one run unless told otherwise: one per core, at most 4. */
export const DEFAULT_HASH_THREADS = Math.min(availableParallelism(), 4);

/** A stat cache of this many files marks a large tree: its listing is done by the threads ahead of the walk (index.ts). */
export const LIST_AHEAD_MIN_FILES = 5000;

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

/**
 * Whether the workspace at or above `start` has a stat cache of a large tree (stat-cache.ts: its
 * header's entry count), the sign that a snapshot or restore there is worth threads started
 * ahead. Small workspaces are hashed and restored on the main thread, and threads started for
 * nothing cost more CPU than the whole command's work; a first snapshot starts them once it
 * finds enough files to hash.
 */
export function knowsLargeTree(start: string): boolean {
  let dir = resolve(start);
  for (; !isDir(join(dir, '.dataworkspace')); dir = dirname(dir)) if (dir === dirname(dir)) return false;
  const caches = join(dir, '.git', 'dws', 'hashcache'); // a worktree's (.git a file) is not looked for
  let names: string[];
  try {
    names = readdirSync(caches);
  } catch {
    return false;
  }
  const header = Buffer.alloc(16);
  return names.some((name) => {
    let fd = -1;
    try {
      fd = openSync(join(caches, name), 'r');
      if (fstatSync(fd).size < 16 || readSync(fd, header, 0, 16, 0) < 16 || header.toString('latin1', 0, 6) !== 'DWSHTC') return false;
      // The byte-order mark at 8 says how the count at 12 was written.
      const le = header.readUInt32LE(8) === 0x01020304;
      return (le ? header.readUInt32LE(12) : header.readUInt32BE(12)) >= LIST_AHEAD_MIN_FILES;
    } catch {
      return false;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  });
}

function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
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
