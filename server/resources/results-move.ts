/**
 * Moving results at snapshot time (resources.md §1.4): every file of a results resource, except
 * the excluded names and earlier snapshot directories, goes to `<root>/<relDest>/<same path>` and
 * becomes read-only. Exported resources copy instead, keeping their current files.
 * Fixes 1.6's bug that put files of nested directories under the wrong subdirectory.
 */
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConflictError } from '../../protocol/errors.js';
import { faultPoint } from '../workspace/fault.js';

/**
 * Whether a snapshot leaves a path of a results resource (relative to its root, with `/`) where it
 * is: an excluded file, `.git` or an earlier snapshot's directory. Everything else is moved.
 */
export function keptByMove(excludeFiles: string[], excludeDirs: RegExp): (path: string, dir: boolean) => boolean {
  const excluded = new Set(excludeFiles);
  return (path, dir) => (dir ? path === '.git' || excludeDirs.test(path) : excluded.has(path));
}

/** Relative paths (with `/`) of the files to move, top-down. */
export function filesToMove(root: string, excludeFiles: string[], excludeDirs: RegExp): string[] {
  const kept = keptByMove(excludeFiles, excludeDirs);
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (kept(path, e.isDirectory())) continue;
      if (e.isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk('');
  return out;
}

/**
 * The results directory must be new, so no snapshot's results are mixed with others'. When
 * `resuming` a snapshot killed after its move (item 6), the directory holds that snapshot's
 * results: only a file that would replace one of them with other bytes is refused.
 */
export function checkDestinationFree(root: string, relDest: string, resourceName: string, files: string[], resuming: boolean): void {
  const dest = join(root, relDest);
  if (!existsSync(dest)) return;
  if (!resuming) {
    throw new ConflictError(
      `Results directory ${dest} of resource '${resourceName}' already exists. A snapshot number can repeat after snapshots are deleted: tag the snapshot, or move that directory away.`,
      { resource: resourceName, path: dest },
    );
  }
  const clash = files.find((f) => existsSync(join(dest, f)) && !sameBytes(join(root, f), join(dest, f)));
  if (clash !== undefined) {
    throw new ConflictError(
      `${join(root, clash)} would replace ${join(dest, clash)}, a result of a snapshot that was interrupted after moving its results there. Move one of them away and snapshot again.`,
      { resource: resourceName, path: join(dest, clash) },
    );
  }
}

function sameBytes(a: string, b: string): boolean {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/** Move (or copy) `files` under `relDest` and make the copies read-only; remove emptied source dirs. */
export function moveFiles(root: string, relDest: string, files: string[], copy: boolean): void {
  for (const rel of files) {
    const src = join(root, rel);
    const dest = join(root, relDest, rel);
    mkdirSync(dirname(dest), { recursive: true });
    if (copy && existsSync(dest)) continue; // copied by the interrupted snapshot this one finishes
    if (copy) copyFileSync(src, dest);
    else renameSync(src, dest);
    const st = lstatSync(dest);
    if (!st.isSymbolicLink()) chmodSync(dest, st.mode & 0o7555);
    faultPoint('snapshot.results-move-partial');
  }
  if (copy) return;
  const dirs = new Set<string>();
  for (const rel of files) {
    for (let d = dirname(rel); d !== '.'; d = dirname(d)) dirs.add(d);
  }
  // Deepest first, so parents are empty by the time we reach them.
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(join(root, d));
    } catch {
      // not empty: it holds excluded files or snapshot directories
    }
  }
}
