/**
 * A resource's compare hash for its state right now, computed without changing anything: no tree
 * files, no commits, no staging in the workspace index. Used to tell whether data changed since
 * a certificate was recorded (lineage.md §5 fix, and staleness in `dws status`).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SubprocessError } from '../protocol/errors.js';
import { EMPTY_TREE } from '../server/resources/git-common.js';
import { computeHashTree, readTreeFile } from '../server/resources/hashtree/index.js';
import { GitRepoResource } from '../server/resources/git.js';
import { GitSubdirectoryResource } from '../server/resources/git-subdirectory.js';
import { LocalFilesResource } from '../server/resources/local-files.js';
import type { Resource } from '../server/resources/types.js';
import type { Context } from '../server/context.js';
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

/**
 * The hash of one subpath of `r` as it is on disk now — its own tree (a directory) or its own
 * content (a file), in the resource type's hashing: the hash-tree entry of local-files, the git
 * tree or blob id of git and git-subdirectory — or null when it does not exist or cannot be known.
 * `dws reproduce` compares outputs by these (issue 12 item 1): a subpath output's certificate
 * names the whole resource, which other steps' outputs change.
 */
export async function currentSubpathHash(r: Resource, subpath: string): Promise<string | null> {
  try {
    if (r instanceof LocalFilesResource) {
      const path = join(r.localPath, subpath);
      if (!existsSync(path)) return null;
      const st = lstatSync(path);
      if (st.isFile()) return r.computeHash ? createHash('sha1').update(readFileSync(path)).digest('hex') : String(st.size);
      if (!st.isDirectory()) return null;
      return (await computeHashTree({ root: path, computeHash: r.computeHash, treeDir: null })).rootHash;
    }
    if (r instanceof GitSubdirectoryResource) return await gitObjectAt(r.ws.git, await subdirectoryTree(r), subpath);
    if (r instanceof GitRepoResource) return await gitObjectAt(r.git, await worktreeTree(r.git, r.ws.ctx), subpath);
  } catch (e) {
    if (e instanceof SubprocessError || (e instanceof Error && /does not exist|not a directory|ENOENT/.test(e.message))) return null;
    throw e;
  }
  return null;
}

/**
 * The hash of one subpath of `r` in the recorded state `compareHash` (a snapshot's compare hash
 * of the resource), read from the resource's hash-tree files or git objects; null when that
 * state or the subpath is not known here. Same hashing as currentSubpathHash.
 */
export async function recordedSubpathHash(r: Resource, compareHash: string, subpath: string): Promise<string | null> {
  try {
    if (r instanceof LocalFilesResource) {
      let hash = compareHash;
      for (const name of subpath.split('/').filter((x) => x !== '' && x !== '.')) {
        if (!existsSync(join(r.treeDir, hash))) return null;
        const entry = readTreeFile(r.treeDir, hash).find((e) => e.name === name);
        if (entry === undefined) return null;
        hash = entry.hash;
      }
      return hash;
    }
    if (r instanceof GitSubdirectoryResource) return await gitObjectAt(r.ws.git, compareHash, subpath);
    if (r instanceof GitRepoResource) return await gitObjectAt(r.git, compareHash.replace(/\+uncommitted$/, ''), subpath);
  } catch (e) {
    if (e instanceof SubprocessError || (e instanceof Error && /ENOENT|Malformed/.test(e.message))) return null;
    throw e;
  }
  return null;
}

/** The id of the object at `subpath` under the tree-ish `treeish`, or null. */
async function gitObjectAt(git: Git, treeish: string, subpath: string): Promise<string | null> {
  const path = subpath.split('/').filter((x) => x !== '' && x !== '.').join('/');
  if (path === '') return (await git.run(['rev-parse', '--verify', '-q', `${treeish}^{tree}`])).trim() || null;
  const out = await git.run(['rev-parse', '--verify', '-q', `${treeish}:${path}`]).catch(() => '');
  return out.trim() || null;
}

/** Tree id of a git repository's working tree as it is (untracked files included), via a throw-away index. */
async function worktreeTree(git: Git, ctx: Pick<Context, 'log' | 'env'>): Promise<string> {
  const index = join(tmpdir(), `dws-lineage-index-${process.pid}-${++indexCounter}`);
  const tmp = new Git(git.cwd, { log: ctx.log, env: { ...ctx.env, GIT_INDEX_FILE: index } });
  try {
    if (await tmp.succeeds(['rev-parse', '--verify', '-q', 'HEAD'])) await tmp.run(['read-tree', 'HEAD']);
    await tmp.run(['add', '--all', '--', '.']);
    return (await tmp.run(['write-tree'])).trim();
  } finally {
    rmSync(index, { force: true });
  }
}
