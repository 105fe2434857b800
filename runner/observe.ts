/**
 * Observed writes (issue 6, item 5): while steps run, the local files of every resource are
 * watched, and a write outside the declared outputs of the steps under way (running, or being
 * restored from the run cache) is reported: a step writing into another's output too.
 *
 * The observer watches with `fs.watch`, one inotify watch per directory (a directory created
 * during the run is watched, and scanned, as soon as its creation is seen), not with chokidar:
 * chokidar keeps a record of every file: a forced run over 100,000 files peaked at 861 MB of RSS
 * with it, at 143 MB (as without observing) with this (bench/README.md). `dws watch` (watch.ts)
 * still uses chokidar through `startWatcher`.
 *
 * Events arrive a little after the writes that cause them, so `stop()` flushes first: it writes a
 * marker file into each watched root and waits until every marker has been seen (all watches of a
 * process share one inotify queue, in order), then closes the watches and removes the markers.
 */
import { existsSync, readdirSync, realpathSync, rmSync, statSync, watch, writeFileSync, type FSWatcher as DirWatcher } from 'node:fs';
import { basename, join, sep } from 'node:path';
import { realOf } from './escapes.js';
import type { FSWatcher } from 'chokidar';
import { openResources } from '../server/resources/registry.js';
import { isWithin, relativePosix } from '../server/workspace/paths.js';
import type { Workspace } from '../server/workspace/workspace.js';
import type { RunEvent, RunObserver } from './types.js';

/**
 * A file or directory changed outside every declared output (workspace-relative when inside the
 * workspace, else absolute); `step`: the only step running then, when there was one.
 */
export interface ObservedWrite {
  path: string;
  step?: string;
  /** Every step running when it was seen (issue 12 item 3: each records it in its lineage). */
  steps: string[];
  /** The real place written when a symlink led the write out of the watched resource (item 9). */
  outside?: string;
}

/** Directories never reported: git's and dws's own metadata. */
const IGNORED_NAMES = new Set(['.git', '.dataworkspace']);
const MARKER_PREFIX = '.dws-observe-flush-';

export function isIgnoredPath(path: string): boolean {
  return path.split(sep).some((part) => IGNORED_NAMES.has(part));
}

/** chokidar, loaded on first use (STYLE.md 9/10: the watcher costs nothing to runs that do not watch). */
export async function loadChokidar(): Promise<typeof import('chokidar')> {
  return import('chokidar');
}

/** Start a chokidar watcher on `paths` and resolve once its initial scan is done ('ready'). */
export async function startWatcher(paths: string[], onEvent: (event: string, path: string) => void): Promise<FSWatcher> {
  const { watch } = await loadChokidar();
  // awaitWriteFinish off: we want every event as it comes, the flush marker orders them.
  const watcher = watch(paths, { ignoreInitial: true, awaitWriteFinish: false, ignored: (p: string) => isIgnoredPath(p) });
  watcher.on('all', (event, path) => onEvent(event, path));
  await new Promise<void>((resolve, reject) => {
    watcher.once('ready', resolve);
    watcher.once('error', reject);
  });
  return watcher;
}

/** The local directories of a workspace's resources, outermost only (a root inside another is watched through it). */
export async function resourceRoots(ws: Workspace): Promise<string[]> {
  const dirs = (await openResources(ws)).map((r) => r.localPath).filter((p): p is string => p !== null && existsSync(p));
  return [...new Set(dirs)].filter((d, _i, all) => !all.some((o) => o !== d && isWithin(d, o)));
}

/**
 * The runner's observer hook: `start` before the first step, `stop` after the last. Fed the run's
 * events through `onRunEvent`, it attributes a write to the step that was the only one running.
 */
export class WriteObserver implements RunObserver {
  private watches: DirTree | null = null;
  private roots: string[] = [];
  private outputs = new Map<string, string[]>();
  private wsDir = '';
  private readonly running = new Set<string>();
  /** Steps begun and not yet ended: one may be writing its outputs (running, or restoring them from the run cache). */
  private readonly active = new Set<string>();
  private readonly writes = new Map<string, ObservedWrite>();
  private readonly markersSeen = new Set<string>();
  private markerWaiters = new Map<string, () => void>();
  private flushes = 0;

  async start(ws: Workspace, outputs: Map<string, string[]>): Promise<void> {
    this.outputs = outputs;
    this.wsDir = ws.dir;
    this.roots = await resourceRoots(ws);
    if (this.roots.length === 0) return;
    this.watches = new DirTree((event, path) => this.onEvent(event, path));
    for (const root of this.roots) this.watches.add(root, false);
  }

  begin(step: string): void {
    this.active.add(step);
  }

  /** Follow the run's events (chain it into `onEvent`) to know which steps are running. */
  onRunEvent(e: RunEvent): void {
    if (e.type === 'started') this.running.add(e.step);
    else if (e.type === 'succeeded' || e.type === 'failed' || e.type === 'skipped' || e.type === 'restored') {
      this.running.delete(e.step);
      // A step abandoned on Ctrl-C is failed at once but may go on writing its own outputs until
      // it is terminated (a step file ignoring its signal, 1 s): those writes are not outside them.
      if (!(e.type === 'failed' && e.reason === 'interrupted')) this.active.delete(e.step);
    }
  }

