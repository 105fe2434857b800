/**
 * `dws add rclone` and the rclone resource in pull, push, snapshot and clone, driving the real
 * rclone binary with a `local`-type remote defined in a temporary configuration file.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, filesUnder, fingerprint, git, gitLog, newWorkspace, readJson, requireOnPath, tempDir, TEST_ENV } from '../helpers.js';

beforeAll(() => {
  requireOnPath(['rclone'], "Debian's rclone package: apt-get install rclone");
});
afterAll(cleanup);


/** An rclone config with remote `localfs`, a remote directory with two files, and a published workspace. */
async function setup() {
  const base = tempDir();
  const config = join(base, 'rclone.conf');
  writeFileSync(config, '[localfs]\ntype = local\n');
  const remote = join(base, 'remote');
  mkdirSync(join(remote, 'sub'), { recursive: true });
  writeFileSync(join(remote, 'a.txt'), 'alpha\n');
  writeFileSync(join(remote, 'sub', 'b.txt'), 'beta\n');
  const ws = await newWorkspace();
  const origin = join(base, 'ws.git');
  git(base, ['init', '--quiet', '--bare', origin]);
  await dwsOk(ws, ['--batch', 'publish', origin]);
  const add = (args: string[]) => dws(ws, ['--batch', 'add', 'rclone', '--config', config, '--role', 'source-data', ...args]);
  return { base, config, remote, ws, origin, add };
}

