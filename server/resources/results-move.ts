/**
 * Moving results at snapshot time (resources.md §1.4): every file of a results resource, except
 * the excluded names and earlier snapshot directories, goes to `<root>/<relDest>/<same path>` and
 * becomes read-only. Exported resources copy instead, keeping their current files.
 * Fixes 1.6's bug that put files of nested directories under the wrong subdirectory.
 */
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConflictError } from '../../protocol/errors.js';

/** Relative paths (with `/`) of the files to move, top-down. */
export function filesToMove(root: string, excludeFiles: string[], excludeDirs: RegExp): string[] {
  const excluded = new Set(excludeFiles);
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (path === '.git' || excludeDirs.test(path)) continue;
        walk(path);
      } else if (!excluded.has(path)) {
        out.push(path);
      }
    }
  };
  walk('');
  return out;
}

export function checkDestinationFree(root: string, relDest: string, resourceName: string): void {
  const dest = join(root, relDest);
  if (existsSync(dest)) {
    throw new ConflictError(
      `Results directory ${dest} of resource '${resourceName}' already exists. A snapshot number can repeat after snapshots are deleted: tag the snapshot, or move that directory away.`,
      { resource: resourceName, path: dest },
    );
  }
}

/** Move (or copy) `files` under `relDest` and make the copies read-only; remove emptied source dirs. */
export function moveFiles(root: string, relDest: string, files: string[], copy: boolean): void {
  for (const rel of files) {
    const src = join(root, rel);
    const dest = join(root, relDest, rel);
    mkdirSync(dirname(dest), { recursive: true });
    if (copy) copyFileSync(src, dest);
    else renameSync(src, dest);
    const st = lstatSync(dest);
    if (!st.isSymbolicLink()) chmodSync(dest, st.mode & 0o7555);
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
