/**
 * The git runner: every git call of dws goes through here (spec README §4.4: the real git
 * executable, never a re-implementation). Calls are logged with --verbose as
 * `<argv> [run in <cwd>]`, and failures become SubprocessError naming the command.
 */
import { execFile } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { SubprocessError } from '../../protocol/errors.js';
import type { Context } from '../context.js';
import { holdingAnyLock } from './lock-held.js';

/** git add / commit of many files ran 3-5x faster with these (PERF-NOTES). */
const BULK_ENV = { MALLOC_TOP_PAD_: '33554432', MALLOC_TRIM_THRESHOLD_: '67108864' };

/**
 * We call git with execFile rather than simple-git: simple-git waits 50 ms after every git call
 * that prints nothing (its completion detection), which made a snapshot's 6-15 calls cost
 * 56 ms each instead of 4-9 ms, and it refuses the user's own EDITOR, PAGER, GIT_SSH_COMMAND...
 */
export class Git {
  constructor(
    readonly cwd: string,
    private readonly ctx: Pick<Context, 'log' | 'env'>,
  ) {}

  /**
   * Run git with `args`; resolves to stdout. A non-zero exit is a SubprocessError. A git lock
   * file left by a killed git (issue 13 item 7) is removed and the command run once more when
   * that is safe: this dws holds the workspace lock (no other dws command is running) and no git
   * process is working in the repository; otherwise the error names the file and what to do.
   */
  async run(args: string[], options: { bulk?: boolean } = {}): Promise<string> {
    try {
      return await this.runOnce(args, options);
    } catch (e) {
      const lock = e instanceof SubprocessError ? lockFileOf(String(e.data.stderr ?? '')) : null;
      if (lock === null || !holdingAnyLock()) throw e;
      const live = lockHolders(lock, this.cwd);
      if (live === null || live.length > 0) throw e;
      this.ctx.log.warn(`Removed ${lock}: a git lock file left by a git that was killed (no git process is running in ${this.cwd}, and this dws holds the workspace lock)`);
      rmSync(lock, { force: true });
      return this.runOnce(args, options);
    }
  }

