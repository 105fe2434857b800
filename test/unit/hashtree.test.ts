/**
 * The hash-tree engine (server/resources/hashtree): exact bytes against sha1sum and against the
 * tree files Python dws 1.6 wrote (fixtures/python-dws-1.6), the stat cache, odd directory entries.
 * These run the engine in this thread (no bundled worker next to the TypeScript source);
 * hashtree-worker.test.ts covers the worker threads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareCodePoints, computeHashTree, parseTreeFile, readTreeFile } from '../../server/resources/hashtree/index.js';
import type { HashTreeOptions } from '../../server/resources/hashtree/index.js';
import { FINE_MARGIN_MS, knowsLargeTree, LIST_AHEAD_MIN_FILES, RACY_MARGIN_MS, racyMarginMs, saveStatCache, StatCache } from '../../server/resources/hashtree/stat-cache.js';
import { FIXTURE } from '../helpers.js';

const EMPTY_SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'dws-hashtree-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

let counter = 0;
function freshDir(label: string): string {
  const d = join(tmp, `${label}-${++counter}`);
  mkdirSync(d, { recursive: true });
  return d;
}

/** SHA-1 hex by the real sha1sum binary: of a file, or of the given text. */
function sha1sum(input: { file: string } | { text: string }): string {
  const out =
    'file' in input
      ? execFileSync('sha1sum', [input.file], { encoding: 'utf8' })
      : execFileSync('sha1sum', { input: Buffer.from(input.text, 'utf8'), encoding: 'utf8' });
  return out.slice(0, 40);
}

/** Set a file's mtime well in the past, so that the stat cache trusts it (racy guard). */
function age(path: string, secondsAgo = 60): void {
  const t = Date.now() / 1000 - secondsAgo;
  utimesSync(path, t, t);
}

/**
 * Give a file an mtime a minute ahead, so that every run of the test starts within the racy margin
 * of its last change however slow the machine (a file merely written before the run stops being
 * racy 50 ms later: a test that relied on that failed on a loaded machine).
 */
function racy(path: string): void {
  age(path, -60);
}

function write(path: string, content: string | Buffer, old = true): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  if (old) age(path);
}

async function hashTree(root: string, computeHash: boolean, extra: Partial<HashTreeOptions> = {}) {
  const treeDir = extra.treeDir ?? freshDir('trees');
  const warnings: string[] = [];
  const result = await computeHashTree({ root, computeHash, treeDir, onWarning: (m) => warnings.push(m), ...extra });
  return { ...result, treeDir, warnings };
}

