/** `dws restore` as a real process: binary files, renames and deletions, git repositories, bad input, lineage, the API. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { restore as apiRestore } from '../../index.js';
import { cleanup, dws, dwsOk, fingerprint, git, gitLog, newWorkspace } from '../helpers.js';

afterAll(cleanup);

const sha1 = (file: string) => createHash('sha1').update(readFileSync(file)).digest('hex');
const hashOf = (out: string) => /hash is ([0-9a-f]{40})/.exec(out)![1]!;

/** Bytes that are not text: a PNG signature, NULs and every byte value. */
function binary(seed: number): Buffer {
  const b = Buffer.alloc(4096);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + seed) & 0xff;
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]).copy(b);
  return b;
}

/** A separate git repository with an origin, inside `parent`. */
function gitRepo(parent: string, name: string): string {
  const origin = join(parent, `${name}-origin.git`);
  git(parent, ['init', '--quiet', '--bare', origin]);
  const dir = join(parent, name);
  mkdirSync(dir);
  git(dir, ['init', '--quiet', '-b', 'main']);
  writeFileSync(join(dir, 'model.py'), 'v1\n');
  git(dir, ['add', '.']);
  git(dir, ['commit', '--quiet', '-m', 'first']);
  git(dir, ['remote', 'add', 'origin', origin]);
  return dir;
}

describe('dws restore of a git-subdirectory', () => {
  it('restores binary files exactly, undoing a change, a rename and a deletion, as new commits', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    const code = join(ws, 'code');
    writeFileSync(join(code, 'a.png'), binary(1));
    writeFileSync(join(code, 'b.png'), binary(2));
    writeFileSync(join(code, 'c.png'), binary(3));
    mkdirSync(join(code, 'sub'));
    writeFileSync(join(code, 'sub', 'keep.txt'), 'keep\n');
    const want = { a: sha1(join(code, 'a.png')), b: sha1(join(code, 'b.png')), c: sha1(join(code, 'c.png')) };
    const v1 = hashOf(await dwsOk(ws, ['--batch', 'snapshot', 'v1']));

    writeFileSync(join(code, 'a.png'), binary(9)); // changed
    renameSync(join(code, 'b.png'), join(code, 'renamed.png')); // renamed
    rmSync(join(code, 'c.png')); // deleted
    rmSync(join(code, 'sub'), { recursive: true }); // a whole directory deleted
    writeFileSync(join(code, 'new.bin'), binary(5)); // added
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const headBefore = git(ws, ['rev-parse', 'HEAD']).trim();

    const r = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Skipping the restore of the following result resources, which are left in their latest state: results\n' +
        `Restoring snapshot ${v1} (v1)\n  Resources to restore: code\n  Resources to leave: results\n`,
    );
    expect(sha1(join(code, 'a.png'))).toBe(want.a);
    expect(sha1(join(code, 'b.png'))).toBe(want.b);
    expect(sha1(join(code, 'c.png'))).toBe(want.c);
    expect(readFileSync(join(code, 'sub', 'keep.txt'), 'utf8')).toBe('keep\n');
    expect(existsSync(join(code, 'renamed.png'))).toBe(false);
    expect(existsSync(join(code, 'new.bin'))).toBe(false);
    // The directory's tree is the snapshot's, in a new commit on top of the old history.
    const md = JSON.parse(readFileSync(join(ws, '.dataworkspace', 'snapshot_metadata', `${v1}_md.json`), 'utf8'));
    expect(git(ws, ['rev-parse', 'HEAD:code']).trim()).toBe(git(ws, ['rev-parse', `${md.restore_hashes.code}:code`]).trim());
    expect(git(ws, ['merge-base', '--is-ancestor', headBefore, 'HEAD'])).toBe('');
    expect(gitLog(ws)[0]).toBe(`Revert to commit ${md.restore_hashes.code}`);
    expect(git(ws, ['status', '--porcelain'])).toBe('');
  });

  it('commits uncommitted edits before restoring, and leaves results and resources added since alone', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    writeFileSync(join(ws, 'code', 'm.py'), 'one\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    writeFileSync(join(ws, 'code', 'm.py'), 'two\n');
    writeFileSync(join(ws, 'results', 'r.txt'), 'result\n');
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'x.csv'), '1\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    writeFileSync(join(ws, 'code', 'm.py'), 'three, not committed\n');

    const r = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('Resources have been added to workspace since restore, will leave them as-is: data\n');
    expect(r.stdout).toContain('  Resources to restore: code\n  Resources to leave: data, results\n');
    expect(readFileSync(join(ws, 'code', 'm.py'), 'utf8')).toBe('one\n');
    expect(readFileSync(join(ws, 'results', 'r.txt'), 'utf8')).toBe('result\n');
    // The uncommitted edit is kept in history.
    expect(gitLog(ws)).toContain('auto-commit ahead of restore');
    expect(git(ws, ['show', 'HEAD~1:code/m.py'])).toBe('three, not committed\n');
  });

  it('asks before restoring in interactive mode', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, 'code', 'm.py'), 'one\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    writeFileSync(join(ws, 'code', 'm.py'), 'two\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const before = fingerprint(ws);
    const no = await dws(ws, ['restore', 'v1'], { input: 'n\n' });
    expect(no.code).toBe(1);
    expect(no.stderr).toContain('Should I perform this restore? [Y/n]');
    expect(no.stderr).toContain('Not a positive response, exiting without doing anything');
    expect(fingerprint(ws)).toBe(before);
    const yes = await dws(ws, ['restore', 'v1'], { input: '\n' });
    expect(yes.code).toBe(0);
    expect(readFileSync(join(ws, 'code', 'm.py'), 'utf8')).toBe('one\n');
  });

  it('brings back the lineage recorded with the snapshot', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    const lineageDir = join(ws, '.dataworkspace', 'current_lineage');
    const recorded = '{\n  "resource_name": "code",\n  "lineages": []\n}';
    mkdirSync(lineageDir, { recursive: true });
    writeFileSync(join(lineageDir, 'code.json'), recorded);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    writeFileSync(join(lineageDir, 'code.json'), '{"resource_name": "code", "lineages": [{"changed": true}]}');
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(readFileSync(join(lineageDir, 'code.json'), 'utf8')).toBe(recorded);
  });
});

