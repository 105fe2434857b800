// Store trees (server/store/trees.ts): the encoding, its checks, and pairTrees, the byte-level
// comparison a restore plans with (entries that are the same bytes are never decoded).
import { describe, expect, it } from 'vitest';
import { compareCodePoints } from '../../server/resources/hashtree/index.js';
import { encodeTree, MODE_DIR, MODE_EXEC, MODE_FILE, MODE_LINK, pairTrees, parseTree, type StoreTreeEntry, type TreeMode } from '../../server/store/trees.js';

const id = (n: number) => n.toString(16).padStart(40, '0');
const tree = (entries: StoreTreeEntry[]) => encodeTree([...entries].sort((a, b) => compareCodePoints(a.name, b.name)));

const show = (e: StoreTreeEntry | undefined) => (e === undefined ? null : [e.name, e.mode, e.id]);

/** What pairTrees must report, from the parsed entries (a map per side). */
function naivePairs(a: StoreTreeEntry[], b: StoreTreeEntry[]): string[] {
  const byName = (xs: StoreTreeEntry[]) => new Map(xs.map((e) => [e.name, e]));
  const [ma, mb] = [byName(a), byName(b)];
  const names = [...new Set([...ma.keys(), ...mb.keys()])].sort(compareCodePoints);
  return names.filter((n) => JSON.stringify(ma.get(n)) !== JSON.stringify(mb.get(n))).map((n) => JSON.stringify([show(ma.get(n)), show(mb.get(n))]));
}

function pairs(a: StoreTreeEntry[], b: StoreTreeEntry[]): string[] {
  const ta = tree(a);
  const tb = tree(b);
  const out: string[] = [];
  pairTrees(ta.bytes, ta.id, tb.bytes, tb.id, (x, y) => out.push(JSON.stringify([show(x), show(y)])));
  return out;
}

describe('store trees', () => {
  it('round-trips every mode and names with spaces, newlines and characters beyond the BMP', () => {
    const entries: StoreTreeEntry[] = [
      { name: 'a b', mode: MODE_FILE, id: id(1) },
      { name: 'line\nfeed', mode: MODE_EXEC, id: id(2) },
      { name: 'link', mode: MODE_LINK, id: id(3) },
      { name: 'sub', mode: MODE_DIR, id: id(4) },
      { name: '\uFFFD', mode: MODE_FILE, id: id(5) },
      { name: '😀', mode: MODE_FILE, id: id(6) },
    ];
    const t = tree(entries);
    expect(parseTree(t.bytes, t.id)).toEqual([...entries].sort((a, b) => compareCodePoints(a.name, b.name)));
    expect(parseTree(Buffer.alloc(0), 'empty')).toEqual([]);
  });

  it.each([
    ['an unknown mode', `100645 ${id(1)} a\0`],
    ['a short id', `100644 ${id(1).slice(1)} a\0`],
    ['upper-case hex', `100644 ${id(0xabc).toUpperCase()} a\0`],
    ['no NUL at the end', `100644 ${id(1)} a`],
    ['an empty name', `100644 ${id(1)} \0`],
    ['a mode of five digits other than 40000', `10064 ${id(1)} a\0`],
    ['a name with a slash', `100644 ${id(1)} a/b\0`],
    ['the name ..', `40000 ${id(1)} ..\0`],
    ['the name .', `40000 ${id(1)} .\0`],
  ])('refuses a tree with %s, naming the tree and the byte', (_what, text) => {
    expect(() => parseTree(Buffer.from(text), 'T1')).toThrow('Store tree T1 is malformed at byte 0');
    expect(() => pairTrees(Buffer.from(text), 'T1', Buffer.alloc(0), 'T2', () => {})).toThrow('Store tree T1 is malformed');
  });

  it('pairTrees reports exactly the names whose entries differ, in code-point order', () => {
    const a: StoreTreeEntry[] = [
      { name: 'same', mode: MODE_FILE, id: id(1) },
      { name: 'content', mode: MODE_FILE, id: id(2) },
      { name: 'mode', mode: MODE_FILE, id: id(3) },
      { name: 'kind', mode: MODE_DIR, id: id(4) },
      { name: 'gone', mode: MODE_FILE, id: id(5) },
      { name: '\uFFFD', mode: MODE_FILE, id: id(6) },
    ];
    const b: StoreTreeEntry[] = [
      { name: 'same', mode: MODE_FILE, id: id(1) },
      { name: 'content', mode: MODE_FILE, id: id(22) },
      { name: 'mode', mode: MODE_EXEC, id: id(3) },
      { name: 'kind', mode: MODE_FILE, id: id(4) },
      { name: 'new', mode: MODE_LINK, id: id(7) },
      { name: '😀', mode: MODE_FILE, id: id(8) },
    ];
    const got = pairs(a, b).map((p) => JSON.parse(p) as [string[] | null, string[] | null]);
    expect(got.map(([x, y]) => (x ?? y)![0])).toEqual(['content', 'gone', 'kind', 'mode', 'new', '\uFFFD', '😀']);
    expect(got).toContainEqual([['gone', MODE_FILE, id(5)], null]);
    expect(got).toContainEqual([null, ['new', MODE_LINK, id(7)]]);
    expect(got).toContainEqual([['mode', MODE_FILE, id(3)], ['mode', MODE_EXEC, id(3)]]);
    expect(pairs(a, a)).toEqual([]);
  });

  it('pairTrees agrees with a comparison of the parsed entries on random trees', () => {
    const modes: TreeMode[] = [MODE_FILE, MODE_EXEC, MODE_LINK, MODE_DIR];
    const names = ['a', 'b', 'ab', 'a b', 'é', '\uFFFD', '😀', 'z', 'Z', '0', 'x\ny', '~'];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 16) % n;
    const side = () => names.filter(() => rand(3) > 0).map((name) => ({ name, mode: modes[rand(4)]!, id: id(rand(3)) }));
    for (let round = 0; round < 200; round++) {
      const [a, b] = [side(), side()];
      expect(pairs(a, b)).toEqual(naivePairs(a, b));
    }
  });
});
