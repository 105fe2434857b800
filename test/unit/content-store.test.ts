/** The content store's reads: every object comes back byte for byte, in any order, from many packs. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