describe('hash tree bytes', () => {
  let root: string;
  beforeAll(() => {
    root = freshDir('known');
    write(join(root, 'a.txt'), 'hello\n');
    write(join(root, 'B.txt'), 'Upper case sorts first\n');
    mkdirSync(join(root, 'empty'));
    write(join(root, 'sub', 'nested.txt'), 'nested\n');
    write(join(root, 'sub', 'z.bin'), Buffer.from([0, 1, 2, 255]));
  });

  it('computes plain SHA-1 blobs and writes the tree files as Python does', async () => {
    const a = sha1sum({ file: join(root, 'a.txt') });
    expect(a).toBe('f572d396fae9206628714fb2ce00f72e94f2258f'); // workspace-format §13 example
    const B = sha1sum({ file: join(root, 'B.txt') });
    const nested = sha1sum({ file: join(root, 'sub', 'nested.txt') });
    const z = sha1sum({ file: join(root, 'sub', 'z.bin') });
    const subText = `${nested}\tblob\tnested.txt\n${z}\tblob\tz.bin\n`;
    const sub = sha1sum({ text: subText });
    const rootText = `${B}\tblob\tB.txt\n${a}\tblob\ta.txt\n${EMPTY_SHA1}\ttree\tempty\n${sub}\ttree\tsub\n`;
    const rootHash = sha1sum({ text: rootText });

    const r = await hashTree(root, true);
    expect(r.rootHash).toBe(rootHash);
    expect(r).toMatchObject({ treeFilesWritten: 3, filesHashed: 4, filesFromCache: 0, files: 4 });
    expect(r.warnings).toEqual([]);
    expect(readdirSync(r.treeDir).sort()).toEqual([rootHash, sub, EMPTY_SHA1].sort());
    expect(readFileSync(join(r.treeDir, rootHash), 'utf8')).toBe(rootText);
    expect(readFileSync(join(r.treeDir, sub), 'utf8')).toBe(subText);
    expect(readFileSync(join(r.treeDir, EMPTY_SHA1), 'utf8')).toBe('');
    for (const f of readdirSync(r.treeDir)) expect(statSync(join(r.treeDir, f)).mode & 0o777).toBe(0o755);

    expect(readTreeFile(r.treeDir, rootHash)).toEqual([
      { hash: B, kind: 'blob', name: 'B.txt' },
      { hash: a, kind: 'blob', name: 'a.txt' },
      { hash: EMPTY_SHA1, kind: 'tree', name: 'empty' },
      { hash: sub, kind: 'tree', name: 'sub' },
    ]);

    // Content-addressed: a second run writes nothing new.
    const again = await hashTree(root, true, { treeDir: r.treeDir });
    expect(again.rootHash).toBe(rootHash);
    expect(again.treeFilesWritten).toBe(0);
  });

  it('rewrites a tree file left short (a crash while writing)', async () => {
    const r = await hashTree(root, true);
    writeFileSync(join(r.treeDir, r.rootHash), 'trunc');
    const again = await hashTree(root, true, { treeDir: r.treeDir });
    expect(again.treeFilesWritten).toBe(1);
    expect(sha1sum({ file: join(r.treeDir, r.rootHash) })).toBe(r.rootHash);
  });

  it('fails naming the tree file it cannot write', async () => {
    const gone = join(freshDir('trees'), 'missing');
    await expect(computeHashTree({ root, computeHash: true, treeDir: gone, workers: 0 })).rejects.toThrow(`Cannot write hash tree file ${gone}/`);
    const blocked = freshDir('trees');
    const r = await hashTree(root, true);
    mkdirSync(join(blocked, r.rootHash)); // a directory where the root tree file goes
    await expect(computeHashTree({ root, computeHash: true, treeDir: blocked, workers: 0 })).rejects.toThrow(`Cannot write hash tree file ${join(blocked, r.rootHash)}`);
  });

  it('uses decimal sizes without compute_hash', async () => {
    const subText = `7\tblob\tnested.txt\n4\tblob\tz.bin\n`;
    const sub = sha1sum({ text: subText });
    const rootText = `23\tblob\tB.txt\n6\tblob\ta.txt\n${EMPTY_SHA1}\ttree\tempty\n${sub}\ttree\tsub\n`;
    const r = await hashTree(root, false);
    expect(r.rootHash).toBe(sha1sum({ text: rootText }));
    expect(readFileSync(join(r.treeDir, r.rootHash), 'utf8')).toBe(rootText);
    expect(readFileSync(join(r.treeDir, sub), 'utf8')).toBe(subText);
    expect(r).toMatchObject({ filesHashed: 4, filesFromCache: 0, files: 4 });
  });

  it('hashes an empty resource directory as the empty tree', async () => {
    const r = await hashTree(freshDir('empty-root'), true);
    expect(r.rootHash).toBe(EMPTY_SHA1);
    expect(r.files).toBe(0);
  });

  it('sorts names by code point, not by UTF-16 unit', async () => {
    const dir = freshDir('unicode');
    // UTF-16 order would put the astral U+1F600 (a surrogate pair, 0xD83D...) before U+E000.
    const names = ['\u{1F600}.txt', '\uE000.txt', 'z', 'é', 'Z'];
    for (const n of names) write(join(dir, n), n);
    write(join(dir, '\u{1F601}', 'x'), 'x');
    write(join(dir, '\uFB01', 'y'), 'y');
    const astralDir = sha1sum({ text: `${sha1sum({ text: 'x' })}\tblob\tx\n` });
    const bmpDir = sha1sum({ text: `${sha1sum({ text: 'y' })}\tblob\ty\n` });
    const line = (n: string) => `${sha1sum({ text: n })}\tblob\t${n}\n`;
    const expected =
      line('Z') +
      line('z') +
      line('é') +
      line('\uE000.txt') +
      `${bmpDir}\ttree\t\uFB01\n` +
      line('\u{1F600}.txt') +
      `${astralDir}\ttree\t\u{1F601}\n`;
    const r = await hashTree(dir, true);
    expect(readFileSync(join(r.treeDir, r.rootHash), 'utf8')).toBe(expected);
    expect(r.rootHash).toBe(sha1sum({ text: expected }));
  });

  it('reports progress, last with every file done', async () => {
    const calls: [number, number, number][] = [];
    await hashTree(root, true, { onProgress: (d, t, b) => calls.push([d, t, b]) });
    expect(calls.at(-1)).toEqual([4, 4, 6 + 23 + 7 + 4]);
  });
});

