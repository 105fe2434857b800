/**
 * Compatibility with a workspace made by Python dws 1.6 (test/fixtures/python-dws-1.6):
 * the same reports, byte for byte; the same manifest bytes and hashes; and a new snapshot of the
 * unchanged workspace that agrees with the last one on every resource hash.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildManifest, gitBlobHash } from '../../server/backends/git/snapshots.js';
import { dumpPyJson, parsePyJson } from '../../server/workspace/pyjson.js';
import type { ResourceParams } from '../../server/workspace/workspace.js';
import { dws, dwsOk, extractFixture, FIXTURE, fingerprint, git } from '../helpers.js';

/** The fixture's absolute paths point here (its README): extracting here keeps them valid. */
const BUILD_DIR = '/tmp/dwsref/fixtures/build';
const WS = join(BUILD_DIR, 'python-workspace');
const EXPECTED = join(FIXTURE, 'expected');
const expected = (name: string) => readFileSync(join(EXPECTED, name), 'utf8');
const V3 = 'e2cbb8e19eb52338512e1ab3823f46278bc71730';

beforeAll(() => {
  rmSync(WS, { recursive: true, force: true });
  mkdirSync(BUILD_DIR, { recursive: true });
  extractFixture(BUILD_DIR);
});
afterAll(() => rmSync(WS, { recursive: true, force: true }));

describe('a workspace made by Python dws 1.6', () => {
  it.each([
    ['status', ['--batch', 'status']],
    ['status-history', ['--batch', 'status', '--history']],
    ['report-status', ['--batch', 'report', 'status']],
    ['report-history', ['--batch', 'report', 'history']],
    ['report-history-limit2', ['--batch', 'report', 'history', '--limit', '2']],
  ])('%s prints exactly what dws 1.6 printed', async (name, args) => {
    const before = fingerprint(WS);
    const out = await dwsOk(WS, args);
    // `status` adds the steps whose recorded inputs changed after 1.6's output (the fixture's
    // prepare step recorded stale certificates: lineage.md §5); 1.6's part stays byte for byte.
    const stale = name.startsWith('status') ? out.indexOf('\nStale steps') : -1;
    expect(stale === -1 ? out : out.slice(0, stale)).toBe(expected(`${name}.txt`));
    expect(fingerprint(WS)).toBe(before);
  });

  it('lists the same snapshots, tags, messages and metrics in --json', async () => {
    const h = JSON.parse(await dwsOk(WS, ['report', 'history', '--json']));
    expect(h.total).toBe(3);
    expect(h.snapshots.map((s: { tags: string[] }) => s.tags)).toEqual([['v3'], ['v2'], ['v1']]);
    expect(h.snapshots.map((s: { message: string }) => s.message)).toEqual(['third snapshot', 'second snapshot, with lineage', 'first snapshot']);
    expect(h.snapshots.map((s: { metrics: unknown }) => s.metrics)).toEqual([
      { sum: 30, mean: 7.5, alpha: 0.25 },
      { sum: 12, mean: 4.0, alpha: 0.5 },
      { accuracy: 0.5 },
    ]);
  });

  it('rebuilds every manifest byte for byte, with the same hash', () => {
    const dir = join(EXPECTED, 'dataworkspace', 'snapshots');
    const files = readdirSync(dir);
    expect(files).toHaveLength(3);
    for (const f of files) {
      const bytes = readFileSync(join(dir, f));
      const entries = parsePyJson(bytes.toString('utf8')) as Array<ResourceParams & { hash: string | null }>;
      const params = entries.map(({ hash: _h, ...p }) => p as ResourceParams);
      const rebuilt = buildManifest(params, new Map(entries.map((e) => [e.name, e.hash])));
      expect(rebuilt.bytes.equals(bytes)).toBe(true);
      expect(rebuilt.hash).toBe(f.slice('snapshot-'.length, -'.json'.length));
      expect(gitBlobHash(bytes)).toBe(git(WS, ['hash-object', join(dir, f)]).trim());
    }
  });

  it('writes metadata files Python wrote without changing a byte', () => {
    const dir = join(EXPECTED, 'dataworkspace', 'snapshot_metadata');
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(dumpPyJson(parsePyJson(text))).toBe(text);
    }
  });

  it('snapshots the unchanged workspace with the same resource hashes as its last snapshot', async () => {
    const v3 = JSON.parse(readFileSync(join(WS, '.dataworkspace', 'snapshots', `snapshot-${V3}.json`), 'utf8')) as Array<{ name: string; hash: string }>;
    const resultsAtHead = git(WS, ['rev-parse', 'HEAD:results']).trim();
    const out = await dwsOk(WS, ['--batch', 'snapshot', '-m', 'from TypeScript', 'v4']);
    const hash = /hash is ([0-9a-f]{40})/.exec(out)![1]!;
    const v4 = JSON.parse(readFileSync(join(WS, '.dataworkspace', 'snapshots', `snapshot-${hash}.json`), 'utf8')) as Array<{ name: string; hash: string }>;
    const byName = (m: typeof v3) => Object.fromEntries(m.map((r) => [r.name, r.hash]));
    // code and both local-files hash trees (recomputed here from the data) are unchanged.
    for (const name of ['code', 'source-data', 'intermediate-data']) expect(byName(v4)[name]).toBe(byName(v3)[name]);
    // results differs, and this is why the snapshot hash cannot be v3's: Python wrote
    // results/snapshots/fixture-host-v3/lineage.json after computing v3's manifest and committed
    // it ("Added results/snapshots/fixture-host-v3/lineage.json"), so the results tree changed.
    expect(byName(v4).results).toBe(resultsAtHead);
    const beforeLineage = git(WS, ['log', '--format=%H', '-1', '--grep', 'Added results/snapshots/fixture-host-v3/lineage.json']).trim();
    expect(git(WS, ['rev-parse', `${beforeLineage}^:results`]).trim()).toBe(byName(v3).results);
    expect(hash).not.toBe(V3);
    // The snapshot keeps the current lineage Python recorded, and leaves a clean repository.
    expect(readFileSync(join(WS, '.dataworkspace', 'snapshot_lineage', hash, 'intermediate-data.json'), 'utf8')).toContain('"step_name": "prepare"');
    expect(git(WS, ['status', '--porcelain'])).toBe('');
    const h = await dwsOk(WS, ['report', 'history', '--limit', '1']);
    expect(h).toMatch(/\| v4 +\| .* \| from TypeScript/);
  });

  it('refuses a tag that the Python tool already used', async () => {
    const r = await dws(WS, ['--batch', 'snapshot', 'v2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Tag 'v2' already exists for snapshot 7fca31ff6a22fee9721f9c2941e2e8cc4650f903 taken 2026-11-25T16:35:31");
  });
});
