/**
 * The writes of a restore (restore-files.ts applyRestore): every new file created at its staged
 * path beside its place, its object's hash checked as it is written. Creating a file
 * costs far more than reading a small object (~0.4 ms of mostly kernel time here, PERF-NOTES.md),
 * so restores of WRITE_INLINE_MAX packed files or more are written by the hashing worker threads
 * in jobs of WRITE_JOB_FILES files (write-job.ts); smaller ones in this thread, where starting
 * threads would cost more than it saves. Objects are read in pack order either way.
 */
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { DEFAULT_HASH_THREADS, giveBackHashThread, hashWorkerUrl, takeHashThreads } from '../resources/hashtree/threads.js';
import { CorruptObjectError, type ContentStore, type ObjectLocation } from './store.js';
import { MODE_EXEC, MODE_LINK, type StoreTreeEntry } from './trees.js';
import { runWriteJob, type WriteJob, type WriteJobResult } from './write-job.js';
import { applyOne, INLINE, THREADED, type Change, type ChangeJob, type ChangeJobResult } from './change-job.js';

/** Restores with fewer packed files than this are written by the calling thread. */
export const WRITE_INLINE_MAX = 1000;
/** Files per job handed to a thread: enough to make a message's cost small, few enough to spread the work. */
const WRITE_JOB_FILES = 256;
/** Jobs queued per thread, so that none waits for its next job. */
const IN_FLIGHT = 2;
/** Changes in fewer than this are made through libuv's threads even when quick (applyChanges). */
const CHANGE_THREADS_MIN = 256;
/** Changes per job handed to a thread (whole directories: a job may hold more). */
const CHANGE_JOB_CHANGES = 256;
/** Changes under way through libuv's threads at once. */
const APPLY_IN_FLIGHT = 16;

/** One file to create: where (its staged path), and the tree entry it is made from. */
export interface StagedWrite {
  path: string;
  entry: StoreTreeEntry;
}

/**
 * Create every staged file. Links and large objects (files of their own, which the kernel copies:
 * ContentStore.copyObjectTo) are done in this thread; they are few. Throws CorruptObjectError for
 * an object whose bytes do not match its id, or an Error naming the file that could not be
 * written; either way only after every job has stopped, so the caller can remove what was staged.
 * Every object must be in a visible pack or file of its own (call store.commit() first).
 */
export async function writeFiles(store: ContentStore, writes: StagedWrite[], onProgress?: (done: number, total: number) => void): Promise<void> {
  const files: { path: string; id: string; exec: boolean; loc: ObjectLocation }[] = [];
  for (const w of writes) {
    if (w.entry.mode === MODE_LINK) {
      symlinkSync(store.read(w.entry.id).toString('utf8'), w.path);
      continue;
    }
    const loc = store.locate(w.entry.id);
    if (loc === undefined) throw new Error(`Object ${w.entry.id} is not in the content store at ${store.dir}`);
    if (loc.pack < 0) await store.copyObjectTo(w.entry.id, w.path, w.entry.mode === MODE_EXEC ? 0o777 : 0o666, 'wx', loc);
    else files.push({ path: w.path, id: w.entry.id, exec: w.entry.mode === MODE_EXEC, loc });
  }
  files.sort((a, b) => a.loc.pack - b.loc.pack || a.loc.offset - b.loc.offset);
  const jobs: WriteJob[] = [];
  for (let start = 0; start < files.length; start += WRITE_JOB_FILES) jobs.push(writeJob(store, jobs.length, files.slice(start, start + WRITE_JOB_FILES)));

  const total = writes.length;
  let done = writes.length - files.length;
  const finished = (r: WriteJobResult) => {
    if (r.error !== undefined) throw jobError(r.error);
    done += r.written;
    onProgress?.(done, total);
  };
  const url = files.length >= WRITE_INLINE_MAX ? hashWorkerUrl() : null;
  if (url === null) for (const job of jobs) finished(runWriteJob(job));
  else await runOnThreads(url, jobs, finished);
}

/**
 * Make a restore's changes (change-job.ts), in order within each directory (a path removed before
 * the same path is written), directories side by side. Throws the first failure once no change
 * is under way. Unlinking a file or renaming over one is mostly waiting here (its blocks are
 * discarded synchronously on this machine kind's file system: ~150 µs each), so such changes are
 * made APPLY_IN_FLIGHT at a time through libuv's threads: 2,000 changes took 0.6-0.9 s in two
 * threads one at a time, 0.3 s so. `quick`: the files removed or replaced are set aside in a
 * trash instead (no waiting: ~15-40 µs of kernel time each), and many such changes are made by
 * the hashing threads in jobs of whole directories, as the writes are, without a promise per call.
 */
