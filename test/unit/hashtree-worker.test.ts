/**
 * The hash-tree engine with real worker threads: the engine and its worker are bundled here
 * with esbuild, in the two layouts the build produces (engine code in the entry file, or in
 * dist/chunks/ next to a dist/hash-worker.js one level up), and run in a child Node process.
 * Results must equal those of the in-thread engine (checked against sha1sum in hashtree.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { computeHashTree } from '../../server/resources/hashtree/index.js';
import { FIXTURE } from '../helpers.js';

const SRC = resolve(import.meta.dirname, '../../server/resources/hashtree');
const FIXTURE_TAR = join(FIXTURE, 'workspace.tar.gz');
const run = promisify(execFile);

let tmp: string;
let flatBundle: string; // dist/hashtree.js + dist/hash-worker.js
let chunkBundle: string; // dist/a.js -> dist/chunks/*.js, dist/hash-worker.js

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'dws-hashtree-worker-'));
  const common = {
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunks/[name]-[hash]',
    logLevel: 'warning',
  } as const;
  flatBundle = join(tmp, 'flat');
  await build({
    ...common,
    entryPoints: { hashtree: join(SRC, 'index.ts'), 'hash-worker': join(SRC, 'worker.ts') },
    outdir: flatBundle,
  });
  // Two entries importing the engine put its code into a chunk, as in the real build.
  chunkBundle = join(tmp, 'chunked');
  mkdirSync(join(tmp, 'entries'));
  for (const e of ['a', 'b']) writeFileSync(join(tmp, 'entries', `${e}.ts`), `export * from ${JSON.stringify(join(SRC, 'index.ts'))};\n`);
  await build({
    ...common,
    entryPoints: { a: join(tmp, 'entries/a.ts'), b: join(tmp, 'entries/b.ts'), 'hash-worker': join(SRC, 'worker.ts') },
    outdir: chunkBundle,
  });
  const chunks = readdirSync(join(chunkBundle, 'chunks'));
  expect(chunks.some((c) => readFileSync(join(chunkBundle, 'chunks', c), 'utf8').includes('hash-worker.js'))).toBe(true);
}, 60_000);

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface ChildRun {
  result?: { rootHash: string; treeFilesWritten: number; filesHashed: number; filesFromCache: number; files: number };
  error?: string;
  warnings: string[];
  workersStarted: number;
  lastProgress: [number, number, number] | null;
}

/** Run computeHashTree from a bundle in a child process; it must also exit on its own. */
async function inChild(
  bundle: string,
  opts: { root: string; computeHash: boolean; treeDir: string; cacheFile?: string; workers?: number },
  how: { runs?: number; prestart?: boolean } = {},
): Promise<ChildRun> {
  const script = `
    const { computeHashTree, prestartHashThreads } = await import(${JSON.stringify(bundle)});
    let workersStarted = 0;
    process.on('worker', () => workersStarted++);
    if (${how.prestart === true}) prestartHashThreads();
    const warnings = [];
    let lastProgress = null;
    const opts = { ...${JSON.stringify(opts)}, onWarning: (m) => warnings.push(m), onProgress: (...a) => { lastProgress = a; } };
    const out = { warnings, workersStarted: 0, lastProgress: null };
    try {
      for (let i = 0; i < ${how.runs ?? 1}; i++) out.result = await computeHashTree(opts);
    } catch (e) { out.error = e.message; }
    out.workersStarted = workersStarted;
    out.lastProgress = lastProgress;
    console.log(JSON.stringify(out));
  `;
  const file = join(tmp, `child-${++counter}.mjs`);
  writeFileSync(file, script);
  const { stdout } = await run(process.execPath, [file], { timeout: 60_000 });
  return JSON.parse(stdout) as ChildRun;
}

function age(path: string): void {
  const t = Date.now() / 1000 - 60;
  utimesSync(path, t, t);
}

function fill(path: string, size: number, seed: number): void {
  const b = Buffer.alloc(size, seed & 0xff);
  b.writeUInt32LE(seed, 0);
  writeFileSync(path, b);
  age(path);
}

let counter = 0;
function fresh(label: string): string {
  const d = join(tmp, `${label}-${++counter}`);
  mkdirSync(d, { recursive: true });
  return d;
}

