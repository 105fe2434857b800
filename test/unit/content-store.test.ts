/** The content store's reads: every object comes back byte for byte, in any order, from many packs. */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyGc, planGc } from '../../server/store/gc.js';
import { buildPackIndex, findEntry, packMismatch, parsePackIndex, publishPack } from '../../server/store/pack.js';
import { ContentStore } from '../../server/store/store.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

describe('ContentStore reads', () => {
  it('gives back objects of 12 packs read in a shuffled order, and ones larger than a read window', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dws-store-unit-'));
    dirs.push(dir);
    const store = ContentStore.open(join(dir, 'store'));
    const objects = new Map<string, Buffer>();
    for (let pack = 0; pack < 12; pack++) {
      for (let i = 0; i < 300; i++) {
        // mostly small; a few just under the large-object size, so a window cannot hold many
        const bytes = randomBytes(i % 100 === 0 ? 900_000 : 1 + ((i * 37) % 5000));
        store.putSmall(sha1(bytes), bytes);
        objects.set(sha1(bytes), bytes);
      }
      store.commit(); // one pack each
    }
    expect(store.packIndexes.length).toBe(12);
    const ids = [...objects.keys()];
    for (let i = ids.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    for (const id of ids) expect(store.read(id).equals(objects.get(id)!)).toBe(true);
    // and in pack order, the way a restore mostly reads
    for (const [id, bytes] of objects) expect(store.read(id).equals(bytes)).toBe(true);
  });
});

describe('ContentStore.copyObjectTo', () => {
  it('copies a large object into a new file with the mode a write gives it, refuses an existing one with wx, and overwrites one with w keeping its mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dws-store-unit-'));
    dirs.push(dir);
    const store = ContentStore.open(join(dir, 'store'));
    const large = randomBytes(2 << 20);
    store.putSmall(sha1(large), large);
    store.commit();
    const umask = process.umask(0o027);
    try {
      await store.copyObjectTo(sha1(large), join(dir, 'plain'), 0o666, 'wx');
      await store.copyObjectTo(sha1(large), join(dir, 'exec'), 0o777, 'wx');
      expect(readFileSync(join(dir, 'plain')).equals(large)).toBe(true);
      expect(statSync(join(dir, 'plain')).mode & 0o7777).toBe(0o640);
      expect(statSync(join(dir, 'exec')).mode & 0o7777).toBe(0o750);
      await expect(store.copyObjectTo(sha1(large), join(dir, 'plain'), 0o666, 'wx')).rejects.toThrow(/EEXIST/);
      writeFileSync(join(dir, 'old'), 'old bytes', { mode: 0o600 });
      await store.copyObjectTo(sha1(large), join(dir, 'old'), 0o666, 'w');
      expect(readFileSync(join(dir, 'old')).equals(large)).toBe(true);
      expect(statSync(join(dir, 'old')).mode & 0o7777).toBe(0o600);
    } finally {
      process.umask(umask);
    }
  });
});

describe('ContentStore.has', () => {
  it('answers the same before and after the table of every id is built: packed, large, stored but not committed, absent', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dws-store-unit-'));
    dirs.push(dir);
    const store = ContentStore.open(join(dir, 'store'));
    const packed = randomBytes(100);
    const large = randomBytes(2 << 20);
    store.putSmall(sha1(packed), packed);
    store.putSmall(sha1(large), large);
    store.commit();
    const pending = randomBytes(50);
    store.putSmall(sha1(pending), pending);
    const ids = [sha1(packed), sha1(large), sha1(pending), sha1(randomBytes(10))];
    const before = ids.map((id) => store.has(id));
    expect(before).toEqual([true, true, true, false]);
    store.known(); // hashing threads build it
    expect(ids.map((id) => store.has(id))).toEqual(before);
    expect(ContentStore.open(join(dir, 'store')).has(sha1(large))).toBe(true);
  });
});

describe('pack index checksums', () => {
  it('checks an index once (a record of its inode, size and mtime) and again once the file changed: a damaged index is refused, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dws-store-unit-'));
    dirs.push(dir);
    const store = ContentStore.open(join(dir, 'store'));
    const small = randomBytes(100);
    store.putSmall(sha1(small), small);
    store.commit();
    const [idx] = readdirSync(store.packDir).filter((f) => f.endsWith('.idx'));
    const record = join(store.verifiedDir, idx!);
    expect(ContentStore.open(join(dir, 'store')).has(sha1(small))).toBe(true);
    const st = statSync(join(store.packDir, idx!), { bigint: true });
    expect(readFileSync(record, 'utf8')).toBe(`${st.ino} ${st.size} ${st.mtimeNs}\n`);
    // One id byte changed, same size: the file's mtime moved, so the checksum is computed again.
    const file = join(store.packDir, idx!);
    chmodSync(file, 0o644);
    const bytes = readFileSync(file);
    bytes[20] = bytes[20]! ^ 0xff;
    writeFileSync(file, bytes);
    expect(() => ContentStore.open(join(dir, 'store')).has(sha1(small))).toThrow(new RegExp(`Pack index .*${idx}.* is damaged \\(checksum mismatch\\)`));
  });
});

