/**
 * The writes of a restore (restore-files.ts applyRestore): every new file created at its staged
 * path in the restore's temp folder, its object's hash checked as it is written. Creating a file
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
import { applyOne, runWriteJob, type ApplyJob, type ApplyJobResult, type ApplyOp, type WriteJob, type WriteJobResult } from './write-job.js';

/** Restores with fewer packed files than this are written by the calling thread. */
export const WRITE_INLINE_MAX = 1000;
/** Files per job handed to a thread: enough to make a message's cost small, few enough to spread the work. */
const WRITE_JOB_FILES = 256;
/** Jobs queued per thread, so that none waits for its next job. */
const IN_FLIGHT = 2;

/** One file to create: where (in the temp folder), and the tree entry it is made from. */
export interface StagedWrite {
  path: string;
  entry: StoreTreeEntry;
}

/**
 * Create every staged file. Links and large objects (files of their own, which the kernel copies:
 * ContentStore.copyObjectTo) are done in this thread; they are few. Throws CorruptObjectError for
 * an object whose bytes do not match its id, or an Error naming the file that could not be
 * written; either way only after every job has stopped, so the caller can remove the temp folder.
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

/** One change of a restore's last step (write-job.ts applyOne): `staged` is '' where there is none. */
export interface Change {
  op: ApplyOp;
  abs: string;
  staged: string;
}

/**
 * Make the changes, in order within each directory (a path removed before the same path is
 * written); by the hashing threads, a job holding whole directories, when there are
 * WRITE_INLINE_MAX or more. Throws the first failure once no job runs any more.
 */
export async function applyChanges(changes: Change[]): Promise<void> {
  const url = changes.length >= WRITE_INLINE_MAX ? hashWorkerUrl() : null;
  if (url === null) {
    for (const c of changes) applyOne(c.op, c.abs, c.staged);
    return;
  }
  const byDir = new Map<string, Change[]>();
  for (const c of changes) {
    const dir = c.abs.slice(0, c.abs.lastIndexOf('/'));
    const list = byDir.get(dir);
    if (list === undefined) byDir.set(dir, [c]);
    else list.push(c);
  }
  const jobs: ApplyJob[] = [];
  let ops: number[] = [];
  let paths: string[] = [];
  const flush = () => {
    jobs.push({ kind: 'apply', id: jobs.length, ops: Uint8Array.from(ops), paths: paths.join('\0') });
    ops = [];
    paths = [];
  };
  for (const list of byDir.values()) {
    for (const c of list) {
      ops.push(c.op);
      paths.push(c.abs, c.staged);
    }
    if (ops.length >= WRITE_JOB_FILES) flush();
  }
  if (ops.length > 0) flush();
  await runOnThreads(url, jobs, (r: ApplyJobResult) => {
    if (r.error !== undefined) throw new Error(r.error.message);
  });
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
function runOnThreads<R>(url: URL, jobs: (WriteJob | ApplyJob)[], finished: (r: R) => void): Promise<void> {
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
