/**
 * The server's watcher (DESIGN.md "Watching"): follows the files of every workspace it serves
 * with chokidar (imported only here, in server mode) and keeps each resource's current compare
 * hash, so `dws/status` rehashes only resources whose files changed. Listeners (the transports)
 * turn changes into `dws/workspaceChanged` notifications.
 *
 * Per workspace:        (none) --follow--> starting --chokidar ready--> following --close--> closed
 * Per resource hash:    unknown --asked--> cached --change event--> unknown
 *
 * A hash is cached as the promise of its computation at the time it was asked for; a change event
 * drops it, so a computation that raced with a change is never reused.
 *
 * Whole answers (`dws/status`) are kept too (remember): an answer is reused only while no file
 * event arrived since its computation began, no command that may change a workspace ran
 * (forget), and every file it read outside the watched resources (metadata, git state, run
 * cache, step files) has the same stat. An answer computed within RACY_MS of one of those files'
 * mtime is not kept: a second write in the same clock tick would leave the stat unchanged.
 */
import { realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createContext, type Logger, type WatchedState } from '../context.js';
import { currentCompareHash } from '../../lineage/current-hash.js';
import type { WorkspaceChangedParams } from '../../protocol/server-events.js';
import { GitRepoResource } from '../resources/git.js';
import { openResources } from '../resources/registry.js';
import type { Resource } from '../resources/types.js';
import { isWithin } from '../workspace/paths.js';
import { arrivals } from './framing.js';
import { META_DIR, Workspace } from '../workspace/workspace.js';

/** Changes arriving within this many ms are reported in one notification. */
const BATCH_MS = 30;
/** Answers computed this close to a file's mtime are not kept (racy mtime, as git's racy-git rule). */
const RACY_MS = 50;
/** Answers kept at most (one per workspace and params; LRU). */
const MAX_ANSWERS = 32;

interface KeptAnswer {
  value: unknown;
  /** The change count when its computation began. */
  changes: number;
  /** The files it was read from (besides the watched resources) and their stat signatures then. */
  files: string[];
  signatures: Float64Array;
  /** arrivals() at the last time the stats were found unchanged. */
  checkedAt: number;
}

interface Followed {
  started: Promise<void>;
  /** Resource name -> local directory, for mapping a changed path to resources. */
  paths: Map<string, string>;
  hashes: Map<string, Promise<string | null>>;
  close(): Promise<void>;
  /** Reloads of the resource list, one at a time (two watchers started at once would leak one). */
  reloads: Promise<void>;
}

export class WorkspaceWatcher implements WatchedState {
  private readonly followed = new Map<string, Followed>();
  private readonly listeners = new Set<(e: WorkspaceChangedParams) => void>();
  private readonly pending = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | null = null;
  /** File events and forget() calls so far: a kept answer is good only at the count it was computed at. */
  private changes = 0;
  private readonly answers = new Map<string, KeptAnswer>();
  /** The key of the answer kept or used last (the last in `answers`). */
  private newest: string | undefined;

  constructor(private readonly log: Logger) {}

  onChanged(listener: (e: WorkspaceChangedParams) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  follow = async (dir: string): Promise<void> => {
    let f = this.followed.get(dir);
    if (!f) {
      f = this.start(dir);
      this.followed.set(dir, f);
    }
    await f.started;
  };

  currentHash = async (r: Resource): Promise<string | null> => {
    // A git repository's hash is its HEAD (plus a dirty flag), which moves without any file of
    // its work tree changing: asking git is cheap, so it is never cached.
    if (r instanceof GitRepoResource) return currentCompareHash(r);
    await this.follow(r.ws.dir);
    const f = this.followed.get(r.ws.dir)!;
    let h = f.hashes.get(r.name);
    if (h === undefined) {
      h = currentCompareHash(r);
      f.hashes.set(r.name, h);
      h.catch(() => f.hashes.delete(r.name));
    }
    return h;
  };

  remember = async <T>(key: string, compute: () => Promise<{ value: T; files: string[] | null }>): Promise<T> => {
    const kept = this.answers.get(key);
    if (kept !== undefined) {
      // A request read before the last check was sent before it: that check's answer is good for
      // it (the state it saw is one the request could have seen). Later requests check again.
      const checked = kept.checkedAt === arrivals() || !sign(kept.files, kept.signatures).changed;
      if (kept.changes === this.changes && checked) {
        kept.checkedAt = arrivals();
        // Most recently used last; a delete and set per request (when it is last already) was
        // garbage each time, and garbage collection pauses are the server's latency tail.
        if (this.newest !== key) {
          this.answers.delete(key);
          this.answers.set(key, kept);
          this.newest = key;
        }
        return kept.value as T;
      }
      this.answers.delete(key);
    }
    const changes = this.changes;
    const started = Date.now();
    const { value, files } = await compute();
    if (files === null) return value;
    const signatures = new Float64Array(files.length * SIGNATURE);
    const { newestMtimeMs } = sign(files, signatures);
    if (changes === this.changes && newestMtimeMs <= started - RACY_MS) {
      this.answers.set(key, { value, changes, files, signatures, checkedAt: arrivals() });
      this.newest = key;
      if (this.answers.size > MAX_ANSWERS) this.answers.delete(this.answers.keys().next().value!);
    }
    return value;
  };

  forget = (): void => {
    this.changes++;
    this.answers.clear();
    this.newest = undefined;
  };

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await Promise.all([...this.followed.values()].map((f) => f.close()));
    this.followed.clear();
  }