  /**
   * Wait until every event caused before now has been seen: write a marker into each root and
   * wait for them all to be seen (one queue, in order). The engine calls it when a step
   * ends, before the step leaves the running set, so its writes are attributed to it.
   */
  async flush(): Promise<void> {
    if (!this.watches) return;
    const markers = this.roots.map((root, i) => join(root, `${MARKER_PREFIX}${process.pid}-${++this.flushes}-${i}`));
    const seen = markers.map(
      (m) =>
        new Promise<void>((resolve) => {
          if (this.markersSeen.has(m)) resolve();
          else this.markerWaiters.set(m, resolve);
        }),
    );
    const written: string[] = [];
    markers.forEach((m, i) => {
      try {
        writeFileSync(m, '');
        written.push(m);
      } catch {
        // A root we cannot write to cannot have been written by a step either: nothing to flush.
        seen[i] = Promise.resolve();
      }
    });
    try {
      await Promise.all(seen);
    } finally {
      for (const m of written) {
        rmSync(m, { force: true });
        this.markerWaiters.delete(m);
      }
    }
  }

  /** Flush pending events, stop watching, and return the writes outside the declared outputs (sorted by path). */
  async stop(): Promise<ObservedWrite[]> {
    const watches = this.watches;
    if (watches) {
      try {
        await this.flush();
      } finally {
        this.watches = null;
        watches.close();
      }
    }
    return [...this.writes.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private onEvent(event: string, path: string): void {
    if (basename(path).startsWith(MARKER_PREFIX)) {
      if (event !== 'add') return;
      this.markersSeen.add(path);
      this.markerWaiters.get(path)?.();
      return;
    }
    // Only the outputs of the steps under way: a write into another step's output, one that has
    // ended or not started, is outside what the writing step declared.
    if ([...this.active].some((s) => this.outputs.get(s)?.some((o) => isWithin(path, o)))) return;
    // Creating the parent directories of an output is part of writing it.
    if (event === 'addDir' && [...this.outputs.values()].some((list) => list.some((o) => isWithin(o, path)))) return;
    const steps = [...this.running].sort();
    const shown = isWithin(path, this.wsDir) ? relativePosix(this.wsDir, path) : path;
    const outside = this.escapedTo(path);
    const known = this.writes.get(path);
    if (known) {
      known.steps = [...new Set([...known.steps, ...steps])].sort();
      if (known.steps.length !== 1) delete known.step;
      return;
    }
    this.writes.set(path, { path: shown, steps, ...(steps.length === 1 ? { step: steps[0]! } : {}), ...(outside !== null ? { outside } : {}) });
  }

  /** Where `path` really is when a symlink leads it out of the root it was seen under (links to directories are followed), else null. */
  private escapedTo(path: string): string | null {
    const root = this.roots.find((r) => isWithin(path, r));
    if (root === undefined) return null;
    const real = realOf(path);
    const realRoot = realOf(root);
    return real === null || realRoot === null || isWithin(real, realRoot) ? null : real;
  }
}

/**
 * One `fs.watch` per directory below the roots, links to directories followed (each real
 * directory once), `.git` and `.dataworkspace` left out. Reports chokidar's event names: `add`
 * (a file appeared or changed), `addDir`, `unlink` (gone).
 */
class DirTree {
  /** Watched directory -> its watch and real path. */
  private readonly watchers = new Map<string, { w: DirWatcher; real: string }>();
  private readonly realDirs = new Set<string>();

  constructor(private readonly onEvent: (event: 'add' | 'addDir' | 'unlink', path: string) => void) {}

  /**
   * Watch `dir` and every directory below it. `report`: the directory is new during the run, so
   * it and what it already holds (written before its watch existed) are reported.
   */
  add(dir: string, report: boolean): void {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      return; // gone already: its removal is reported by its parent
    }
    if (this.watchers.has(dir) || this.realDirs.has(real)) return;
    let w: DirWatcher;
    try {
      w = watch(dir, (_type, name) => {
        if (name !== null) this.changed(join(dir, name.toString()));
      });
    } catch {
      return; // removed or unreadable between the scan and here
    }
    w.on('error', () => this.forget(dir)); // the directory was removed
    this.watchers.set(dir, { w, real });
    this.realDirs.add(real);
    if (report) this.onEvent('addDir', dir);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      if (IGNORED_NAMES.has(name)) continue;
      if (isDirectory(path)) this.add(path, report);
      else if (report) this.onEvent('add', path);
    }
  }

  close(): void {
    for (const { w } of this.watchers.values()) w.close();
    this.watchers.clear();
    this.realDirs.clear();
  }

  private changed(path: string): void {
    if (isIgnoredPath(path)) return;
    const st = statSync(path, { throwIfNoEntry: false });
    if (st === undefined) {
      this.forget(path);
      this.onEvent('unlink', path);
    } else if (st.isDirectory()) this.add(path, true);
    else this.onEvent('add', path);
  }

  /** Stop watching a removed directory (and below it), so one created again under its name is watched anew. */
  private forget(dir: string): void {
    if (!this.watchers.has(dir)) return; // a file
    for (const [d, { w, real }] of this.watchers) {
      if (!isWithin(d, dir)) continue;
      w.close();
      this.watchers.delete(d);
      this.realDirs.delete(real);
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
