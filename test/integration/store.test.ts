/**
 * The content store as a user meets it, through real `dws` processes and real git and rclone:
 * restore that brings data back byte for byte, refusal to lose unsnapshotted work, data that
 * travels with push/clone/pull, status of changes, gc and fsck, and bad stores.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../clients/node/index.js';
import { cleanup, DWS, dws, dwsOk, fingerprint, git, newWorkspace, readJson, requireOnPath, stdioServer, TEST_ENV, tempDir } from '../helpers.js';
import { entryOffset, findEntry, readPackIndex } from '../../server/store/pack.js';

afterAll(cleanup);

/** Every path under `dir` with its kind, mode and content hash (or link target): equal prints = equal trees. */
function treePrint(dir: string): string {
  const lines: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      if (st.isDirectory()) {
        lines.push(`d ${JSON.stringify(r)}`);
        walk(r);
      } else if (st.isSymbolicLink()) lines.push(`l ${JSON.stringify(r)} -> ${readlinkSync(join(dir, r))}`);
      else lines.push(`f ${(st.mode & 0o111) !== 0 ? 'x' : '-'} ${createHash('sha1').update(readFileSync(join(dir, r))).digest('hex')} ${JSON.stringify(r)}`);
    }
  };
  walk('');
  return lines.join('\n');
}

/** Wait (polling, at most 30 s) until `done()` holds: for what a process of its own finishes after a command returns. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !done(); waited += 50) {
    if (waited > 30_000) throw new Error(`Timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `diff -r` of two trees, links compared as links: '' when equal. */
function diffR(a: string, b: string): string {
  try {
    return execFileSync('diff', ['-r', '--no-dereference', a, b], { encoding: 'utf8' });
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? e);
  }
}

