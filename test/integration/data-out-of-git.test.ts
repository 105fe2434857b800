/**
 * Issue 11, item 6, as real processes with real git: every dws commit stages only what dws owns
 * (.dataworkspace, the root .gitignore/.gitattributes, git-subdirectory resources), never the
 * work tree, so a resource's data never reaches git; a folder git already tracks is refused as
 * a local-files or rclone resource with the command that untracks it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, fingerprint, git, newWorkspace, tempDir } from '../helpers.js';

afterAll(cleanup);

/** Every path any commit of the repository ever held. */
const everCommitted = (repo: string): string[] => [...new Set(git(repo, ['log', '--all', '--name-only', '--format=']).split('\n').filter(Boolean))].sort();

describe('dws commits only what it owns', () => {
  it('data of a folder added after another never reaches git, in add or in later snapshots (the case of the issue)', async () => {
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'data'));
    mkdirSync(join(ws, 'work'));
    writeFileSync(join(ws, 'data', 'big.bin'), 'x\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'intermediate-data', 'work']);
    expect(git(ws, ['status', '--porcelain', '--untracked-files=all'])).toBe('?? data/big.bin\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--compute-hash', 'data']);
    await dwsOk(ws, ['--batch', 'snapshot', 'one']);
    writeFileSync(join(ws, 'data', 'big.bin'), 'y\n');
    writeFileSync(join(ws, 'work', 'out.bin'), 'z\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'two']);
    const paths = everCommitted(ws);
    // dws's metadata, its .gitignore and the step-file tsconfig.json that init wrote; no data.
    expect(paths.filter((p) => !p.startsWith('.dataworkspace/') && p !== '.gitignore')).toEqual(['tsconfig.json']);
    // The hash trees are committed, with the mode 1.6 gives them.
    const trees = git(ws, ['ls-tree', '-r', 'HEAD', '--', '.dataworkspace/file/source-data/data/']).trim().split('\n');
    expect(trees.length).toBeGreaterThanOrEqual(3); // dummy.txt and the two roots
    expect(trees.filter((l) => !l.endsWith('/dummy.txt')).every((l) => l.startsWith('100755 blob '))).toBe(true);
    expect(git(ws, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  });

  it('files outside every resource stay the user\'s: not committed by any command, and no obstacle to push and pull', async () => {
    const base = tempDir();
    const dir = join(base, 'ws');
    mkdirSync(join(dir, 'stuff'), { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'mine\n');
    writeFileSync(join(dir, 'stuff', 'big.bin'), 'data\n');
    const init = await dws(dir, ['--batch', 'init', '--hostname', 'test', '--create-resources', 'code,results']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toContain('Not committed to git: notes.txt, stuff/. dws commits only its own metadata and git-subdirectory resources;');
    const origin = join(base, 'ws.git');
    git(base, ['init', '--quiet', '--bare', origin]);
    await dwsOk(dir, ['--batch', 'publish', origin]);
    writeFileSync(join(dir, 'code', 'a.py'), 'a = 1\n');
    writeFileSync(join(dir, 'code', 'gone.py'), 'gone\n');
    await dwsOk(dir, ['--batch', 'snapshot', 'one']);
    rmSync(join(dir, 'code', 'gone.py'));
    writeFileSync(join(dir, 'results', 'results.json'), '{"metrics": {"x": 1}}');
    await dwsOk(dir, ['--batch', 'snapshot', 'two']);
    await dwsOk(dir, ['--batch', 'restore', 'one']);
    await dwsOk(dir, ['--batch', 'config', 'results.dir_template', 'snapshots/{TAG}']);
    await dwsOk(dir, ['--batch', 'push']);
    await dwsOk(dir, ['--batch', 'pull']);
    const copy = join(tempDir(), 'copy');
    await dwsOk(tempDir(), ['--batch', 'clone', '--hostname', 'other', origin, copy]);

    // git-subdirectory content, deletions included, is committed; the user's files never are.
    expect(git(dir, ['show', 'HEAD:code/gone.py'])).toBe('gone\n'); // restored to snapshot one
    expect(git(dir, ['log', '--format=%s', '--', 'code/gone.py']).trim().split('\n')).toContain('autocommit ahead of snapshot');
    const paths = everCommitted(dir);
    expect(paths).not.toContain('notes.txt');
    expect(paths).not.toContain('stuff/big.bin');
    expect(git(dir, ['status', '--porcelain', '--untracked-files=all'])).toBe('?? notes.txt\n?? stuff/big.bin\n');
    expect(git(copy, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  });

  it('a tracked file changed outside the owned paths still stops push and pull (as in 1.6), which name it', async () => {
    const base = tempDir();
    const ws = await newWorkspace(['--create-resources', 'code']);
    writeFileSync(join(ws, 'README.md'), 'readme\n');
    git(ws, ['add', 'README.md']);
    git(ws, ['commit', '--quiet', '-m', 'readme']);
    const origin = join(base, 'ws.git');
    git(base, ['init', '--quiet', '--bare', origin]);
    await dwsOk(ws, ['--batch', 'publish', origin]);
    writeFileSync(join(ws, 'README.md'), 'edited\n');
    for (const cmd of ['push', 'pull']) {
      const r = await dws(ws, ['--batch', cmd]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Data workspace metadata repo at ${ws} has uncommitted changes. Please commit before ${cmd}ing. Changed: README.md\n`);
    }
  });
});

describe('a folder git already tracks is refused as a local-files or rclone resource', () => {
  it('names the folder and says how to untrack it; once untracked it is accepted', async () => {
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'data', 'sub'), { recursive: true });
    writeFileSync(join(ws, 'data', 'big.bin'), 'x\n');
    writeFileSync(join(ws, 'data', 'sub', 'b.bin'), 'y\n');
    git(ws, ['add', 'data']);
    git(ws, ['commit', '--quiet', '-m', 'user commits data']);
    const before = fingerprint(ws);
    const r = await dws(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "Directory data is tracked by the workspace's git repository (2 files: data/big.bin, data/sub/b.bin), but the data of a local-files resource is kept out of git. Stop tracking it first (the files stay on disk): git rm -r --cached data && git commit -m 'Stop tracking data', then add it again.",
    );
    expect(fingerprint(ws)).toBe(before);

    const config = join(tempDir(), 'rclone.conf');
    writeFileSync(config, '[localfs]\ntype = local\n');
    const rc = await dws(ws, ['--batch', 'add', 'rclone', '--config', config, '--role', 'source-data', '--master', 'local', `localfs:${tempDir()}`, 'data']);
    expect(rc.code).toBe(1);
    expect(rc.stderr).toContain("Directory data is tracked by the workspace's git repository (2 files: data/big.bin, data/sub/b.bin), but the data of a rclone resource is kept out of git.");
    expect(fingerprint(ws)).toBe(before);

    git(ws, ['rm', '-r', '--quiet', '--cached', 'data']);
    git(ws, ['commit', '--quiet', '-m', 'Stop tracking data']);
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await dwsOk(ws, ['--batch', 'snapshot', 'one']);
    expect(git(ws, ['ls-files', 'data'])).toBe('');
    expect(git(ws, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  });
});

describe('a resource folder that is a link to a folder elsewhere (a big disk)', () => {
  it('keeps the link out of git too, and follows a moved workspace', async () => {
    const base = tempDir();
    const big = join(base, 'bigdisk', 'data');
    mkdirSync(big, { recursive: true });
    writeFileSync(join(big, 'f.csv'), 'v1\n');
    const ws = join(base, 'project');
    renameSync(await newWorkspace(), ws);
    symlinkSync(big, join(ws, 'data'));
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    expect(readFileSync(join(ws, '.gitignore'), 'utf8').split('\n')).toContain('/data');
    expect(git(ws, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    expect(everCommitted(ws)).not.toContain('data');

    const moved = join(base, 'renamed');
    renameSync(ws, moved);
    writeFileSync(join(big, 'f.csv'), 'v2\n');
    await dwsOk(moved, ['--batch', 'snapshot', 'v2']);
    await dwsOk(moved, ['--batch', 'restore', 'v1']);
    expect(readFileSync(join(big, 'f.csv'), 'utf8')).toBe('v1\n');
    expect(existsSync(ws)).toBe(false);
  });
});
