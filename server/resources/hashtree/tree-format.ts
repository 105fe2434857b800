/**
 * The hash-tree file format of Python dws 1.6 (workspace-format.md §13): one line
 * `<hash>\t<blob|tree>\t<name>\n` per entry, sorted by name in Unicode code-point order; the
 * file is named by the plain SHA-1 of its own bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TreeEntry {
  /** Plain SHA-1 hex of the content (compute_hash), the size in decimal (no compute_hash), or a tree hash. */
  hash: string;
  kind: 'blob' | 'tree';
  name: string;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Python's `str` order = code-point order. JS `<` compares UTF-16 code units, which differs only
 * when a surrogate (an astral character) meets a unit in U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Both >= U+D800: lift surrogates above U+E000..U+FFFF.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x < 0xe000 ? x + 0x2000 : x - 0x800;
      y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Sort names in place in code-point order (the fast default sort when no name has a surrogate). */
export function sortNames(names: string[]): string[] {
  for (const n of names) {
    if (SURROGATE.test(n)) return names.sort(compareCodePoints);
  }
  return names.sort();
}

/** Parse the text of a tree file. Names may contain tabs (only the first two separate fields). */
export function parseTreeFile(text: string, what = 'tree file'): TreeEntry[] {
  const entries: TreeEntry[] = [];
  if (text === '') return entries;
  if (!text.endsWith('\n')) throw new Error(`Malformed ${what}: it does not end with a newline`);
  const lines = text.slice(0, -1).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const t1 = line.indexOf('\t');
    const t2 = t1 < 0 ? -1 : line.indexOf('\t', t1 + 1);
    const kind = t2 < 0 ? '' : line.slice(t1 + 1, t2);
    if (t1 <= 0 || (kind !== 'blob' && kind !== 'tree')) {
      throw new Error(`Malformed ${what}: line ${i + 1} is not "<hash>\\t<blob|tree>\\t<name>"`);
    }
    entries.push({ hash: line.slice(0, t1), kind, name: line.slice(t2 + 1) });
  }
  return entries;
}

/** Read and parse the stored tree file `<treeDir>/<hash>`. */
export function readTreeFile(treeDir: string, hash: string): TreeEntry[] {
  const path = join(treeDir, hash);
  return parseTreeFile(readFileSync(path, 'utf8'), `hash tree file ${path}`);
}
