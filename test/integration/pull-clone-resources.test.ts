/**
 * Issue 11, items 4 and 5, as real processes with real git and rclone: `dws pull` pulls every
 * resource of the merged resources.json (also one added here and not yet pushed, as 1.6's
 * test_import and test_rclone expect), and a clone, or a pull that brings a resource, puts a
 * local-files or rclone folder that lay inside the original workspace inside its own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, commitIn, dws, dwsOk, filesUnder, fingerprint, git, gitLog, newWorkspace, readJson, repoWithOrigin, tempDir } from '../helpers.js';

afterAll(cleanup);

/** A commit of `file` pushed to `origin` from another clone of it, `elsewhere` (cloned on first use). */
function pushFromElsewhere(origin: string, elsewhere: string, file: string, content: string): void {
  if (!existsSync(elsewhere)) git(join(elsewhere, '..'), ['clone', '--quiet', origin, elsewhere]);
  commitIn(elsewhere, file, content);
  git(elsewhere, ['push', '--quiet', 'origin', 'master']);
}

/** A workspace with code and results subdirectories, published to a bare origin. */
async function published(): Promise<{ base: string; ws: string; origin: string }> {
  const base = tempDir();
  const origin = join(base, 'ws.git');
  git(base, ['init', '--quiet', '--bare', origin]);
  const ws = await newWorkspace(['--create-resources', 'code,results']);
  await dwsOk(ws, ['--batch', 'publish', origin]);
  return { base, ws, origin };
}

