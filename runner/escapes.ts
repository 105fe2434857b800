/**
 * Writes through a symlink out of a resource (issue 12 item 9): a declared output that is — or
 * holds — a symbolic link to a directory outside its resource's local files. What is written
 * there is not in the resource, so a snapshot does not hold it (hash trees leave such links out).
 * The engine refuses it with --strict and otherwise records it in the step's lineage.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Resource } from '../server/resources/types.js';
import { isWithin, relativePosix } from '../server/workspace/paths.js';
import type { PlannedStep } from './plan.js';

/** A declared output path (or a link inside it) whose files really live outside its resource. */
export interface EscapedOutput {
  /** Absolute path as declared (or of the link inside the output). */
  path: string;
  /** Where it really is (absolute). */
  outside: string;
  /** The resource it should have been in. */
  resource: string;
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest (a deleted file); null when none resolves. */
export function realOf(p: string): string | null {
  let rest = '';
  let cur = p;
  for (;;) {
    try {
      return rest === '' ? realpathSync.native(cur) : join(realpathSync.native(cur), rest);
    } catch {
      const up = dirname(cur);
      if (up === cur) return null;
      rest = rest === '' ? basename(cur) : join(basename(cur), rest);
      cur = up;
    }
  }
}

/** The step's declared outputs that a symlink leads out of their resource (the output itself, an ancestor, or a link inside it). */
export function escapedOutputs(p: PlannedStep, resources: Resource[]): EscapedOutput[] {
  const found: EscapedOutput[] = [];
  for (const x of p.outputs) {
    const root = x.path === null ? null : resources.find((r) => r.name === x.ref.name)?.localPath ?? null;
    if (x.path === null || root === null) continue;
    const realRoot = realOf(root);
    if (realRoot === null) continue;
    const real = realOf(x.path);
    if (real !== null && !isWithin(real, realRoot)) {
      found.push({ path: x.path, outside: real, resource: x.ref.name });
      continue;
    }
    if (existsSync(x.path) && statSync(x.path).isDirectory()) linksOut(x.path, realRoot, x.ref.name, found);
  }
  return found;
}

/** Links under `dir` (not followed) whose target is outside `realRoot`. */
function linksOut(dir: string, realRoot: string, resource: string, found: EscapedOutput[]): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) linksOut(path, realRoot, resource, found);
    else if (e.isSymbolicLink()) {
      const real = realOf(path);
      // A dangling link, or one to a file, still leads the write out when its target is outside.
      if (real !== null && !isWithin(real, realRoot)) found.push({ path, outside: real, resource });
    }
  }
}

/** How an escape is shown: the path workspace-relative when inside the workspace. */
export function shownPath(wsDir: string, path: string): string {
  return isWithin(path, wsDir) ? relativePosix(wsDir, path) : path;
}