describe('tree format helpers', () => {
  it('compareCodePoints orders like Python strings (code points), unlike the default sort', () => {
    const alphabet = ['a', 'Z', '\u00e9', '\uD7FF', '\uE000', '\uFFFF', '\u{10000}', '\u{1F600}', '\u{10FFFF}', ''];
    const words: string[] = [];
    for (const x of alphabet) for (const y of alphabet) for (const z of ['', 'a', '\uFFFD']) words.push(x + y + z);
    const byCodePoints = (a: string, b: string) => {
      const x = Array.from(a, (c) => c.codePointAt(0)!);
      const y = Array.from(b, (c) => c.codePointAt(0)!);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    };
    const expected = [...words].sort(byCodePoints);
    expect([...words].sort(compareCodePoints)).toEqual(expected);
    expect([...words].sort()).not.toEqual(expected);
  });

  it('parseTreeFile keeps tabs in names and rejects malformed lines', () => {
    expect(parseTreeFile('')).toEqual([]);
    expect(parseTreeFile('2\tblob\ta\tb\n')).toEqual([{ hash: '2', kind: 'blob', name: 'a\tb' }]);
    expect(() => parseTreeFile('2\tblob\ta')).toThrow('does not end with a newline');
    expect(() => parseTreeFile('2\tfile\ta\n')).toThrow('line 1');
  });
});

describe('the Python dws 1.6 fixture', () => {
  let ws: string;
  let manifest: { name: string; role: string; compute_hash?: boolean; hash: string }[];
  beforeAll(() => {
    const dir = freshDir('fixture');
    execFileSync('tar', ['-xzf', join(FIXTURE, 'workspace.tar.gz'), '-C', dir]);
    ws = join(dir, 'python-workspace');
    manifest = JSON.parse(
      readFileSync(join(ws, '.dataworkspace/snapshots/snapshot-e2cbb8e19eb52338512e1ab3823f46278bc71730.json'), 'utf8'),
    );
  });

  for (const [name, computeHash] of [
    ['source-data', true],
    ['intermediate-data', false],
  ] as const) {
    it(`recomputes ${name} (compute_hash ${computeHash}) byte for byte`, async () => {
      const entry = manifest.find((r) => r.name === name)!;
      expect(entry.compute_hash).toBe(computeHash);
      const r = await hashTree(join(ws, name), computeHash);
      expect(r.rootHash).toBe(entry.hash);
      const stored = join(ws, '.dataworkspace/file', entry.role, name);
      const ours = readdirSync(r.treeDir);
      expect(ours).toContain(entry.hash);
      expect(r.treeFilesWritten).toBe(ours.length);
      for (const f of ours) {
        expect(readFileSync(join(r.treeDir, f)), f).toEqual(readFileSync(join(stored, f)));
      }
      // And the stored root tree parses back to the same entries.
      expect(readTreeFile(stored, entry.hash).map((e) => e.name)).toEqual(readTreeFile(r.treeDir, r.rootHash).map((e) => e.name));
    });
  }

  it('writes nothing when the tree files are already there', async () => {
    const entry = manifest.find((r) => r.name === 'source-data')!;
    const copy = freshDir('stored-copy');
    const stored = join(ws, '.dataworkspace/file', entry.role, entry.name);
    for (const f of readdirSync(stored)) writeFileSync(join(copy, f), readFileSync(join(stored, f)));
    const r = await hashTree(join(ws, 'source-data'), true, { treeDir: copy });
    expect(r.rootHash).toBe(entry.hash);
    expect(r.treeFilesWritten).toBe(0);
  });
});