/** Version 1 of a data folder: text, binary, executable, a link inside, nested and empty dirs, awkward names. */
function writeV1(data: string): void {
  mkdirSync(join(data, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(data, 'empty'));
  for (let i = 0; i < 30; i++) writeFileSync(join(data, 'sub', `f${i}.csv`), `row,${i}\n`.repeat(i + 1));
  const bin = Buffer.alloc(3 << 20); // a large object: a file of its own in the store
  for (let i = 0; i < bin.length; i++) bin[i] = (i * 7 + 3) & 0xff;
  writeFileSync(join(data, 'model.bin'), bin);
  writeFileSync(join(data, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(data, 'run.sh'), 0o755);
  writeFileSync(join(data, 'sub', 'deeper', 'ünïcode file.txt'), 'ü\n');
  writeFileSync(join(data, 'line\nfeed.txt'), 'newline in the name\n');
  symlinkSync('sub/f1.csv', join(data, 'latest.csv'));
}

/** 1% modified, deleted and added, plus an exec bit flipped and a link retargeted. */
function changeToV2(data: string): void {
  writeFileSync(join(data, 'sub', 'f3.csv'), 'changed\n');
  rmSync(join(data, 'sub', 'f4.csv'));
  rmSync(join(data, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(data, 'sub', 'new.csv'), 'new\n');
  chmodSync(join(data, 'run.sh'), 0o644);
  rmSync(join(data, 'latest.csv'));
  symlinkSync('sub/f2.csv', join(data, 'latest.csv'));
  rmSync(join(data, 'empty'), { recursive: true });
  writeFileSync(join(data, 'empty'), 'now a file\n');
}

/** A tmpfs of `size` mounted on a new temp dir (the caller unmounts it); the test is skipped where it cannot be mounted (not root). */
function smallDisk(ctx: { skip: () => void }, size: string): string {
  const mnt = tempDir('dws-small-disk-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    ctx.skip(); // needs root to mount, as on CI; noted on issue 11
  }
  return mnt;
}

/** A new workspace with a local-files resource per name (its file `f` holds the name), snapshotted as v1. */
async function workspaceWithResources(names: string[]): Promise<string> {
  const ws = await newWorkspace();
  for (const n of names) {
    mkdirSync(join(ws, n));
    writeFileSync(join(ws, n, 'f'), `${n}\n`);
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', n]);
  }
  await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
  return ws;
}

async function workspaceWithData(): Promise<{ ws: string; data: string; v1: string }> {
  const ws = await newWorkspace();
  const data = join(ws, 'data');
  mkdirSync(data);
  writeV1(data);
  await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
  await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
  const v1 = join(tempDir('dws-v1-'), 'data');
  cpSync(data, v1, { recursive: true, verbatimSymlinks: true });
  return { ws, data, v1 };
}

describe('restore of local-files resources from the content store', () => {
  it('gives back each version byte for byte, both ways, with exec bits, links, empty dirs and odd names', async () => {
    const { ws, data, v1 } = await workspaceWithData();
    const printV1 = treePrint(data);
    changeToV2(data);
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const printV2 = treePrint(data);
    expect(printV2).not.toBe(printV1);

    const r = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/added to workspace since restore/);
    expect(treePrint(data)).toBe(printV1);
    expect(diffR(data, v1)).toBe('');
    expect(readlinkSync(join(data, 'latest.csv'))).toBe('sub/f1.csv');
    expect(lstatSync(join(data, 'run.sh')).mode & 0o111).not.toBe(0);
    expect(staged(data)).toEqual([]);

    await dwsOk(ws, ['--batch', 'restore', 'v2']);
    expect(treePrint(data)).toBe(printV2);
    // The restored state is the snapshot's: a snapshot now finds nothing new.
    const again = await dws(ws, ['--batch', 'snapshot']);
    expect(again.stderr + again.stdout).toMatch(/No differences from previous snapshot/);
    // Nothing of the store reaches git.
    expect(git(ws, ['ls-files']).split('\n').filter((f) => f.includes('store'))).toEqual(expect.arrayContaining([expect.stringMatching(/^\.dataworkspace\/snapshot_store\//)]));
    expect(git(ws, ['ls-files'])).not.toMatch(/\/packs\/|model\.bin/);
  });

  it('sets the files it replaces or removes aside in the store’s trash, emptied by a process of its own; an outside hard link keeps its bytes; a store on another filesystem works without', async () => {
    const { ws, data } = await workspaceWithData();
    const printV1 = treePrint(data);
    changeToV2(data);
    const outside = join(tempDir(), 'f3-link');
    linkSync(join(data, 'sub', 'f3.csv'), outside);
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const printV2 = treePrint(data);
    const trash = join(ws, '.git', 'dws', 'store', 'trash');

    // Killed once every file is in place: what the restore replaced or removed is in the trash.
    const killed = await dws(ws, ['--batch', 'restore', 'v1'], { env: { ...TEST_ENV, DWS_FAULT: 'restore.files-set-aside' } });
    expect(killed.code).not.toBe(0);
    expect(treePrint(data)).toBe(printV1);
    const folders = readdirSync(trash);
    expect(folders).toHaveLength(1);
    const aside = readdirSync(join(trash, folders[0]!)).map((n) => {
      const p = join(trash, folders[0]!, n);
      return lstatSync(p).isSymbolicLink() ? `-> ${readlinkSync(p)}` : readFileSync(p, 'utf8');
    });
    // sub/f3.csv and latest.csv replaced (linked there), sub/new.csv and the file `empty` removed (moved there)
    expect(aside.sort()).toEqual(['-> sub/f2.csv', 'changed\n', 'new\n', 'now a file\n']);
    expect(readFileSync(outside, 'utf8')).toBe('changed\n');

    // The next restore empties the trash, the killed one's folder too, once it is done.
    await dwsOk(ws, ['--batch', 'restore', 'v2']);
    expect(treePrint(data)).toBe(printV2);
    await until(() => readdirSync(trash).length === 0, `${trash} emptied`);
    expect(readFileSync(outside, 'utf8')).toBe('changed\n');
    expect(statSync(outside).nlink).toBe(1);

    // A store on another filesystem (tmpfs): nothing can be set aside there; the files are replaced and removed in place.
    expect(statSync('/dev/shm').dev).not.toBe(statSync(ws).dev);
    const shm = mkdtempSync('/dev/shm/dws-test-');
    try {
      const ws2 = await newWorkspace();
      await dwsOk(ws2, ['--batch', 'config', 'store.dir', join(shm, 'store')]);
      const data2 = join(ws2, 'data');
      mkdirSync(data2);
      writeV1(data2);
      await dwsOk(ws2, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
      await dwsOk(ws2, ['--batch', 'snapshot', 'v1']);
      changeToV2(data2);
      await dwsOk(ws2, ['--batch', 'snapshot', 'v2']);
      await dwsOk(ws2, ['--batch', 'restore', 'v1']);
      expect(treePrint(data2)).toBe(printV1);
      await until(() => !existsSync(join(shm, 'store', 'trash')) || readdirSync(join(shm, 'store', 'trash')).length === 0, 'the trash on tmpfs emptied');
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it('refuses to lose unsnapshotted work, names the files, changes nothing; --force keeps it and checkout gets it back', async () => {
    const { ws, data } = await workspaceWithData();
    changeToV2(data);
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    writeFileSync(join(data, 'sub', 'f5.csv'), 'my unsaved edit\n');
    writeFileSync(join(data, 'notes.txt'), 'unsaved new file\n');
    const before = fingerprint(ws);
    const r = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('2 file(s) hold changes that are in no snapshot');
    expect(r.stderr).toContain(join(data, 'sub', 'f5.csv'));
    expect(r.stderr).toContain(join(data, 'notes.txt'));
    expect(r.stderr).toContain('--force');
    expect(fingerprint(ws)).toBe(before);

    const f = await dws(ws, ['--batch', 'restore', '--force', 'v1']);
    expect(f.code).toBe(0);
    const tree = /as tree ([0-9a-f]{40})/.exec(f.stderr)?.[1];
    expect(tree, f.stderr).toBeDefined();
    expect(f.stderr).toContain(`dws store checkout ${tree} DIR`);
    expect(existsSync(join(data, 'notes.txt'))).toBe(false);
    // gc keeps the kept tree; checkout brings the work back.
    await dwsOk(ws, ['--batch', 'gc']);
    const back = join(tempDir(), 'back');
    await dwsOk(ws, ['--batch', 'store', 'checkout', tree!, back]);
    expect(readFileSync(join(back, 'sub', 'f5.csv'), 'utf8')).toBe('my unsaved edit\n');
    expect(readFileSync(join(back, 'notes.txt'), 'utf8')).toBe('unsaved new file\n');
    // The help says what --force does to such files, not only to separate git repositories.
    const help = (await dwsOk(ws, ['restore', '--help'])).replace(/\s+/g, ' ');
    expect(help).toContain('--force replace files whose content is in no snapshot (kept in the store first: dws store checkout gets them back)');
  });

  it('counts as unsnapshotted the files of a deleted snapshot (their content still in the store until gc): restore refuses, --force keeps them', async () => {
    const { ws, data } = await workspaceWithData();
    writeFileSync(join(data, 'k.txt'), 'only in v2\n');
    writeFileSync(join(data, 'sub', 'f5.csv'), 'v2 edit\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    await dwsOk(ws, ['--batch', 'delete-snapshot', 'v2']); // here, or by a collaborator and pulled
    const before = fingerprint(ws);
    const r = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`2 file(s) hold changes that are in no snapshot and would be lost by the restore: ${join(data, 'sub', 'f5.csv')}, ${join(data, 'k.txt')}.`);
    expect(fingerprint(ws)).toBe(before);
    const f = await dws(ws, ['--batch', 'restore', '--force', 'v1']);
    expect(f.code, f.stderr).toBe(0);
    const tree = /as tree ([0-9a-f]{40})/.exec(f.stderr)?.[1];
    await dwsOk(ws, ['--batch', 'gc']);
    const back = join(tempDir(), 'back');
    await dwsOk(ws, ['--batch', 'store', 'checkout', tree!, back]);
    expect(readFileSync(join(back, 'k.txt'), 'utf8')).toBe('only in v2\n');
    expect(readFileSync(join(back, 'sub', 'f5.csv'), 'utf8')).toBe('v2 edit\n');
  });

  it("delete-snapshot says when a resource's files were the snapshot's; status counts them as changes, restore refuses, and --force keeps the whole tree past gc", async () => {
    const { ws, data, v1 } = await workspaceWithData();
    changeToV2(data);
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const v2 = join(tempDir('dws-v2-'), 'data');
    cpSync(data, v2, { recursive: true, verbatimSymlinks: true });
    // The files are v2's, and v2 goes: their content is still in the store, but in no snapshot.
    const d = await dws(ws, ['--batch', 'delete-snapshot', 'v2']);
    expect(d.code).toBe(0);
    expect(d.stderr).toContain("Resource 'data': its files were this snapshot's, so what is left of them is in no snapshot now");
    expect(await dwsOk(ws, ['status'])).toMatch(/data: \d+ added, \d+ modified, \d+ deleted/);
    const before = fingerprint(ws);
    const r = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/\d+ file\(s\) hold changes that are in no snapshot/);
    expect(r.stderr).toContain(join(data, 'sub', 'f3.csv'));
    expect(r.stderr).toContain(join(data, 'sub', 'new.csv'));
    expect(fingerprint(ws)).toBe(before);

    const f = await dws(ws, ['--batch', 'restore', '--force', 'v1']);
    expect(f.code, f.stderr).toBe(0);
    expect(diffR(data, v1)).toBe('');
    const tree = /as tree ([0-9a-f]{40})/.exec(f.stderr)?.[1];
    expect(tree, f.stderr).toBeDefined();
    // gc would have taken v2's objects: the kept tree holds them.
    await dwsOk(ws, ['--batch', 'gc']);
    const back = join(tempDir(), 'back');
    await dwsOk(ws, ['--batch', 'store', 'checkout', tree!, back]);
    expect(diffR(back, v2)).toBe('');
  });

  it('restore --force over the server answers where the unsnapshotted work was kept (not only on the server\'s stderr)', async () => {
    const { ws, data } = await workspaceWithData();
    changeToV2(data);
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    writeFileSync(join(data, 'notes.txt'), 'unsaved new file\n');
    const c = await stdioServer(ws);
    const r = await c.request('dws/restore', { tagOrHash: 'v1', force: true });
    expect(r.kept).toEqual([{ resource: 'data', tree: expect.stringMatching(/^[0-9a-f]{40}$/), files: 1 }]);
    const back = join(tempDir(), 'back');
    await c.request('dws/store/checkout', { tree: r.kept[0]!.tree, directory: back });
    expect(readFileSync(join(back, 'notes.txt'), 'utf8')).toBe('unsaved new file\n');
    // Nothing to keep: an empty list.
    expect((await c.request('dws/restore', { tagOrHash: 'v2', force: true })).kept).toEqual([]);
  });

  it("commits the workspace's own uncommitted changes with the restore ('Restore to <hash>'), and no commit when there are none", async () => {
    const { ws, data } = await workspaceWithData();
    changeToV2(data);
    const v2 = /hash is ([0-9a-f]{40})/.exec(await dwsOk(ws, ['--batch', 'snapshot', 'v2']))![1]!;
    const head = git(ws, ['rev-parse', 'HEAD']);
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(git(ws, ['rev-parse', 'HEAD'])).toBe(head);

    // Staged while the files are written (restore.ts): a new, a changed and a deleted owned file.
    writeFileSync(join(ws, '.gitattributes'), '*.bin binary\n');
    writeFileSync(join(ws, '.gitignore'), readFileSync(join(ws, '.gitignore'), 'utf8') + '/tmp-notes/\n');
    rmSync(join(ws, '.dataworkspace', 'file', 'source-data', 'data', 'dummy.txt'));
    await dwsOk(ws, ['--batch', 'restore', 'v2']);
    expect(git(ws, ['log', '-1', '--format=%s'])).toBe(`Restore to ${v2}\n`);
    expect(git(ws, ['show', '--name-status', '--format=', 'HEAD']).split('\n').filter(Boolean).sort()).toEqual([
      'A\t.gitattributes',
      'D\t.dataworkspace/file/source-data/data/dummy.txt',
      'M\t.gitignore',
    ]);
    expect(git(ws, ['status', '--porcelain'])).toBe('');
  });

  it('restores only what --only and --leave name, and a size-mode resource too', async () => {
    const ws = await newWorkspace();
    for (const n of ['a', 'b']) {
      mkdirSync(join(ws, n));
      writeFileSync(join(ws, n, 'x.txt'), `${n} v1\n`);
    }
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'a']);
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'intermediate-data', '--compute-hash', 'b']);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    for (const n of ['a', 'b']) writeFileSync(join(ws, n, 'x.txt'), `${n} v2 longer\n`);
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    await dwsOk(ws, ['--batch', 'restore', '--only', 'a', 'v1']);
    expect(readFileSync(join(ws, 'a', 'x.txt'), 'utf8')).toBe('a v1\n');
    expect(readFileSync(join(ws, 'b', 'x.txt'), 'utf8')).toBe('b v2 longer\n');
    await dwsOk(ws, ['--batch', 'restore', '--leave', 'a', 'v1']);
    expect(readFileSync(join(ws, 'b', 'x.txt'), 'utf8')).toBe('b v1\n');
    await dwsOk(ws, ['--batch', 'restore', 'v2']);
    expect(readFileSync(join(ws, 'a', 'x.txt'), 'utf8')).toBe('a v2 longer\n');
  });

  it('makes a snapshot of its own when a size-mode resource’s files change but keep their sizes (or only an exec bit changes), and diff lists them', async () => {
    const ws = await newWorkspace();
    const data = join(ws, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'weights.bin'), 'aaaa\n');
    writeFileSync(join(data, 'run.sh'), 'echo\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']); // compute_hash false: 1.6 compares sizes
    const hashOf = async (tag: string) => {
      const r = await dws(ws, ['--batch', 'snapshot', tag]);
      expect(r.code, r.stderr).toBe(0);
      return /hash is ([0-9a-f]{40})/.exec(r.stdout + r.stderr)?.[1];
    };
    const v1 = await hashOf('v1');
    writeFileSync(join(data, 'weights.bin'), 'bbbb\n');
    const v2 = await hashOf('v2');
    chmodSync(join(data, 'run.sh'), 0o755);
    const v3 = await hashOf('v3');
    expect(new Set([v1, v2, v3]).size).toBe(3);
    // The first state keeps 1.6's manifest (and hash); the later ones name their content.
    expect(readFileSync(join(ws, '.dataworkspace', 'snapshots', `snapshot-${v1}.json`), 'utf8')).not.toContain('content_tree');
    expect(readFileSync(join(ws, '.dataworkspace', 'snapshots', `snapshot-${v2}.json`), 'utf8')).toContain('"content_tree"');
    const d = await dwsOk(ws, ['--batch', 'diff', 'v1', 'v2']);
    expect(d).toMatch(/Resources with different values:\s+data/);
    expect(d).toMatch(/M weights\.bin/);
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(readFileSync(join(data, 'weights.bin'), 'utf8')).toBe('aaaa\n');
    expect(statSync(join(data, 'run.sh')).mode & 0o111).toBe(0);
    await dwsOk(ws, ['--batch', 'restore', 'v3']);
    expect(readFileSync(join(data, 'weights.bin'), 'utf8')).toBe('bbbb\n');
    expect(statSync(join(data, 'run.sh')).mode & 0o111).not.toBe(0);
    // The same state again is the same snapshot.
    const again = await dws(ws, ['--batch', 'snapshot', 'v3again']);
    expect(again.stdout + again.stderr).toContain(`Snapshot ${v3} already exists, updating metadata`);
  });

  it('stores a link that points out of the resource as a link, never what it points to', async () => {
    const ws = await newWorkspace();
    const outside = join(tempDir(), 'secret.txt');
    writeFileSync(outside, 'outside content\n');
    mkdirSync(join(ws, 'data'));
    symlinkSync(outside, join(ws, 'data', 'out'));
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    const fsck = JSON.parse(await dwsOk(ws, ['--batch', '--json', 'fsck']));
    // Objects: the root tree and the link's text; not the outside file's content.
    const storeDir = join(ws, '.git', 'dws', 'store');
    const packed = readdirSync(join(storeDir, 'packs'))
      .filter((f) => f.endsWith('.pack'))
      .map((f) => readFileSync(join(storeDir, 'packs', f), 'utf8'))
      .join('');
    expect(packed).toContain(outside);
    expect(packed).not.toContain('outside content');
    expect(fsck.ok).toBe(true);
    rmSync(join(ws, 'data', 'out'));
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(readlinkSync(join(ws, 'data', 'out'))).toBe(outside);
  });

  it('a new link, even one that leads nowhere, is the user’s work: status counts it, restore keeps it unless --force (which saves it); a snapshot still refuses a dangling one', async () => {
    const ws = await newWorkspace();
    const data = join(ws, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'x'), 'x\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    symlinkSync('/etc/hostname', join(data, 'mylink'));
    symlinkSync('nowhere', join(data, 'dangling'));
    symlinkSync('loop', join(data, 'loop')); // round in a loop
    const status = JSON.parse(await dwsOk(ws, ['--batch', '--json', 'status']));
    expect(status.changes[0]).toMatchObject({ resource: 'data', known: true, added: ['dangling', 'loop', 'mylink'], modified: [], deleted: [] });
    const snap = await dws(ws, ['--batch', 'snapshot', 'v2']);
    expect(snap.code).toBe(1);
    expect(snap.stderr).toContain(`Broken symbolic link: ${join(data, 'dangling')}`); // 1.6's rule: its hash trees read through links
    const refused = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('3 file(s) hold changes that are in no snapshot and would be lost by the restore');
    expect(readlinkSync(join(data, 'dangling'))).toBe('nowhere');
    const forced = await dws(ws, ['--batch', 'restore', '--force', 'v1']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readdirSync(data)).toEqual(['x']);
    const saved = /dws store checkout ([0-9a-f]{40}) DIR/.exec(forced.stderr)![1]!;
    const back = join(tempDir(), 'back');
    await dwsOk(ws, ['--batch', 'store', 'checkout', saved, back]);
    expect([readlinkSync(join(back, 'dangling')), readlinkSync(join(back, 'loop')), readlinkSync(join(back, 'mylink'))]).toEqual(['nowhere', 'loop', '/etc/hostname']);
  });

  it('dws store checkout names a malformed tree id and says what is expected, as a usage error (exit 2), and a target that is a file, writing nothing', async () => {
    const ws = await newWorkspace();
    const target = join(tempDir(), 'out');
    for (const bad of ['abc', 'A'.repeat(40), `${'0'.repeat(39)}g`]) {
      const r = await dws(ws, ['--batch', 'store', 'checkout', bad, target]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain(`Error: command-argument value '${bad}' is invalid for argument 'TREE'. '${bad}' is not a store tree id: give its 40 lowercase hex digits, as dws/restore with force (the CLI's 'dws restore --force') reported them`);
      expect(r.stderr).not.toContain('✖');
      expect(existsSync(target)).toBe(false);
    }
    // A file where the directory should be is named, not an internal error.
    writeFileSync(target, 'mine\n');
    const f = await dws(ws, ['--batch', 'store', 'checkout', '0'.repeat(40), target]);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain(`Configuration error: ${target} is a file, not a directory: give a new or empty directory`);
    expect(readFileSync(target, 'utf8')).toBe('mine\n');
  });

  it('dws diff lists a file whose name has a line feed (1.6’s hash tree file cannot hold it; the store trees can), and a terminal sees such names quoted', async () => {
    const ws = await newWorkspace();
    const data = join(ws, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'ok'), 'a\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--compute-hash', 'data']);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    writeFileSync(join(data, 'new\nline'), 'x');
    writeFileSync(join(data, '\x1b[31mred'), 'y');
    // On a terminal such names are quoted with escapes: one line each, no escape sequence let through.
    const verbose = await dwsOk(ws, ['--batch', '--verbose', 'status']);
    expect(verbose).toContain('    + "\\u001b[31mred"\n    + "new\\nline"\n');
    expect(verbose).not.toContain('\x1b');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const r = await dws(ws, ['--batch', '--json', 'diff', 'v1', 'v2']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).files.data).toEqual({ changes: [{ status: 'A', path: '\x1b[31mred' }, { status: 'A', path: 'new\nline' }] });
    const text = await dwsOk(ws, ['--batch', 'diff', 'v1', 'v2']);
    expect(text).toContain('    A "\\u001b[31mred"\n    A "new\\nline"\n');
  });

  it('an empty folder is a change like a file: status and diff list it as path/, and the snapshot it makes is not a surprise', async () => {
    const ws = await newWorkspace();
    const data = join(ws, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'f'), '1\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--compute-hash', 'data']);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    mkdirSync(join(data, 'emptydir'));
    expect(JSON.parse(await dwsOk(ws, ['--batch', '--json', 'status'])).changes[0]).toMatchObject({ known: true, added: ['emptydir/'], modified: [], deleted: [] });
    expect(await dwsOk(ws, ['--batch', 'status'])).toContain('  data: 1 added, 0 modified, 0 deleted');
    const v2 = /hash is ([0-9a-f]{40})/.exec(await dwsOk(ws, ['--batch', 'snapshot', 'v2']))![1]!;
    expect(JSON.parse(await dwsOk(ws, ['--batch', '--json', 'diff', 'v1', 'v2'])).files.data).toEqual({ changes: [{ status: 'A', path: 'emptydir/' }] });
    rmSync(join(data, 'emptydir'), { recursive: true });
    expect(JSON.parse(await dwsOk(ws, ['--batch', '--json', 'status'])).changes[0]).toMatchObject({ deleted: ['emptydir/'] });
    const back = join(tempDir(), 'back');
    const tree = readJson(join(ws, '.dataworkspace', 'snapshot_store', `${v2}.json`)).data as string;
    const out = JSON.parse(await dwsOk(ws, ['--batch', '--json', 'store', 'checkout', tree, back]));
    expect(out.files).toBe(1); // the file; the empty folder is made, not counted as a file
    expect(readdirSync(back).sort()).toEqual(['emptydir', 'f']);
  });

  it('removes what interrupted commands left: a restore’s staged files when the tree is already the target, and the store’s temp files of writers that are gone', async () => {
    const { ws, data } = await workspaceWithData();
    mkdirSync(join(data, 'sub', '.dws-restore.tmp-5'));
    writeFileSync(join(data, '.dws-restore.tmp-7'), 'half written');
    const tmp = join(ws, '.git', 'dws', 'store', 'tmp');
    const gone = spawnSync('true').pid!; // a process that has exited
    writeFileSync(join(tmp, `large-${gone}-abcdef-1-1.tmp`), Buffer.alloc(1000));
    writeFileSync(join(tmp, `pack-${process.pid}-abcdef.tmp`), 'a live writer’s'); // this test's process: alive
    const r = await dws(ws, ['--batch', 'restore', 'v1']); // nothing to change
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(data, 'sub', '.dws-restore.tmp-5'))).toBe(false);
    expect(existsSync(join(data, '.dws-restore.tmp-7'))).toBe(false);
    expect(readdirSync(tmp)).toEqual([`pack-${process.pid}-abcdef.tmp`]);
  });

  it('status reports a resource it cannot scan (its folder is a file) and still the others', async () => {
    const ws = await workspaceWithResources(['a', 'b']);
    rmSync(join(ws, 'a'), { recursive: true });
    writeFileSync(join(ws, 'a'), 'a file now\n');
    writeFileSync(join(ws, 'b', 'g'), 'new\n');
    const r = await dws(ws, ['--batch', 'status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`  a: Cannot scan the files of resource 'a' at ${join(ws, 'a')}: Resource path is not a directory: ${join(ws, 'a')}\n`);
    expect(r.stdout).toMatch(/ {2}b: 1 added, 0 modified, 0 deleted \(since [0-9a-f]{7}\)\n/);
    const json = JSON.parse(await dwsOk(ws, ['--batch', '--json', 'status']));
    expect(json.changes[0]).toMatchObject({ resource: 'a', known: false, problem: expect.stringContaining('not a directory') });
  });

  it('detects a corrupt object and stops before any file of the resource is replaced', async () => {
    const { ws, data } = await workspaceWithData();
    changeToV2(data);
    writeFileSync(join(data, 'model.bin'), 'replaced\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const storeDir = join(ws, '.git', 'dws', 'store', 'objects');
    const dir = readdirSync(storeDir)[0]!;
    const obj = join(storeDir, dir, readdirSync(join(storeDir, dir))[0]!);
    chmodSync(obj, 0o644);
    const bytes = readFileSync(obj);
    bytes[1000] = bytes[1000]! ^ 0xff;
    writeFileSync(obj, bytes);
    const before = treePrint(data);
    const r = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Object [0-9a-f]{40} in the content store is corrupt/);
    expect(treePrint(data)).toBe(before);
    const f = await dws(ws, ['--batch', '--json', 'fsck']);
    expect(JSON.parse(f.stdout).corrupt).toHaveLength(1);
    expect(JSON.parse(f.stdout).ok).toBe(false);
  });

  it('checks a large object once (a record in verified-large) and again when its file has changed since', async () => {
    const { ws, data, v1 } = await workspaceWithData();
    writeFileSync(join(data, 'model.bin'), 'replaced\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const id = createHash('sha1').update(readFileSync(join(v1, 'model.bin'))).digest('hex');
    const obj = join(ws, '.git', 'dws', 'store', 'objects', id.slice(0, 2), id.slice(2));
    const record = join(ws, '.git', 'dws', 'store', 'verified-large', id);
    expect(existsSync(record)).toBe(false);
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(diffR(v1, data)).toBe('');
    expect(lstatSync(join(data, 'model.bin')).mode & 0o200).toBe(0o200); // the user's file, not the store's read-only one
    const st = statSync(obj, { bigint: true });
    expect(readFileSync(record, 'utf8')).toBe(`${st.ino} ${st.size} ${st.mtimeNs}\n`);
    // The object is changed in place after its check: the record no longer matches, so it is checked again.
    await dwsOk(ws, ['--batch', 'restore', 'v2']);
    chmodSync(obj, 0o644);
    const bytes = readFileSync(obj);
    bytes[1000] = bytes[1000]! ^ 0xff;
    writeFileSync(obj, bytes);
    const r = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Object ${id} in the content store is corrupt`);
    expect(readFileSync(join(data, 'model.bin'), 'utf8')).toBe('replaced\n');
  });

  it('says how to get objects missing from the store, and changes nothing', async () => {
    const { ws, data } = await workspaceWithData();
    changeToV2(data);
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    rmSync(join(ws, '.git', 'dws', 'store'), { recursive: true, force: true });
    const before = fingerprint(ws);
    const r = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/object\(s\) needed for restore of 'data' are not in the content store/);
    expect(r.stderr).toContain('dws config store.remote');
    expect(fingerprint(ws)).toBe(before);
  });

  it('writes thousands of files through the hashing threads: contents, exec bits and links exact, no temp files left; a corrupt packed object stops it before any file is replaced', async () => {
    const ws = await newWorkspace();
    const data = join(ws, 'data');
    for (let d = 0; d < 12; d++) {
      mkdirSync(join(data, `d${d}`), { recursive: true });
      for (let f = 0; f < 200; f++) writeFileSync(join(data, `d${d}`, `f${f}.txt`), `dir ${d} file ${f}\n`.repeat((f % 7) + 1));
    }
    for (let f = 0; f < 200; f += 3) chmodSync(join(data, 'd5', `f${f}.txt`), 0o755);
    const big = Buffer.alloc(2 << 20, 7); // an object of its own among the packed ones
    writeFileSync(join(data, 'd0', 'big.bin'), big);
    symlinkSync('d1/f1.txt', join(data, 'link'));
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    const v1 = join(tempDir('dws-v1-'), 'data');
    cpSync(data, v1, { recursive: true, verbatimSymlinks: true });

    // A full restore into an empty folder (2,402 files), then one that rewrites 1,200 files in
    // place, brings 100 back and removes 100 (changes made by the threads too).
    rmSync(data, { recursive: true });
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(diffR(data, v1)).toBe('');
    expect(treePrint(data)).toBe(treePrint(v1));
    for (let d = 0; d < 6; d++) for (let f = 0; f < 200; f++) writeFileSync(join(data, `d${d}`, `f${f}.txt`), `v2 ${d} ${f}\n`);
    for (let f = 0; f < 100; f++) rmSync(join(data, 'd6', `f${f}.txt`));
    for (let f = 0; f < 100; f++) writeFileSync(join(data, 'd7', `new${f}.txt`), `new ${f}\n`);
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const v2 = treePrint(data);
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(treePrint(data)).toBe(treePrint(v1));
    expect(staged(data)).toEqual([]);

    // Flip a byte of v2's pack: the threads detect it and nothing of the resource changes.
    await dwsOk(ws, ['--batch', 'restore', 'v2']);
    const packs = join(ws, '.git', 'dws', 'store', 'packs');
    for (const p of readdirSync(packs).filter((f) => f.endsWith('.pack'))) {
      const file = join(packs, p);
      const bytes = readFileSync(file);
      const at = bytes.indexOf('v2 3 17\n');
      if (at < 0) continue;
      bytes[at] = 'w'.charCodeAt(0);
      chmodSync(file, 0o644);
      writeFileSync(file, bytes);
    }
    for (let d = 0; d < 6; d++) for (let f = 0; f < 200; f++) writeFileSync(join(data, `d${d}`, `f${f}.txt`), `v3 ${d} ${f}: another size\n`);
    await dwsOk(ws, ['--batch', 'snapshot', 'v3']);
    const v3 = treePrint(data);
    const r = await dws(ws, ['--batch', 'restore', 'v2']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Object [0-9a-f]{40} in the content store is corrupt \(.*\.pack/);
    expect(treePrint(data)).toBe(v3);
    expect(treePrint(data)).not.toBe(v2);
    expect(staged(data)).toEqual([]);
  });

  it('streams a 200 MB file in and out of the store', async () => {
    const ws = await newWorkspace();
    const data = join(ws, 'data');
    mkdirSync(data);
    const big = join(data, 'big.bin');
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 13) & 0xff;
    const fd = (await import('node:fs')).openSync(big, 'w');
    const h = createHash('sha1');
    for (let i = 0; i < 200; i++) {
      chunk[0] = i;
      (await import('node:fs')).writeSync(fd, chunk);
      h.update(chunk);
    }
    (await import('node:fs')).closeSync(fd);
    const want = h.digest('hex');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    writeFileSync(big, 'small now\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    const got = execFileSync('sha1sum', [big], { encoding: 'utf8' }).slice(0, 40);
    expect(got).toBe(want);
  });
});

/** What a restore staged under `dir` (.dws-restore.tmp*) and left there. */
function staged(dir: string): string[] {
  return execFileSync('find', [dir, '-name', '.dws-restore.tmp*', '-prune'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** Run dws and SIGKILL it as soon as `when()` holds (polled every 2 ms); true if it was killed. */
function killWhen(cwd: string, args: string[], when: () => boolean): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DWS, ...args], { cwd, env: TEST_ENV, stdio: 'ignore' });
    const poll = setInterval(() => {
      if (when()) child.kill('SIGKILL');
    }, 2);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearInterval(poll);
      resolve(signal === 'SIGKILL');
    });
  });
}

describe('a restore killed with SIGKILL', () => {
  it('leaves the files as they were while it writes, and a rerun completes it; snapshots and status never see its staged files', async () => {
    const ws = await newWorkspace();
    const data = join(ws, 'data');
    mkdirSync(join(data, 'sub'), { recursive: true });
    for (let i = 0; i < 3000; i++) writeFileSync(join(data, `f${i}`), `v1 ${i}\n`);
    for (let i = 0; i < 20; i++) writeFileSync(join(data, 'sub', `s${i}`), `v1 sub ${i}\n`);
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    const v1 = join(tempDir('dws-v1-'), 'data');
    cpSync(data, v1, { recursive: true });
    for (let i = 0; i < 1500; i++) writeFileSync(join(data, `f${i}`), `v2 ${i}\n`);
    for (let i = 0; i < 10; i++) writeFileSync(join(data, 'sub', `s${i}`), `v2 sub ${i}\n`);
    rmSync(join(data, 'f2999'));
    writeFileSync(join(data, 'new'), 'new\n');
    const v2Hash = /hash is ([0-9a-f]{40})/.exec(await dwsOk(ws, ['--batch', 'snapshot', 'v2']))![1];
    const v2 = treePrint(data);

    // Each new file is written beside its place as .dws-restore.tmp-N, then renamed.
    const stagedAtTop = () => readdirSync(data).some((n) => n.startsWith('.dws-restore.tmp'));
    expect(await killWhen(ws, ['--batch', 'restore', 'v1'], stagedAtTop)).toBe(true);
    // Killed while writing: no file of the resource was replaced yet.
    expect(staged(data).length).toBeGreaterThan(0);
    for (const p of staged(data)) rmSync(p, { recursive: true, force: true });
    expect(treePrint(data)).toBe(v2);
    // As if the kill came later, anywhere in the tree (and the one folder older versions used): status and snapshot ignore them.
    writeFileSync(join(data, '.dws-restore.tmp-12'), 'staged\n');
    writeFileSync(join(data, 'sub', '.dws-restore.tmp-3'), 'staged\n');
    cpSync(join(v1, 'sub'), join(data, '.dws-restore.tmp-4'), { recursive: true });
    cpSync(v1, join(data, '.dws-restore.tmp'), { recursive: true });
    const status = JSON.parse(await dwsOk(ws, ['--batch', '--json', 'status']));
    expect(status.changes).toEqual([expect.objectContaining({ resource: 'data', added: [], modified: [], deleted: [] })]);
    const snap = await dws(ws, ['--batch', 'snapshot', 'v2b']);
    expect(snap.stderr).toMatch(/Taking over a stale content store \(.*\) lock left by pid \d+ \(dws restore\)/);
    expect(snap.stdout).toContain(`hash is ${v2Hash}`); // the same tree as v2: the staged files are not in it
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(staged(data)).toEqual([]);
    expect(diffR(data, v1)).toBe('');

    // Killed at any later point (during the renames, or after): a rerun gives v1 back.
    await dwsOk(ws, ['--batch', 'restore', 'v2']);
    expect(treePrint(data)).toBe(v2);
    await killWhen(ws, ['--batch', 'restore', 'v1'], () => stagedAtTop() && readFileSync(join(data, 'f0'), 'utf8') === 'v1 0\n');
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(staged(data)).toEqual([]);
    expect(diffR(data, v1)).toBe('');
    expect(JSON.parse(await dwsOk(ws, ['--batch', '--json', 'fsck'])).ok).toBe(true);
  });
});

describe('status of local-files resources', () => {
  it('compares with the snapshot the files were last made: after a restore of an older one, no changes; a deleted one gives way to the newest', async () => {
    const { ws, data } = await workspaceWithData();
    changeToV2(data);
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const hashOf = async (tag: string) => (JSON.parse(await dwsOk(ws, ['--batch', '--json', 'report', 'history'])).snapshots as { hash: string; tags: string[] }[]).find((x) => x.tags.includes(tag))!.hash;
    const v1Hash = await hashOf('v1');
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    const changes = async () => JSON.parse(await dwsOk(ws, ['--batch', '--json', 'status'])).changes[0];
    // It used to report the differences from v2, the newest snapshot, as changes.
    expect(await changes()).toMatchObject({ resource: 'data', snapshot: v1Hash, known: true, added: [], modified: [], deleted: [] });
    expect(await dwsOk(ws, ['--batch', 'status'])).toContain(`Changes since the snapshot each resource is at:\n  data: no changes (since ${v1Hash.slice(0, 7)})\n`);
    writeFileSync(join(data, 'after-restore.txt'), 'new\n');
    expect(await changes()).toMatchObject({ snapshot: v1Hash, added: ['after-restore.txt'], modified: [], deleted: [] });
    // A snapshot is what the files are now.
    await dwsOk(ws, ['--batch', 'snapshot', 'v3']);
    const v3Hash = await hashOf('v3');
    expect(await changes()).toMatchObject({ snapshot: v3Hash, added: [], modified: [], deleted: [] });
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    await dwsOk(ws, ['--batch', 'delete-snapshot', 'v1']);
    // The snapshot they were made is gone: compared with the newest again.
    expect((await changes()).snapshot).toBe(v3Hash);
  });

  it('counts added, modified and deleted files since the latest snapshot; --verbose lists them; --json has them all', async () => {
    const { ws, data } = await workspaceWithData();
    expect(await dwsOk(ws, ['--batch', 'status'])).toContain('  data: no changes (since ');
    writeFileSync(join(data, 'sub', 'f3.csv'), 'changed\n');
    rmSync(join(data, 'sub', 'f4.csv'));
    writeFileSync(join(data, 'sub', 'new.csv'), 'new\n');
    chmodSync(join(data, 'run.sh'), 0o644);
    const out = await dwsOk(ws, ['--batch', 'status']);
    expect(out).toMatch(/ {2}data: 1 added, 2 modified, 1 deleted \(since [0-9a-f]{7}\)\n/);
    const verbose = await dwsOk(ws, ['--batch', '--verbose', 'status']);
    expect(verbose).toContain('    + sub/new.csv\n');
    expect(verbose).toContain('    M sub/f3.csv\n');
    expect(verbose).toContain('    M run.sh\n');
    expect(verbose).toContain('    - sub/f4.csv\n');
    const json = JSON.parse(await dwsOk(ws, ['--batch', '--json', 'status']));
    expect(json.changes).toEqual([expect.objectContaining({ resource: 'data', known: true, added: ['sub/new.csv'], deleted: ['sub/f4.csv'] })]);
    expect([...json.changes[0].modified].sort()).toEqual(['run.sh', 'sub/f3.csv']);
    // A folder that is gone: every file of the snapshot deleted, and said so (it once said its files were not in the store).
    await dwsOk(ws, ['--batch', 'snapshot', 'now']);
    // Files and links, and empty folders (listed as 'path/').
    const files = readdirSync(data, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory() || readdirSync(join(e.parentPath, e.name)).length === 0).length;
    rmSync(data, { recursive: true });
    const gone = await dwsOk(ws, ['--batch', 'status']);
    expect(gone).toMatch(new RegExp(`  data: its folder does not exist; 0 added, 0 modified, ${files} deleted \\(since [0-9a-f]{7}\\)\n`));
    expect(gone).not.toContain('not in the local store');
    const goneJson = JSON.parse(await dwsOk(ws, ['--batch', '--json', 'status']));
    expect(goneJson.changes[0]).toMatchObject({ resource: 'data', known: true, folderMissing: true, added: [], modified: [] });
    expect(goneJson.changes[0].deleted).toHaveLength(files);
  });
});

describe('data that travels: push to a store remote, clone, pull, restore downloading', () => {
  /** An rclone configuration with a `local`-type remote named `loc`, for the environment of dws. */
  function rcloneEnv(): NodeJS.ProcessEnv {
    const conf = join(tempDir('dws-rclone-'), 'rclone.conf');
    writeFileSync(conf, '[loc]\ntype = local\n');
    return { ...TEST_ENV, RCLONE_CONFIG: conf };
  }
  const run = (cwd: string, args: string[], env: NodeJS.ProcessEnv) => dws(cwd, ['--batch', ...args], { env });
  const ok = async (cwd: string, args: string[], env: NodeJS.ProcessEnv) => {
    const r = await run(cwd, args, env);
    if (r.code !== 0) throw new Error(`dws ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  };

  /** A workspace with data (v1), a bare origin and a place for a store remote, in `top`. */
  async function sharedWorkspace() {
    const env = rcloneEnv();
    const top = tempDir('dws-share-');
    const origin = join(top, 'origin.git');
    git(top, ['init', '--quiet', '--bare', origin]);
    return { env, top, origin, remoteDir: join(top, 'remote-store'), ...(await workspaceWithData()) };
  }

  it('pushes only missing objects, clones with the data, pulls the other side’s snapshot, and restores by downloading', async () => {
    const { env, top, origin, remoteDir, ws, data, v1 } = await sharedWorkspace();
    await ok(ws, ['config', 'store.remote', `loc:${remoteDir}`], env);
    git(ws, ['remote', 'add', 'origin', origin]);
    const p1 = await ok(ws, ['push'], env);
    expect(p1.stderr).toMatch(/sent \d+ object\(s\) in \d+ file\(s\) to the store remote/);
    const p2 = await ok(ws, ['push'], env);
    expect(p2.stderr).toContain('has every object already');
    changeToV2(data);
    await ok(ws, ['snapshot', 'v2'], env);
    const printV2 = treePrint(data);
    await ok(ws, ['push'], env);

    // "Another machine": the original folder is gone, the clone gets the files from the remote.
    const moved = `${ws}-away`;
    renameSync(ws, moved);
    try {
      const c = await ok(top, ['--json', 'clone', origin, join(top, 'clone')], env);
      const where = JSON.parse(c.stdout).resources.find((r: { name: string }) => r.name === 'data').localPath as string;
      expect(treePrint(where)).toBe(printV2);
      // v1's objects are on the store remote only, as in any clone: no problem, and fsck says where they are.
      const f = await ok(join(top, 'clone'), ['fsck'], env);
      expect(f.stdout).toMatch(/\d+ object\(s\) of snapshots are not in the local store: a restore downloads them from the store remote loc:.*\('dws fsck --remote' checks that it has them\)\.\nNo problems found\.\n$/);
      expect((await ok(join(top, 'clone'), ['fsck', '--remote'], env)).stdout).toContain('No problems found.');
      // Restore of v1 downloads what this clone never had.
      await ok(join(top, 'clone'), ['restore', 'v1'], env);
      expect(diffR(where, v1)).toBe('');
      await ok(join(top, 'clone'), ['restore', 'v2'], env);
      rmSync(where, { recursive: true, force: true });
    } finally {
      rmSync(join(top, 'clone'), { recursive: true, force: true });
      renameSync(moved, ws);
    }

    // Pull: a second workspace on the same origin takes a snapshot; the first pulls it.
    const other = join(top, 'other');
    await ok(top, ['clone', origin, other], env);
    const otherData = join(other, 'data');
    const otherWhere = existsSync(otherData) ? otherData : data; // the clone's own folder (or, where paths are absolute, the original)
    writeFileSync(join(otherWhere, 'pulled.txt'), 'from the other side\n');
    await ok(other, ['snapshot', 'v3'], env);
    await ok(other, ['push'], env);
    if (otherWhere === data) return; // same folder: nothing left to pull into
    const pulled = await ok(ws, ['pull'], env);
    expect(readFileSync(join(data, 'pulled.txt'), 'utf8')).toBe('from the other side\n');
    expect(pulled.code).toBe(0);
  });

  it('pushes only what the remote lacks, by one listing of it, even when files were removed behind its back', async () => {
    const { env, top, origin, remoteDir, ws, data } = await sharedWorkspace();
    writeFileSync(join(data, 'large.bin'), Buffer.alloc(2 << 20, 3)); // an object of its own
    await ok(ws, ['snapshot', 'v2'], env);
    await ok(ws, ['config', 'store.remote', `loc:${remoteDir}`], env);
    git(ws, ['remote', 'add', 'origin', origin]);
    await ok(ws, ['push'], env);
    const remoteFiles = () => execFileSync('find', ['.', '-type', 'f'], { cwd: remoteDir, encoding: 'utf8' }).split('\n').filter(Boolean).sort();
    const pushed = remoteFiles();
    const large = pushed.find((f) => f.startsWith('./objects/'))!;
    const pack = pushed.find((f) => f.endsWith('.pack'))!;

    // Nothing new: one listing and no copy (every rclone call logged by a wrapper ahead of the
    // real rclone on PATH), and a clean repository gets no closing commit (no git add, no git commit).
    const bin = tempDir('dws-rclone-log-');
    const calls = join(bin, 'calls');
    const real = execFileSync('sh', ['-c', 'command -v rclone'], { encoding: 'utf8' }).trim();
    writeFileSync(join(bin, 'rclone'), `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${real}' "$@"\n`);
    chmodSync(join(bin, 'rclone'), 0o755);
    const trace = join(top, 'git-trace');
    expect((await ok(ws, ['push'], { ...env, PATH: `${bin}:${env.PATH}`, GIT_TRACE: trace })).stderr).toContain('has every object already');
    expect(readFileSync(calls, 'utf8').trim().split('\n').map((l) => l.split(' ')[0])).toEqual(['lsf']);
    expect(readFileSync(trace, 'utf8')).toContain('git push');
    expect(readFileSync(trace, 'utf8')).not.toMatch(/git (add|commit)\b/);

    // Files removed from the remote by other means (by hand, a gc --remote elsewhere) are sent again by the next push.
    rmSync(join(remoteDir, large));
    expect((await ok(ws, ['push'], env)).stderr).toContain('sent 1 object(s) in 1 file(s)');
    expect(remoteFiles()).toEqual(pushed);
    rmSync(join(remoteDir, pack));
    rmSync(join(remoteDir, pack.replace(/\.pack$/, '.idx')));
    expect((await ok(ws, ['push'], env)).stderr).toMatch(/sent \d+ object\(s\) in 2 file\(s\)/);
    expect(remoteFiles()).toEqual(pushed);
    expect((await ok(ws, ['push'], env)).stderr).toContain('has every object already');
  });

  it('clones reading the remote’s pack indexes once, without listing it whole, and makes no closing commit', async () => {
    const { env, top, origin, remoteDir, ws, data } = await sharedWorkspace();
    writeFileSync(join(data, 'large.bin'), Buffer.alloc(2 << 20, 5)); // an object of its own
    await ok(ws, ['snapshot', 'v2'], env);
    await ok(ws, ['config', 'store.remote', `loc:${remoteDir}`], env);
    git(ws, ['remote', 'add', 'origin', origin]);
    await ok(ws, ['push'], env);
    const printV2 = treePrint(data);
    // Every rclone call logged by a wrapper ahead of the real rclone on PATH.
    const bin = tempDir('dws-rclone-log-');
    const calls = join(bin, 'calls');
    const real = execFileSync('sh', ['-c', 'command -v rclone'], { encoding: 'utf8' }).trim();
    writeFileSync(join(bin, 'rclone'), `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${real}' "$@"\n`);
    chmodSync(join(bin, 'rclone'), 0o755);
    const trace = join(top, 'git-trace');
    const clone = join(top, 'clone');
    const c = await ok(top, ['--json', 'clone', origin, clone], { ...env, PATH: `${bin}:${env.PATH}`, GIT_TRACE: trace });
    const where = JSON.parse(c.stdout).resources.find((r: { name: string }) => r.name === 'data').localPath as string;
    expect(where).toBe(join(clone, 'data'));
    expect(treePrint(where)).toBe(printV2);
    const rcloneCalls = readFileSync(calls, 'utf8').trim().split('\n');
    expect(rcloneCalls.filter((l) => /^lsf\b/.test(l))).toEqual([]);
    expect(rcloneCalls.filter((l) => l.includes('/packs/*.idx'))).toHaveLength(1);
    expect(readFileSync(trace, 'utf8')).not.toMatch(/git (add|commit)\b/);
    // What it downloaded (packs and the large object) is on the remote already: a push sends nothing.
    expect((await ok(clone, ['push'], env)).stderr).toContain('has every object already');
  });

  it('removes a clone whose files the store remote lacks, saying how many', async () => {
    const { env, top, origin, remoteDir, ws, data } = await sharedWorkspace();
    writeFileSync(join(data, 'large.bin'), Buffer.alloc(2 << 20, 6));
    await ok(ws, ['snapshot', 'v2'], env);
    await ok(ws, ['config', 'store.remote', `loc:${remoteDir}`], env);
    git(ws, ['remote', 'add', 'origin', origin]);
    await ok(ws, ['push'], env);
    rmSync(join(remoteDir, 'objects'), { recursive: true });
    const clone = join(top, 'clone');
    const r = await run(top, ['clone', origin, clone], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\d+ object\(s\) needed for update of 'data' are neither in the content store at .* nor on the store remote/);
    expect(existsSync(clone)).toBe(false);
  });

  it('a clone interrupted (Ctrl-C, SIGTERM) while it writes the data removes its unfinished directory, exits 130 or 143, and can simply be run again', async () => {
    const { env, top, origin, remoteDir, ws, data } = await sharedWorkspace();
    writeFileSync(join(data, 'large.bin'), Buffer.alloc(64 << 20, 7)); // a download and a write that take a while
    await ok(ws, ['snapshot', 'v2'], env);
    await ok(ws, ['config', 'store.remote', remoteDir], env);
    git(ws, ['remote', 'add', 'origin', origin]);
    await ok(ws, ['push'], env);
    const clone = join(top, 'clone');
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const child = spawn(process.execPath, [DWS, '--batch', 'clone', origin, clone], { cwd: top, env });
      let stderr = '';
      let sent = false; // once: a second signal quits at once
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // The workspace is cloned and named; its data is still to be written.
        if (!sent && stderr.includes('Will clone the following resources')) sent = child.kill(signal);
      });
      const exit = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      expect(exit, stderr).toBe(code);
      expect(stderr).toContain('Interrupted: the unfinished clone was removed');
      expect(existsSync(clone), signal).toBe(false);
    }
    await ok(top, ['clone', origin, clone], env);
    expect(statSync(join(clone, 'data', 'large.bin')).size).toBe(64 << 20);
  });

  /** Whether a process whose command line matches `pattern` (a regular expression for pgrep -f) is running. */
  const running = (pattern: string) => spawnSync('pgrep', ['-f', pattern]).status === 0;

  /**
   * Run dws and send it SIGTERM once its `rclone <command>` runs (a copy slowed by RCLONE_BWLIMIT,
   * so that it is mid-transfer): its exit code and stderr, once it is gone.
   */
  async function terminatedWhileCopying(cwd: string, args: string[], env: NodeJS.ProcessEnv, top: string, command = 'copy'): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [DWS, '--batch', ...args], { cwd, env: { ...env, RCLONE_BWLIMIT: '2M' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    await until(() => running(`rclone ${command} .*${top}`) || child.exitCode !== null, `rclone ${command} of dws ${args.join(' ')}`);
    child.kill('SIGTERM');
    return { code: await closed, stderr };
  }

  /** What an interrupted command must not leave: a lock, a file in the store's tmp/, an rclone still running. */
  function leftNothing(ws: string, top: string): void {
    const dwsDir = join(ws, '.git', 'dws');
    expect(readdirSync(dwsDir, { recursive: true }).map(String).filter((f) => /(^|\/)lock$/.test(f))).toEqual([]);
    expect(readdirSync(join(dwsDir, 'store', 'tmp'))).toEqual([]);
    expect(running(`rclone .*${top}`)).toBe(false);
  }

  it('push, pull, restore, clone and gc stop on SIGTERM as on Ctrl-C while rclone runs: exit 143, say so, release the lock, remove temp files, stop rclone, change nothing a rerun does not complete', async () => {
    const { env, top, origin, remoteDir, ws, data } = await sharedWorkspace();
    const x = Buffer.alloc(24 << 20, 1); // each takes seconds at RCLONE_BWLIMIT
    const y = Buffer.alloc(24 << 20, 2);
    writeFileSync(join(data, 'large.bin'), x);
    await ok(ws, ['snapshot', 'v2'], env);
    await ok(ws, ['config', 'store.remote', remoteDir], env);
    git(ws, ['remote', 'add', 'origin', origin]);

    let r = await terminatedWhileCopying(ws, ['push'], env, top);
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain("Interrupted: the push stopped before the workspace's commits were pushed. Run 'dws push' again to push everything.");
    expect(git(top, ['ls-remote', origin])).toBe(''); // the metadata never goes before its data
    leftNothing(ws, top);
    await ok(ws, ['push'], env);

    const c = join(top, 'c');
    await ok(top, ['clone', origin, c], env);
    writeFileSync(join(data, 'large.bin'), y);
    await ok(ws, ['snapshot', 'v3'], env);
    await ok(ws, ['push'], env);
    r = await terminatedWhileCopying(c, ['pull'], env, top);
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain("Interrupted: the pull stopped. Run 'dws pull' again to complete it.");
    leftNothing(c, top);
    await ok(c, ['pull'], env);
    expect(readFileSync(join(c, 'data', 'large.bin')).equals(y)).toBe(true);

    // A clone has v3's objects only: restoring v2 downloads x.
    const c2 = join(top, 'c2');
    r = await terminatedWhileCopying(top, ['clone', origin, c2], env, top);
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain('Interrupted: the unfinished clone was removed.');
    expect(existsSync(c2)).toBe(false);
    expect(running(`rclone .*${top}`)).toBe(false);
    await ok(top, ['clone', origin, c2], env);
    const before = fingerprint(c2);
    r = await terminatedWhileCopying(c2, ['restore', 'v2'], env, top);
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain('Interrupted: the restore stopped before it changed any file.');
    expect(fingerprint(c2)).toBe(before);
    leftNothing(c2, top);
    await ok(c2, ['restore', 'v2'], env);
    expect(readFileSync(join(c2, 'data', 'large.bin')).equals(x)).toBe(true);

    // gc --remote, while it lists the remote (an rclone that takes its time to).
    const bin = join(top, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'rclone'), `#!/bin/sh\n[ "$1" = lsjson ] && sleep 30\nexec ${requireOnPath(['rclone'], 'apt-get install rclone')} "$@"\n`, { mode: 0o755 });
    const slow = { ...env, PATH: `${bin}:${env.PATH}` };
    r = await terminatedWhileCopying(ws, ['gc', '--remote'], slow, top, 'lsjson');
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain("Interrupted: gc stopped before it finished; it removed only objects that nothing reaches. Run 'dws gc' again to finish.");
    leftNothing(ws, top);
    await ok(ws, ['gc', '--remote'], env);
  }, 180_000);

  /** sharedWorkspace with a 24 MB file in v2, pushed to a directory store remote; `object`: that file's object in the store. */
  async function pushedLarge() {
    const shared = await sharedWorkspace();
    const { env, origin, remoteDir, ws, data } = shared;
    const x = Buffer.alloc(24 << 20, 1); // takes seconds to copy at RCLONE_BWLIMIT
    writeFileSync(join(data, 'large.bin'), x);
    const v2 = JSON.parse((await ok(ws, ['--json', 'snapshot', 'v2'], env)).stdout).hash as string;
    await ok(ws, ['config', 'store.remote', remoteDir], env);
    git(ws, ['remote', 'add', 'origin', origin]);
    await ok(ws, ['push'], env);
    const store = join(ws, '.git', 'dws', 'store');
    const id = createHash('sha1').update(x).digest('hex');
    return { ...shared, x, v2, store, object: join(store, 'objects', id.slice(0, 2), id.slice(2)) };
  }

  it('snapshot stops on SIGTERM as on Ctrl-C while it hashes: exit 143, says so, no commit, no results moved, no lock or temp file left', async () => {
    const { env, top, ws, data, store } = await pushedLarge();
    const results = join(ws, 'results');
    mkdirSync(results);
    writeFileSync(join(results, 'out.txt'), 'a result\n');
    await ok(ws, ['add', 'local-files', '--role', 'results', 'results'], env);
    for (let i = 0; i < 8; i++) writeFileSync(join(data, `big-${i}.bin`), Buffer.alloc(24 << 20, 10 + i));
    const before = fingerprint(ws);
    const child = spawn(process.execPath, [DWS, '--batch', 'snapshot', 'v3'], { cwd: ws, env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    // Its large files wait in the store's tmp/ from their hashing to the commit.
    await until(() => readdirSync(join(store, 'tmp')).length > 0 || child.exitCode !== null, 'a large object of dws snapshot in the store');
    child.kill('SIGTERM');
    const code = await closed;
    expect(code, stderr).toBe(143);
    expect(stderr).toContain('Interrupted: the snapshot stopped before it recorded anything; the workspace is as it was.');
    expect(fingerprint(ws)).toBe(before); // no commit, results not moved, no hash-tree files
    leftNothing(ws, top);
    await ok(ws, ['snapshot', 'v3'], env);
    expect(existsSync(join(results, 'out.txt'))).toBe(false); // moved by the snapshot that completed
  }, 180_000);

  it('fsck --repair stops on SIGTERM while it downloads an intact copy: exit 143, says so, the store as it was, no lock or temp file left', async () => {
    const { env, top, ws, x, store, object } = await pushedLarge();
    chmodSync(object, 0o644);
    writeFileSync(object, Buffer.alloc(x.length, 9));
    // Every file of the store with its content's hash (the store is no git repository: fingerprint does not apply).
    const storePrint = () =>
      readdirSync(store, { recursive: true })
        .map(String)
        .sort()
        .map((f) => (statSync(join(store, f)).isDirectory() ? `d ${f}` : `f ${f} ${createHash('sha1').update(readFileSync(join(store, f))).digest('hex')}`))
        .join('\n');
    const corrupt = storePrint();
    const r = await terminatedWhileCopying(ws, ['fsck', '--repair'], env, top);
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain("Interrupted: fsck stopped before it finished; objects it replaced so far stay replaced, the others are as they were. Run 'dws fsck --repair' again to finish.");
    leftNothing(ws, top);
    expect(storePrint()).toBe(corrupt);
    await ok(ws, ['fsck', '--repair'], env);
    expect(readFileSync(object).equals(x)).toBe(true);
  }, 180_000);

  it('store checkout stops on SIGTERM while it downloads: exit 143, says so, the directory gone (or empty again), no lock or temp file left', async () => {
    const { env, top, ws, x, v2, object } = await pushedLarge();
    const tree = readJson(join(ws, '.dataworkspace', 'snapshot_store', `${v2}.json`)).data as string;
    for (const out of [join(top, 'out-new'), join(top, 'out-empty')]) {
      rmSync(object, { force: true }); // on the store remote only: the checkout downloads it
      if (out.endsWith('empty')) mkdirSync(out);
      const r = await terminatedWhileCopying(ws, ['store', 'checkout', tree, out], env, top);
      expect(r.code, r.stderr).toBe(143);
      expect(r.stderr).toContain(`Interrupted: the checkout stopped; it removed what it had written into ${out}.`);
      leftNothing(ws, top);
      if (out.endsWith('empty')) expect(readdirSync(out)).toEqual([]);
      else expect(existsSync(out)).toBe(false);
      await ok(ws, ['store', 'checkout', tree, out], env);
      expect(readFileSync(join(out, 'large.bin')).equals(x)).toBe(true);
    }
  }, 180_000);

  it('moving the store remote: config says the old one keeps what was pushed, and how to copy it over', async () => {
    const { env, top, remoteDir, ws } = await sharedWorkspace();
    let r = await ok(ws, ['config', 'store.remote', remoteDir], env);
    expect(r.stderr).toBe(''); // a first remote: nothing to say
    const next = join(top, 'new-remote');
    r = await ok(ws, ['config', 'store.remote', next], env);
    expect(r.stderr).toContain(
      `The store remote ${remoteDir} keeps the objects pushed there so far, which 'dws push' sends again only from a store that holds them: so that clones can restore the snapshots taken so far, copy them over: rclone copy ${remoteDir} ${next}`,
    );
    // An empty value takes it away again: the parameter leaves config.json, and push says there is none.
    r = await ok(ws, ['config', 'store.remote', ''], env);
    expect(r.stderr).toBe('');
    expect(Object.keys(readJson(join(ws, '.dataworkspace', 'config.json')).global_params)).not.toContain('store.remote');
    expect(JSON.parse((await ok(ws, ['--json', 'config', 'store.remote'], env)).stdout).params[0].value).toBe(null);
  });

  it('a store remote that does not exist (a disk not mounted, another machine’s path) is named as such when a clone needs its objects (restore and pull fetch the same way), not as a remote lacking them', async () => {
    const { env, top, origin, remoteDir, ws } = await sharedWorkspace();
    for (const remote of [remoteDir, `loc:${remoteDir}`]) {
      await ok(ws, ['config', 'store.remote', remote], env);
      if (git(ws, ['remote']).trim() === '') git(ws, ['remote', 'add', 'origin', origin]);
      await ok(ws, ['push'], env);
      renameSync(remoteDir, `${remoteDir}-unmounted`);
      const clone = join(top, 'clone');
      const r = await run(top, ['clone', origin, clone], env);
      expect(r.code, remote).toBe(1);
      expect(r.stderr).toContain(`are not in the content store at ${join(clone, '.git', 'dws', 'store')}, and the store remote ${remote} does not exist. Run 'dws push' in the workspace that took the snapshot if nothing was pushed there yet; if it was, the remote is not where this machine looks (a disk that is not mounted, a path of another machine): check 'dws config store.remote'. Then run this command again.`);
      expect(r.stderr).not.toContain('neither in the content store');
      expect(existsSync(clone)).toBe(false);
      renameSync(`${remoteDir}-unmounted`, remoteDir);
      await ok(top, ['clone', origin, clone], env);
      rmSync(clone, { recursive: true, force: true });
      rmSync(remoteDir, { recursive: true, force: true });
    }
  });

  it('leaves a resource restored to an older snapshot where it is on a pull that brings nothing newer, and updates it when one does', async () => {
    const { env, top, origin, ws, data, v1 } = await sharedWorkspace();
    await ok(ws, ['config', 'store.remote', join(top, 'plain-dir-store')], env);
    git(ws, ['remote', 'add', 'origin', origin]);
    changeToV2(data);
    await ok(ws, ['snapshot', 'v2'], env);
    await ok(ws, ['push'], env);
    await ok(ws, ['restore', 'v1'], env);
    // Nothing newer came: the restore is not undone (a pull used to bring data back to v2).
    const same = await ok(ws, ['pull'], env);
    expect(same.stderr).toMatch(/Resource 'data' was restored to an older snapshot than its latest \([0-9a-f]{7}\), and no newer one came: left as it is/);
    expect(diffR(data, v1)).toBe('');
    // The other side snapshots something newer: the pull brings it.
    const other = join(top, 'other');
    await ok(top, ['clone', origin, other], env);
    writeFileSync(join(other, 'data', 'theirs.txt'), 'theirs\n');
    await ok(other, ['snapshot', 'v3'], env);
    await ok(other, ['push'], env);
    expect((await ok(ws, ['pull'], env)).stderr).toContain('[store] data: files of the latest snapshot written');
    expect(diffR(data, join(other, 'data'))).toBe('');
    expect(await dwsOk(ws, ['--batch', 'status'])).toContain('  data: no changes (since ');
  });

  /** sharedWorkspace with a plain directory as store remote, pushed, and a clone of it `other`. */
  async function pushedAndCloned() {
    const shared = await sharedWorkspace();
    const { env, top, origin, ws } = shared;
    await ok(ws, ['config', 'store.remote', join(top, 'plain-dir-store')], env);
    git(ws, ['remote', 'add', 'origin', origin]);
    await ok(ws, ['push'], env);
    const other = join(top, 'other');
    await ok(top, ['clone', origin, other], env);
    return { ...shared, other };
  }

  it('leaves a resource with unsnapshotted changes as it is on pull, and says so', async () => {
    const { env, ws, data, other } = await pushedAndCloned();
    const otherData = join(other, 'data');
    if (!existsSync(otherData)) return; // absolute paths: the clone shares the folder
    writeFileSync(join(otherData, 'theirs.txt'), 'theirs\n');
    await ok(other, ['snapshot', 'v2'], env);
    await ok(other, ['push'], env);
    writeFileSync(join(data, 'mine.txt'), 'mine, not snapshotted\n');
    const r = await ok(ws, ['pull'], env);
    expect(r.stderr).toContain("Resource 'data' has changes that are in no snapshot: left as it is. Snapshot them, or restore the latest snapshot with --force, which keeps them in the store first ('dws restore --force SNAPSHOT'");
    expect(existsSync(join(data, 'theirs.txt'))).toBe(false);
    expect(readFileSync(join(data, 'mine.txt'), 'utf8')).toBe('mine, not snapshotted\n');
  });

  it('leaves a resource whose files are those of a snapshot another clone deleted as it is on pull, and says so', async () => {
    const { env, ws, data, other } = await pushedAndCloned();
    writeFileSync(join(data, 'mine.txt'), 'mine\n');
    await ok(ws, ['snapshot', 'v2'], env);
    await ok(ws, ['push'], env);
    await ok(other, ['pull'], env);
    await ok(other, ['delete-snapshot', 'v2'], env);
    await ok(other, ['push'], env);
    const r = await ok(ws, ['pull'], env);
    // It brought the files back to v1, and the next gc would have lost mine.txt.
    expect(r.stderr).toContain("Resource 'data': its files are those of a snapshot that the pull deleted (by 'dws delete-snapshot' in another clone), so they are in no snapshot now: left as it is.");
    // The restore it suggests needs --force for such files: the message says so.
    expect(r.stderr).toContain("Snapshot them to keep them, or restore the latest snapshot with --force, which keeps them in the store first ('dws restore --force SNAPSHOT', with its tag or hash from 'dws report history'), to get the pulled files.");
    expect(readFileSync(join(data, 'mine.txt'), 'utf8')).toBe('mine\n');
    expect(await dwsOk(ws, ['--batch', 'status'])).toContain('  data: 1 added, 0 modified, 0 deleted (since ');
  });

  /** Every file under `dir` (a store remote, a store) made two days old: past gc --remote's grace period. */
  function ageFiles(dir: string): void {
    const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    const files = execFileSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const f of files) utimesSync(f, old, old);
  }

  it('gc --remote in a clone that has not pulled keeps what other clones pushed, spares fresh uploads, counts large objects’ bytes', async () => {
    const { env, top, origin, remoteDir, ws, data } = await sharedWorkspace();
    await ok(ws, ['config', 'store.remote', remoteDir], env);
    // Without an origin to fetch, gc --remote cannot know other clones' snapshots: it refuses.
    const noOrigin = await run(ws, ['gc', '--remote'], env);
    expect(noOrigin.code).not.toBe(0);
    expect(noOrigin.stderr).toContain("'git fetch origin' failed");
    expect(noOrigin.stderr).toContain(`Nothing was removed from the store remote ${remoteDir}`);
    git(ws, ['remote', 'add', 'origin', origin]);
    await ok(ws, ['push'], env);
    const b = join(top, 'wsB');
    await ok(top, ['clone', origin, b], env);
    writeFileSync(join(data, 'v2.bin'), Buffer.alloc(2 << 20, 9)); // a large object: a file of its own
    writeFileSync(join(data, 'v2.txt'), 'v2\n');
    await ok(ws, ['snapshot', 'v2'], env);
    await ok(ws, ['push'], env);
    ageFiles(remoteDir);
    const kept = JSON.parse((await ok(b, ['--json', 'gc', '--remote'], env)).stdout);
    expect(kept.remoteRemoved).toEqual({ objects: 0, bytes: 0 });
    const c1 = join(top, 'c1');
    await ok(top, ['clone', origin, c1], env);
    expect(readFileSync(join(c1, 'data', 'v2.txt'), 'utf8')).toBe('v2\n');

    // Objects uploaded by a push killed before its git push: no ref reaches them yet.
    writeFileSync(join(data, 'v3.bin'), Buffer.alloc(2 << 20, 10));
    await ok(ws, ['snapshot', 'v3'], env);
    ageFiles(join(ws, '.git', 'dws', 'store')); // an old snapshot pushed late: the remote gets the upload time, not the file's
    expect((await run(ws, ['push'], { ...env, DWS_FAULT: 'push.after-store' })).code).not.toBe(0);
    const fresh = JSON.parse((await ok(b, ['--json', 'gc', '--remote'], env)).stdout);
    expect(fresh.remoteRemoved.objects).toBe(0);
    // Past the grace period they go, large object bytes counted; the next push sends them again.
    ageFiles(remoteDir);
    const gone = JSON.parse((await ok(b, ['--json', 'gc', '--remote'], env)).stdout);
    expect(gone.remoteRemoved.objects).toBeGreaterThanOrEqual(2);
    expect(gone.remoteRemoved.bytes).toBeGreaterThanOrEqual(2 << 20);
    expect((await ok(ws, ['push'], env)).stderr).toMatch(/sent \d+ object\(s\) in \d+ file\(s\)/);
    const c2 = join(top, 'c2');
    await ok(top, ['clone', origin, c2], env);
    expect(readFileSync(join(c2, 'data', 'v3.bin'))).toEqual(Buffer.alloc(2 << 20, 10));
  }, 180_000); // a long chain of dws, git and rclone processes: over a minute on a loaded machine

  it('gc --remote keeps a pack whose index on the remote cannot be read, and says so', async () => {
    const { env, origin, remoteDir, ws } = await sharedWorkspace();
    await ok(ws, ['config', 'store.remote', remoteDir], env);
    git(ws, ['remote', 'add', 'origin', origin]);
    await ok(ws, ['push'], env);
    const damaged = `packs/${'ab'.repeat(20)}`;
    writeFileSync(join(remoteDir, `${damaged}.idx`), 'cut short');
    writeFileSync(join(remoteDir, `${damaged}.pack`), 'whatever');
    ageFiles(remoteDir);
    const r = await ok(ws, ['gc', '--remote'], env);
    expect(r.stderr).toContain(`Kept ${damaged}.idx and its pack on the store remote ${remoteDir}`);
    expect(r.stdout).toContain('Store remote: removed 0 object(s)');
    expect(existsSync(join(remoteDir, `${damaged}.idx`))).toBe(true);
    expect(existsSync(join(remoteDir, `${damaged}.pack`))).toBe(true);
  });

  it('fsck --remote reports files a killed push left cut short on the remote, and the next push sends them again', async () => {
    const { env, origin, remoteDir, ws, data } = await sharedWorkspace();
    writeFileSync(join(data, 'large.bin'), Buffer.alloc(2 << 20, 4));
    await ok(ws, ['snapshot', 'v2'], env);
    await ok(ws, ['config', 'store.remote', `loc:${remoteDir}`], env);
    git(ws, ['remote', 'add', 'origin', origin]);
    await ok(ws, ['push'], env);
    const files = execFileSync('find', ['.', '-type', 'f'], { cwd: remoteDir, encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => f.slice(2));
    const large = files.find((f) => f.startsWith('objects/'))!;
    const pack = files.find((f) => f.endsWith('.pack'))!;
    const whole = { large: readFileSync(join(remoteDir, large)), pack: readFileSync(join(remoteDir, pack)) };
    // As rclone's local backend leaves a file it was writing when killed: under its final name.
    truncateSync(join(remoteDir, large), 1000);
    truncateSync(join(remoteDir, pack), 10);
    const fsck = JSON.parse((await ok(ws, ['--json', 'fsck', '--remote'], env)).stdout);
    expect(fsck).toMatchObject({ ok: false, wrongSizeOnRemote: [large, pack].sort() });
    const text = await run(ws, ['fsck', '--remote'], env);
    expect(text.code).not.toBe(0);
    expect(text.stdout + text.stderr).toContain(`wrong size on the store remote: ${large}`);
    expect((await run(ws, ['push'], env)).stderr).toMatch(/sent \d+ object\(s\) in 2 file\(s\)/);
    expect(readFileSync(join(remoteDir, large))).toEqual(whole.large);
    expect(readFileSync(join(remoteDir, pack))).toEqual(whole.pack);
    expect(JSON.parse((await ok(ws, ['--json', 'fsck', '--remote'], env)).stdout)).toMatchObject({ ok: true, wrongSizeOnRemote: [] });

    // A pack this store lacks, its index cut short there: its objects count as missing everywhere.
    const idx = pack.replace(/\.pack$/, '.idx');
    for (const f of [idx, pack]) rmSync(join(ws, '.git', 'dws', 'store', f));
    truncateSync(join(remoteDir, idx), 10);
    const lost = JSON.parse((await ok(ws, ['--json', 'fsck', '--remote'], env)).stdout);
    expect(lost.ok).toBe(false);
    expect(lost.missingEverywhere).toBeGreaterThan(0);
    expect(lost.missingEverywhere).toBe(lost.missingLocally);
  });

  it('fsck --remote and gc --remote fail on a remote that cannot be listed, naming it, and remove nothing', async () => {
    const { env, origin, ws } = await sharedWorkspace();
    git(ws, ['remote', 'add', 'origin', origin]);
    await ok(ws, ['config', 'store.remote', 'nosuch:/x'], env);
    // No rclone configuration at all, as on a machine where rclone was never set up.
    const bare = { ...env, RCLONE_CONFIG: join(tempDir('dws-noconf-'), 'absent.conf') };
    for (const e of [env, bare]) {
      for (const args of [['gc', '--remote', '--dry-run'], ['gc', '--remote'], ['fsck', '--remote']]) {
        const r = await run(ws, args, e);
        expect(r.code, `dws ${args.join(' ')}`).not.toBe(0);
        expect(r.stderr).toContain('Cannot list the store remote nosuch:/x');
      }
    }
  });

  it('refuses an unknown rclone remote with a clear message', async () => {
    const env = rcloneEnv();
    const { ws, data } = await workspaceWithData();
    changeToV2(data);
    await ok(ws, ['snapshot', 'v2'], env);
    await ok(ws, ['config', 'store.remote', 'nosuchremote:bucket/x'], env);
    rmSync(join(ws, '.git', 'dws', 'store'), { recursive: true, force: true });
    const before = fingerprint(ws);
    const r = await run(ws, ['restore', 'v1'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/nosuchremote/);
    expect(fingerprint(ws)).toBe(before);
  });

  /** The files under `dir`, relative to it. */
  const filesUnder = (dir: string) => execFileSync('find', ['.', '-type', 'f'], { cwd: dir, encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => f.slice(2)).sort();
  /** Change byte `at` of the file `f` (a damaged copy on the remote: same name, same size). */
  const flipByte = (f: string, at: number) => {
    const b = readFileSync(f);
    b[at] = b[at]! ^ 0xff;
    chmodSync(f, 0o644);
    writeFileSync(f, b);
  };

  /**
   * A workspace whose snapshot v1 is on the store remote only: pushed, then its files changed
   * (snapshot v2, model.bin gone) and its local store removed, so a restore of v1 downloads every
   * object (and takes --force to replace v2's files, now in no store).
   */
  async function onlyOnRemote() {
    const s = await sharedWorkspace();
    const remote = `loc:${s.remoteDir}`;
    await ok(s.ws, ['config', 'store.remote', remote], s.env);
    git(s.ws, ['remote', 'add', 'origin', s.origin]);
    await ok(s.ws, ['push'], s.env);
    changeToV2(s.data);
    rmSync(join(s.data, 'model.bin'));
    await ok(s.ws, ['snapshot', 'v2'], s.env);
    const store = join(s.ws, '.git', 'dws', 'store');
    rmSync(store, { recursive: true, force: true });
    const pushed = filesUnder(s.remoteDir);
    return { ...s, remote, store, pushed, packs: pushed.filter((f) => f.endsWith('.pack')), indexes: pushed.filter((f) => f.endsWith('.idx')) };
  }

  /** `dws args` fails with a message (never an internal error) containing each of `says`, and leaves the workspace `ws` as it was. */
  async function refusedUnchanged(ws: string, cwd: string, args: string[], env: NodeJS.ProcessEnv, says: string[]) {
    const before = fingerprint(ws);
    const head = git(ws, ['rev-parse', 'HEAD']);
    const r = await run(cwd, args, env);
    expect(r.code, `dws ${args.join(' ')}`).toBe(1);
    expect(r.stderr).not.toMatch(/internal error/i);
    for (const text of says) expect(r.stderr).toContain(text);
    expect(fingerprint(ws)).toBe(before);
    expect(git(ws, ['rev-parse', 'HEAD'])).toBe(head);
    return r;
  }

  it('a damaged pack index on the store remote stops restore and clone with a message naming it, and changes nothing; fsck --remote names it', async () => {
    const { env, top, origin, remoteDir, remote, ws, store, indexes } = await onlyOnRemote();
    for (const f of indexes) flipByte(join(remoteDir, f), 30); // an id's byte: size and magic still right
    const named = indexes.map((f) => `${f} on the store remote ${remote} cannot be used: the pack index is damaged (checksum mismatch)`);
    const r = await refusedUnchanged(ws, ws, ['restore', 'v1'], env, [...named, "needed for restore of 'data' are neither in the content store", "Run 'dws fsck --remote'"]);
    expect(r.stderr).toMatch(/could not be used: packs\/[0-9a-f]{40}\.idx: the pack index is damaged \(checksum mismatch\); packs\//);
    expect(readdirSync(join(store, 'packs'))).toEqual([]);
    // Garbage in place of an index (not even its header) is named the same way.
    writeFileSync(join(remoteDir, indexes[0]!), 'cut short');
    await refusedUnchanged(ws, ws, ['restore', 'v1'], env, [`${indexes[0]} on the store remote ${remote} cannot be used: the pack index is damaged (not a dws pack index)`]);
    const fsck = await run(ws, ['fsck', '--remote'], env);
    expect(fsck.code).toBe(1);
    expect(fsck.stderr).toContain(`${indexes[1]} on the store remote ${remote} cannot be used: the pack index is damaged (checksum mismatch): the objects of its pack count as missing`);

    // A clone fails the same way and leaves no directory.
    const clone = join(top, 'clone');
    const c = await run(top, ['clone', origin, clone], env);
    expect(c.code).toBe(1);
    expect(c.stderr).not.toMatch(/internal error/i);
    expect(c.stderr).toContain(named[1]);
    expect(existsSync(clone)).toBe(false);
  });

  it('a pull whose new pack has a damaged index on the store remote stops naming it, leaves the files as they were, and completes once the remote is mended', async () => {
    const { env, top, origin, remoteDir, ws } = await sharedWorkspace();
    const remote = `loc:${remoteDir}`;
    await ok(ws, ['config', 'store.remote', remote], env);
    git(ws, ['remote', 'add', 'origin', origin]);
    await ok(ws, ['push'], env);
    const [a, b] = [join(top, 'a'), join(top, 'b')];
    await ok(top, ['clone', origin, a], env);
    await ok(top, ['clone', origin, b], env);
    const pushed = filesUnder(remoteDir);
    writeFileSync(join(b, 'data', 'theirs.txt'), 'theirs\n');
    await ok(b, ['snapshot', 'v3'], env);
    await ok(b, ['push'], env);
    const fresh = filesUnder(remoteDir).filter((f) => f.endsWith('.idx') && !pushed.includes(f));
    expect(fresh.length).toBeGreaterThan(0);
    const good = fresh.map((f) => readFileSync(join(remoteDir, f)));
    for (const f of fresh) flipByte(join(remoteDir, f), 30);
    const print = treePrint(join(a, 'data'));
    const r = await run(a, ['pull'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/internal error/i);
    expect(r.stderr).toContain(`${fresh[0]} on the store remote ${remote} cannot be used: the pack index is damaged (checksum mismatch)`);
    expect(r.stderr).toContain("Run 'dws fsck --remote'");
    expect(treePrint(join(a, 'data'))).toBe(print);
    fresh.forEach((f, i) => writeFileSync(join(remoteDir, f), good[i]!));
    await ok(a, ['pull'], env);
    expect(readFileSync(join(a, 'data', 'theirs.txt'), 'utf8')).toBe('theirs\n');
  });

  it('a damaged pack index that other files of the store remote stand in for is left aside: restore and clone go on and name it', async () => {
    const { env, top, origin, remoteDir, remote, ws, data, v1 } = await onlyOnRemote();
    const garbage = `packs/${'ab'.repeat(20)}.idx`;
    writeFileSync(join(remoteDir, garbage), 'cut short');
    const said = `${garbage} on the store remote ${remote} cannot be used: the pack index is damaged (not a dws pack index); left aside ('dws fsck --remote' checks the remote).`;
    expect((await ok(ws, ['restore', '--force', 'v1'], env)).stderr).toContain(said); // --force: v2's files are in no store
    expect(diffR(data, v1)).toBe('');
    const clone = join(top, 'clone');
    expect((await ok(top, ['clone', origin, clone], env)).stderr).toContain(said);
    expect(diffR(join(clone, 'data'), v1)).toBe('');
  });

  it('a pack or large object whose bytes on the store remote are not what its index or name says never enters the local store: restore stops naming it, changing nothing', async () => {
    const { env, remoteDir, remote, ws, store, pushed, packs } = await onlyOnRemote();
    const good = new Map(pushed.map((f) => [f, readFileSync(join(remoteDir, f))]));
    const mend = () => good.forEach((bytes, f) => writeFileSync(join(remoteDir, f), bytes));
    const large = pushed.find((f) => f.startsWith('objects/'))!;
    for (const f of packs) flipByte(join(remoteDir, f), 0);
    const flipped = await refusedUnchanged(ws, ws, ['restore', 'v1'], env, ['cannot be used: the pack does not match its index: the bytes of object ', "Run 'dws fsck --remote'"]);
    expect(packs.some((f) => flipped.stderr.includes(`${f} on the store remote ${remote} cannot be used`))).toBe(true);
    expect(readdirSync(join(store, 'packs')).filter((f) => packs.includes(`packs/${f}`))).toEqual([]);
    mend();
    for (const f of packs) truncateSync(join(remoteDir, f), 10);
    await refusedUnchanged(ws, ws, ['restore', 'v1'], env, ['cannot be used: the pack does not match its index: it has 10 bytes, its index says ']);
    mend();
    flipByte(join(remoteDir, large), 100);
    await refusedUnchanged(ws, ws, ['restore', 'v1'], env, [`${large} on the store remote ${remote} cannot be used: its bytes do not match its name`]);
    expect(existsSync(join(store, large))).toBe(false);
    mend();
    await ok(ws, ['restore', '--force', 'v1'], env);
    expect(JSON.parse((await ok(ws, ['--json', 'fsck'], env)).stdout).ok).toBe(true);
  });

  it('a store remote that goes away between reading its indexes and the download, or a file there that cannot be read, stops restore with a clear message, changing nothing', async () => {
    const { env, remoteDir, remote, ws, store, packs } = await onlyOnRemote();
    // An rclone ahead of the real one on PATH removes the remote just before the download.
    const bin = tempDir('dws-rclone-gone-');
    const real = execFileSync('sh', ['-c', 'command -v rclone'], { encoding: 'utf8' }).trim();
    writeFileSync(join(bin, 'rclone'), `#!/bin/sh\ncase "$*" in *--files-from-raw*) mv '${remoteDir}' '${remoteDir}.away';; esac\nexec '${real}' "$@"\n`);
    chmodSync(join(bin, 'rclone'), 0o755);
    const r = await refusedUnchanged(ws, ws, ['restore', 'v1'], { ...env, PATH: `${bin}:${env.PATH}` }, ['cannot be used: gone from the remote since its index was read']);
    expect(packs.some((f) => r.stderr.includes(`${f} on the store remote ${remote} cannot be used`))).toBe(true);
    expect(readdirSync(join(store, 'packs'))).toEqual([]);
    renameSync(`${remoteDir}.away`, remoteDir);
    // A pack that cannot be read as a file (here a directory under its name).
    for (const f of packs) {
      rmSync(join(remoteDir, f), { force: true });
      mkdirSync(join(remoteDir, f));
    }
    await refusedUnchanged(ws, ws, ['restore', 'v1'], env, [`Cannot download from the store remote ${remote}: rclone copy raised error`]);
  });


  it('push --only-workspace says that the data stayed here, and a clone that cannot restore it says to push', async () => {
    const { env, top, origin, remoteDir, ws } = await sharedWorkspace();
    await ok(ws, ['config', 'store.remote', remoteDir], env);
    git(ws, ['remote', 'add', 'origin', origin]);
    const r = await ok(ws, ['push', '--only-workspace'], env);
    expect(r.stderr).toContain('Pushing workspace.\n'); // 1.6's line, as it was
    expect(r.stderr).toContain(
      `[push] --only-workspace: no data objects were sent to the store remote ${remoteDir}; until 'dws push' is run here, clones cannot restore the files of snapshots whose objects are not there yet.`,
    );
    expect(existsSync(remoteDir)).toBe(false);
    const clone = join(top, 'clone');
    const c = await run(top, ['clone', origin, clone], env);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain("Run 'dws push' in the workspace that took the snapshot");
    expect((await ok(ws, ['push'], env)).stderr).not.toContain('--only-workspace');
    await ok(top, ['clone', origin, clone], env);
  });

  it('push checks the store remote before it pushes anything; a directory remote is kept absolute, so clones elsewhere find it', async () => {
    const { env, top, origin, ws } = await sharedWorkspace();
    git(ws, ['remote', 'add', 'origin', origin]);
    await ok(ws, ['config', 'store.remote', 'nosuchremote:bucket/x'], env);
    const r = await run(ws, ['push'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Cannot list the store remote nosuchremote:bucket/x: ');
    expect(r.stderr).not.toContain('pushed successfully');
    expect(git(top, ['ls-remote', origin])).toBe(''); // nothing pushed
    await ok(ws, ['config', 'store.remote', '../remote-store'], env);
    expect(readJson(join(ws, '.dataworkspace', 'config.json')).global_params['store.remote']).toBe(join(dirname(ws), 'remote-store'));
  });

  it('push refuses a directory store remote whose parent folder does not exist (a disk not mounted), naming it, and pushes nothing: no folder made, no data, no commits', async () => {
    const { env, top, origin, ws } = await sharedWorkspace();
    git(ws, ['remote', 'add', 'origin', origin]);
    const remote = join(top, 'mnt', 'usb', 'store');
    await ok(ws, ['config', 'store.remote', remote], env);
    const before = fingerprint(ws);
    const r = await run(ws, ['push'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`The store remote ${remote} does not exist, and its parent folder ${join(top, 'mnt', 'usb')} does not exist either (a disk that is not mounted?)`);
    expect(r.stderr).toContain('Nothing was pushed.');
    expect(existsSync(join(top, 'mnt'))).toBe(false);
    expect(git(top, ['ls-remote', origin])).toBe('');
    expect(fingerprint(ws)).toBe(before);
    // A file where the remote should be is named as such; with its parent there, push makes the remote's folder.
    mkdirSync(join(top, 'mnt', 'usb'), { recursive: true });
    writeFileSync(remote, 'not a store\n');
    const f = await run(ws, ['push'], env);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain(`The store remote ${remote} is not a folder (it is a file)`);
    expect(git(top, ['ls-remote', origin])).toBe('');
    rmSync(remote);
    await ok(ws, ['push'], env);
    expect(readdirSync(remote).sort()).toEqual(['objects', 'packs']);
  });

  it('push refuses an rclone store remote of type local whose parent folder does not exist, as a directory one, with one rclone call more only while the folder is missing; other backends make the path', async () => {
    const { env, top, origin, ws } = await sharedWorkspace();
    git(ws, ['remote', 'add', 'origin', origin]);
    // The remotes' types are in the configuration the environment names (RCLONE_CONFIG), not the user's default one.
    const elsewhere = join(top, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(env.RCLONE_CONFIG!, `[loc]\ntype = local\n\n[far]\ntype = alias\nremote = ${elsewhere}\n`);
    // Every rclone call logged by a wrapper ahead of the real rclone on PATH.
    const bin = tempDir('dws-rclone-log-');
    const calls = join(bin, 'calls');
    writeFileSync(join(bin, 'rclone'), `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${requireOnPath(['rclone'], 'apt-get install rclone')}' "$@"\n`, { mode: 0o755 });
    const logged = { ...env, PATH: `${bin}:${env.PATH}` };
    const called = () => {
      const all = readFileSync(calls, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '));
      rmSync(calls);
      return all;
    };
    const usb = join(top, 'mnt', 'usb');
    const remote = `loc:${join(usb, 'store')}`;
    await ok(ws, ['config', 'store.remote', remote], env);
    const before = fingerprint(ws);
    const r = await run(ws, ['push'], logged);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`The store remote ${remote} does not exist, and its parent folder ${usb} does not exist either (a disk that is not mounted?)`);
    expect(r.stderr).toContain('Nothing was pushed.');
    expect(called()).toEqual(['lsf -R', 'listremotes --long']);
    expect(existsSync(join(top, 'mnt'))).toBe(false);
    expect(git(top, ['ls-remote', origin])).toBe('');
    expect(fingerprint(ws)).toBe(before);
    // With its parent there, push makes the remote's folder (one look at the type, as it is missing); then no look at all.
    mkdirSync(usb, { recursive: true });
    await ok(ws, ['push'], logged);
    expect(called().filter((c) => !c.startsWith('copy'))).toEqual(['lsf -R', 'listremotes --long']);
    expect(readdirSync(join(usb, 'store')).sort()).toEqual(['objects', 'packs']);
    await ok(ws, ['push'], logged);
    expect(called()).toEqual(['lsf -R']);
    // Another backend (an alias) is left to rclone, which makes the whole path.
    await ok(ws, ['config', 'store.remote', 'far:mnt/usb/store'], env);
    await ok(ws, ['push'], env);
    expect(readdirSync(join(elsewhere, 'mnt', 'usb', 'store')).sort()).toEqual(['objects', 'packs']);
  });

  it('fsck --remote, fsck --repair and gc --remote name a store remote that does not exist or is a file (a directory or an rclone path), exit non-zero, and remove nothing', async () => {
    const { env, top, origin, ws } = await sharedWorkspace();
    git(ws, ['remote', 'add', 'origin', origin]); // gc --remote fetches it first
    const missing = join(top, 'not-mounted', 'store');
    const file = join(top, 'a-file');
    writeFileSync(file, 'not a store\n');
    for (const [path, said] of [[missing, 'does not exist'], [file, 'is a file, not a folder']] as const) {
      for (const remote of [path, `loc:${path}`]) {
        await ok(ws, ['config', 'store.remote', remote], env);
        const before = fingerprint(ws);
        for (const args of [['fsck', '--remote'], ['fsck', '--repair'], ['gc', '--remote']]) {
          const r = await run(ws, args, env);
          expect(r.code, `${remote}: dws ${args.join(' ')}\n${r.stdout}`).toBe(1);
          expect(r.stderr).toContain(`but the store remote ${remote} ${said}`);
          expect(r.stdout).not.toContain('No problems found');
        }
        expect(fingerprint(ws)).toBe(before);
      }
    }
    expect(readFileSync(file, 'utf8')).toBe('not a store\n');
  });

  it('push to a store remote that cannot be written (a read-only disk) says so once, naming the remote, and pushes nothing of the workspace', async (ctx) => {
    const { env, top, origin, ws } = await sharedWorkspace();
    git(ws, ['remote', 'add', 'origin', origin]);
    const ro = join(top, 'ro');
    mkdirSync(ro);
    try {
      execFileSync('mount', ['--bind', ro, ro], { stdio: 'ignore' });
    } catch {
      ctx.skip(); // needs root to mount, as on CI
    }
    try {
      execFileSync('mount', ['-o', 'remount,bind,ro', ro], { stdio: 'ignore' });
      const remote = join(ro, 'store');
      await ok(ws, ['config', 'store.remote', remote], env);
      const r = await run(ws, ['push'], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Cannot send the content store's objects to the store remote ${remote}: `);
      expect(r.stderr.match(/read-only file system/g), r.stderr).toHaveLength(1);
      expect(r.stderr).toContain('The workspace repository was not pushed');
      expect(git(top, ['ls-remote', origin])).toBe('');
    } finally {
      execFileSync('umount', [ro]);
    }
  });

  describe('corrupt objects replaced with the store remote’s copies', () => {
    /** Two contents of v1 that restoring v1 over v2 writes: a large object (a file of its own) and a small one (in a pack). */
    const damaged = (v1: string) => [readFileSync(join(v1, 'model.bin')), readFileSync(join(v1, 'sub', 'f4.csv'))];
    const idsOf = (contents: Buffer[]) => contents.map((c) => createHash('sha1').update(c).digest('hex'));

    /** Where the packs of the store (or store remote) at `dir` hold the object `id`: pack file and offset of each copy. */
    function packedCopies(dir: string, id: string): { pack: string; offset: number }[] {
      const probe = Buffer.from(id, 'hex');
      return readdirSync(join(dir, 'packs'))
        .filter((f) => f.endsWith('.idx'))
        .map((f) => readPackIndex(join(dir, 'packs'), f.slice(0, -4)))
        .flatMap((idx) => {
          const i = findEntry(idx, probe);
          return i < 0 ? [] : [{ pack: join(dir, 'packs', `${idx.name}.pack`), offset: entryOffset(idx, i) }];
        });
    }

    /** Flip a byte of each copy of each object `ids` in the store (or store remote) at `dir`, in place. Returns the files changed. */
    function corruptCopies(dir: string, ids: string[]): string[] {
      const flip = (file: string, at: number) => {
        chmodSync(file, 0o644); // store files are read-only
        const bytes = readFileSync(file);
        bytes[at] = bytes[at]! ^ 0xff;
        writeFileSync(file, bytes);
      };
      const changed: string[] = [];
      for (const id of ids) {
        const own = join(dir, 'objects', id.slice(0, 2), id.slice(2));
        if (existsSync(own)) {
          flip(own, 1000 % statSync(own).size);
          changed.push(own);
        }
        for (const { pack, offset } of packedCopies(dir, id)) {
          flip(pack, offset + 1);
          changed.push(pack);
        }
      }
      return changed;
    }

    /** sharedWorkspace with a v2 that lacks both damaged contents, a directory store remote and an origin, pushed; `v1Tree`: v1's store tree of data. */
    async function pushedWorkspace() {
      const shared = await sharedWorkspace();
      const { env, origin, remoteDir, ws, data } = shared;
      const [record] = readdirSync(join(ws, '.dataworkspace', 'snapshot_store'));
      const v1Tree = readJson(join(ws, '.dataworkspace', 'snapshot_store', record!)).data as string;
      changeToV2(data);
      writeFileSync(join(data, 'model.bin'), 'replaced\n');
      await ok(ws, ['snapshot', 'v2'], env);
      await ok(ws, ['config', 'store.remote', remoteDir], env);
      git(ws, ['remote', 'add', 'origin', origin]);
      await ok(ws, ['push'], env);
      return { ...shared, v1Tree, store: join(ws, '.git', 'dws', 'store') };
    }

    it('restore replaces a corrupt large object, packed object and tree, finishes byte for byte, and fsck and gc stay right', async () => {
      const { env, ws, data, v1, v1Tree, store } = await pushedWorkspace();
      const [large, small] = idsOf(damaged(v1));
      expect(corruptCopies(store, [large!, small!, v1Tree])).toHaveLength(3);
      const r = await run(ws, ['restore', 'v1'], env);
      expect(r.code, r.stderr).toBe(0);
      // The tree is met while planning, the files' objects while writing (both found at the first one).
      expect(r.stderr).toContain("Replaced 1 corrupt object in the content store with the store remote's copy.\n");
      expect(r.stderr).toContain("Replaced 2 corrupt objects in the content store with the store remote's copies.\n");
      expect(diffR(data, v1)).toBe('');
      expect(JSON.parse((await ok(ws, ['--json', 'fsck'], env)).stdout)).toMatchObject({ ok: true, corrupt: [], repaired: [] });
      // gc drops the corrupt packed entries (the only unreachable bytes: their packs are rewritten) and keeps the good copies.
      expect(JSON.parse((await ok(ws, ['--json', 'gc'], env)).stdout).removed.objects).toBe(2);
      expect([...packedCopies(store, small!), ...packedCopies(store, v1Tree)]).toEqual([]);
      expect(JSON.parse((await ok(ws, ['--json', 'fsck'], env)).stdout)).toMatchObject({ ok: true, corrupt: [] });
      await ok(ws, ['restore', 'v2'], env);
      const again = await ok(ws, ['restore', 'v1'], env);
      expect(again.stderr).not.toContain('Replaced');
      expect(diffR(data, v1)).toBe('');
    });

    it('without a store remote, or when the remote’s copies are corrupt too, restore stops with a clear error and changes nothing', async () => {
      const { env, origin, remoteDir, ws, data, v1 } = await sharedWorkspace();
      changeToV2(data);
      writeFileSync(join(data, 'model.bin'), 'replaced\n');
      await ok(ws, ['snapshot', 'v2'], env);
      corruptCopies(join(ws, '.git', 'dws', 'store'), idsOf(damaged(v1)));
      let before = fingerprint(ws);
      const bare = await run(ws, ['restore', 'v1'], env);
      expect(bare.code).not.toBe(0);
      expect(bare.stderr).toMatch(/Object [0-9a-f]{40} in the content store is corrupt .*with a store remote that holds a good copy \('dws config store\.remote REMOTE'\), restore, pull, clone and 'dws fsck --repair' replace it\. None of its files was changed\./);
      expect(fingerprint(ws)).toBe(before);
      const noRemote = await run(ws, ['fsck', '--repair'], env);
      expect(noRemote.code).not.toBe(0);
      expect(noRemote.stderr).toContain('fsck --repair was asked for, but this workspace has no store remote');

      // Pushed after the damage: the remote's copies are the same corrupt bytes.
      await ok(ws, ['config', 'store.remote', remoteDir], env);
      git(ws, ['remote', 'add', 'origin', origin]);
      await ok(ws, ['push'], env);
      before = fingerprint(ws);
      const bad = await run(ws, ['restore', 'v1'], env);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/Object [0-9a-f]{40} in the content store is corrupt \(.*\)\. The store remote .* has no intact copy of it either \(nor of 1 other corrupt object\(s\) needed here\), so it cannot be replaced\. None of its files was changed\./);
      expect(bad.stderr).not.toContain('Replaced');
      expect(fingerprint(ws)).toBe(before);
      const fsck = JSON.parse((await ok(ws, ['--json', 'fsck', '--repair'], env)).stdout);
      expect(fsck).toMatchObject({ ok: false, repaired: [] });
      expect(fsck.corrupt).toHaveLength(2);
      const text = await run(ws, ['fsck', '--repair'], env);
      expect(text.code).not.toBe(0);
      expect(text.stderr).toContain('The corrupt object(s) above could not be replaced from the store remote.');
    });

    it('fsck names the command that repairs; fsck --repair (CLI and Node client) replaces corrupt objects from the store remote', async () => {
      const { env, ws, data, v1, store } = await pushedWorkspace();
      corruptCopies(store, idsOf(damaged(v1)));
      const r = await run(ws, ['fsck'], env);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("Run 'dws fsck --repair' to replace corrupt objects with the store remote's copies.");
      const c = await connect({ cwd: ws, command: [process.execPath, DWS], env });
      try {
        const fixed = await c.request('dws/fsck', { repair: true });
        expect(fixed).toMatchObject({ ok: true, corrupt: [] });
        expect(fixed.repaired).toEqual(idsOf(damaged(v1)).sort());
      } finally {
        c.close();
      }
      expect((await ok(ws, ['fsck'], env)).stdout).toContain('No problems found.');
      // Damaged again: the CLI's repair says what it did.
      expect(corruptCopies(store, idsOf(damaged(v1)).slice(0, 1))).toHaveLength(1);
      const cli = await ok(ws, ['fsck', '--repair'], env);
      expect(cli.stderr).toContain("Replaced 1 corrupt object in the content store with the store remote's copy.");
      expect(cli.stdout).toContain('No problems found.');
      const restored = await ok(ws, ['restore', 'v1'], env);
      expect(restored.stderr).not.toContain('Replaced');
      expect(diffR(data, v1)).toBe('');
    });

    it('pull replaces a corrupt object it needs with the store remote’s copy', async () => {
      const { env, top, origin, ws, data, v1 } = await pushedWorkspace();
      const other = join(top, 'other');
      const cloned = await ok(top, ['--json', 'clone', origin, other], env);
      const otherData = JSON.parse(cloned.stdout).resources.find((r: { name: string }) => r.name === 'data').localPath as string;
      expect(otherData).toBe(join(other, 'data'));
      // The other side snapshots v1's contents again: the pull writes them from this store's (corrupt) objects.
      const [large, small] = damaged(v1);
      writeFileSync(join(otherData, 'model-copy.bin'), large!);
      writeFileSync(join(otherData, 'f4-copy.csv'), small!);
      await ok(other, ['snapshot', 'v3'], env);
      await ok(other, ['push'], env);
      corruptCopies(join(ws, '.git', 'dws', 'store'), idsOf([large!, small!]));
      const r = await run(ws, ['pull'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("Replaced 2 corrupt objects in the content store with the store remote's copies.\n");
      expect(readFileSync(join(data, 'model-copy.bin')).equals(large!)).toBe(true); // toEqual compares 3 MB byte by byte: ~20 s
      expect(readFileSync(join(data, 'f4-copy.csv'))).toEqual(small);
      expect(JSON.parse((await ok(ws, ['--json', 'fsck'], env)).stdout)).toMatchObject({ ok: true, corrupt: [] });
    });
  });
});

describe('a large object stored by a snapshot', () => {
  it('is synced, and so is the objects/<2 hex>/ directory it is renamed into (it survives a crash)', async (ctx) => {
    if (!existsSync('/usr/bin/strace')) ctx.skip(); // strace shows the fsync calls the process makes
    const ws = await newWorkspace();
    const bytes = Buffer.alloc(2 << 20, 9);
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'large.bin'), bytes);
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    const id = createHash('sha1').update(bytes).digest('hex');
    const trace = join(tempDir('dws-strace-'), 'trace');
    execFileSync('strace', ['-f', '-y', '-e', 'trace=fsync,fdatasync', '-o', trace, process.execPath, DWS, '--batch', 'snapshot', 'v1'], { cwd: ws, env: TEST_ENV, stdio: 'ignore' });
    const synced = [...readFileSync(trace, 'utf8').matchAll(/f(?:data)?sync\(\d+<([^>]*)>\) = 0/g)].map((m) => m[1]!);
    const objects = join(realpathSync(ws), '.git', 'dws', 'store', 'objects');
    expect(synced).toContain(join(objects, id.slice(0, 2)));
    expect(synced).toContain(objects);
    expect(existsSync(join(objects, id.slice(0, 2), id.slice(2)))).toBe(true);
  });
});

/** The large objects of a store that do not hash to their names (each read whole): [] when all are sound. */
function unsoundObjects(objects: string): string[] {
  const bad: string[] = [];
  for (const d of readdirSync(objects)) {
    for (const f of readdirSync(join(objects, d))) {
      if (createHash('sha1').update(readFileSync(join(objects, d, f))).digest('hex') !== d + f) bad.push(d + f);
    }
  }
  return bad;
}

describe('large objects written direct (O_DIRECT) by the hashing threads', () => {
  it('are exact at every length, whole blocks and tails alike, with no temp files left', async (ctx) => {
    const ws = await newWorkspace();
    const data = join(ws, 'data');
    mkdirSync(data);
    const sizes = [1 << 20, (1 << 20) + 1, (1 << 20) + 511, (1 << 20) + 4095, (2 << 20) + 4096, (3 << 20) - 1, (5 << 20) + 12345];
    const ids = sizes.map((size, i) => {
      const bytes = Buffer.alloc(size);
      for (let j = 0; j < size; j += 4096) bytes.writeUInt32LE((j * 2654435761 + i) >>> 0, Math.min(j, size - 4));
      writeFileSync(join(data, `f${i}.bin`), bytes);
      return createHash('sha1').update(bytes).digest('hex');
    });
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    const trace = join(tempDir('dws-strace-'), 'trace');
    const strace = existsSync('/usr/bin/strace');
    const args = [DWS, '--batch', 'snapshot', 'v1'];
    if (strace) execFileSync('strace', ['-f', '-e', 'trace=openat', '-o', trace, process.execPath, ...args], { cwd: ws, env: TEST_ENV, stdio: 'ignore' });
    else await dwsOk(ws, args.slice(1));
    const store = join(ws, '.git', 'dws', 'store');
    const objects = join(store, 'objects');
    expect(unsoundObjects(objects)).toEqual([]);
    for (const [i, id] of ids.entries()) expect(statSync(join(objects, id.slice(0, 2), id.slice(2))).size).toBe(sizes[i]);
    expect(readdirSync(join(store, 'tmp'))).toEqual([]);
    for (let i = 0; i < sizes.length; i++) writeFileSync(join(data, `f${i}.bin`), 'small now\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    for (const [i, id] of ids.entries()) expect(createHash('sha1').update(readFileSync(join(data, `f${i}.bin`))).digest('hex')).toBe(id);
    if (!strace) ctx.skip(); // the rest shows how the copies were opened
    expect(readFileSync(trace, 'utf8')).toMatch(/openat\(.*large-[^"]*\.tmp", O_WRONLY\|O_DIRECT/);
  });

  it('never name content they do not hold, while the files change under a snapshot', async () => {
    const ws = await newWorkspace();
    const data = join(ws, 'data');
    mkdirSync(data);
    for (let i = 0; i < 4; i++) writeFileSync(join(data, `f${i}.bin`), Buffer.alloc((3 << 20) + i * 777, i));
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    // A writer rewrites the files, growing, shrinking and changing them, as fast as it can.
    const writer = spawn(process.execPath, ['-e', `
      const fs = require('node:fs');
      for (let n = 0; ; n++) {
        const size = (1 << 20) + ((n * 999331) % (4 << 20));
        fs.writeFileSync(${JSON.stringify(data)} + '/f' + (n % 4) + '.bin', Buffer.alloc(size, n & 0xff));
      }`], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 6; i++) await dws(ws, ['--batch', 'snapshot']); // each may succeed or refuse a changed file
    } finally {
      writer.kill('SIGKILL');
    }
    expect(unsoundObjects(join(ws, '.git', 'dws', 'store', 'objects'))).toEqual([]);
  });
});

describe('gc and fsck', () => {
  it('keeps every reachable object (every snapshot restores after gc) and removes unreachable ones after delete-snapshot', async () => {
    const { ws, data, v1 } = await workspaceWithData();
    changeToV2(data);
    writeFileSync(join(data, 'only-in-v2.bin'), Buffer.alloc(2 << 20, 7));
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const printV2 = treePrint(data);
    rmSync(join(data, 'only-in-v2.bin'));
    writeFileSync(join(data, 'v3.txt'), 'v3\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v3']);
    const dry = JSON.parse(await dwsOk(ws, ['--batch', '--json', 'gc', '--dry-run']));
    expect(dry.removed.objects).toBe(0);
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(diffR(data, v1)).toBe('');

    await dwsOk(ws, ['--batch', 'delete-snapshot', 'v2']);
    // What a crashed restore left in the trash: kept by a dry run, freed by gc.
    const leftover = join(ws, '.git', 'dws', 'store', 'trash', '123-abcdef012345');
    mkdirSync(leftover, { recursive: true });
    writeFileSync(join(leftover, '0'), 'set aside');
    const before = JSON.parse(await dwsOk(ws, ['--batch', '--json', 'gc', '--dry-run']));
    expect(before.removed.objects).toBeGreaterThan(0);
    expect(before.removed.bytes).toBeGreaterThanOrEqual(2 << 20);
    expect(existsSync(leftover)).toBe(true);
    const out = await dwsOk(ws, ['--batch', 'gc']);
    expect(existsSync(leftover)).toBe(false);
    expect(out).toMatch(/^Removed \d+ object\(s\), [\d.]+ MB; kept \d+ object\(s\)/);
    expect(JSON.parse(await dwsOk(ws, ['--batch', '--json', 'fsck'])).ok).toBe(true);
    for (const tag of ['v1', 'v3']) await dwsOk(ws, ['--batch', 'restore', tag]);
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(diffR(data, v1)).toBe('');
    expect(printV2).not.toBe(treePrint(data));
    const again = JSON.parse(await dwsOk(ws, ['--batch', '--json', 'gc']));
    expect(again.removed.objects).toBe(0);

    // The same methods through the server and the Node client.
    const c = await connect({ cwd: ws, command: [process.execPath, DWS], env: TEST_ENV });
    try {
      const fsck = await c.request('dws/fsck', {});
      expect(fsck).toMatchObject({ ok: true, corrupt: [], missingLocally: 0 });
      expect(fsck.objects).toBe(JSON.parse(await dwsOk(ws, ['--batch', '--json', 'fsck'])).objects);
      expect(await c.request('dws/gc', { dryRun: true })).toMatchObject({ dryRun: true, removed: { objects: 0, bytes: 0 } });
      await expect(c.request('dws/store/checkout', { tree: 'nothex', directory: join(ws, 'out') })).rejects.toThrow(/'nothex' is not a store tree id: give its 40 lowercase hex digits/);
    } finally {
      c.close();
    }
  });
});

describe('gc against other processes', () => {
  it('runs one after the other with a snapshot started at the same time, and a killed gc leaves a valid store', async () => {
    const { ws, data, v1 } = await workspaceWithData();
    for (let i = 0; i < 20; i++) writeFileSync(join(data, `big${i}.bin`), Buffer.alloc(1 << 20, i + 1)); // large objects
    for (let i = 0; i < 500; i++) writeFileSync(join(data, 'sub', `g${i}.csv`), `g,${i}\n`);
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    await dwsOk(ws, ['--batch', 'delete-snapshot', 'v2']); // its objects become garbage
    for (let i = 0; i < 500; i++) writeFileSync(join(data, 'sub', `h${i}.csv`), `h,${i}\n`);
    const v3 = treePrint(data);
    const [snap, gc] = await Promise.all([dws(ws, ['--batch', 'snapshot', 'v3']), dws(ws, ['--batch', 'gc'])]);
    expect(snap.code, snap.stderr).toBe(0);
    expect(gc.code, gc.stderr).toBe(0);
    expect(JSON.parse(await dwsOk(ws, ['--batch', '--json', 'fsck'])).ok).toBe(true);
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(diffR(data, v1)).toBe('');
    await dwsOk(ws, ['--batch', 'restore', 'v3']);
    expect(treePrint(data)).toBe(v3);

    // v3's own objects become garbage; gc is killed as soon as it holds the store lock.
    await dwsOk(ws, ['--batch', 'delete-snapshot', 'v3']);
    const lock = join(ws, '.git', 'dws', 'store', 'lock');
    await killWhen(ws, ['--batch', 'gc'], () => existsSync(lock) && readFileSync(lock, 'utf8').includes('dws gc'));
    expect(JSON.parse(await dwsOk(ws, ['--batch', '--json', 'fsck'])).ok).toBe(true);
    await dwsOk(ws, ['--batch', 'restore', '--force', 'v1']);
    expect(diffR(data, v1)).toBe('');
    const again = JSON.parse(await dwsOk(ws, ['--batch', '--json', 'gc']));
    expect(again.kept.objects).toBeGreaterThan(0);
    expect(JSON.parse(await dwsOk(ws, ['--batch', '--json', 'gc', '--dry-run'])).removed.objects).toBe(0);
  });
});

describe('a store that cannot be used', () => {
  it('fails the snapshot cleanly, naming the store, and records nothing', async () => {
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'x'), 'x\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    const blocker = join(tempDir(), 'a-file');
    writeFileSync(blocker, 'not a directory\n');
    await dwsOk(ws, ['--batch', 'config', 'store.dir', join(blocker, 'store')]);
    const before = fingerprint(ws);
    const r = await dws(ws, ['--batch', 'snapshot', 'v1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Cannot use the content store at ${join(blocker, 'store')}`);
    expect(fingerprint(ws)).toBe(before);
    expect(await dwsOk(ws, ['--batch', 'report', 'history'])).not.toContain('v1');
  });

  it('fails the snapshot cleanly when the store’s disk is full, then read-only, naming the store; records nothing and leaves no temp files', async (ctx) => {
    const mnt = smallDisk(ctx, '1m');
    try {
      const ws = await newWorkspace();
      mkdirSync(join(ws, 'data'));
      writeFileSync(join(ws, 'data', 'big.bin'), Buffer.alloc(3 << 20, 1));
      for (let i = 0; i < 300; i++) writeFileSync(join(ws, 'data', `s${i}`), Buffer.alloc(5000, i));
      await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
      const store = join(mnt, 'store');
      await dwsOk(ws, ['--batch', 'config', 'store.dir', store]);
      const before = fingerprint(ws);
      const full = await dws(ws, ['--batch', 'snapshot', 'v1']);
      expect(full.code).toBe(1);
      expect(full.stderr).toContain(`Cannot hash resource 'data' at ${join(ws, 'data')} (storing its files in the content store at ${store}): ENOSPC`);
      expect(fingerprint(ws)).toBe(before);
      expect(readdirSync(join(store, 'tmp'))).toEqual([]);
      expect(readdirSync(join(store, 'packs'))).toEqual([]);

      rmSync(join(ws, 'data', 'big.bin'));
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      const ro = await dws(ws, ['--batch', 'snapshot', 'v1']);
      expect(ro.code).toBe(1);
      expect(ro.stderr).toMatch(new RegExp(`${store}.*EROFS|EROFS.*${store}`));
      expect(await dwsOk(ws, ['--batch', 'report', 'history'])).not.toContain('v1');
    } finally {
      execFileSync('umount', ['-l', mnt]);
    }
  });

  it('undoes a snapshot whose store cannot take its packs (a protected packs directory): no manifest, lineage, hash-tree or temp file is left, of either resource', async (ctx) => {
    const ws = await workspaceWithResources(['one', 'two']);
    const store = join(ws, '.git', 'dws', 'store');
    const packs = join(store, 'packs');
    try {
      execFileSync('chattr', ['+i', packs], { stdio: 'ignore' });
    } catch {
      ctx.skip(); // chattr +i needs root and a filesystem with the immutable flag (ext4, as on CI)
    }
    try {
      // New folders in both resources: each writes new hash-tree files and store objects.
      for (const d of ['one', 'two']) {
        mkdirSync(join(ws, d, 'sub'));
        writeFileSync(join(ws, d, 'sub', 'g'), `${d} 2\n`);
      }
      const before = fingerprint(ws);
      const r = await dws(ws, ['--batch', 'snapshot', 'v2']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Configuration error: Cannot store the files of this snapshot in the content store at ${store}: EPERM`);
      expect(r.stderr).toContain('No snapshot was recorded.');
      expect(r.stderr).not.toContain('internal error');
      expect(r.stderr).not.toContain('snapshotted successfully');
      expect(fingerprint(ws)).toBe(before);
      expect(readdirSync(join(store, 'tmp'))).toEqual([]);
    } finally {
      execFileSync('chattr', ['-i', packs]);
    }
    // The next snapshot records the new state, and its restore brings it back.
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    expect(git(ws, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(existsSync(join(ws, 'one', 'sub'))).toBe(false);
    await dwsOk(ws, ['--batch', 'restore', 'v2']);
    expect(readFileSync(join(ws, 'two', 'sub', 'g'), 'utf8')).toBe('two 2\n');
  });

  it('undoes a snapshot that cannot write its metadata (a protected snapshot_metadata): the store record, manifest and lineage it wrote go, and the error names the file', async (ctx) => {
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'f'), 'one\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    const mdDir = join(ws, '.dataworkspace', 'snapshot_metadata');
    try {
      execFileSync('chattr', ['+i', mdDir], { stdio: 'ignore' });
    } catch {
      ctx.skip(); // chattr +i needs root and a filesystem with the immutable flag (ext4, as on CI)
    }
    try {
      mkdirSync(join(ws, 'data', 'sub'));
      writeFileSync(join(ws, 'data', 'sub', 'g'), 'two\n');
      const before = fingerprint(ws);
      const r = await dws(ws, ['--batch', 'snapshot', 'v2']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Configuration error: Snapshot failed, no snapshot was recorded: EPERM: operation not permitted, open '${mdDir}/`);
      expect(r.stderr).not.toContain('internal error');
      expect(fingerprint(ws)).toBe(before);
    } finally {
      execFileSync('chattr', ['-i', mdDir]);
    }
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    expect(git(ws, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  });

  it('undoes a snapshot refused for a broken symlink in its second resource: the first resource’s new hash-tree files go too, and push is not blocked', async () => {
    const ws = await workspaceWithResources(['one', 'two']);
    mkdirSync(join(ws, 'one', 'a', 'b'), { recursive: true });
    writeFileSync(join(ws, 'one', 'a', 'b', 'g'), 'new\n');
    mkdirSync(join(ws, 'two', 'new'));
    writeFileSync(join(ws, 'two', 'new', 'h'), 'new\n');
    symlinkSync('nowhere', join(ws, 'two', 'dangling'));
    const before = fingerprint(ws);
    const r = await dws(ws, ['--batch', 'snapshot', 'v2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot hash resource 'two' at ${join(ws, 'two')}`);
    expect(r.stderr).toContain('Broken symbolic link');
    expect(fingerprint(ws)).toBe(before);
    expect(readdirSync(join(ws, '.git', 'dws', 'store', 'tmp'))).toEqual([]);
    // Nothing left to commit: a push gets past its check of the workspace.
    const remote = join(tempDir(), 'remote.git');
    execFileSync('git', ['init', '--quiet', '--bare', remote], { env: TEST_ENV });
    git(ws, ['remote', 'add', 'origin', remote]);
    const push = await dws(ws, ['--batch', 'push']);
    expect(push.stderr).not.toContain('uncommitted changes');
    expect(push.code).toBe(0);
  });

  it('works for a user other than root: snapshots, restore, gc, push with a store remote, clone (store files are written, then made read-only)', async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip(); // runs dws as 'nobody' through runuser, which needs root
    const home = tempDir('dws-nobody-');
    execFileSync('chown', ['nobody', home]);
    const ws = join(home, 'ws');
    mkdirSync(ws);
    execFileSync('chown', ['nobody', ws]);
    const asNobody = async (cwd: string, args: string[]) => {
      const r = await dws(cwd, ['--batch', ...args], { user: 'nobody' });
      if (r.code !== 0) throw new Error(`dws ${args.join(' ')} as nobody exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      return r.stdout;
    };
    const asNobodyRun = (cmd: string[]) => execFileSync('runuser', ['-u', 'nobody', '--', ...cmd], { cwd: ws, env: TEST_ENV, encoding: 'utf8' });
    await asNobody(ws, ['init', '--hostname', 'test']);
    asNobodyRun(['mkdir', '-p', join(ws, 'data', 'sub')]);
    const big = Buffer.alloc(2 << 20, 7); // a large object too: a file of its own, written direct
    const put = (rel: string, content: string | Buffer) => {
      writeFileSync(join(ws, 'data', rel), content);
      execFileSync('chown', ['nobody', join(ws, 'data', rel)]);
    };
    put('a', 'one\n');
    put('sub/b', 'b\n');
    put('big', big);
    await asNobody(ws, ['add', 'local-files', '--role', 'source-data', 'data']);
    await asNobody(ws, ['snapshot', 'v1']);
    put('a', 'two\n');
    put('big2', Buffer.alloc(1 << 20, 9));
    await asNobody(ws, ['snapshot', 'v2']);
    const store = join(ws, '.git', 'dws', 'store');
    for (const f of readdirSync(join(store, 'packs'))) expect(statSync(join(store, 'packs', f)).mode & 0o222, f).toBe(0);
    await asNobody(ws, ['restore', 'v1']);
    expect(readFileSync(join(ws, 'data', 'a'), 'utf8')).toBe('one\n');
    expect(existsSync(join(ws, 'data', 'big2'))).toBe(false);
    await asNobody(ws, ['delete-snapshot', 'v2']);
    expect(await asNobody(ws, ['gc'])).toMatch(/^Removed [1-9]/);
    expect(readdirSync(join(store, 'tmp'))).toEqual([]);
    asNobodyRun(['git', 'init', '--quiet', '--bare', join(home, 'remote.git')]);
    asNobodyRun(['git', 'remote', 'add', 'origin', join(home, 'remote.git')]);
    await asNobody(ws, ['config', 'store.remote', join(home, 'store-remote')]);
    await asNobody(ws, ['push']);
    await asNobody(home, ['clone', join(home, 'remote.git'), 'copy']);
    expect(readFileSync(join(home, 'copy', 'data', 'big'))).toEqual(big);
    expect(readFileSync(join(home, 'copy', 'data', 'a'), 'utf8')).toBe('one\n');
  });

  it('stops a restore cleanly when the resource’s disk is full: the files as they were, no temp files, a message naming the resource and the cause', async (ctx) => {
    const mnt = smallDisk(ctx, '2m');
    try {
      const ws = await newWorkspace();
      const data = join(mnt, 'data');
      mkdirSync(data);
      const fill = (seed: number) => {
        for (let i = 0; i < 12; i++) writeFileSync(join(data, `f${i}`), Buffer.alloc(50_000, seed + i));
      };
      fill(0);
      await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--name', 'data', data]);
      await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
      fill(100);
      await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
      // 12 × 50 KB of data and 1 MB more: no room for the 600 KB of v1's files written beside them.
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(1_000_000, 7));
      const before = treePrint(data);
      const r = await dws(ws, ['--batch', 'restore', 'v1']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Configuration error: Cannot write the files of resource 'data' at ${data}: Cannot write ${data}/.dws-restore.tmp-`);
      expect(r.stderr).toContain('ENOSPC');
      expect(r.stderr).toContain('None of its files was changed.');
      expect(r.stderr).not.toContain('internal error');
      expect(treePrint(data)).toBe(before);
      expect(readdirSync(data).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `f${i}`).sort());
      // With room again, the same restore completes.
      rmSync(join(mnt, 'filler'));
      await dwsOk(ws, ['--batch', 'restore', 'v1']);
      expect(readFileSync(join(data, 'f3'))).toEqual(Buffer.alloc(50_000, 3));
    } finally {
      execFileSync('umount', ['-l', mnt]);
    }
  });

  it('names the resource and the cause when its folder cannot be scanned (a path too long for the system): restore, gc, and status, which goes on', async () => {
    const ws = await newWorkspace();
    const data = join(ws, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'a'), 'a\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--name', 'data', data]);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    // 18 folders of 250 characters, each made from inside the last: a path of over 4,500 bytes.
    execFileSync('bash', ['-c', 'n=$(printf "x%.0s" $(seq 250)); for i in $(seq 18); do mkdir "$n" && cd "$n"; done; echo deep > f'], { cwd: data });
    for (const args of [['restore', 'v1'], ['gc']]) {
      const r = await dws(ws, ['--batch', ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(`Configuration error: Cannot scan the files of resource 'data' at ${data}: Cannot list directory ${data}/xxx`);
      expect(r.stderr).toContain('ENAMETOOLONG');
      expect(r.stderr).not.toContain('internal error');
    }
    // status reports it and goes on.
    const status = await dws(ws, ['--batch', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`  data: Cannot scan the files of resource 'data' at ${data}: Cannot list directory ${data}/xxx`);
    expect(readFileSync(join(data, 'a'), 'utf8')).toBe('a\n');
    execFileSync('rm', ['-rf', 'x'.repeat(250)], { cwd: data }); // rm walks it by relative names; the temp dirs' cleanup could not
  });

  it('moving the store with store.dir: config says the old store keeps the snapshots taken so far and how to copy them; a restore that misses them says where they are', async () => {
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'x'), 'one\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    const old = join(ws, '.git', 'dws', 'store');
    const moved = join(tempDir(), 'big disk', "it's here"); // a space and a quote: the advice is a command to paste
    const set = await dws(ws, ['--batch', 'config', 'store.dir', moved]);
    expect(set.code).toBe(0);
    const advice = `cp -a ${old}/. '${moved.replace("'", "'\\''")}/'`; // a plain path as it is, the other quoted
    expect(set.stderr).toContain(`The content store at ${old} holds the file contents of the snapshots taken so far; dws now uses ${moved}. To restore those snapshots, copy them over: ${advice}`);
    writeFileSync(join(ws, 'data', 'x'), 'two\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const r = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`are not in the content store at ${moved}`);
    expect(r.stderr).toContain(`The store at ${old}, used before store.dir was set, holds objects too: copy them over with ${advice} and run the command again.`);
    expect(readFileSync(join(ws, 'data', 'x'), 'utf8')).toBe('two\n');
    execFileSync('bash', ['-c', advice]);
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(readFileSync(join(ws, 'data', 'x'), 'utf8')).toBe('one\n');
    // Setting it again to where it is says nothing more.
    const again = await dws(ws, ['--batch', 'config', 'store.dir', moved]);
    expect(again.stderr).not.toContain('holds the file contents');
  });

  it('gc in a shared store removes nothing while a workspace sharing it is gone from where it was registered: one moved registers again, one deleted is forgotten by name', async () => {
    const shared = join(tempDir(), 'store');
    const base = tempDir();
    const made: string[] = [];
    for (const n of ['one', 'two', 'three']) {
      const ws = join(base, n);
      renameSync(await newWorkspace(), ws);
      await dwsOk(ws, ['--batch', 'config', 'store.dir', shared]);
      mkdirSync(join(ws, 'data'));
      writeFileSync(join(ws, 'data', 'x'), `${n}\n`);
      await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
      await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
      writeFileSync(join(ws, 'data', 'x'), `${n} again\n`);
      await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
      made.push(ws);
    }
    const [one, two, three] = made as [string, string, string];
    const moved = join(base, 'two-moved');
    renameSync(two, moved);
    rmSync(three, { recursive: true });
    const storeBefore = treePrint(shared);
    const refused = await dws(one, ['--batch', 'gc']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`The content store at ${shared} is shared with workspaces that are no longer where they were registered: `);
    expect(refused.stderr).toContain(two);
    expect(refused.stderr).toContain(`gc cannot read their snapshots, so it removed nothing. A workspace that moved: run 'dws fsck' in it at its new place, which registers it there. A place where no workspace will be again (one deleted, or moved before dws recorded where it was registered): dws gc `);
    expect(refused.stderr).toContain(`--forget-workspace ${three}`);
    expect(treePrint(shared)).toBe(storeBefore);
    // Only a workspace that is gone can be forgotten.
    const wrong = await dws(one, ['--batch', 'gc', '--forget-workspace', one]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`Cannot forget ${one} (it is still there): only a workspace that shares this store and is gone can be forgotten`);

    await dwsOk(moved, ['--batch', 'fsck']);
    await dwsOk(one, ['--batch', 'gc', '--forget-workspace', three]);
    // The moved workspace's first snapshot, which only it reaches, survived the gc.
    await dwsOk(moved, ['--batch', 'restore', 'v1']);
    expect(readFileSync(join(moved, 'data', 'x'), 'utf8')).toBe('two\n');
    await dwsOk(one, ['--batch', 'restore', 'v1']);
    expect(readFileSync(join(one, 'data', 'x'), 'utf8')).toBe('one\n');
  });

  it('shares one store between two workspaces via store.dir, and gc there keeps both', async () => {
    const shared = join(tempDir(), 'store');
    const made: string[] = [];
    for (const n of ['one', 'two']) {
      const ws = await newWorkspace();
      await dwsOk(ws, ['--batch', 'config', 'store.dir', shared]);
      mkdirSync(join(ws, 'data'));
      writeFileSync(join(ws, 'data', 'x'), `${n}\n`);
      await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
      await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
      made.push(ws);
    }
    await dwsOk(made[0]!, ['--batch', 'gc']);
    for (const [i, ws] of made.entries()) {
      rmSync(join(ws, 'data', 'x'));
      await dwsOk(ws, ['--batch', 'restore', 'v1']);
      expect(readFileSync(join(ws, 'data', 'x'), 'utf8')).toBe(`${['one', 'two'][i]}\n`);
    }
  });
});

describe("a damaged store's errors, worded for each client", () => {
  /** A workspace with snapshots v1 and v2 of `data` (packed files and a large object), at v2. */
  async function twoSnapshots(): Promise<{ ws: string; store: string }> {
    const { ws, data } = await workspaceWithData();
    changeToV2(data);
    writeFileSync(join(data, 'model.bin'), Buffer.alloc(3 << 20, 6));
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    return { ws, store: join(ws, '.git', 'dws', 'store') };
  }
  const damage = (file: string, change: (f: string) => void) => (chmodSync(file, 0o644), change(file));
  const files = (dir: string, ext: string) => readdirSync(dir).filter((f) => f.endsWith(ext)).map((f) => join(dir, f));
  /** The restore of v1's error: the CLI's stderr and the server's message. */
  async function restoreErrors(ws: string): Promise<{ cli: string; rpc: string }> {
    const cli = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(cli.code).toBe(1);
    const c = await stdioServer(ws);
    const rpc = await c.request('dws/restore', { tagOrHash: 'v1' }).then(() => 'no error', (e: Error) => e.message);
    return { cli: cli.stderr, rpc };
  }

  it('a corrupt object: fsck, store.remote and fsck with repair, as the client says them (the CLI unchanged)', async () => {
    const { ws, store } = await twoSnapshots();
    const objects = join(store, 'objects');
    for (const d of readdirSync(objects)) for (const f of readdirSync(join(objects, d))) damage(join(objects, d, f), (p) => writeFileSync(p, Buffer.alloc(3 << 20, 9)));
    const { cli, rpc } = await restoreErrors(ws);
    const where = /is corrupt \((.*?): its bytes/.exec(cli)![1]!;
    const id = /Object ([0-9a-f]{40})/.exec(cli)![1]!;
    const head = `Cannot write the files of resource 'data' at ${join(ws, 'data')}: Object ${id} in the content store is corrupt (${where}: its bytes do not hash to its id).`;
    expect(cli).toBe(
      `Configuration error: ${head} Run 'dws fsck' to check the whole store; with a store remote that holds a good copy ('dws config store.remote REMOTE'), restore, pull, clone and 'dws fsck --repair' replace it. None of its files was changed.\n`,
    );
    expect(rpc).toBe(
      `${head} Run 'dws/fsck' to check the whole store; with a store remote that holds a good copy ('dws/config with {"name": "store.remote", "value": "REMOTE"}'), restore, pull, clone and 'dws/fsck with {"repair": true}' replace it. None of its files was changed.`,
    );
  });

  it('a truncated pack: a configuration error (not an internal one) naming it, with fsck as the client says it', async () => {
    const { ws, store } = await twoSnapshots();
    for (const f of files(join(store, 'packs'), '.pack')) damage(f, (p) => truncateSync(p, 10));
    const { cli, rpc } = await restoreErrors(ws);
    const pack = /Pack ([0-9a-f]{40}) in/.exec(cli)![1]!;
    const head = `Pack ${pack} in ${join(store, 'packs')} is truncated`;
    expect(cli).toBe(`Configuration error: ${head}; run 'dws fsck'\n`);
    expect(rpc).toBe(`${head}; run 'dws/fsck'`);
  });

  it('a damaged pack index: a configuration error (not an internal one) naming it, with fsck as the client says it', async () => {
    const { ws, store } = await twoSnapshots();
    for (const f of files(join(store, 'packs'), '.idx')) damage(f, (p) => writeFileSync(p, 'garbage'));
    const { cli, rpc } = await restoreErrors(ws);
    const index = /Pack index (\S+) is damaged/.exec(cli)![1]!;
    expect(cli).toBe(`Configuration error: Pack index ${index} is damaged (not a dws pack index); run 'dws fsck' for the whole store\n`);
    expect(rpc).toBe(`Pack index ${index} is damaged (not a dws pack index); run 'dws/fsck' for the whole store`);
  });
});