  private runOnce(args: string[], options: { bulk?: boolean }): Promise<string> {
    this.ctx.log.debug(`git ${args.join(' ')} [run in ${this.cwd}]`);
    const env = { ...this.ctx.env, ...(options.bulk ? BULK_ENV : {}), LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' };
    return new Promise((resolve, reject) => {
      execFile('git', args, { cwd: this.cwd, env, maxBuffer: 1 << 30, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (stdout) this.ctx.log.debug(stdout.replaceAll('\0', '\n').trimEnd());
        if (!error) return resolve(stdout);
        const exitCode = typeof error.code === 'number' ? error.code : null;
        const lock = lockFileOf(stderr);
        const detail = (stderr.trim() || stdout.trim() || error.message) + (lock ? ` ${staleLockAdvice(lock, this.cwd)}` : '');
        reject(
          new SubprocessError(`git ${args.join(' ')} failed in ${this.cwd}: ${detail}`, {
            command: ['git', ...args],
            cwd: this.cwd,
            stderr,
            exitCode,
          }),
        );
      });
    });
  }

  /** Like run, but a failure is an answer (false), not an error. */
  async succeeds(args: string[]): Promise<boolean> {
    try {
      await this.run(args);
      return true;
    } catch (e) {
      if (e instanceof SubprocessError) return false;
      throw e;
    }
  }

  async headCommit(): Promise<string> {
    return (await this.run(['rev-parse', 'HEAD'])).trim();
  }

  /** The commit `branch` points to on `remote`, or null when it has no such branch; an unreachable remote is a SubprocessError. */
  async remoteHead(remote: string, branch: string): Promise<string | null> {
    const out = await this.run(['ls-remote', '--quiet', remote, `refs/heads/${branch}`]);
    return out.split('\t')[0]!.trim() || null;
  }

  async currentBranch(): Promise<string> {
    return (await this.run(['symbolic-ref', '--short', 'HEAD'])).trim();
  }

  /**
   * Changed paths (porcelain v1, NUL-separated so names are never quoted), optionally limited
   * to a directory. Untracked files are listed individually, or (`untracked: 'normal'`) an
   * untracked directory as one entry `dir/`, which is cheaper when it holds much data.
   */
  async status(pathspec?: string, untracked: 'all' | 'normal' = 'all'): Promise<StatusEntry[]> {
    const args = ['status', '--porcelain', '-z', `--untracked-files=${untracked}`];
    if (pathspec !== undefined) args.push('--', pathspec);
    const out = await this.run(args);
    const entries: StatusEntry[] = [];
    const parts = out.split('\0');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.length < 4) continue;
      const entry: StatusEntry = { index: p[0]!, worktree: p[1]!, path: p.slice(3) };
      // A rename or copy is followed by its source path.
      if (entry.index === 'R' || entry.index === 'C') entry.from = parts[++i];
      entries.push(entry);
    }
    return entries;
  }

  async isDirty(pathspec?: string): Promise<boolean> {
    return (await this.status(pathspec)).length > 0;
  }

  /**
   * Stage every change (new, modified, deleted) below `pathspecs` and commit it; `only`
   * restricts the commit to those paths even if other paths are staged (dws 1.6's
   * `commit --only <subdir>/`). There is deliberately no default: in the workspace repository a
   * dws commit takes only what dws owns (Workspace.ownedPaths), never the work tree, which can
   * hold a resource's data; only a repository that is wholly the user's (a separate git
   * resource) passes '.'. A path that neither exists nor is tracked is left out (git would
   * refuse the whole command for it). Returns false when there was nothing to commit.
   */
  async commitAll(message: string, pathspecs: string | string[], options: { only?: boolean; changed?: boolean } = {}): Promise<boolean> {
    const specs = await this.stageAll(typeof pathspecs === 'string' ? [pathspecs] : pathspecs);
    if (specs.length === 0) return false;
    // `changed`: the caller has just written files there, so skip asking git.
    if (!options.changed && !(await this.hasStaged(specs))) return false;
    await this.commit(message, options.only ? specs : []);
    return true;
  }

  /** Stage every change below `pathspecs` (commitAll's first step); returns the pathspecs staged (those present). */
  async stageAll(pathspecs: string[]): Promise<string[]> {
    const specs = await this.presentPaths(pathspecs);
    if (specs.length > 0) await this.run(['add', '--all', '--', ...specs], { bulk: true });
    return specs;
  }

  /** Whether the index differs from HEAD below `pathspecs`. */
  async hasStaged(pathspecs: string[]): Promise<boolean> {
    return (await this.run(['diff', '--cached', '--name-only', '-z', '--', ...pathspecs])) !== '';
  }

  /** Commit what is staged (with `only`: only those paths, as `git commit --only`). */
  async commit(message: string, only: string[] = []): Promise<void> {
    const args = ['commit', '--quiet', '--no-verify', '-m', message];
    if (only.length > 0) args.push('--only', '--', ...only);
    await this.run(args, { bulk: true });
  }

  /** The paths (relative to the repository root) that are on disk or in the index. */
  private async presentPaths(paths: string[]): Promise<string[]> {
    const missing = paths.filter((p) => !onDisk(join(this.cwd, p)));
    if (missing.length === 0) return paths;
    // Gone from disk but tracked: still staged, so its deletion is committed.
    const tracked = (await this.run(['ls-files', '-z', '--', ...missing])).split('\0').filter(Boolean);
    const strip = (p: string) => p.replace(/\/+$/, '');
    return paths.filter((p) => !missing.includes(p) || tracked.some((t) => t === strip(p) || t.startsWith(`${strip(p)}/`)));
  }

  /** Commit whatever is staged, if anything. */
  async commitStaged(message: string): Promise<boolean> {
    if (!(await this.hasStaged([]))) return false;
    await this.commit(message);
    return true;
  }

  async add(paths: string[]): Promise<void> {
    if (paths.length > 0) await this.run(['add', '--', ...paths], { bulk: true });
  }

  /** The contents of the blobs `ids`, read by one `git cat-file --batch`. */
  catBlobs(ids: string[]): Promise<Map<string, Buffer>> {
    if (ids.length === 0) return Promise.resolve(new Map());
    this.ctx.log.debug(`git cat-file --batch (${ids.length} object(s)) [run in ${this.cwd}]`);
    return new Promise((resolve, reject) => {
      const child = execFile('git', ['cat-file', '--batch'], { cwd: this.cwd, env: { ...this.ctx.env, LC_ALL: 'C' }, maxBuffer: 1 << 30, encoding: 'buffer' }, (error, stdout, stderr) => {
        if (error) {
          return reject(new SubprocessError(`git cat-file --batch failed in ${this.cwd}: ${stderr.toString().trim() || error.message}`, { command: ['git', 'cat-file', '--batch'], cwd: this.cwd, stderr: stderr.toString() }));
        }
        const blobs = new Map<string, Buffer>();
        // Each object: "<id> <type> <size>\n<content>\n" (or "<id> missing\n").
        for (let at = 0; at < stdout.length; ) {
          const eol = stdout.indexOf(10, at);
          const [id, type, size] = stdout.toString('utf8', at, eol).split(' ');
          at = eol + 1;
          if (type === 'missing' || size === undefined) continue;
          blobs.set(id!, stdout.subarray(at, at + Number(size)));
          at += Number(size) + 1;
        }
        resolve(blobs);
      });
      child.stdin?.end(ids.join('\n') + '\n');
    });
  }
}

