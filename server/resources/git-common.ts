/** What the two git-backed resource types share: committing moved results. */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
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
  args: { root: string; repoRel: string; resourceName: string; relDest: string; excludeFiles: string[]; excludeDirs: RegExp; copy: boolean },
): Promise<number> {
  const files = filesToMove(args.root, args.excludeFiles, args.excludeDirs);
  if (files.length === 0) return 0;
  checkDestinationFree(args.root, args.relDest, args.resourceName);
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