export async function applyChanges(changes: Change[], quick = false): Promise<void> {
  if (changes.length === 1) return applyOne(changes[0]!, INLINE); // a run-cache restore's one rename: the thread hop costs more
  const byDir = new Map<string, Change[]>();
  for (const c of changes) {
    const dir = c.abs.slice(0, c.abs.lastIndexOf('/'));
    const list = byDir.get(dir);
    if (list === undefined) byDir.set(dir, [c]);
    else list.push(c);
  }
  const dirs = [...byDir.values()];
  const url = quick && changes.length >= CHANGE_THREADS_MIN ? hashWorkerUrl() : null;
  if (url !== null) {
    const jobs: ChangeJob[] = [];
    for (const list of dirs) {
      const last = jobs.at(-1);
      if (last === undefined || last.changes.length >= CHANGE_JOB_CHANGES) jobs.push({ kind: 'change', id: jobs.length, changes: [...list] });
      else last.changes.push(...list);
    }
    return runOnThreads(url, jobs, (r: ChangeJobResult) => {
      if (r.error !== undefined) throw new Error(r.error);
    });
  }
  let next = 0;
  let failure: unknown = null;
  const lane = async () => {
    while (failure === null && next < dirs.length) {
      for (const c of dirs[next++]!) await applyOne(c, THREADED);
    }
  };
  const lanes = Array.from({ length: Math.min(APPLY_IN_FLIGHT, dirs.length) }, () => lane().catch((e: unknown) => void (failure ??= e)));
  await Promise.all(lanes);
  if (failure !== null) throw failure;
}

/** A job's plain data: the packs are named per job (pack numbers are this thread's). */
function writeJob(store: ContentStore, id: number, files: { path: string; id: string; exec: boolean; loc: ObjectLocation }[]): WriteJob {
  const n = files.length;
  const job: WriteJob = { kind: 'write', id, paths: '', ids: '', packs: new Int32Array(n), offsets: new Float64Array(n), lengths: new Float64Array(n), exec: new Uint8Array(n), sources: [] };
  const sourceOf = new Map<number, number>();
  const paths: string[] = [];
  const ids: string[] = [];
  files.forEach((f, i) => {
    paths.push(f.path);
    ids.push(f.id);
    job.exec[i] = f.exec ? 1 : 0;
    let s = sourceOf.get(f.loc.pack);
    if (s === undefined) {
      sourceOf.set(f.loc.pack, (s = job.sources.length));
      job.sources.push(join(store.packDir, `${store.packIndexes[f.loc.pack]!.name}.pack`));
    }
    job.packs[i] = s;
    job.offsets[i] = f.loc.offset;
    job.lengths[i] = f.loc.length;
  });
  job.paths = paths.join('\0');
  job.ids = ids.join('');
  return job;
}

function jobError(e: NonNullable<WriteJobResult['error']>): Error {
  return e.corrupt !== undefined ? new CorruptObjectError(e.corrupt.id, e.corrupt.where) : new Error(e.message);
}

/** Run the jobs on the hashing threads; settles once no job is running any more. */
function runOnThreads<J, R>(url: URL, jobs: J[], finished: (r: R) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const slots: { worker: Worker; inFlight: number }[] = [];
    let next = 0;
    let error: Error | null = null;
    let settled = false;
    const settle = () => {
      if (settled || slots.some((s) => s.inFlight > 0)) return;
      settled = true;
      for (const s of slots) giveBackHashThread(s.worker, error === null);
      if (error !== null) reject(error);
      else resolve();
    };
    const fail = (e: Error) => {
      error ??= e;
      settle();
    };
    const pump = () => {
      for (const slot of slots) {
        while (error === null && slot.inFlight < IN_FLIGHT && next < jobs.length) {
          const job = jobs[next++]!;
          slot.inFlight++;
          slot.worker.postMessage(job);
        }
      }
      settle();
    };
    for (const worker of takeHashThreads(url, Math.min(DEFAULT_HASH_THREADS, jobs.length))) {
      const slot = { worker, inFlight: 0 };
      slots.push(slot);
      worker.on('message', (r: R) => {
        slot.inFlight--;
        if (error !== null) return settle();
        try {
          finished(r);
        } catch (e) {
          return fail(e as Error);
        }
        pump();
      });
      // A thread that dies answers nothing more: its jobs count as ended.
      worker.on('error', (e) => {
        slot.inFlight = 0;
        fail(new Error(`Restore writing thread failed: ${e instanceof Error ? e.message : String(e)}`));
      });
      worker.on('exit', (code) => {
        slot.inFlight = 0;
        fail(new Error(`Restore writing thread stopped unexpectedly (exit code ${code})`));
      });
    }
    pump();
  });
}
