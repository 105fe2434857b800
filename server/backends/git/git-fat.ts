/**
 * git-fat is not supported (docs/compatibility.md: 1.6 ran its bundled Python 2 git-fat script
 * on push, pull and clone). A repository with a `.gitfat` file at its root is one whose large
 * files live on a git-fat server; pushing or pulling only its commits would look like success
 * while the data stays behind, so push and pull refuse such repositories before changing
 * anything, and clone warns (spec README §6: detect, never corrupt silently).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from '../../../protocol/errors.js';

/** The repositories among `dirs` (workspace root, git resources' local paths) that use git-fat. */
export function gitFatRepositories(dirs: Array<string | null>): string[] {
  return [...new Set(dirs.filter((d): d is string => d !== null && existsSync(join(d, '.gitfat'))))];
}

/** Refuse to `push` or `pull` when any repository uses git-fat (`fat`: from gitFatRepositories). */
export function refuseGitFat(operation: 'push' | 'pull', fat: string[]): void {
  if (fat.length === 0) return;
  throw new ConfigurationError(
    `Cannot ${operation}: ${fat.join(', ')} ${fat.length === 1 ? 'uses' : 'use'} git-fat (a .gitfat file), which dws does not support; ` +
      `dws would ${operation} the commits but not the files git-fat manages. Use git and git-fat directly there (git fat ${operation}, then git ${operation}).`,
    { repositories: fat },
  );
}

/** The warning `clone` gives for a repository that uses git-fat (it still clones: nothing is lost). */
export function gitFatCloneWarning(dir: string): string {
  return `${dir} uses git-fat (a .gitfat file), which dws does not support: the files git-fat manages are placeholders in this clone. Run 'git fat init && git fat pull' there to fetch them.`;
}