describe('dws restore of a separate git repository', () => {
  it('makes the repository content equal the recorded commit, as a new commit on its branch', async () => {
    const ws = await newWorkspace();
    const repo = gitRepo(ws, 'model');
    await dwsOk(ws, ['--batch', 'add', 'git', '--role', 'code', 'model']);
    writeFileSync(join(repo, 'weights.bin'), binary(7));
    const v1 = hashOf(await dwsOk(ws, ['--batch', 'snapshot', 'v1']));
    const v1Commit = git(repo, ['rev-parse', 'HEAD']).trim();
    writeFileSync(join(repo, 'model.py'), 'v2\n');
    rmSync(join(repo, 'weights.bin'));
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const v2Commit = git(repo, ['rev-parse', 'HEAD']).trim();

    await dwsOk(ws, ['--batch', 'restore', v1.slice(0, 8)]);
    expect(readFileSync(join(repo, 'model.py'), 'utf8')).toBe('v1\n');
    expect(sha1(join(repo, 'weights.bin'))).toBe(createHash('sha1').update(binary(7)).digest('hex'));
    expect(git(repo, ['rev-parse', 'HEAD^{tree}']).trim()).toBe(git(repo, ['rev-parse', `${v1Commit}^{tree}`]).trim());
    expect(git(repo, ['rev-parse', 'HEAD~1']).trim()).toBe(v2Commit);
    expect(git(repo, ['log', '-1', '--format=%s'])).toBe(`Revert to commit ${v1Commit}\n`);
    expect(git(repo, ['symbolic-ref', '--short', 'HEAD']).trim()).toBe('main');
  });

  it('refuses a repository with uncommitted changes, changing nothing; --force commits them first', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    const repo = gitRepo(ws, 'model');
    await dwsOk(ws, ['--batch', 'add', 'git', '--role', 'source-data', 'model']);
    writeFileSync(join(ws, 'code', 'c.py'), 'c1\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    writeFileSync(join(ws, 'code', 'c.py'), 'c2\n');
    writeFileSync(join(repo, 'model.py'), 'v2\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    writeFileSync(join(repo, 'model.py'), 'dirty\n');
    writeFileSync(join(ws, 'code', 'c.py'), 'uncommitted in the workspace\n');

    const before = fingerprint(ws);
    const repoBefore = fingerprint(repo);
    const r = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Configuration error: Cannot restore resource 'model': the git repository at ${repo} has uncommitted changes (model.py).`);
    expect(r.stderr).toContain('--force');
    // Nothing changed: not the code directory (restored first in order), not the repository.
    expect(fingerprint(ws)).toBe(before);
    expect(fingerprint(repo)).toBe(repoBefore);
    expect(git(repo, ['status', '--porcelain'])).toBe(' M model.py\n');

    await dwsOk(ws, ['--batch', 'restore', '--force', 'v1']);
    expect(readFileSync(join(repo, 'model.py'), 'utf8')).toBe('v1\n');
    expect(readFileSync(join(ws, 'code', 'c.py'), 'utf8')).toBe('c1\n');
    expect(git(repo, ['log', '--format=%s'])).toContain('auto-commit ahead of restore');
    expect(git(repo, ['show', 'HEAD~1:model.py'])).toBe('dirty\n');
  });
});

describe('dws restore: choosing resources and bad input', () => {
  it('restores only the named resources, and applies --leave and --strict', async () => {
    const ws = await newWorkspace(['--create-resources=source-data,code,results']);
    writeFileSync(join(ws, 'code', 'c.py'), 'c1\n');
    writeFileSync(join(ws, 'source-data', 'd.csv'), 'd1\n');
    const v1 = hashOf(await dwsOk(ws, ['--batch', 'snapshot', 'v1']));
    writeFileSync(join(ws, 'code', 'c.py'), 'c2\n');
    writeFileSync(join(ws, 'source-data', 'd.csv'), 'd2\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);

    const only = await dws(ws, ['--batch', 'restore', '--only', 'code', 'v1']);
    expect(only.code).toBe(0);
    expect(only.stdout).toContain('  Resources to restore: code\n  Resources to leave: results, source-data\n');
    expect(readFileSync(join(ws, 'code', 'c.py'), 'utf8')).toBe('c1\n');
    expect(readFileSync(join(ws, 'source-data', 'd.csv'), 'utf8')).toBe('d2\n');

    const before = fingerprint(ws);
    const strict = await dws(ws, ['--batch', 'restore', '--strict', 'v1']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toBe(
      'Configuration error: Restore set contains result resources, which cannot be restored. The following are result resources: results\n',
    );
    const onlyResults = await dws(ws, ['--batch', 'restore', '--only', 'results', 'v1']);
    expect(onlyResults.code).toBe(1);
    expect(fingerprint(ws)).toBe(before);

    const leave = await dws(ws, ['--batch', 'restore', '--strict', '--leave', 'results,code', 'v1']);
    expect(leave.code).toBe(0);
    expect(leave.stdout).toBe(`Restoring snapshot ${v1} (v1)\n  Resources to restore: source-data\n  Resources to leave: code, results\n`);
    expect(readFileSync(join(ws, 'source-data', 'd.csv'), 'utf8')).toBe('d1\n');

    const nothing = await dws(ws, ['--batch', 'restore', '--leave', 'code,source-data', 'v1']);
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toContain('No resources to restore.\n');
  });

  it('refuses bad input with a clear message, changing nothing', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    writeFileSync(join(ws, 'code', 'c.py'), 'c1\n');
    const v1 = hashOf(await dwsOk(ws, ['--batch', 'snapshot', 'v1']));
    writeFileSync(join(ws, 'code', 'c.py'), 'c2\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    // A second metadata entry sharing v1's first 7 digits makes that prefix ambiguous.
    const twin = `${v1.slice(0, 7)}${'0'.repeat(33)}`;
    const mdDir = join(ws, '.dataworkspace', 'snapshot_metadata');
    writeFileSync(join(mdDir, `${twin}_md.json`), readFileSync(join(mdDir, `${v1}_md.json`), 'utf8').replace(v1, twin));
    const before = fingerprint(ws);

    const cases: Array<[string[], number, string]> = [
      [['restore', 'nope'], 1, 'Configuration error: Snapshot for tag nope not found'],
      [['restore', 'abcdef12'], 1, 'Configuration error: Snapshot match for partial hash abcdef12 not found'],
      // Hex too short for a hash prefix, or in upper case (a prefix is lowercase): still looked up as a tag, and said so.
      [['restore', 'abc12'], 1, 'Configuration error: Snapshot for tag abc12 not found; as a hash prefix, abc12 is too short: give at least 6 hex digits\n'],
      [['restore', v1.slice(0, 5)], 1, `Configuration error: Snapshot for tag ${v1.slice(0, 5)} not found; as a hash prefix, ${v1.slice(0, 5)} is too short: give at least 6 hex digits\n`],
      [['diff', 'v2', '0a1'], 1, 'Configuration error: Snapshot for tag 0a1 not found; as a hash prefix, 0a1 is too short: give at least 6 hex digits\n'],
      [['restore', 'ABCDEF12'], 1, 'Configuration error: Snapshot for tag ABCDEF12 not found; as a hash prefix, ABCDEF12 would need lowercase digits: abcdef12\n'],
      [['restore', 'f'.repeat(40)], 1, `Configuration error: No metadata entry for snapshot ${'f'.repeat(40)}`],
      [['restore', v1.slice(0, 7)], 1, `Configuration error: Partial hash ${v1.slice(0, 7)} is ambiguous: it matches`],
      [['restore', '--only', 'code,nope', 'v1'], 1, "Configuration error: A resource by the name 'nope' does not exist in this workspace (given in --only). Resources are: "],
      [['restore', '--leave', 'nope', 'v1'], 1, "Configuration error: A resource by the name 'nope' does not exist in this workspace (given in --leave). Resources are: "],
      [['restore', '--only', 'code', '--leave', 'results', 'v1'], 2, 'Error: Please specify either --only or --leave, but not both'],
    ];
    for (const [args, code, message] of cases) {
      const r = await dws(ws, ['--batch', ...args]);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr, args.join(' ')).toContain(message);
      expect(fingerprint(ws), args.join(' ')).toBe(before);
    }
  });

  it('is available from the API, which returns the number of restored resources', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    writeFileSync(join(ws, 'code', 'c.py'), 'c1\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    writeFileSync(join(ws, 'code', 'c.py'), 'c2\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    await expect(apiRestore('v1', { workspaceDir: ws, only: ['code'], leave: ['results'] })).rejects.toThrow(
      'Cannot specify both only and leave for restore command.',
    );
    expect(await apiRestore('v1', { workspaceDir: ws })).toBe(1);
    expect(readFileSync(join(ws, 'code', 'c.py'), 'utf8')).toBe('c1\n');
    expect(await apiRestore('v2', { workspaceDir: join(ws, 'code') })).toBe(1);
    expect(readFileSync(join(ws, 'code', 'c.py'), 'utf8')).toBe('c2\n');
  });
});