describe('pack indexes read when first searched', () => {
  it('reads the newest pack\'s index first and an older one only when a lookup needs it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dws-store-unit-'));
    dirs.push(dir);
    const store = ContentStore.open(join(dir, 'store'));
    const indexes = () => readdirSync(store.packDir).filter((f) => f.endsWith('.idx'));
    const [older, newer] = [randomBytes(100), randomBytes(100)];
    store.putSmall(sha1(older), older);
    store.commit();
    const olderIdx = indexes()[0]!;
    store.putSmall(sha1(newer), newer);
    store.commit();
    const newerIdx = indexes().find((f) => f !== olderIdx)!;
    utimesSync(join(store.packDir, olderIdx), new Date(2020, 0, 1), new Date(2020, 0, 1));
    rmSync(store.verifiedDir, { recursive: true }); // the records say which indexes were read
    const read = () => (existsSync(store.verifiedDir) ? readdirSync(store.verifiedDir) : []).sort();
    const again = ContentStore.open(join(dir, 'store'));
    expect(read()).toEqual([]);
    expect(again.has(sha1(newer))).toBe(true);
    expect(read()).toEqual([newerIdx]);
    expect(again.has(sha1(randomBytes(10)))).toBe(false);
    expect(read()).toEqual([newerIdx, olderIdx].sort());
    expect(again.read(sha1(older)).equals(older)).toBe(true);
  });
});

describe('findEntry', () => {
  it('finds every id of a pack and no other, by its first lookups (no table) and by the later ones (the table), ids sharing their first four bytes included', () => {
    const ids = Array.from({ length: 300 }, () => randomBytes(20));
    for (let i = 0; i < 40; i++) ids.push(Buffer.concat([ids[i]!.subarray(0, 4), randomBytes(16)])); // same prefix, other id
    const entries = ids.map((b, i) => ({ id: b.toString('hex'), offset: i * 10, length: 10 }));
    const idx = parsePackIndex(buildPackIndex(entries, ids.length * 10).bytes, 'test', 'test.idx');
    const absent = [...Array.from({ length: 50 }, () => randomBytes(20)), ...ids.slice(0, 50).map((b) => Buffer.concat([b.subarray(0, 4), randomBytes(16)]))];
    for (let round = 0; round < 2; round++) {
      for (const b of ids) {
        const k = findEntry(idx, b);
        expect(k >= 0 && idx.ids.subarray(k * 20, k * 20 + 20).equals(b)).toBe(true);
      }
      for (const b of absent) expect(findEntry(idx, b)).toBe(-1);
    }
  });
});

describe('packMismatch (a pack downloaded from a remote, against its index)', () => {
  it('accepts a whole pack read over several windows, and names a wrong size or the first object whose bytes differ', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dws-store-unit-'));
    dirs.push(dir);
    const objects = Array.from({ length: 300 }, (_, i) => randomBytes(i === 7 ? 900_000 : 20_000)); // 6.9 MB: more than one 4 MB window
    const bytes = Buffer.concat(objects);
    let offset = 0;
    const entries = objects.map((b) => ({ id: sha1(b), offset: (offset += b.length) - b.length, length: b.length }));
    const idx = parsePackIndex(buildPackIndex(entries, bytes.length).bytes, 'test', 'test.idx');
    const pack = join(dir, 'test.pack');
    writeFileSync(pack, bytes);
    expect(packMismatch(pack, idx)).toBeNull();
    const last = entries[entries.length - 1]!;
    bytes[last.offset + 5] = bytes[last.offset + 5]! ^ 0xff;
    writeFileSync(pack, bytes);
    expect(packMismatch(pack, idx)).toBe(`the bytes of object ${last.id} do not match its id`);
    writeFileSync(pack, bytes.subarray(0, 10));
    expect(packMismatch(pack, idx)).toBe(`it has 10 bytes, its index says ${bytes.length}`);
  });
});

describe('gc', () => {
  /** A store with two packs, `live` in both and a dead object in the first by name (the one gc counts `live` in). */
  function twoPacks(liveOffsetInSecond: number): { store: ContentStore; live: Buffer } {
    const dir = mkdtempSync(join(tmpdir(), 'dws-store-unit-'));
    dirs.push(dir);
    const store = ContentStore.open(join(dir, 'store'));
    const live = randomBytes(3000);
    // The newest pack is searched first (and counts the objects it has): the one with the dead object is published last.
    const dead = randomBytes(3000);
    const packs = [
      { bytes: Buffer.concat([dead.subarray(0, liveOffsetInSecond), live]), entries: [{ id: sha1(live), offset: liveOffsetInSecond, length: 3000 }] },
      { bytes: Buffer.concat([live, dead]), entries: [{ id: sha1(live), offset: 0, length: 3000 }, { id: sha1(dead), offset: 3000, length: 3000 }] },
    ];
    const names = packs.map((p, i) => {
      const tmp = join(store.tmpDir, `p${i}`);
      writeFileSync(tmp, p.bytes);
      return publishPack(tmp, store.packDir, p.entries, p.bytes.length);
    });
    utimesSync(join(store.packDir, `${names[0]}.idx`), new Date(2020, 0, 1), new Date(2020, 0, 1));
    store.reload();
    return { store, live };
  }

  it('keeps a live object that is in two packs, when the pack that counts it is rewritten and the other removed', () => {
    const { store, live } = twoPacks(100);
    const keep = new Set([sha1(live)]);
    const plan = planGc(store, keep);
    expect(plan.mixedPacks.length).toBe(1);
    expect(plan.deadPacks.length).toBe(1);
    applyGc(store, keep, plan);
    expect(store.packIndexes.length).toBe(1);
    expect(store.read(sha1(live)).equals(live)).toBe(true);
  });

  it('keeps the pack it writes when that pack has the name of one it removes (same objects at the same places)', () => {
    const { store, live } = twoPacks(0); // the rewritten pack is byte for byte the second one
    const keep = new Set([sha1(live)]);
    applyGc(store, keep, planGc(store, keep));
    expect(store.read(sha1(live)).equals(live)).toBe(true);
  });
});
