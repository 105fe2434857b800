/** What the two git-backed resource types share: committing moved results. */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { SubprocessError } from '../../protocol/errors.js';
import type { Git } from '../workspace/git.js';
import { filesToMove, checkDestinationFree, moveFiles } from './results-move.js';

/** git's id of the empty tree: the state of a directory with no tracked files. */
export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/**
 * Move or copy results inside a git repository and commit exactly the moved paths
 * ("Move current results to <rel>" / "Copy current results to <rel>", workspace-format §15).
 * `root` is the resource directory, `repoRel` its path inside the repository ('' = the root).
 */
export async function moveResultsInGit(
  git: Git,
  args: { root: string; repoRel: string; resourceName: string; relDest: string; excludeFiles: string[]; excludeDirs: RegExp; copy: boolean; resuming: boolean },
): Promise<number> {
  const files = filesToMove(args.root, args.excludeFiles, args.excludeDirs);
  if (files.length === 0) return 0;
  checkDestinationFree(args.root, args.relDest, args.resourceName, files, args.resuming);
  const inRepo = (rel: string) => (args.repoRel === '' ? rel : `${args.repoRel}/${rel}`);
  // Sources to stage: a moved file only if git tracked it (its deletion), a copied one always.
  const tracked = new Set((await git.run(['ls-files', '-z', '--', args.repoRel === '' ? '.' : args.repoRel])).split('\0'));
  const sources = files.map(inRepo).filter((p) => args.copy || tracked.has(p));
  moveFiles(args.root, args.relDest, files, args.copy);
  const paths = [inRepo(args.relDest), ...sources];
  // A pathspec file keeps one git call however many files moved (and no argv length limit).
  const listFile = join(tmpdir(), `dws-pathspec-${process.pid}-${Date.now()}`);
  writeFileSync(listFile, paths.join('\0'));
  try {
    await git.run(['add', '--all', `--pathspec-from-file=${listFile}`, '--pathspec-file-nul'], { bulk: true });
  } finally {
    rmSync(listFile, { force: true });
  }
  const verb = args.copy ? 'Copy' : 'Move';
  const scope = args.repoRel === '' ? '.' : args.repoRel;
  await git.run(['commit', '--quiet', '--no-verify', '-m', `${verb} current results to ${args.relDest}`, '--only', '--', scope], { bulk: true });
  return files.length;
}

/**
 * Can `branch` be pushed to `origin` without a pull? 'unreachable' when the origin cannot be
 * read, 'needs-pull' when our branch does not contain the origin's head (a push would be refused).
 */
export async function pushState(git: Git, branch: string): Promise<'ok' | 'unreachable' | 'needs-pull'> {
  let head: string | null;
  try {
    head = await git.remoteHead('origin', branch);
  } catch (e) {
    if (e instanceof SubprocessError) return 'unreachable';
    throw e;
  }
  if (head === null) return 'ok';
  // The origin's head must be known here and contained in our branch.
  return (await git.succeeds(['merge-base', '--is-ancestor', head, `refs/heads/${branch}`])) ? 'ok' : 'needs-pull';
}

/**
 * Make `dir` ('' = the whole repository) in the index and work tree equal to its content at
 * `commit`, staged for a new commit: files added or changed since are taken from the commit
 * (`git checkout`, byte-exact, so binary files work), files that did not exist then are
 * `git rm`-ed. 1.6 piped `git diff` into `git apply`, which fails on binary files. Returns
 * false when there is nothing to change.
 */
export async function stageTreeOfCommit(git: Git, commit: string, dir: string): Promise<boolean> {
  const out = await git.run(['diff', '--no-renames', '--name-status', '-z', 'HEAD', commit, '--', dir === '' ? '.' : dir]);
  const parts = out.split('\0');
  const removed: string[] = [];
  const fromCommit: string[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) (parts[i] === 'D' ? removed : fromCommit).push(parts[i + 1]!);
  if (removed.length > 0) await withPathspecFile(removed, (spec) => git.run(['rm', '--quiet', ...spec], { bulk: true }));
  if (fromCommit.length > 0) await withPathspecFile(fromCommit, (spec) => git.run(['checkout', commit, ...spec], { bulk: true }));
  return removed.length + fromCommit.length > 0;
}

/** Pass many paths to one git call through a NUL-separated pathspec file (no argv limit). */
async function withPathspecFile<T>(paths: string[], run: (args: string[]) => Promise<T>): Promise<T> {
  const listFile = join(tmpdir(), `dws-pathspec-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(listFile, paths.join('\0'));
  try {
    return await run([`--pathspec-from-file=${listFile}`, '--pathspec-file-nul']);
  } finally {
    rmSync(listFile, { force: true });
  }
}
