/**
 * Writing a JSON file into a resource (resources.md §1.3 `add_results_file`): results.json from a
 * step, lineage.json at snapshot time. Git-backed resources commit it as "Added <path>".
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigurationError } from '../protocol/errors.js';
import { GitRepoResource } from '../server/resources/git.js';
import { GitSubdirectoryResource } from '../server/resources/git-subdirectory.js';
import type { Resource } from '../server/resources/types.js';
import { writeJsonFile } from '../server/workspace/files.js';

/** Write `value` at `relPath` (posix, relative to the resource root) of `r`; returns the file written. */
export async function addResultsFile(r: Resource, relPath: string, value: unknown): Promise<string> {
  if (r.localPath === null) {
    throw new ConfigurationError(`Resource '${r.name}' does not support a file API and thus won't support writing results.`, { resource: r.name });
  }
  const file = join(r.localPath, relPath);
  mkdirSync(dirname(file), { recursive: true });
  writeJsonFile(file, value);
  const repo = r instanceof GitSubdirectoryResource ? { git: r.ws.git, path: `${r.relativePath}/${relPath}` } : r instanceof GitRepoResource ? { git: r.git, path: relPath } : null;
  if (repo) {
    await repo.git.run(['add', '--', repo.path]);
    // Already committed as it is (a snapshot killed after writing it, now redone): nothing to commit.
    if (await repo.git.succeeds(['diff', '--cached', '--quiet', '--', repo.path])) return file;
    // Only this file: other staged changes of the repository stay staged.
    await repo.git.run(['commit', '--quiet', '--no-verify', '-m', `Added ${repo.path}`, '--', repo.path]);
  }
  return file;
}