/** The reference: the same engine in this thread. */
async function reference(root: string, computeHash: boolean) {
  const treeDir = fresh('ref-trees');
  const r = await computeHashTree({ root, computeHash, treeDir, workers: 0 });
  const files = Object.fromEntries(readdirSync(treeDir).map((f) => [f, readFileSync(join(treeDir, f), 'utf8')]));
  return { ...r, files };
}

function treeFiles(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

describe.each([
  ['flat bundle', () => join(flatBundle, 'hashtree.js')],
  ['chunked bundle', () => join(chunkBundle, 'a.js')],
])('worker threads (%s)', (_label, bundlePath) => {
  let big: string;
  beforeAll(() => {
    // 1,500 small files (workers start during the walk), 30 x 900 KB in one directory (a batch
    // stops at its byte budget and the rest is retried), 3 x 3 MB (set aside, largest first).
    big = fresh('many');
    for (let d = 0; d < 15; d++) {
      mkdirSync(join(big, `dir${d}`));
      for (let f = 0; f < 100; f++) fill(join(big, `dir${d}`, `f${f}`), 100 + f, d * 1000 + f);
    }
    mkdirSync(join(big, 'medium'));
    for (let i = 0; i < 30; i++) fill(join(big, 'medium', `m${i}`), 900 * 1024, 50_000 + i);
    for (let i = 0; i < 3; i++) fill(join(big, `large${i}`), 3 * 1024 * 1024 + i, 60_000 + i);
  });

  it('keeps its threads for the next run, started ahead or not, without keeping the process alive', async () => {
    const ref = await reference(big, true);
    // No stat cache: both runs hash everything; the second one with the first one's threads.
    const twice = await inChild(bundlePath(), { root: big, computeHash: true, treeDir: fresh('trees'), workers: 2 }, { runs: 2 });
    expect(twice.result?.rootHash).toBe(ref.rootHash);
    expect(twice.result?.filesHashed).toBe(ref.filesHashed);
    expect(twice.workersStarted).toBe(2);
    const ahead = await inChild(bundlePath(), { root: big, computeHash: true, treeDir: fresh('trees'), workers: 2 }, { prestart: true, runs: 2 });
    expect(ahead.result?.rootHash).toBe(ref.rootHash);
    expect(ahead.workersStarted).toBe(Math.max(Math.min(availableParallelism(), 4), 2)); // the ones started ahead, or 2
  });

  it('gives the same trees as the in-thread engine, and a no-change run needs no workers', async () => {
    const ref = await reference(big, true);
    const treeDir = fresh('trees');
    const cacheFile = join(fresh('cache'), 'stat-cache');
    const first = await inChild(bundlePath(), { root: big, computeHash: true, treeDir, cacheFile, workers: 2 });
    expect(first.error).toBeUndefined();
    expect(first.workersStarted).toBe(2);
    expect(first.result).toMatchObject({ rootHash: ref.rootHash, files: 1533, filesHashed: 1533, filesFromCache: 0 });
    expect(treeFiles(treeDir)).toEqual(ref.files);
    expect(first.lastProgress?.slice(0, 2)).toEqual([1533, 1533]);

    const second = await inChild(bundlePath(), { root: big, computeHash: true, treeDir, cacheFile, workers: 2 });
    expect(second.result).toMatchObject({ rootHash: ref.rootHash, filesHashed: 0, filesFromCache: 1533, treeFilesWritten: 0 });
    expect(second.workersStarted).toBe(0);
  });

  it('uses sizes without compute_hash', async () => {
    const ref = await reference(big, false);
    const treeDir = fresh('trees');
    const r = await inChild(bundlePath(), { root: big, computeHash: false, treeDir });
    expect(r.result?.rootHash).toBe(ref.rootHash);
    expect(treeFiles(treeDir)).toEqual(ref.files);
  });

  it('starts workers for a few big files found while hashing in the calling thread', async () => {
    const dir = fresh('few-big');
    for (let i = 0; i < 3; i++) fill(join(dir, `big${i}`), 12 * 1024 * 1024, 70_000 + i);
    fill(join(dir, 'small'), 10, 1);
    const ref = await reference(dir, true);
    const r = await inChild(bundlePath(), { root: dir, computeHash: true, treeDir: fresh('trees'), workers: 4 });
    expect(r.result).toMatchObject({ rootHash: ref.rootHash, files: 4, filesHashed: 4 });
    expect(r.workersStarted).toBe(3); // one per big file, at most `workers`
  });

  it('hashes a small tree in the calling thread (the fixture)', async () => {
    const dir = fresh('fixture');
    await run('tar', ['-xzf', FIXTURE_TAR, '-C', dir]);
    const root = join(dir, 'python-workspace', 'source-data');
    const r = await inChild(bundlePath(), { root, computeHash: true, treeDir: fresh('trees') });
    expect(r.result?.rootHash).toBe('3faabe04c3ad1acbba22131aa4d79c52e2a1f860');
    expect(r.workersStarted).toBe(0);
  });

  it('lists a tree the stat cache knows to be large in the threads, ahead of the walk: the same trees, warnings and errors', async () => {
    const dir = fresh('listed');
    for (let d = 0; d < 26; d++) {
      mkdirSync(join(dir, `d${d}`));
      for (let f = 0; f < 200; f++) fill(join(dir, `d${d}`, `f${f}`), 20, d * 1000 + f);
    }
    fill(join(dir, 'target'), 5, 1);
    symlinkSync('target', join(dir, 'link'));
    const treeDir = fresh('trees');
    const cacheFile = join(fresh('cache'), 'stat-cache');
    const first = await inChild(bundlePath(), { root: dir, computeHash: true, treeDir, cacheFile, workers: 2 });
    expect(first.result).toMatchObject({ files: 5202, filesHashed: 5202 });

    // A file modified, one deleted, one added, a directory added, a FIFO and a link to a directory.
    fill(join(dir, 'd3', 'f7'), 21, 99);
    rmSync(join(dir, 'd5', 'f0'));
    fill(join(dir, 'd9', 'new'), 6, 98);
    mkdirSync(join(dir, 'd9', 'sub'));
    fill(join(dir, 'd9', 'sub', 'x'), 4, 97);
    await run('mkfifo', [join(dir, 'd2', 'fifo')]);
    symlinkSync('d1', join(dir, 'dirlink'));
    const warnings: string[] = [];
    const ref = await computeHashTree({ root: dir, computeHash: true, treeDir: fresh('ref-trees'), workers: 0, onWarning: (m) => warnings.push(m) });
    const second = await inChild(bundlePath(), { root: dir, computeHash: true, treeDir, cacheFile, workers: 2 });
    expect(second.workersStarted).toBe(2); // none would be needed to hash 3 files
    expect(second.result).toMatchObject({ rootHash: ref.rootHash, files: 5203, filesHashed: 3, filesFromCache: 5200 });
    expect(second.warnings.sort()).toEqual(warnings.sort());
    expect(warnings).toHaveLength(2);

    // A cached link whose target went: named, as in this thread.
    rmSync(join(dir, 'target'));
    const broken = await inChild(bundlePath(), { root: dir, computeHash: true, treeDir, cacheFile, workers: 2 });
    expect(broken.error).toBe(`Broken symbolic link: ${join(dir, 'link')}`);
  });

  it('reports warnings and errors from the workers, and stops them', async () => {
    const dir = fresh('odd');
    for (let f = 0; f < 1200; f++) fill(join(dir, `f${String(f).padStart(4, '0')}`), 10, f);
    mkdirSync(join(dir, 'realdir'));
    symlinkSync('realdir', join(dir, 'zz-dirlink'));
    const ok = await inChild(bundlePath(), { root: dir, computeHash: true, treeDir: fresh('trees'), workers: 2 });
    expect(ok.workersStarted).toBe(2);
    expect(ok.warnings).toEqual([`Skipping symbolic link to a directory: ${join(dir, 'zz-dirlink')}`]);
    expect(ok.result?.rootHash).toBe((await reference(dir, true)).rootHash);

    symlinkSync('missing', join(dir, 'zz-broken'));
    const bad = await inChild(bundlePath(), { root: dir, computeHash: true, treeDir: fresh('trees'), workers: 2 });
    expect(bad.workersStarted).toBe(2);
    expect(bad.error).toBe(`Broken symbolic link: ${join(dir, 'zz-broken')}`);
  });
});