describe('dws pull pulls every resource of the merged resources.json', () => {
  it('a git resource added here and not yet pushed is pulled (the case of the issue)', async () => {
    const { base, ws } = await published();
    // `add git ./models` with its own origin, after the workspace was pushed.
    const modelsOrigin = join(base, 'models.git');
    const models = repoWithOrigin(ws, 'models', modelsOrigin, 'm.txt', 'v1\n');
    await dwsOk(ws, ['--batch', 'add', 'git', '--role', 'intermediate-data', './models']);
    // A new commit on the resource's origin, from elsewhere.
    const elsewhere = join(base, 'elsewhere');
    pushFromElsewhere(modelsOrigin, elsewhere, 'm.txt', 'v2\n');

    const r = await dws(ws, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Updating resources: code, results, models\n');
    expect(r.stderr).toContain('[pull] pulling resource models\n');
    expect(r.stdout).toBe('Pulled workspace and resources: code, results, models\n');
    expect(readFileSync(join(models, 'm.txt'), 'utf8')).toBe('v2\n');

    // --only accepts it too: its name is one of the merged resources'.
    pushFromElsewhere(modelsOrigin, elsewhere, 'm.txt', 'v3\n');
    const only = await dws(ws, ['--batch', 'pull', '--only', 'models']);
    expect(only.code, only.stderr).toBe(0);
    expect(only.stdout).toBe('Pulled workspace and resources: models\n');
    expect(readFileSync(join(models, 'm.txt'), 'utf8')).toBe('v3\n');
  });

  it('an rclone resource added here with the remote as master is pulled (1.6 test_rclone)', async () => {
    const { base, ws } = await published();
    const config = join(base, 'rclone.conf');
    writeFileSync(config, '[localfs]\ntype = local\n');
    const master = join(base, 'master');
    mkdirSync(join(master, 'subdir'), { recursive: true });
    writeFileSync(join(master, 'file1.txt'), 'this is a test\n');
    writeFileSync(join(master, 'subdir', 'file2.txt'), 'this is also a test\n');
    const local = join(ws, 'rclone-resource');
    await dwsOk(ws, ['--batch', 'add', 'rclone', '--config', config, '--role', 'source-data', '--sync-mode=sync', '--master=remote', `localfs:${master}`, local]);
    await dwsOk(ws, ['--batch', 'snapshot', 'tag1']);
    writeFileSync(join(master, 'file1.txt'), 'this is a test\nline 2 of file\n');
    writeFileSync(join(master, 'subdir', 'file4.txt'), 'this is test #4\n');

    const r = await dws(ws, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Updating resources: code, results, rclone-resource\n');
    expect(filesUnder(local)).toEqual(['file1.txt', 'subdir/file2.txt', 'subdir/file4.txt']);
    expect(readFileSync(join(local, 'file1.txt'), 'utf8')).toBe('this is a test\nline 2 of file\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'tag2']);
  });

  it("one only we have is pulled along with the origin's new commits; resources added on both sides are refused, changing nothing", async () => {
    const { base, ws, origin } = await published();
    const other = join(tempDir(), 'other');
    await dwsOk(tempDir(), ['--batch', 'clone', '--hostname', 'other', origin, other]);
    writeFileSync(join(other, 'code', 'theirs.py'), 'theirs\n');
    await dwsOk(other, ['--batch', 'snapshot', 'theirs']);
    await dwsOk(other, ['--batch', 'push']);

    const libOrigin = join(base, 'lib.git');
    repoWithOrigin(ws, 'lib', libOrigin, 'l.py', '1\n');
    await dwsOk(ws, ['--batch', 'add', 'git', '--role', 'code', 'lib']);
    pushFromElsewhere(libOrigin, join(base, 'lib-elsewhere'), 'l.py', '2\n');

    let r = await dws(ws, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('Pulled workspace and resources: code, results, lib\n');
    expect(readFileSync(join(ws, 'lib', 'l.py'), 'utf8')).toBe('2\n');
    expect(readFileSync(join(ws, 'code', 'theirs.py'), 'utf8')).toBe('theirs\n');
    await dwsOk(ws, ['--batch', 'push']);

    // Both sides add a resource: git cannot merge resources.json; the pull is undone and says how to go on.
    await dwsOk(other, ['--batch', 'pull', '--skip', 'lib']);
    mkdirSync(join(other, 'docs'));
    writeFileSync(join(other, 'docs', 'notes.md'), 'hello\n');
    await dwsOk(other, ['--batch', 'add', 'git', '--role', 'code', 'docs']);
    await dwsOk(other, ['--batch', 'push', '--skip', 'lib']);
    mkdirSync(join(ws, 'more'));
    writeFileSync(join(ws, 'more', 'm.md'), 'mine\n');
    await dwsOk(ws, ['--batch', 'add', 'git', '--role', 'code', 'more']);
    const before = fingerprint(ws);
    r = await dws(ws, ['--batch', 'pull']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`The commits of the workspace's origin conflict with those of ${ws} in .dataworkspace/resources.json; nothing was changed. Merge by hand:`);
    expect(fingerprint(ws)).toBe(before);
    expect(existsSync(join(ws, '.git', 'MERGE_HEAD'))).toBe(false);
  });
});

describe('a clone never writes into the original workspace', () => {
  /** A published workspace with an in-workspace local-files `data`, an in-workspace output folder `work`, and an outside `ext`. */
  async function withLocalFiles() {
    const { base, ws, origin } = await published();
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'rows.csv'), 'a,b\n1,2\n');
    mkdirSync(join(ws, 'work'));
    const ext = join(base, 'ext');
    mkdirSync(ext);
    writeFileSync(join(ext, 'x.txt'), 'x\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'intermediate-data', 'work']);
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', ext]);
    await dwsOk(ws, ['--batch', 'snapshot', 'one']);
    await dwsOk(ws, ['--batch', 'push']);
    return { base, ws, origin, ext };
  }

  it('puts in-workspace local-files folders inside the clone; resources.json stays as 1.6 wrote it; run writes there', async () => {
    const { ws, origin, ext } = await withLocalFiles();
    const before = fingerprint(ws);
    const copy = join(tempDir(), 'copy');
    const r = await dws(tempDir(), ['--batch', 'clone', '--hostname', 'other', origin, copy]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Local files resource 'data' lay inside the original workspace (${join(ws, 'data')}): created ${join(copy, 'data')} for it in this one.`);
    const local = readJson(join(copy, '.dataworkspace', 'resource_local_params.json'));
    expect(local.data).toEqual({ local_path: join(copy, 'data') });
    expect(local.work).toEqual({ local_path: join(copy, 'work') });
    expect(local.ext).toEqual({ local_path: null }); // outside: the same folder, as 1.6
    expect(existsSync(join(copy, 'data'))).toBe(true);
    // resources.json keeps 1.6's absolute global_local_path (what 1.6 reads; the manifests hash it).
    const params = readJson(join(copy, '.dataworkspace', 'resources.json'));
    expect(params.find((p: { name: string }) => p.name === 'data').global_local_path).toBe(join(ws, 'data'));
    expect(git(copy, ['status', '--porcelain'])).toBe('');

    // A step run in the clone writes the clone's folder, not the original's.
    writeFileSync(join(copy, 'data', 'rows.csv'), 'a,b\n3,4\n');
    writeFileSync(
      join(copy, 'code', 'copy.step.mjs'),
      `import { defineStep } from 'dataworkspaces';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default defineStep({
  name: 'copy',
  inputs: { rows: 'data:/rows.csv' },
  outputs: { out: 'work:/out' },
  async run({ inputs, outputs }) {
    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'rows.csv'), readFileSync(inputs.rows));
  },
});
`,
    );
    const run = await dws(copy, ['--batch', 'run', 'code/copy.step.mjs']);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(readFileSync(join(copy, 'work', 'out', 'rows.csv'), 'utf8')).toBe('a,b\n3,4\n');
    expect(fingerprint(ws)).toBe(before);
    expect(readdirSync(join(ws, 'work'))).toEqual([]);
    expect(existsSync(join(ext, 'x.txt'))).toBe(true);
  });

  it('a pull that brings an in-workspace local-files resource puts it inside the puller', async () => {
    const { ws, origin } = await published();
    const other = join(tempDir(), 'other');
    await dwsOk(tempDir(), ['--batch', 'clone', '--hostname', 'other', origin, other]);
    mkdirSync(join(other, 'fresh'));
    writeFileSync(join(other, 'fresh', 'f.txt'), 'theirs\n');
    await dwsOk(other, ['--batch', 'add', 'local-files', '--role', 'source-data', 'fresh']);
    await dwsOk(other, ['--batch', 'push']);
    const theirs = fingerprint(other);

    const r = await dws(ws, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Cloned new resources: fresh\n');
    expect(readJson(join(ws, '.dataworkspace', 'resource_local_params.json')).fresh).toEqual({ local_path: join(ws, 'fresh') });
    expect(existsSync(join(ws, 'fresh'))).toBe(true);
    await dwsOk(ws, ['--batch', 'snapshot', 'mine']); // hashes our (empty) folder, not theirs
    expect(fingerprint(other)).toBe(theirs);
    expect(gitLog(ws)[0]).toMatch(/^Completed snapshot /);
  });

  it('an in-workspace rclone copy is made again inside the clone from the remote', async () => {
    const { base, ws, origin } = await published();
    const config = join(base, 'rclone.conf');
    writeFileSync(config, '[localfs]\ntype = local\n');
    const remote = join(base, 'remote');
    mkdirSync(remote);
    writeFileSync(join(remote, 'a.txt'), 'alpha\n');
    await dwsOk(ws, ['--batch', 'add', 'rclone', '--config', config, '--role', 'source-data', '--master', 'remote', `localfs:${remote}`, join(ws, 'mirror')]);
    await dwsOk(ws, ['--batch', 'push']);
    writeFileSync(join(ws, 'mirror', 'mine.txt'), 'only in the original\n');
    const before = fingerprint(ws);
    const copy = join(tempDir(), 'copy');
    const r = await dws(tempDir(), ['--batch', 'clone', '--hostname', 'other', origin, copy]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('mirror: performing initial copy from remote');
    expect(filesUnder(join(copy, 'mirror'))).toEqual(['a.txt']);
    expect(readJson(join(copy, '.dataworkspace', 'resource_local_params.json')).mirror).toEqual({ local_path: join(copy, 'mirror') });
    expect(fingerprint(ws)).toBe(before);
  });
});

describe('a workspace moved or copied to another folder', () => {
  it('acts on its own in-workspace local-files and rclone folders, never at the old place: status, snapshot, restore (mv, then cp -a)', async () => {
    const base = tempDir();
    const ws = join(base, 'project');
    renameSync(await newWorkspace(), ws);
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'f.txt'), 'v1\n');
    const config = join(base, 'rclone.conf');
    writeFileSync(config, '[localfs]\ntype = local\n');
    const remote = join(base, 'remote');
    mkdirSync(remote);
    writeFileSync(join(remote, 'a.txt'), 'alpha\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await dwsOk(ws, ['--batch', 'add', 'rclone', '--config', config, '--role', 'source-data', `localfs:${remote}`, join(ws, 'mirror')]);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);

    // Moved: its old place is gone, and nothing is written there again (restore recreated it).
    const moved = join(base, 'renamed');
    renameSync(ws, moved);
    const status = await dwsOk(moved, ['status']);
    expect(status).toContain('  data: no changes');
    expect(status).toContain('  mirror: no changes');
    writeFileSync(join(moved, 'data', 'f.txt'), 'v2\n');
    writeFileSync(join(moved, 'mirror', 'b.txt'), 'beta\n');
    await dwsOk(moved, ['--batch', 'snapshot', 'v2']);
    await dwsOk(moved, ['--batch', 'restore', 'v1']);
    expect(readFileSync(join(moved, 'data', 'f.txt'), 'utf8')).toBe('v1\n');
    expect(filesUnder(join(moved, 'mirror'))).toEqual(['a.txt']);
    expect(existsSync(ws)).toBe(false);

    // Copied beside the original: the copy's snapshots and restores never touch the original's files.
    const copy = join(base, 'copy');
    execFileSync('cp', ['-a', moved, copy]);
    const original = fingerprint(moved);
    writeFileSync(join(copy, 'data', 'f.txt'), 'copy\n');
    await dwsOk(copy, ['--batch', 'snapshot', 'v3']);
    await dwsOk(copy, ['--batch', 'restore', 'v2']);
    expect(readFileSync(join(copy, 'data', 'f.txt'), 'utf8')).toBe('v2\n');
    expect(filesUnder(join(copy, 'mirror'))).toEqual(['a.txt', 'b.txt']);
    expect(fingerprint(moved)).toBe(original);
  });

  it('an outside folder that is gone is not taken for an in-workspace one of the same name: the error names it and says how to set its place', async () => {
    const base = tempDir();
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'f.txt'), 'inside\n');
    const outside = join(base, 'usb', 'data');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'g.txt'), 'outside\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--name', 'usb-data', outside]);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    rmSync(join(base, 'usb'), { recursive: true });
    const r = await dws(ws, ['--batch', 'snapshot', 'v2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Local path ${outside} of resource 'usb-data' does not exist. If the data moved, set its new place on this machine with: dws config --resource usb-data local_path NEW_PATH`);
    expect(readFileSync(join(ws, 'data', 'f.txt'), 'utf8')).toBe('inside\n');
  });
});
