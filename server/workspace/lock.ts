/**
 * The workspace lock: operations that change a workspace run one at a time, whether they come
 * from this process (server connections, the API) or another one (a `dws` CLI run). It is a file,
 * `.git/dws/lock` (never committed), holding who took it: pid, host, command and start time.
 *
 *   free --take (link, fails if it exists)--> held --release (unlink if still ours)--> free
 *   held by a dead pid on this host --> stale: taken over with a warning
 *
 * In one process, callers queue on a promise chain first, so only one of them polls the file;
 * a caller that already holds the lock (e.g. a run that snapshots) runs without waiting again.
 * Child processes of the holder (a run's command steps calling `dws`) share its lock: the holder
 * puts the lock's token in DWS_LOCK_TOKENS, which they inherit.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError } from '../../protocol/errors.js';
import type { Logger } from '../context.js';
import { held } from './lock-held.js';
import { findWorkspaceDir, localCacheDir } from './workspace.js';

export interface LockHolder {
  pid: number;
  hostname: string;
  command: string;
  started: string;
}

export interface LockOptions {
  log: Logger;
  /** How long to wait for another holder; undefined = as long as it takes (the server). */
  timeoutMs?: number | undefined;
  /** What the holder is doing, shown to whoever waits, e.g. `dws snapshot`. */
  command: string;
  /** What is locked, in messages; 'workspace' unless given. */
  what?: string;
  /**
   * The caller's abort signal, asked for only once it must wait (a server request's is made on
   * first use): aborted (Ctrl-C, SIGTERM, a cancelled request), the wait stops.
   */
  signal?: () => AbortSignal | undefined;
}

const POLL_MS = 50;
const queues = new Map<string, Promise<unknown>>();
/** Tokens of the locks this process holds (its callers that hold one know it through `held`). */
const taken = new Set<string>();

/** Run `fn` holding the lock file `lockFile` (its directory is created if needed). */
export async function withLock<T>(lockFile: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const mine = held.getStore();
  if (mine?.has(lockFile)) return fn();
  // Our parent holds it for us. A token this process took is in DWS_LOCK_TOKENS too (for its
  // children), but it is not ours to share: another server connection or API call waits for it.
  const token = readToken(lockFile);
  if (token !== null && !taken.has(token) && inheritedTokens().includes(token)) return fn();
  const previous = queues.get(lockFile) ?? Promise.resolve();
  const turn = previous.then(async () => {
    const token = await acquire(lockFile, options);
    taken.add(token);
    setInheritedTokens([...inheritedTokens(), token]);
    try {
      return await held.run(new Set([...(mine ?? []), lockFile]), fn);
    } finally {
      setInheritedTokens(inheritedTokens().filter((t) => t !== token));
      release(lockFile, token);
      taken.delete(token);
    }
  });
  const settled = turn.catch(() => undefined);
  queues.set(lockFile, settled);
  void settled.then(() => {
    if (queues.get(lockFile) === settled) queues.delete(lockFile);
  });
  return turn;
}

/** Take the lock file, waiting while another live process holds it; returns our unique token. */
async function acquire(lockFile: string, o: LockOptions): Promise<string> {
  mkdirSync(join(lockFile, '..'), { recursive: true });
  const token = randomBytes(8).toString('hex');
  const me: LockHolder & { token: string } = { pid: process.pid, hostname: hostname(), command: o.command, started: new Date().toISOString(), token };
  const deadline = o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs;
  let announced = false;
  for (;;) {
    // Written aside and linked into place: the lock file never exists without its content.
    const tmp = `${lockFile}.${token}`;
    writeFileSync(tmp, `${JSON.stringify(me)}\n`);
    try {
      linkSync(tmp, lockFile);
      return token;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
    const holder = readHolder(lockFile);
    if (holder === null) continue; // released in between
    if (holder.hostname === me.hostname && !processAlive(holder.pid)) {
      o.log.warn(`Taking over a stale ${o.what ?? 'workspace'} lock left by pid ${holder.pid} (${holder.command}) since ${holder.started}: that process is gone`);
      // Moved aside first, so two processes taking over at once cannot delete each other's new lock.
      const aside = `${lockFile}.stale-${token}`;
      try {
        renameSync(lockFile, aside);
        rmSync(aside, { force: true });
      } catch {
        // someone else took it over first
      }
      continue;
    }
    const who = `pid ${holder.pid}${holder.hostname !== me.hostname ? ` on ${holder.hostname}` : ''} (${holder.command}) since ${holder.started}`;
    if (Date.now() >= deadline) {
      throw new ConflictError(
        `The ${o.what ?? 'workspace'} is locked by ${who}; gave up after ${o.timeoutMs} ms. Wait for that command to finish and try again (--lock-timeout MS waits longer). If that process is gone, remove ${lockFile}.`,
        { lockFile, holder },
      );
    }
    if (!announced) o.log.warn(`waiting for the ${o.what ?? 'workspace'} lock held by ${who}`);
    announced = true;
    o.signal?.()?.throwIfAborted();
    await sleep(POLL_MS);
  }
}

function release(lockFile: string, token: string): void {
  if (readToken(lockFile) === token) rmSync(lockFile, { force: true });
}

function readToken(lockFile: string): string | null {
  try {
    return (JSON.parse(readFileSync(lockFile, 'utf8')) as { token?: string }).token ?? null;
  } catch {
    return null; // no lock, or not one of ours
  }
}

/** Tokens of the locks this process or its parents hold (env, so child processes inherit them). */
function inheritedTokens(): string[] {
  return (process.env.DWS_LOCK_TOKENS ?? '').split(':').filter((t) => t !== '');
}

function setInheritedTokens(tokens: string[]): void {
  if (tokens.length > 0) process.env.DWS_LOCK_TOKENS = tokens.join(':');
  else delete process.env.DWS_LOCK_TOKENS;
}

function readHolder(lockFile: string): LockHolder | null {
  let text: string;
  try {
    text = readFileSync(lockFile, 'utf8');
  } catch {
    return null;
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    return { pid: Number(h.pid), hostname: String(h.hostname ?? hostname()), command: String(h.command ?? 'unknown command'), started: String(h.started ?? 'an unknown time') };
  } catch {
    // Not ours or damaged: treat as held by nobody alive we can name, so it is taken over.
    return { pid: -1, hostname: hostname(), command: 'unreadable lock file', started: 'an unknown time' };
  }
}

/** Whether process `pid` of this machine is running. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** The lock file of the workspace a call works on (`workspaceDir`, else the one enclosing `cwd`); null without one or without a git directory. */
export function workspaceLockFile(cwd: string, workspaceDir: unknown): string | null {
  const dir = typeof workspaceDir === 'string' ? resolve(cwd, workspaceDir) : findWorkspaceDir(cwd);
  const cache = dir === null ? null : localCacheDir({ dir });
  return cache === null ? null : join(cache, 'lock');
}
