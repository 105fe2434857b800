/**
 * The changes a restore makes once every new file is written and checked, one path each
 * (write-files.ts applyChanges hands them out: through libuv's threads, or as jobs to the hashing
 * worker threads when there are many). Kept free of the store's own module, which the worker
 * bundle does not need.
 */
import { chmodSync, linkSync, lstatSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { chmod, link, lstat, rename, rm, unlink } from 'node:fs/promises';
import { faultPoint } from '../workspace/fault.js';

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

/** Changes for a thread: whole directories, each in order. */
export interface ChangeJob {
  kind: 'change';
  id: number;
  changes: Change[];
}

export interface ChangeJobResult {
  kind: 'change';
  id: number;
  /** The first failure; the changes after it are not made. */
  error?: string;
}

/** A thread's part: make the job's changes in order, on this thread. */
export async function runChangeJob(job: ChangeJob): Promise<ChangeJobResult> {
  try {
    for (const c of job.changes) await applyOne(c, INLINE);
    return { kind: 'change', id: job.id };
  } catch (e) {
    return { kind: 'change', id: job.id, error: e instanceof Error ? e.message : String(e) };
  }
}

/** The file calls applyOne makes: in libuv's threads, or on this thread. */
export interface FileCalls {
  link(from: string, to: string): Promise<void>;
  unlink(p: string): Promise<void>;
  rm(p: string, o: { recursive?: boolean; force?: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  lstat(p: string): Promise<{ mode: number; isDirectory(): boolean }>;
  chmod(p: string, mode: number): Promise<void>;
}
export const THREADED: FileCalls = { link, unlink, rm, rename, lstat, chmod };
export const INLINE: FileCalls = {
  link: async (from, to) => linkSync(from, to),
  unlink: async (p) => unlinkSync(p),
  rm: async (p, o) => rmSync(p, o),
  rename: async (from, to) => renameSync(from, to),
  lstat: async (p) => lstatSync(p),
  chmod: async (p, mode) => chmodSync(p, mode),
};

export async function applyOne({ op, abs, staged, aside }: Change, { link, unlink, rm, rename, lstat, chmod }: FileCalls): Promise<void> {
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