describe('dws add rclone', () => {
  it('copies the remote, records 1.6 params in order, and snapshots the copy exactly like local-files', async () => {
    const { base, config, remote, ws, add } = await setup();
    const r = await add(['--master', 'remote', `localfs:${remote}`, 'mirror']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("Successfully added resource 'mirror' to workspace.\n");
    expect(r.stderr).toContain('mirror: performing initial copy from remote');
    expect(filesUnder(join(ws, 'mirror'))).toEqual(['a.txt', 'sub/b.txt']);
    const entry = readJson(join(ws, '.dataworkspace', 'resources.json'))[0];
    expect(Object.entries(entry)).toEqual([
      ['resource_type', 'rclone'],
      ['name', 'mirror'],
      ['role', 'source-data'],
      ['global_local_path', join(ws, 'mirror')],
      ['compute_hash', false],
      ['export', false],
      ['imported', false],
      ['remote_origin', `localfs:${remote}`],
      ['config', config],
      ['master', 'remote'],
      ['sync_mode', 'copy'],
      ['size_only', false],
    ]);
    expect(readJson(join(ws, '.dataworkspace', 'resource_local_params.json')).mirror).toEqual({ local_path: null });
    expect(readFileSync(join(ws, '.gitignore'), 'utf8')).toContain('/mirror/\n');
    expect(gitLog(ws).slice(0, 2)).toEqual(['add of mirror', 'Adding resource mirror']);

    // The same content as a local-files resource hashes the same.
    const same = join(base, 'same');
    mkdirSync(join(same, 'sub'), { recursive: true });
    writeFileSync(join(same, 'a.txt'), 'alpha\n');
    writeFileSync(join(same, 'sub', 'b.txt'), 'beta\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', same]);
    const s = JSON.parse(await dwsOk(ws, ['--batch', 'snapshot', '--json', 'S1'])) as { resources: { name: string; compareHash: string | null; restoreHash: string | null }[] };
    const [mirror, local] = s.resources;
    expect(mirror!.compareHash).toMatch(/^[0-9a-f]{40}$/);
    expect(mirror!.compareHash).toBe(local!.compareHash);
    expect(mirror!.restoreHash).toBeNull();
    expect(existsSync(join(ws, '.dataworkspace', 'file', 'source-data', 'mirror', mirror!.compareHash!))).toBe(true);
    expect(git(ws, ['status', '--porcelain'])).toBe('');
  });

  it('master remote: pull copies (copy keeps, sync deletes); --size-only skips same-size changes', async () => {
    const { remote, ws, add } = await setup();
    await add(['--master', 'remote', `localfs:${remote}`, 'copied']);
    await add(['--master', 'remote', '--sync-mode', 'sync', `localfs:${remote}`, 'synced']);
    await add(['--master', 'remote', '--size-only', `localfs:${remote}`, 'sized']);
    await dwsOk(ws, ['--batch', 'push']);

    rmSync(join(remote, 'a.txt'));
    writeFileSync(join(remote, 'c.txt'), 'gamma\n');
    writeFileSync(join(remote, 'sub', 'b.txt'), 'BETA\n'); // same size, new content and a later time
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(remote, 'sub', 'b.txt'), later, later);
    const r = await dws(ws, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    expect(filesUnder(join(ws, 'copied'))).toEqual(['a.txt', 'c.txt', 'sub/b.txt']);
    expect(filesUnder(join(ws, 'synced'))).toEqual(['c.txt', 'sub/b.txt']);
    expect(readFileSync(join(ws, 'copied', 'sub', 'b.txt'), 'utf8')).toBe('BETA\n');
    expect(readFileSync(join(ws, 'sized', 'sub', 'b.txt'), 'utf8')).toBe('beta\n');
    expect(readFileSync(join(ws, 'sized', 'c.txt'), 'utf8')).toBe('gamma\n');
  });

  it('master remote: a pull keeps the local edits that no snapshot holds in the store before the remote replaces them', async () => {
    const { base, remote, ws, add } = await setup();
    await add(['--master', 'remote', `localfs:${remote}`, 'copied']);
    await add(['--master', 'remote', '--sync-mode', 'sync', `localfs:${remote}`, 'synced']);
    await dwsOk(ws, ['--batch', 'snapshot']);
    await dwsOk(ws, ['--batch', 'push']);
    writeFileSync(join(ws, 'copied', 'a.txt'), 'my edit\n'); // replaced by the remote's a.txt
    writeFileSync(join(ws, 'synced', 'mine.txt'), 'mine\n'); // removed by the sync
    const r = await dws(ws, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(ws, 'copied', 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(filesUnder(join(ws, 'synced'))).toEqual(['a.txt', 'sub/b.txt']);
    for (const [name, file, content] of [['copied', 'a.txt', 'my edit\n'], ['synced', 'mine.txt', 'mine\n']] as const) {
      const tree = new RegExp(`Kept the unsnapshotted content of 1 file\\(s\\) of '${name}' in the store before the ${name === 'copied' ? 'copy' : 'sync'} from its remote \\(master remote\\) may replace them, as tree ([0-9a-f]{40})`).exec(r.stderr)?.[1];
      expect(tree, r.stderr).toBeDefined();
      const out = join(base, `kept-${name}`);
      await dwsOk(ws, ['store', 'checkout', tree!, out]);
      expect(readFileSync(join(out, file), 'utf8')).toBe(content);
    }
  });

  it('master remote: a pull keeps the files of a deleted snapshot too (their content still in the store, until gc) before the sync removes them', async () => {
    const { base, remote, ws, add } = await setup();
    await add(['--master', 'remote', '--sync-mode', 'sync', `localfs:${remote}`, 'synced']);
    await dwsOk(ws, ['--batch', 'snapshot', 's1']);
    await dwsOk(ws, ['--batch', 'push']);
    writeFileSync(join(ws, 'synced', 'mine.txt'), 'mine\n');
    await dwsOk(ws, ['--batch', 'snapshot', 's2']);
    await dwsOk(ws, ['--batch', 'delete-snapshot', 's2']);
    const r = await dws(ws, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    expect(filesUnder(join(ws, 'synced'))).toEqual(['a.txt', 'sub/b.txt']);
    const tree = /Kept the unsnapshotted content of 1 file\(s\) of 'synced' in the store .* as tree ([0-9a-f]{40})/.exec(r.stderr)?.[1];
    expect(tree, r.stderr).toBeDefined();
    await dwsOk(ws, ['--batch', 'gc']);
    const out = join(base, 'kept');
    await dwsOk(ws, ['store', 'checkout', tree!, out]);
    expect(readFileSync(join(out, 'mine.txt'), 'utf8')).toBe('mine\n');
  });

  it('master remote: the files a pull copied from the remote stay, with no advice to restore a snapshot over them', async () => {
    const { base, remote, ws, origin, add } = await setup();
    await add(['--master', 'remote', `localfs:${remote}`, 'copied']);
    await dwsOk(ws, ['--batch', 'snapshot']);
    await dwsOk(ws, ['--batch', 'push']);
    writeFileSync(join(remote, 'c.txt'), 'gamma\n');
    const r = await dws(ws, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("Resource 'copied'"); // it said the pulled files were changes left as they were, to be replaced by a restore
    expect(filesUnder(join(ws, 'copied'))).toEqual(['a.txt', 'c.txt', 'sub/b.txt']);

    // A newer snapshot from another clone, of a copy edited there, does not replace the remote's files.
    const other = join(base, 'other');
    await dwsOk(base, ['--batch', 'clone', origin, other]);
    writeFileSync(join(other, 'copied', 'a.txt'), 'edited in the other clone\n');
    await dwsOk(other, ['--batch', 'snapshot']);
    await dwsOk(other, ['--batch', 'push']);
    await dwsOk(ws, ['--batch', 'pull']);
    expect(readFileSync(join(ws, 'copied', 'a.txt'), 'utf8')).toBe('alpha\n');
  });

  it('master local: push copies local to remote (sync deletes); master none copies once, then ignores changes', async () => {
    const { base, remote, ws, add } = await setup();
    const out = join(base, 'out');
    const mirrored = join(base, 'mirrored');
    mkdirSync(out);
    writeFileSync(join(out, 'old.txt'), 'old\n');
    mkdirSync(mirrored);
    writeFileSync(join(mirrored, 'old.txt'), 'old\n');
    let r = await add(['--master', 'local', `localfs:${out}`, 'pushed']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Creating empty directory at ${join(ws, 'pushed')} for resource pushed`);
    await add(['--master', 'local', '--sync-mode', 'sync', `localfs:${mirrored}`, 'pushsync']);
    r = await add([`localfs:${remote}`, 'once']);
    expect(r.stderr).toContain('once: performing initial copy from remote');
    expect(filesUnder(join(ws, 'once'))).toEqual(['a.txt', 'sub/b.txt']);

    writeFileSync(join(ws, 'pushed', 'new.txt'), 'new\n');
    writeFileSync(join(ws, 'pushsync', 'new.txt'), 'new\n');
    writeFileSync(join(ws, 'once', 'mine.txt'), 'mine\n');
    writeFileSync(join(remote, 'c.txt'), 'gamma\n');
    await dwsOk(ws, ['--batch', 'snapshot']);
    r = await dws(ws, ['--batch', 'push']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Skipping push of resource once, master is none');
    expect(filesUnder(out)).toEqual(['new.txt', 'old.txt']);
    expect(filesUnder(mirrored)).toEqual(['new.txt']);
    expect(filesUnder(remote)).toEqual(['a.txt', 'c.txt', 'sub/b.txt']);

    r = await dws(ws, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Skipping pull of resource once, master is none');
    expect(r.stderr).toContain('Skipping pull of resource pushed, master is local');
    expect(filesUnder(join(ws, 'once'))).toEqual(['a.txt', 'mine.txt', 'sub/b.txt']);
  });

  it('a clone makes the copy again from the remote', async () => {
    const { base, remote, ws, origin, add } = await setup();
    const outside = join(base, 'outside');
    await add(['--master', 'remote', `localfs:${remote}`, outside]);
    await dwsOk(ws, ['--batch', 'push']);
    rmSync(outside, { recursive: true });
    const copy = join(tempDir(), 'copy');
    const r = await dws(tempDir(), ['--batch', 'clone', '--hostname', 'other', origin, copy]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('outside: performing initial copy from remote');
    expect(filesUnder(outside)).toEqual(['a.txt', 'sub/b.txt']);
    expect(readJson(join(copy, '.dataworkspace', 'resource_local_params.json')).outside).toEqual({ local_path: null });
  });

  it('refuses an unusable rclone, an unknown remote and bad arguments, changing nothing', async () => {
    const { base, config, remote, ws, add } = await setup();
    const before = fingerprint(ws);
    // PATH with git but without rclone.
    const bin = join(base, 'bin');
    mkdirSync(bin);
    symlinkSync(requireOnPath(['git'], 'apt-get install git'), join(bin, 'git'));
    let r = await dws(ws, ['--batch', 'add', 'rclone', '--config', config, '--role', 's', `localfs:${remote}`, 'mirror'], { env: { ...TEST_ENV, PATH: bin } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('rclone executable not found');
    r = await add(['nosuch:/x', 'mirror']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Remote 'nosuch' not found by rclone");
    r = await dws(ws, ['--batch', 'add', 'rclone', '--config', join(base, 'missing.conf'), '--role', 's', `localfs:${remote}`, 'mirror']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`rclone configuration file ${join(base, 'missing.conf')} does not exist`);
    r = await add([remote, 'mirror']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Source in rclone should be specified as remotename:filepath');
    r = await add(['--master', 'sideways', `localfs:${remote}`, 'mirror']);
    expect(r.code).toBe(2);
    expect(existsSync(join(ws, 'mirror'))).toBe(false);
    expect(fingerprint(ws)).toBe(before);
  });

  it('a failing rclone on pull or push is an error naming rclone, with the workspace and the copy unchanged', async () => {
    const { base, remote, ws, add } = await setup();
    await add(['--master', 'remote', `localfs:${remote}`, 'mirror']);
    const out = join(base, 'out-file');
    writeFileSync(out, 'a file where a directory should be\n');
    await add(['--master', 'local', `localfs:${out}`, 'pushed']);
    writeFileSync(join(ws, 'pushed', 'x.txt'), 'x\n');
    await dwsOk(ws, ['--batch', 'push', '--only', 'mirror']);
    rmSync(remote, { recursive: true });
    const before = fingerprint(ws);
    let r = await dws(ws, ['--batch', 'pull', '--only', 'mirror']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('rclone copy raised error');
    expect(fingerprint(ws)).toBe(before);
    expect(filesUnder(join(ws, 'mirror'))).toEqual(['a.txt', 'sub/b.txt']);
    r = await dws(ws, ['--batch', 'push', '--only', 'pushed']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('rclone copy raised error');
    expect(fingerprint(ws)).toBe(before);
  });
});
