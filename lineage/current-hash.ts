/**
 * A resource's compare hash for its state right now, computed without changing anything: no tree
 * files, no commits, no staging in the workspace index. Used to tell whether data changed since
 * a certificate was recorded (lineage.md §5 fix, and staleness in `dws status`).
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SubprocessError } from '../protocol/errors.js';
import { EMPTY_TREE } from '../server/resources/git-common.js';
import { computeHashTree } from '../server/resources/hashtree/index.js';
import { GitRepoResource } from '../server/resources/git.js';
import { GitSubdirectoryResource } from '../server/resources/git-subdirectory.js';
import { LocalFilesResource } from '../server/resources/local-files.js';
import type { Resource } from '../server/resources/types.js';
import { Git } from '../server/workspace/git.js';
import { localCacheDir } from '../server/workspace/workspace.js';

let indexCounter = 0;

/**
 * The hash a snapshot taken now would record for `r`, or null when it cannot be known cheaply
 * (missing local directory, unknown type). For a git repository with uncommitted changes the
 * result is `<HEAD>+uncommitted`: different from every recorded hash, as the next snapshot's
 * commit will be.
 */
export async function currentCompareHash(r: Resource): Promise<string | null> {
  try {
    if (r instanceof GitSubdirectoryResource) return await subdirectoryTree(r);
    if (r instanceof LocalFilesResource) {
      const cache = localCacheDir(r.ws);
      const res = await computeHashTree({
        root: r.localPath,
        computeHash: r.computeHash,
        treeDir: null,
        ...(cache !== null && r.computeHash ? { cacheFile: join(cache, 'hashcache', encodeURIComponent(`${r.role}--${r.name}`)) } : {}),
      });
      return res.rootHash;
    }
    if (r instanceof GitRepoResource) {
      const head = await r.git.headCommit();
      return (await r.git.isDirty()) ? `${head}+uncommitted` : head;
    }
  } catch (e) {
    if (e instanceof SubprocessError || (e instanceof Error && /does not exist|not a directory/.test(e.message))) return null;
    throw e;
  }
  return null;
}

/** Tree id of the directory as it is on disk: HEAD's when clean, else built in a throw-away index. */
async function subdirectoryTree(r: GitSubdirectoryResource): Promise<string> {
  const git = r.ws.git;
  const rel = r.relativePath;
  if (!(await git.isDirty(`${rel}/`))) {
    const out = await git.run(['ls-tree', '-t', '-z', 'HEAD', '--', rel]);
    for (const line of out.split('\0')) {
      const tab = line.indexOf('\t');
      if (tab > 0 && line.slice(tab + 1) === rel) return line.slice(0, tab).split(' ')[2]!;
    }
    return EMPTY_TREE;
  }
  const index = join(tmpdir(), `dws-lineage-index-${process.pid}-${++indexCounter}`);
  const tmp = new Git(r.ws.dir, { log: r.ws.ctx.log, env: { ...r.ws.ctx.env, GIT_INDEX_FILE: index } });
  try {
    await tmp.run(['read-tree', 'HEAD']);
    await tmp.run(['add', '--all', '--', `${rel}/`]);
    if ((await tmp.run(['ls-files', '-z', '--', `${rel}/`])) === '') return EMPTY_TREE;
    return (await tmp.run(['write-tree', `--prefix=${rel}/`])).trim();
  } finally {
    rmSync(index, { force: true });
  }
}