describe('stat cache', () => {
  function makeTree(): string {
    const dir = freshDir('cached');
    for (let d = 0; d < 5; d++) for (let f = 0; f < 8; f++) write(join(dir, `d${d}`, `f${f}.txt`), `content ${d} ${f}\n`);
    write(join(dir, 'top.txt'), 'top\n');
    return dir;
  }

  it('reads no content when nothing changed, and one file when one changed', async () => {
    const dir = makeTree();
    const cacheFile = join(freshDir('cachedir'), 'sub', 'stat-cache');
    const first = await hashTree(dir, true, { cacheFile });
    expect(first).toMatchObject({ files: 41, filesHashed: 41, filesFromCache: 0 });
    expect(existsSync(cacheFile)).toBe(true);

    const second = await hashTree(dir, true, { cacheFile, treeDir: first.treeDir });
    expect(second).toMatchObject({ rootHash: first.rootHash, files: 41, filesHashed: 0, filesFromCache: 41, treeFilesWritten: 0 });

    // Same size, new content, an mtime that differs from the cached one.
    writeFileSync(join(dir, 'd3', 'f5.txt'), 'CONTENT 3 5\n');
    age(join(dir, 'd3', 'f5.txt'), 30);
    const third = await hashTree(dir, true, { cacheFile, treeDir: first.treeDir });
    expect(third).toMatchObject({ files: 41, filesHashed: 1, filesFromCache: 40, treeFilesWritten: 2 });
    expect(third.rootHash).not.toBe(first.rootHash);
    expect(third.rootHash).toBe((await hashTree(dir, true)).rootHash); // same as without a cache

    const fourth = await hashTree(dir, true, { cacheFile, treeDir: first.treeDir });
    expect(fourth).toMatchObject({ rootHash: third.rootHash, filesHashed: 0, filesFromCache: 41 });
  });

  it('does not trust entries of files modified just before the run (racy mtime)', async () => {
    const dir = makeTree();
    write(join(dir, 'fresh.txt'), 'just written\n', false);
    racy(join(dir, 'fresh.txt'));
    const cacheFile = join(freshDir('cachedir'), 'stat-cache');
    await hashTree(dir, true, { cacheFile });
    const second = await hashTree(dir, true, { cacheFile });
    expect(second).toMatchObject({ files: 42, filesHashed: 1, filesFromCache: 41 });
  });

  it('trusts a file modified a second before the run on a local file system with fine timestamps, and keeps 3 s elsewhere', async () => {
    const dir = makeTree();
    write(join(dir, 'second-ago.txt'), 'written a second ago\n', false);
    age(join(dir, 'second-ago.txt'), 1);
    expect(racyMarginMs(dir)).toBe(FINE_MARGIN_MS); // the test's temp dir: ext4 or tmpfs here
    expect(racyMarginMs('/proc')).toBe(RACY_MARGIN_MS);
    expect(racyMarginMs(join(dir, 'no-such-dir'))).toBe(RACY_MARGIN_MS);
    const cacheFile = join(freshDir('cachedir'), 'stat-cache');
    await hashTree(dir, true, { cacheFile });
    expect(await hashTree(dir, true, { cacheFile })).toMatchObject({ files: 42, filesHashed: 0, filesFromCache: 42 });
  });

  it('takes the id of a file the caller wrote while its stat is unchanged, reads it once changed, and caches neither while racy', async () => {
    const dir = makeTree();
    const fresh = join(dir, 'restored.bin');
    write(fresh, 'as restored\n', false);
    racy(fresh);
    const cacheFile = join(freshDir('cachedir'), 'stat-cache');
    await hashTree(dir, true, { cacheFile });
    // An id that is not the content's: taken as given (the file is not read) while the stat matches.
    const given = 'ab'.repeat(20);
    const written = new Map([['restored.bin', { id: given, stat: statSync(fresh) }]]);
    const trusted = await hashTree(dir, true, { cacheFile, written });
    expect(trusted).toMatchObject({ files: 42, filesHashed: 1, filesFromCache: 41 });
    expect(readTreeFile(trusted.treeDir, trusted.rootHash).find((e) => e.name === 'restored.bin')?.hash).toBe(given);
    expect(StatCache.load(cacheFile, dir)?.count).toBe(41); // just written: not cached, as a file read now
    // Changed since (same size): read, whatever the caller said.
    writeFileSync(fresh, 'AS RESTORED\n');
    const changed = await hashTree(dir, true, { cacheFile, written });
    expect(readTreeFile(changed.treeDir, changed.rootHash).find((e) => e.name === 'restored.bin')?.hash).toBe(sha1sum({ text: 'AS RESTORED\n' }));
    expect(changed.rootHash).toBe((await hashTree(dir, true)).rootHash);
  });

  it('drops entries of vanished files and picks up new ones', async () => {
    const dir = makeTree();
    const cacheFile = join(freshDir('cachedir'), 'stat-cache');
    await hashTree(dir, true, { cacheFile });
    unlinkSync(join(dir, 'd1', 'f1.txt'));
    write(join(dir, 'd9', 'new.txt'), 'new\n');
    const second = await hashTree(dir, true, { cacheFile });
    expect(second).toMatchObject({ files: 41, filesHashed: 1, filesFromCache: 40 });
    expect(StatCache.load(cacheFile, dir)?.count).toBe(41);
    const third = await hashTree(dir, true, { cacheFile });
    expect(third).toMatchObject({ filesHashed: 0, filesFromCache: 41, rootHash: second.rootHash });
  });

  it('leaves the cache file alone when nothing changed', async () => {
    const dir = makeTree();
    const cacheFile = join(freshDir('cachedir'), 'stat-cache');
    await hashTree(dir, true, { cacheFile });
    const old = Date.now() / 1000 - 100;
    utimesSync(cacheFile, old, old);
    const before = statSync(cacheFile).mtimeMs;
    await hashTree(dir, true, { cacheFile });
    expect(statSync(cacheFile).mtimeMs).toBe(before);
  });

  it('ignores a corrupt, truncated or foreign cache', async () => {
    const dir = makeTree();
    const cacheFile = join(freshDir('cachedir'), 'stat-cache');
    const good = await hashTree(dir, true, { cacheFile });
    const bytes = readFileSync(cacheFile);

    const damaged = Buffer.from(bytes);
    const at = damaged.length - 100; // inside the paths
    damaged[at] = damaged[at]! ^ 0x55;
    for (const bad of [Buffer.from('garbage'), bytes.subarray(0, bytes.length - 30), damaged, Buffer.alloc(0)]) {
      writeFileSync(cacheFile, bad);
      const r = await hashTree(dir, true, { cacheFile });
      expect(r).toMatchObject({ rootHash: good.rootHash, filesHashed: 41, filesFromCache: 0 });
    }
    // Rebuilt by the last run: trusted again.
    expect((await hashTree(dir, true, { cacheFile })).filesFromCache).toBe(41);
    // A cache written for another root is not used.
    const other = makeTree();
    expect((await hashTree(other, true, { cacheFile })).filesFromCache).toBe(0);
  });

  it('finds entries after files were added and deleted anywhere, by directory, whatever the order it was written in', () => {
    const dir = freshDir('lookup');
    const cacheFile = join(dir, 'stat-cache');
    const save = (paths: string[]) =>
      saveStatCache(cacheFile, dir, paths, paths.map((_, i) => String(i % 10).repeat(40)), new Float64Array(paths.length * 5).map((_, i) => i));
    // Walk order: the root's files, then each directory's, names in code-point order.
    const walkOrder = ['a.txt', 'z.txt', 'd1/a', 'd1/b', 'd1/c', 'd1/\uFFFD', 'd1/\u{1F600}', 'd2/x', 'd2/y', 'd1/sub/q'];
    save(walkOrder);
    let c = StatCache.load(cacheFile, dir)!;
    expect(c.find('', 'a.txt')).toBe(0);
    expect(c.find('', 'new.txt')).toBe(-1); // added since: the cursor stays
    expect(c.find('', 'z.txt')).toBe(1);
    expect(c.find('d1/', 'b')).toBe(3); // d1/a deleted since
    expect(c.find('d1/', 'bb')).toBe(-1);
    // c and U+FFFD deleted; in code points (the walk's order) U+1F600 comes after U+FFFD, in UTF-16 units before it
    expect(c.find('d1/', '\u{1F600}')).toBe(6);
    expect(c.find('d1/', 'c')).toBe(4); // looked up out of order: found by the search
    expect(c.find('d3/', 'x')).toBe(-1); // a directory the cache does not know
    expect(c.find('d2/', 'y')).toBe(8);
    expect(c.find('d1/sub/', 'q')).toBe(9);
    expect(c.hash(9)).toBe('9'.repeat(40));
    // A cache whose directories are not together (not written by this walk) is still searched right.
    save(['d1/a', 'd2/x', 'd1/b', 'top']);
    c = StatCache.load(cacheFile, dir)!;
    expect(c.find('', 'nothing')).toBe(-1);
    expect(c.find('d1/', 'b')).toBe(2);
    expect(c.find('d2/', 'x')).toBe(1);
    expect(c.find('', 'top')).toBe(3);
  });

  it('finds what a map of the paths finds when the walk tells it each directory, whatever was added or deleted', () => {
    const dir = freshDir('lookup-walk');
    const cacheFile = join(dir, 'stat-cache');
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 16) % n;
    const names = ['a', 'b', 'c', 'd e', 'z', 'é', '\uFFFD', '\u{1F600}']; // code-point order, as the walk's
    const dirs = ['', 'd1/', 'd2/', 'd3/', 'd1/s/'];
    const walk = (keep: () => boolean) => dirs.filter((d) => d === '' || keep()).map((d) => ({ prefix: d, names: names.filter(keep) }));
    for (let round = 0; round < 100; round++) {
      const before = walk(() => rand(4) > 0);
      const paths = before.flatMap((d) => d.names.map((n) => d.prefix + n));
      saveStatCache(cacheFile, dir, paths, paths.map(() => '0'.repeat(40)), new Float64Array(paths.length * 5));
      const c = StatCache.load(cacheFile, dir)!;
      for (const d of walk(() => rand(3) > 0)) {
        c.enterDir(d.prefix);
        for (const n of d.names) expect(c.find(d.prefix, n), `${d.prefix}${n} in round ${round}`).toBe(paths.indexOf(d.prefix + n));
        // a lookup out of the walk's order is still answered right
        const back = names[rand(names.length)]!;
        expect(c.find(d.prefix, back)).toBe(paths.indexOf(d.prefix + back));
      }
    }
  });

  it('is not used without compute_hash', async () => {
    const dir = makeTree();
    const cacheFile = join(freshDir('cachedir'), 'stat-cache');
    const r = await hashTree(dir, false, { cacheFile });
    expect(r).toMatchObject({ filesHashed: 41, filesFromCache: 0 });
    expect(existsSync(cacheFile)).toBe(false);
  });
});