  private start(dir: string): Followed {
    const f: Followed = { started: Promise.resolve(), paths: new Map(), hashes: new Map(), close: async () => {}, reloads: Promise.resolve() };
    f.started = (async () => {
      await this.loadPaths(dir, f);
      await this.watchPaths(dir, f);
      this.log.debug(`following the files of ${dir}`);
    })();
    return f;
  }

  /**
   * Watch what can change a resource's hash or the resource list, and nothing else: a
   * workspace also holds node_modules/ (init links the dws package there: following it watched
   * the whole package and its dependencies, thousands of directories, and the server's memory
   * grew as chokidar walked them), virtual environments and scratch files. Symbolic links are
   * not followed: hashes record a link, not what it points to.
   */
  private async watchPaths(dir: string, f: Followed): Promise<void> {
    const { watch } = await import('chokidar');
    const roots = [...f.paths.values()];
    const meta = join(dir, META_DIR);
    const outside = roots.filter((p) => !isWithin(p, dir));
    const relevant = (p: string) => roots.some((r) => isWithin(p, r) || isWithin(r, p));
    // A workspace named through a link to it (`workspaceDir: /home/me/ws` -> /data/ws): chokidar
    // does not go into a root that is a link, so nothing was notified. Its real directory is
    // watched, and the paths named as the client named the workspace.
    const real = realpathSync(dir);
    // (A resource recorded by its real path keeps it.)
    const given = real === dir ? (p: string) => p : (p: string) => (isWithin(p, real) && !roots.some((r) => isWithin(p, r)) ? join(dir, relative(real, p)) : p);
    const watcher = watch([real, ...outside], {
      ignoreInitial: true,
      persistent: false, // the transport keeps the process alive, never the watcher
      followSymlinks: false,
      // Git's own files change on every command; of the metadata only the resource list matters.
      ignored: (path: string) => {
        const p = given(path);
        if (/[\\/]\.git([\\/]|$)/.test(p)) return true;
        if (isWithin(p, meta)) return !/^(|resources\.json|resource_local_params\.json)$/.test(p.slice(meta.length + 1));
        return !(p === dir || relevant(p));
      },
    });
    watcher.on('all', (_event, path) => this.changed(dir, f, given(path)));
    watcher.on('error', (e) => this.log.warn(`watching ${dir}: ${e instanceof Error ? e.message : String(e)}`));
    f.close = () => watcher.close();
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  private async loadPaths(dir: string, f: Followed): Promise<void> {
    f.paths.clear();
    const ws = Workspace.load(createContext({ cwd: dir, log: this.log }), dir);
    for (const r of await openResources(ws).catch(() => [])) if (r.localPath !== null) f.paths.set(r.name, r.localPath);
  }

  private changed(dir: string, f: Followed, path: string): void {
    this.forget();
    if (isWithin(path, join(dir, META_DIR))) {
      // The resource list changed: every hash may be of something else now, and the watched
      // directories may be others.
      f.hashes.clear();
      f.reloads = f.reloads.then(async () => {
        const before = [...f.paths.values()].sort().join('\0');
        try {
          await this.loadPaths(dir, f);
          if ([...f.paths.values()].sort().join('\0') !== before) {
            await f.close();
            await this.watchPaths(dir, f);
          }
          this.report(dir, [...f.paths.keys()]);
        } catch (e) {
          this.log.warn(`reloading ${dir}: ${e instanceof Error ? e.message : String(e)}`);
        }
      });
      return;
    }
    const names = [...f.paths].filter(([, p]) => isWithin(path, p)).map(([n]) => n);
    for (const n of names) f.hashes.delete(n);
    if (names.length > 0) this.report(dir, names);
  }

  private report(dir: string, names: string[]): void {
    const set = this.pending.get(dir) ?? new Set();
    names.forEach((n) => set.add(n));
    this.pending.set(dir, set);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      const batches = [...this.pending];
      this.pending.clear();
      for (const [workspaceDir, resources] of batches) for (const l of this.listeners) l({ workspaceDir, resources: [...resources].sort() });
    }, BATCH_MS);
  }
}

/** Numbers in a file's stat signature (sign()). */
const SIGNATURE = 4;

/**
 * Stats `files` and writes what tells a changed file (or directory) from an unchanged one
 * without reading it into `signatures` (inode, size, mtime, ctime; -1s for a missing file),
 * SIGNATURE numbers a file. Says whether any differed from what was there, and the newest mtime.
 */
function sign(files: string[], signatures: Float64Array): { changed: boolean; newestMtimeMs: number } {
  let changed = false;
  let newestMtimeMs = -Infinity;
  for (let i = 0; i < files.length; i++) {
    const st = statSync(files[i]!, { throwIfNoEntry: false });
    const ino = st?.ino ?? -1;
    const size = st?.size ?? -1;
    const mtimeMs = st?.mtimeMs ?? -1;
    const ctimeMs = st?.ctimeMs ?? -1;
    const at = i * SIGNATURE;
    changed ||= signatures[at] !== ino || signatures[at + 1] !== size || signatures[at + 2] !== mtimeMs || signatures[at + 3] !== ctimeMs;
    signatures[at] = ino;
    signatures[at + 1] = size;
    signatures[at + 2] = mtimeMs;
    signatures[at + 3] = ctimeMs;
    newestMtimeMs = Math.max(newestMtimeMs, mtimeMs);
  }
  return { changed, newestMtimeMs };
}
