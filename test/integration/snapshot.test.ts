/** `dws snapshot`, `status` and `report history` as real processes, against dws 1.6's hashes and files. */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, fingerprint, git, gitLog, newWorkspace, tempDir } from '../helpers.js';

afterAll(cleanup);

/** A valid tag of `n` bytes: 'x's in dot-separated parts of at most 49. */
const longTag = (n: number) => Array.from({ length: n }, (_, i) => (i % 50 === 25 ? '.' : 'x')).join('');

/** The refusal of a tag too long for the results directory name (default template). */
const tooLong = (tag: string, limit: number, name = 'test-{TAG}') =>
  `Error: Tag '${tag.slice(0, 80)}...' is ${Buffer.byteLength(tag)} bytes long; the limit here is ${limit} bytes: the tag goes into the results directory name '${name}' (results.dir_template 'snapshots/{HOSTNAME}-{TAG}'), and a file name may have at most 255 bytes\n`;

describe('dws snapshot', () => {
  it('gives the snapshot hash of dws 1.6 for the same content', async () => {
    // tests/test_snapshots.py of dws 1.6 hard-codes this hash (workspace-format §6).
    const ws = await newWorkspace(['--create-resources=code,results']);
    writeFileSync(join(ws, 'code', 'test.py'), "print('this is a test')\n");
    const out = await dwsOk(ws, ['--batch', 'snapshot', '-m', 'test', 'TAG1']);
    expect(out).toBe("Have successfully taken snapshot of workspace, tagged with 'TAG1', hash is 9a4e7dd1f31b7edf607443043d7c06f2eaa0c66d.\n");
    const manifest = readFileSync(join(ws, '.dataworkspace', 'snapshots', 'snapshot-9a4e7dd1f31b7edf607443043d7c06f2eaa0c66d.json'));
    // The snapshot hash is git's blob hash of the manifest.
    expect(git(ws, ['hash-object', join(ws, '.dataworkspace', 'snapshots', 'snapshot-9a4e7dd1f31b7edf607443043d7c06f2eaa0c66d.json')]).trim()).toBe(
      '9a4e7dd1f31b7edf607443043d7c06f2eaa0c66d',
    );
    expect(manifest.toString()).not.toMatch(/\n$/);
    expect(git(ws, ['status', '--porcelain'])).toBe('');
    expect(gitLog(ws)[0]).toBe('Completed snapshot 9a4e7dd1f31b7edf607443043d7c06f2eaa0c66d');
    // The uncommitted code/test.py was committed ahead of the snapshot.
    expect(gitLog(ws)).toContain('autocommit ahead of snapshot');
  });

  it('gives the known hash of an empty manifest', async () => {
    const ws = await newWorkspace();
    const out = await dwsOk(ws, ['--batch', 'snapshot']);
    expect(out).toContain('hash is 0637a088a01e8ddab3bf3fa98dbe804cbde1a0dc.');
    expect(readFileSync(join(ws, '.dataworkspace', 'snapshot_lineage', '0637a088a01e8ddab3bf3fa98dbe804cbde1a0dc', 'placeholder.txt'), 'utf8')).toBe(
      'No resources for lineage snapshot 0637a088a01e8ddab3bf3fa98dbe804cbde1a0dc\n',
    );
  });

  it('moves results into the snapshot directory, read-only, and records their metrics', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    writeFileSync(join(ws, 'results', 'results.json'), '{"step": "train", "metrics": {"accuracy": 0.95, "loss": 1.0}}');
    mkdirSync(join(ws, 'results', 'a', 'c'), { recursive: true });
    writeFileSync(join(ws, 'results', 'a', 'x.txt'), 'x');
    writeFileSync(join(ws, 'results', 'a', 'c', 'y.txt'), 'y');
    await dwsOk(ws, ['--batch', 'snapshot', '-m', 'first', 'V1']);
    const dest = join(ws, 'results', 'snapshots', 'test-V1');
    expect(readFileSync(join(dest, 'results.json'), 'utf8')).toContain('"accuracy": 0.95');
    // 1.6 put a/x.txt under a/c/ (resources.md §1.4 BUG); it belongs at a/x.txt.
    expect(readFileSync(join(dest, 'a', 'x.txt'), 'utf8')).toBe('x');
    expect(readFileSync(join(dest, 'a', 'c', 'y.txt'), 'utf8')).toBe('y');
    expect(statSync(join(dest, 'a', 'x.txt')).mode & 0o222).toBe(0);
    expect(existsSync(join(ws, 'results', 'results.json'))).toBe(false);
    expect(existsSync(join(ws, 'results', 'a'))).toBe(false);
    expect(existsSync(join(ws, 'results', 'README.txt'))).toBe(true);
    expect(gitLog(ws)).toContain('Move current results to snapshots/test-V1');
    expect(git(ws, ['status', '--porcelain'])).toBe('');

    const hist = await dwsOk(ws, ['report', 'history']);
    expect(hist).toMatch(/^History of snapshots\n\| Hash    \| Tags \| Created             \| accuracy \| loss \| Message \|\n/);
    expect(hist).toMatch(/\| V1   \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d \|     0\.95 \|  1\.0 \| first   \|\n1 snapshots total\n$/);
    const md = JSON.parse(readFileSync(join(ws, '.dataworkspace', 'snapshot_metadata', `${git(ws, ['log', '-1', '--format=%s']).trim().split(' ')[2]}_md.json`), 'utf8'));
    expect(md.metrics).toEqual({ accuracy: 0.95, loss: 1.0 });
    expect(md.relative_destination_path).toBe('snapshots/test-V1');
    expect(Object.keys(md)).toEqual(['hash', 'tags', 'message', 'hostname', 'timestamp', 'relative_destination_path', 'restore_hashes', 'metrics']);
    expect(md.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  });

  it('numbers untagged snapshots in the results directory', async () => {
    const ws = await newWorkspace(['--create-resources=results']);
    writeFileSync(join(ws, 'results', 'out.txt'), '1');
    await dwsOk(ws, ['--batch', 'snapshot']);
    expect(readFileSync(join(ws, 'results', 'snapshots', 'test-001', 'out.txt'), 'utf8')).toBe('1');
  });

  it('re-tags an unchanged state under the same hash, and refuses a snapshot that adds nothing', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    const first = await dwsOk(ws, ['--batch', 'snapshot', '-m', 'one', 'A']);
    const hash = /hash is ([0-9a-f]{40})/.exec(first)![1]!;
    const again = await dws(ws, ['--batch', 'snapshot', 'B']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`hash is ${hash}.`);
    expect(again.stderr).toContain(`Snapshot ${hash} already exists, updating metadata...`);
    const md = JSON.parse(readFileSync(join(ws, '.dataworkspace', 'snapshot_metadata', `${hash}_md.json`), 'utf8'));
    expect(md.tags).toEqual(['A', 'B']);
    expect(md.message).toBe('one');
    expect(md.updated_timestamp).toMatch(/^\d{4}-.*\.\d{6}$/);

    const before = fingerprint(ws);
    const none = await dws(ws, ['--batch', 'snapshot']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Configuration error: No differences from previous snapshot, doing nothing.');
    expect(fingerprint(ws)).toBe(before);
  });

  it('records local-files resources as hash trees and skips unchanged contents', async () => {
    const ws = await newWorkspace();
    const data = join(ws, 'data');
    mkdirSync(join(data, 'sub'), { recursive: true });
    writeFileSync(join(data, 'a.txt'), 'hello\n');
    writeFileSync(join(data, 'sub', 'b.txt'), 'b');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--compute-hash', 'data']);
    const s1 = await dwsOk(ws, ['--batch', 'snapshot', 'one']);
    const manifest = (h: string) => JSON.parse(readFileSync(join(ws, '.dataworkspace', 'snapshots', `snapshot-${h}.json`), 'utf8'));
    const h1 = /hash is ([0-9a-f]{40})/.exec(s1)![1]!;
    const root1 = manifest(h1)[0].hash as string;
    // Expected tree files, built by hand (workspace-format §13): `<sha1>\t<blob|tree>\t<name>\n`.
    const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
    const subTree = `${sha1('b')}\tblob\tb.txt\n`;
    const rootTree = `${sha1('hello\n')}\tblob\ta.txt\n${sha1(subTree)}\ttree\tsub\n`;
    expect(root1).toBe(sha1(rootTree));
    const treeDir = join(ws, '.dataworkspace', 'file', 'source-data', 'data');
    expect(readFileSync(join(treeDir, root1), 'utf8')).toBe(rootTree);
    expect(readFileSync(join(treeDir, sha1(subTree)), 'utf8')).toBe(subTree);
    expect(statSync(join(treeDir, root1)).mode & 0o777).toBe(0o755);
    // Committed with the snapshot, from a pack dws wrote (not loose objects): git agrees on every byte.
    const blobId = (content: string) => createHash('sha1').update(`blob ${Buffer.byteLength(content)}\0${content}`).digest('hex');
    const rel = '.dataworkspace/file/source-data/data';
    expect(git(ws, ['ls-tree', 'HEAD', '--', `${rel}/${root1}`])).toBe(`100755 blob ${blobId(rootTree)}\t${rel}/${root1}\n`);
    expect(git(ws, ['cat-file', 'blob', `HEAD:${rel}/${sha1(subTree)}`])).toBe(subTree);
    expect(readdirSync(join(ws, '.git', 'objects', 'pack')).filter((f) => f.endsWith('.pack'))).toHaveLength(1);
    expect(git(ws, ['fsck', '--strict', '--no-progress'])).toBe('');
    expect(readFileSync(join(ws, '.gitignore'), 'utf8')).toContain('/data/\n');
    writeFileSync(join(data, 'sub', 'b.txt'), 'changed');
    const s2 = await dwsOk(ws, ['--batch', 'snapshot', 'two']);
    const root2 = manifest(/hash is ([0-9a-f]{40})/.exec(s2)![1]!)[0].hash as string;
    expect(root2).not.toBe(root1);
    expect(git(ws, ['status', '--porcelain'])).toBe('');
  });

  it.each([
    [['0123456789abcdef'], 1, "Tag '0123456789abcdef' looks like a git hash. Please pick something else."],
    [['bad_tag'], 2, "Tag 'bad_tag' is not valid"],
    // Letters, numbers, '.' and '-' only, and yet refused: the message gives the whole rule.
    ...['a..b', 'v1-', 'v1.', `${'x'.repeat(64)}.y`].map((tag) => [[tag], 2, `Error: Tag '${tag}' is not valid: a tag must be letters, numbers and '-', starting and ending with a letter or number, in parts of at most 63 characters joined by single dots (e.g. v1.2-rc1)\n`] as [string[], number, string]),
    [['used'], 1, "Configuration error: Tag 'used' already exists for snapshot"],
    // Refused even with no results resource: the tag names the results directory of every snapshot.
    [[longTag(251)], 2, tooLong(longTag(251), 250)],
  ])('refuses tag %j, leaving every file as it was', async (args, code, message) => {
    const ws = await newWorkspace(['--create-resources=code']);
    await dwsOk(ws, ['--batch', 'snapshot', 'used']);
    writeFileSync(join(ws, 'code', 'new.py'), 'x = 1\n');
    const before = fingerprint(ws);
    const r = await dws(ws, ['--batch', 'snapshot', ...args]);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect(fingerprint(ws)).toBe(before);
  });

  it('refuses a tag too long for the results directory name before anything changes, and takes one that just fits', async () => {
    // The default template makes `snapshots/test-<tag>`: 255 bytes leave 250 for the tag.
    const ws = await newWorkspace(['--create-resources=code,results']);
    writeFileSync(join(ws, 'results', 'r.txt'), 'r');
    const before = fingerprint(ws);
    const r = await dws(ws, ['--batch', 'snapshot', '-m', 'x', longTag(251)]);
    // It used to fail after hashing, as a Configuration error: ENAMETOOLONG ... mkdir '.../results/snapshots/test-xxx...'.
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(tooLong(longTag(251), 250));
    expect(fingerprint(ws)).toBe(before);
    await dwsOk(ws, ['--batch', 'snapshot', '-m', 'x', longTag(250)]);
    expect(readFileSync(join(ws, 'results', 'snapshots', `test-${longTag(250)}`, 'r.txt'), 'utf8')).toBe('r');
    // A longer hostname leaves less room.
    await dwsOk(ws, ['--batch', 'config', 'hostname', 'a-longer-host']);
    writeFileSync(join(ws, 'results', 'r.txt'), 'r2');
    const before2 = fingerprint(ws);
    const r2 = await dws(ws, ['--batch', 'snapshot', longTag(242)]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(tooLong(longTag(242), 241, 'a-longer-host-{TAG}'));
    expect(fingerprint(ws)).toBe(before2);
  });

  it('shows a long tag cut at 80 characters in every tag message, and a usual one as 1.6 does', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    const cut = (t: string) => `${t.slice(0, 80)}...`;
    const before = fingerprint(ws);
    const bad = `${'x'.repeat(40)}_${'x'.repeat(300)}`;
    const hex = 'a'.repeat(300);
    for (const [tag, code, message] of [
      [bad, 2, `Error: Tag '${cut(bad)}' is not valid: a tag must be letters, numbers and '-', starting and ending with a letter or number, in parts of at most 63 characters joined by single dots (e.g. v1.2-rc1)\n`],
      [hex, 1, `Configuration error: Tag '${cut(hex)}' looks like a git hash. Please pick something else.\n`],
      ['abcdef', 1, "Configuration error: Tag 'abcdef' looks like a git hash. Please pick something else.\n"],
      ['bad_tag', 2, "Error: Tag 'bad_tag' is not valid: a tag must be"],
    ] as const) {
      const r = await dws(ws, ['--batch', 'snapshot', tag]);
      expect(r.code).toBe(code);
      expect(r.stderr).toContain(message);
      expect(fingerprint(ws)).toBe(before);
    }
    // A used tag (batch), a tag no snapshot carries, a bad one to delete-snapshot.
    const used = longTag(200);
    const h = /hash is ([0-9a-f]{40})/.exec(await dwsOk(ws, ['--batch', 'snapshot', used]))![1]!;
    writeFileSync(join(ws, 'results', 'r.txt'), 'r');
    let r = await dws(ws, ['--batch', 'snapshot', used]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^Configuration error: Tag '${cut(used).replaceAll('.', '\\.')}' already exists for snapshot ${h} taken \\S+\\n$`));
    r = await dws(ws, ['--batch', 'restore', longTag(300)]);
    expect(r.stderr).toBe(`Configuration error: Snapshot for tag ${cut(longTag(300))} not found\n`);
    r = await dws(ws, ['--batch', 'restore', hex]);
    expect(r.stderr).toBe(`Configuration error: Snapshot match for partial hash ${cut(hex)} not found\n`);
    r = await dws(ws, ['--batch', 'delete-snapshot', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Error: Snapshot tag or hash '${cut(bad)}' is not valid: it must be`);
  });

  it('refuses a hostname too long for the results directory names in dws config', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    const local = readFileSync(join(ws, '.dataworkspace', 'local_params.json'), 'utf8');
    const r = await dws(ws, ['--batch', 'config', 'hostname', 'h'.repeat(63) + '.' + 'h'.repeat(63)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "Configuration error: Error in validation of configuration parameter 'hostname': it is 127 characters long; the limit is 64, so that the results directory names it goes into (results.dir_template) leave room for a tag\n",
    );
    expect(readFileSync(join(ws, '.dataworkspace', 'local_params.json'), 'utf8')).toBe(local);
  });

  it('refuses a snapshot up front when the hostname or template leave no room for the tag in the results directory name', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    writeFileSync(join(ws, 'results', 'r.txt'), 'r');
    // A hand-edited hostname (dws config and init refuse it): 5 parts of 63 (319 characters).
    const long = Array.from({ length: 5 }, () => 'h'.repeat(63)).join('.');
    writeFileSync(join(ws, '.dataworkspace', 'local_params.json'), JSON.stringify({ hostname: long }, null, 2));
    const before = fingerprint(ws);
    const noRoom = (what: string, name = `${long}-{TAG}`.slice(0, 80) + '...', template = 'snapshots/{HOSTNAME}-{TAG}', bytes = 320) =>
      `Configuration error: Results directory name '${name}' (results.dir_template '${template}' with hostname '${long.slice(0, 80)}...') has ${bytes} bytes without {TAG}, which leaves no room for ${what}: a file name may have at most 255 bytes. No snapshot was taken. Choose a shorter hostname ('dws config hostname NAME') or fix results.dir_template ('dws config results.dir_template TEMPLATE').\n`;
    // Untagged, it used to fail after hashing (ENAMETOOLONG); tagged, with "the limit here is -65 bytes".
    let r = await dws(ws, ['--batch', 'snapshot']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(noRoom('the snapshot number that stands for the tag of an untagged snapshot'));
    expect(fingerprint(ws)).toBe(before);
    r = await dws(ws, ['--batch', 'snapshot', 'v1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(noRoom('a tag'));
    expect(fingerprint(ws)).toBe(before);
    // A template that leaves no room with a hostname of the most dws config takes (64 characters).
    const host = `${'h'.repeat(32)}.${'h'.repeat(31)}`;
    await dwsOk(ws, ['--batch', 'config', 'hostname', host]);
    const template = 'snapshots/{HOSTNAME}{HOSTNAME}{HOSTNAME}{HOSTNAME}-{TAG}';
    await dwsOk(ws, ['--batch', 'config', 'results.dir_template', template]);
    const before2 = fingerprint(ws);
    r = await dws(ws, ['--batch', 'snapshot', 'v1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(noRoom('a tag', `${host}${host}`.slice(0, 80) + '...', template, 257).replace(`hostname '${long.slice(0, 80)}...'`, `hostname '${host}'`));
    expect(fingerprint(ws)).toBe(before2);
    // Three times leave room: the snapshot is taken.
    await dwsOk(ws, ['--batch', 'config', 'results.dir_template', 'snapshots/{HOSTNAME}{HOSTNAME}{HOSTNAME}-{TAG}']);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    expect(readFileSync(join(ws, 'results', 'snapshots', `${host}${host}${host}-v1`, 'r.txt'), 'utf8')).toBe('r');
  });

  it('stops before changing anything when a local-files resource cannot be read', async () => {
    const ws = await newWorkspace(['--create-resources=results']);
    mkdirSync(join(ws, 'data'));
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--compute-hash', 'data']);
    writeFileSync(join(ws, 'results', 'r.txt'), 'r');
    writeFileSync(join(ws, 'data', 'secret.txt'), 's');
    chmodSync(join(ws, 'data', 'secret.txt'), 0o000);
    const canRead = (() => {
      try {
        readFileSync(join(ws, 'data', 'secret.txt'));
        return true;
      } catch {
        return false;
      }
    })();
    if (canRead) {
      // Running as root, permissions do not stop reads: use a dangling symlink instead.
      chmodSync(join(ws, 'data', 'secret.txt'), 0o644);
      const { symlinkSync } = await import('node:fs');
      symlinkSync(join(ws, 'nowhere'), join(ws, 'data', 'broken'));
    }
    const before = fingerprint(ws);
    const r = await dws(ws, ['--batch', 'snapshot']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Cannot hash resource 'data'/);
    expect(fingerprint(ws)).toBe(before);
    expect(existsSync(join(ws, 'results', 'r.txt'))).toBe(true);
  });

  it('leaves to git what it stores for tree files: a clean filter set by the user applies', async () => {
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'a.txt'), 'a');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--compute-hash', 'data']);
    git(ws, ['config', 'filter.upper.clean', 'tr a-f A-F']);
    writeFileSync(join(ws, '.gitattributes'), '.dataworkspace/file/** filter=upper\n');
    const out = await dwsOk(ws, ['--batch', 'snapshot']);
    const hash = /hash is ([0-9a-f]{40})/.exec(out)![1]!;
    const root = JSON.parse(readFileSync(join(ws, '.dataworkspace', 'snapshots', `snapshot-${hash}.json`), 'utf8'))[0].hash as string;
    const onDisk = readFileSync(join(ws, '.dataworkspace', 'file', 'source-data', 'data', root), 'utf8');
    expect(git(ws, ['cat-file', 'blob', `HEAD:.dataworkspace/file/source-data/data/${root}`])).toBe(onDisk.replace(/[a-f]/g, (c) => c.toUpperCase()));
    expect(git(ws, ['status', '--porcelain'])).toBe('');
    expect(git(ws, ['fsck', '--strict', '--no-progress', '--no-dangling'])).toBe('');
  });

  it('stages nothing and leaves no tree file when a snapshot stops after hashing, and the next one commits every tree file', async () => {
    const ws = await newWorkspace(['--create-resources=results']);
    mkdirSync(join(ws, 'data', 'sub'), { recursive: true });
    writeFileSync(join(ws, 'data', 'sub', 'a.txt'), 'a');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--compute-hash', 'data']);
    writeFileSync(join(ws, 'results', 'r.txt'), 'r');
    mkdirSync(join(ws, 'results', 'snapshots', 'test-T1'), { recursive: true }); // the results move will refuse
    const head = git(ws, ['rev-parse', 'HEAD']);
    const treeDir = join(ws, '.dataworkspace', 'file', 'source-data', 'data');
    const added = readdirSync(treeDir); // what 'dws add' put there
    const r = await dws(ws, ['--batch', 'snapshot', 'T1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('test-T1 of resource');
    expect(git(ws, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(ws, ['diff', '--cached', '--name-only'])).toBe('');
    // The tree files the hashing wrote went with the failed snapshot (docs/store.md).
    expect(readdirSync(treeDir)).toEqual(added);
    expect(git(ws, ['status', '--porcelain', '--untracked-files=all', '--', '.dataworkspace'])).toBe('');
    await dwsOk(ws, ['--batch', 'snapshot', 'T2']);
    const treeFiles = readdirSync(treeDir).sort();
    expect(treeFiles.length).toBeGreaterThanOrEqual(added.length + 2); // sub/ and the root
    expect(git(ws, ['ls-tree', '--name-only', 'HEAD', '.dataworkspace/file/source-data/data/']).trim().split('\n').map((p) => p.split('/').pop()).sort()).toEqual(treeFiles);
    expect(git(ws, ['status', '--porcelain'])).toBe('');
    expect(git(ws, ['fsck', '--strict', '--no-progress', '--no-dangling'])).toBe('');
  });
});

describe('separate git repositories and workspace discovery', () => {
  function repoWithOrigin(): string {
    const base = tempDir();
    git(base, ['init', '--quiet', '--bare', 'origin.git']);
    git(base, ['init', '--quiet', 'repo']);
    const repo = join(base, 'repo');
    writeFileSync(join(repo, 'README.md'), 'results repo\n');
    git(repo, ['add', '.']);
    git(repo, ['commit', '--quiet', '-m', 'first']);
    git(repo, ['remote', 'add', 'origin', join(base, 'origin.git')]);
    return repo;
  }

  it('commits edits of a code repository and moves results inside a results repository', async () => {
    const ws = await newWorkspace();
    const code = repoWithOrigin();
    const results = repoWithOrigin();
    await dwsOk(ws, ['--batch', 'add', 'git', '--role', 'code', '--name', 'code', code]);
    await dwsOk(ws, ['--batch', 'add', 'git', '--role', 'results', '--name', 'results', results]);
    writeFileSync(join(code, 'train.py'), 'print(1)\n'); // not committed by hand
    writeFileSync(join(results, 'metrics.txt'), 'm'); // untracked result
    mkdirSync(join(results, 'plots'));
    writeFileSync(join(results, 'plots', 'a.png'), 'png');
    // From a subdirectory: the workspace is found by walking up.
    mkdirSync(join(ws, 'notes'));
    await dwsOk(join(ws, 'notes'), ['--batch', 'snapshot', 'issue1-test']);
    expect(gitLog(code)[0]).toBe('autocommit ahead of snapshot');
    expect(git(code, ['status', '--porcelain'])).toBe('');
    expect(gitLog(results)[0]).toBe('Move current results to snapshots/test-issue1-test');
    expect(readFileSync(join(results, 'snapshots', 'test-issue1-test', 'plots', 'a.png'), 'utf8')).toBe('png');
    expect(existsSync(join(results, 'plots'))).toBe(false);
    expect(existsSync(join(results, 'README.md'))).toBe(true);
    expect(git(results, ['status', '--porcelain'])).toBe('');
    expect(git(ws, ['status', '--porcelain'])).toBe('');
  });

  it('works on a workspace given by --workspace-dir from anywhere', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    const elsewhere = tempDir();
    const out = await dwsOk(elsewhere, ['--batch', 'snapshot', '--workspace-dir', ws, 'T1']);
    expect(out).toContain("tagged with 'T1'");
    const st = await dwsOk(elsewhere, ['report', '--workspace-dir', ws, 'history']);
    expect(st).toContain('| T1   |');
    // As in 1.6, a bad --workspace-dir is a usage error (exit 2), checked before anything runs.
    const missing = await dws(elsewhere, ['status', '--workspace-dir', join(elsewhere, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`Directory '${join(elsewhere, 'nope')}' does not exist`);
    const notWorkspace = await dws(elsewhere, ['report', '--workspace-dir', elsewhere, 'history']);
    expect(notWorkspace.code).toBe(2);
    expect(notWorkspace.stderr).toContain(`No .dataworkspace directory found under '${elsewhere}'. Did you run 'dws init'?`);
  });
});

describe('questions, when not in batch mode', () => {
  it('asks for the role and the name on standard input', async () => {
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'data'));
    const r = await dws(ws, ['add', 'local-files', 'data'], { input: 'x\ni\n\n' });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Please enter a role for this resource, one of [s]ource-data, [i]ntermediate-data, [c]ode, or [r]esults');
    expect(r.stderr).toContain('Invalid resource role'); // 'x' was refused, then asked again
    expect(r.stderr).toContain('Please enter a short, unique name for this resource [data]');
    expect(JSON.parse(readFileSync(join(ws, '.dataworkspace', 'resources.json'), 'utf8'))[0]).toMatchObject({ name: 'data', role: 'intermediate-data' });
  });

  it('refuses to move a tag whose snapshot holds the results directory the tag names, before asking, changing nothing', async () => {
    const ws = await newWorkspace(['--create-resources', 'results']);
    writeFileSync(join(ws, 'results', 'out.txt'), 'v1');
    const old = /hash is ([0-9a-f]{40})/.exec(await dwsOk(ws, ['--batch', 'snapshot', 'v2']))![1]!;
    writeFileSync(join(ws, 'results', 'out.txt'), 'v2');
    const before = fingerprint(ws);
    // The question used to be asked and a yes then met 'Results directory ... already exists'.
    const r = await dws(ws, ['snapshot', 'v2'], { input: 'y\n' });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).not.toContain('Remove this tag');
    expect(r.stderr).toContain(
      `Configuration error: Tag 'v2' cannot move to a new snapshot: the results directory it names, ${join(ws, 'results', 'snapshots', 'test-v2')} (results.dir_template 'snapshots/{HOSTNAME}-{TAG}'), holds the results of snapshot ${old}, which carries it. Pick another tag, or put {SNAPSHOT_NO} in results.dir_template ('dws config results.dir_template TEMPLATE').`,
    );
    expect(fingerprint(ws)).toBe(before);
    // Another tag goes ahead.
    await dwsOk(ws, ['--batch', 'snapshot', 'v3']);
    expect(readFileSync(join(ws, 'results', 'snapshots', 'test-v3', 'out.txt'), 'utf8')).toBe('v2');
  });

  it('stops cleanly when standard input ends before an answer', async () => {
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'data'));
    const before = fingerprint(ws);
    const r = await dws(ws, ['add', 'local-files', 'data'], { input: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('No answer on standard input (use --batch to run without questions)');
    expect(fingerprint(ws)).toBe(before);
  });
});
