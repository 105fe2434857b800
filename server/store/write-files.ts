/**
 * The writes of a restore (restore-files.ts applyRestore): every new file created at its staged
 * path beside its place, its object's hash checked as it is written. Creating a file
 * costs far more than reading a small object (~0.4 ms of mostly kernel time here, PERF-NOTES.md),
 * so restores of WRITE_INLINE_MAX packed files or more are written by the hashing worker threads
 * in jobs of WRITE_JOB_FILES files (write-job.ts); smaller ones in this thread, where starting
 * threads would cost more than it saves. Objects are read in pack order either way.
 */
import { chmodSync, linkSync, lstatSync, renameSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { chmod, link, lstat, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { DEFAULT_HASH_THREADS, giveBackHashThread, hashWorkerUrl, takeHashThreads } from '../resources/hashtree/threads.js';
import { CorruptObjectError, type ContentStore, type ObjectLocation } from './store.js';
import { MODE_EXEC, MODE_LINK, type StoreTreeEntry } from './trees.js';
import { runWriteJob, type WriteJob, type WriteJobResult } from './write-job.js';
import { faultPoint } from '../workspace/fault.js';

/** Restores with fewer packed files than this are written by the calling thread. */
export const WRITE_INLINE_MAX = 1000;
/** Files per job handed to a thread: enough to make a message's cost small, few enough to spread the work. */
const WRITE_JOB_FILES = 256;
/** Jobs queued per thread, so that none waits for its next job. */
const IN_FLIGHT = 2;

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
 * The changes a restore makes once every new file is written and checked, one path each. What
 * the kernel does for a rename over a file or an unlink here is mostly waiting (the freed blocks
 * are discarded synchronously on this machine kind's file system: ~150 µs each), so the files
 * replaced or removed are set aside in a trash (trash.ts) where one is given, and the changes are
 * made APPLY_IN_FLIGHT at a time through libuv's threads: 2,000 changes took 0.6-0.9 s in two
 * threads one at a time, 0.3 s so.
 */
export type ApplyOp = 'remove' | 'removeDir' | 'mkdir' | 'chmodExec' | 'chmodPlain' | 'write';

/**
 * One change: `abs` the path in the resource, `staged` the new file or folder written beside it
 * ('' for none), `aside` a free path in a trash for what is at `abs` now (a file removed or
 * replaced), set aside there as `replace` says (Trash.replace).
 */
export interface Change {
  op: ApplyOp;
  abs: string;
  staged: string;
  aside?: { path: string; replace: 'link' | 'move' };
}

const APPLY_IN_FLIGHT = 16;

/**
 * Make the changes, in order within each directory (a path removed before the same path is
 * written), directories side by side. Throws the first failure once no change is under way.
 */
export async function applyChanges(changes: Change[]): Promise<void> {
  if (changes.length === 1) return applyOne(changes[0]!, INLINE); // a run-cache restore's one rename: the thread hop costs more
  const byDir = new Map<string, Change[]>();
  for (const c of changes) {
    const dir = c.abs.slice(0, c.abs.lastIndexOf('/'));
    const list = byDir.get(dir);
    if (list === undefined) byDir.set(dir, [c]);
    else list.push(c);
  }
  const dirs = [...byDir.values()];
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

/** The file calls applyOne makes: in libuv's threads, or on this thread. */
interface FileCalls {
  link(from: string, to: string): Promise<void>;
  unlink(p: string): Promise<void>;
  rm(p: string, o: { recursive?: boolean; force?: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  lstat(p: string): Promise<{ mode: number; isDirectory(): boolean }>;
  chmod(p: string, mode: number): Promise<void>;
}
const THREADED: FileCalls = { link, unlink, rm, rename, lstat, chmod };
const INLINE: FileCalls = {
  link: async (from, to) => linkSync(from, to),
  unlink: async (p) => unlinkSync(p),
  rm: async (p, o) => rmSync(p, o),
  rename: async (from, to) => renameSync(from, to),
  lstat: async (p) => lstatSync(p),
  chmod: async (p, mode) => chmodSync(p, mode),
};

async function applyOne({ op, abs, staged, aside }: Change, { link, unlink, rm, rename, lstat, chmod }: FileCalls): Promise<void> {
  // Setting aside may fail (the trash on another filesystem, nothing there): then the removal or
  // replacement frees the blocks itself.
  const setAside = (how: 'link' | 'move') => (how === 'link' ? link(abs, aside!.path) : rename(abs, aside!.path)).then(() => true, () => false);
  switch (op) {
    case 'remove':
      if (aside !== undefined && (await setAside('move'))) break;
      // unlink, not rm: rm asks lstat first
      await unlink(abs).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      break;
    case 'removeDir':
      if (aside !== undefined && (await setAside('move'))) break;
      await rm(abs, { recursive: true, force: true });
      break;
    case 'mkdir':
      if (!(await isDir(abs, lstat))) await rm(abs, { force: true });
      await rename(staged, abs);
      break;
    case 'chmodExec':
    case 'chmodPlain': {
      // exec bits where the file is readable, as git does
      const m = (await lstat(abs)).mode & 0o777;
      await chmod(abs, op === 'chmodExec' ? m | ((m & 0o444) >> 2) : m & ~0o111);
      break;
    }
    case 'write':
      if (aside !== undefined) await setAside(aside.replace);
      try {
        await rename(staged, abs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EISDIR' || !(await isDir(abs, lstat))) throw e;
        await rm(abs, { recursive: true, force: true }); // a directory that became a file
        await rename(staged, abs);
      }
      faultPoint('restore.files-rename-partial');
      break;
  }
}

async function isDir(p: string, lstat: FileCalls['lstat']): Promise<boolean> {
  try {
    return (await lstat(p)).isDirectory();
  } catch {
    return false;
  }
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
function runOnThreads<R>(url: URL, jobs: WriteJob[], finished: (r: R) => void): Promise<void> {
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