describe('links and special files', () => {
  it('hashes a symbolic link to a file through the link (content or target size)', async () => {
    const dir = freshDir('filelink');
    write(join(dir, 'target.txt'), 'the target\n');
    symlinkSync('target.txt', join(dir, 'link.txt'));
    const h = sha1sum({ text: 'the target\n' });
    const sha = await hashTree(dir, true);
    expect(readFileSync(join(sha.treeDir, sha.rootHash), 'utf8')).toBe(`${h}\tblob\tlink.txt\n${h}\tblob\ttarget.txt\n`);
    const size = await hashTree(dir, false);
    expect(readFileSync(join(size.treeDir, size.rootHash), 'utf8')).toBe(`11\tblob\tlink.txt\n11\tblob\ttarget.txt\n`);
  });

  it('skips a symbolic link to a directory with a warning, leaving the hash unchanged', async () => {
    const dir = freshDir('dirlink');
    write(join(dir, 'real', 'x.txt'), 'x\n');
    const before = await hashTree(dir, true);
    symlinkSync('real', join(dir, 'alias'));
    for (const computeHash of [true, false]) {
      const after = await hashTree(dir, computeHash);
      if (computeHash) expect(after.rootHash).toBe(before.rootHash);
      expect(after.warnings).toEqual([`Skipping symbolic link to a directory: ${join(dir, 'alias')}`]);
      expect(after.files).toBe(1);
    }
  });

  it('fails on a broken symbolic link, naming it', async () => {
    const dir = freshDir('broken');
    write(join(dir, 'ok.txt'), 'ok\n');
    symlinkSync('does-not-exist', join(dir, 'dangling'));
    for (const computeHash of [true, false]) {
      await expect(hashTree(dir, computeHash)).rejects.toThrow(`Broken symbolic link: ${join(dir, 'dangling')}`);
    }
  });

  it('skips a FIFO with a warning, without opening it', async () => {
    const dir = freshDir('fifo');
    write(join(dir, 'ok.txt'), 'ok\n');
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    symlinkSync('pipe', join(dir, 'pipe-link'));
    const r = await hashTree(dir, true);
    expect(r.files).toBe(1);
    expect(r.warnings).toEqual([
      `Skipping FIFO (not a regular file): ${join(dir, 'pipe')}`,
      `Skipping special file (not a regular file): ${join(dir, 'pipe-link')}`,
    ]);
    expect(readFileSync(join(r.treeDir, r.rootHash), 'utf8')).toBe(`${sha1sum({ text: 'ok\n' })}\tblob\tok.txt\n`);
  });

  it('hashes dotfiles and .git directories (no ignore list)', async () => {
    const dir = freshDir('dotfiles');
    write(join(dir, '.hidden'), 'h');
    write(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    const r = await hashTree(dir, true);
    expect(readTreeFile(r.treeDir, r.rootHash).map((e) => `${e.kind} ${e.name}`)).toEqual(['tree .git', 'blob .hidden']);
  });

  it('fails when the resource directory is missing', async () => {
    await expect(hashTree(join(tmp, 'no-such-dir'), true)).rejects.toThrow(join(tmp, 'no-such-dir'));
  });
});

describe('threads started ahead only for a workspace with a large tree (knowsLargeTree)', () => {
  it('says yes for a stat cache of 5,000 files or more, no for smaller ones, damaged ones, none, or no workspace', () => {
    const ws = freshDir('ahead');
    const inside = join(ws, 'data', 'deeper');
    mkdirSync(inside, { recursive: true });
    expect(knowsLargeTree(inside)).toBe(false); // not a workspace
    mkdirSync(join(ws, '.dataworkspace'));
    expect(knowsLargeTree(inside)).toBe(false); // no stat cache yet
    const caches = join(ws, '.git', 'dws', 'hashcache');
    mkdirSync(caches, { recursive: true });
    const save = (name: string, n: number) => {
      const paths = Array.from({ length: n }, (_, i) => `d/f${i}`);
      saveStatCache(join(caches, name), join(ws, name), paths, paths.map(() => '0'.repeat(40)), new Float64Array(n * 5));
    };
    save('small', LIST_AHEAD_MIN_FILES - 1);
    expect(knowsLargeTree(inside)).toBe(false);
    writeFileSync(join(caches, 'damaged'), 'DWSHTC');
    expect(knowsLargeTree(ws)).toBe(false);
    save('large', LIST_AHEAD_MIN_FILES);
    expect(knowsLargeTree(inside)).toBe(true);
    expect(knowsLargeTree(ws)).toBe(true);
  });
});