export interface StatusEntry {
  /** Porcelain XY codes: `?` = untracked, `D` = deleted, ... */
  index: string;
  worktree: string;
  path: string;
  from?: string | undefined;
}

/**
 * What to do about a git lock file that made a command fail (issue 13 item 7): a git (or a dws
 * with its git child) killed mid-command leaves `index.lock` / `HEAD.lock`, and git refuses to
 * run until it is removed. On Linux we check /proc for a live git process working in that
 * repository: none means the file is a leftover and safe to delete.
 */
export function staleLockAdvice(lockFile: string, cwd?: string): string {
  const repo = repoOfLock(lockFile);
  const live = lockHolders(lockFile, cwd);
  if (live === null) return `The lock file ${lockFile} exists: if no git command is running in ${repo}, it was left by a killed git and is safe to remove (rm '${lockFile}').`;
  if (live.length > 0) return `The lock file ${lockFile} belongs to git process ${live.join(', ')} still running in ${repo}: wait for it to finish.`;
  return `The lock file ${lockFile} was left by a git that was killed: no git process is running in ${repo} now, so it is safe to remove (rm '${lockFile}').`;
}

/** The lock file git could not create, from its error output. */
function lockFileOf(stderr: string): string | null {
  return /Unable to create '([^']+\.lock)': File exists/.exec(stderr)?.[1] ?? null;
}

function repoOfLock(lockFile: string): string {
  return lockFile.includes(`${sep}.git${sep}`) ? lockFile.slice(0, lockFile.indexOf(`${sep}.git${sep}`)) : dirname(lockFile);
}

/**
 * Git processes that may own `lockFile`: those working in its repository or in `cwd` (a
 * worktree's lock lives in the main repository's .git). Null where /proc cannot tell.
 */
function lockHolders(lockFile: string, cwd?: string): number[] | null {
  const a = gitProcessesIn(repoOfLock(lockFile));
  const b = cwd === undefined ? [] : gitProcessesIn(cwd);
  return a === null || b === null ? null : [...new Set([...a, ...b])];
}

/** Pids of git processes whose working directory is in `repo`; null where /proc cannot tell. */
function gitProcessesIn(repo: string): number[] | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  const found: number[] = [];
  for (const pid of pids) {
    try {
      if (!/^git/.test(readFileSync(`/proc/${pid}/comm`, 'utf8'))) continue;
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cwd === repo || cwd.startsWith(`${repo}${sep}`)) found.push(Number(pid));
    } catch {
      // gone, or not ours to look at
    }
  }
  return found;
}

function onDisk(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
