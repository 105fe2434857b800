/**
 * Store trees: what a snapshot of a local-files or rclone resource contains, one tree object per
 * directory, kept in the content store like file contents. 1.6's hash trees (committed) cannot be
 * the manifest on their own: they hold sizes instead of content hashes when `compute_hash` is
 * false, no executable bits, no symbolic links, and no names with a line feed. A store tree
 * holds all of that; the content hashes are the ones the hash-tree run computes anyway.
 *
 * Format: per entry, sorted by name in code-point order (as hash trees),
 *   `<mode> <id> <name>\0`
 * mode: 100644 file, 100755 executable file, 120000 symbolic link (id = SHA-1 of the link text),
 * 40000 directory (id = its tree). The tree's id is the SHA-1 of its bytes.
 */
import { createHash } from 'node:crypto';
import type { ContentStore } from './store.js';

export const MODE_FILE = '100644';
export const MODE_EXEC = '100755';
export const MODE_LINK = '120000';
export const MODE_DIR = '40000';
export type TreeMode = typeof MODE_FILE | typeof MODE_EXEC | typeof MODE_LINK | typeof MODE_DIR;

export interface StoreTreeEntry {
  name: string;
  mode: TreeMode;
  id: string;
}

/** Tree id of an empty directory (SHA-1 of no bytes). */
export const EMPTY_TREE = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';

/** Entries must already be sorted by name (code points). */
export function encodeTree(entries: readonly StoreTreeEntry[]): { id: string; bytes: Buffer } {
  let text = '';
  for (const e of entries) text += treeEntryText(e.mode, e.id, e.name);
  return treeOfText(text);
}

/**
 * The tree `root` without the entries `drop` names (by path relative to it, with `/`; `dir`: a
 * directory), and without the folders that held nothing else; the new trees go to `put`. `root`
 * itself when nothing is dropped, EMPTY_TREE when everything is.
 */
export function pruneTree(root: string, read: (id: string) => readonly StoreTreeEntry[], put: (tree: { id: string; bytes: Buffer }) => void, drop: (path: string, dir: boolean) => boolean): string {
  const prune = (id: string, prefix: string): string | null => {
    const kept: StoreTreeEntry[] = [];
    let changed = false;
    for (const e of read(id)) {
      const path = prefix + e.name;
      const sub = drop(path, e.mode === MODE_DIR) ? null : e.mode === MODE_DIR && e.id !== EMPTY_TREE ? prune(e.id, `${path}/`) : e.id;
      if (sub !== null) kept.push(sub === e.id ? e : { ...e, id: sub });
      changed ||= sub !== e.id;
    }
    if (!changed) return id;
    if (kept.length === 0) return null;
    const tree = encodeTree(kept);
    put(tree);
    return tree.id;
  };
  return prune(root, '') ?? EMPTY_TREE;
}

/** One entry of a tree's text (a walk builds the text from its own arrays, with no entry objects). */
export function treeEntryText(mode: TreeMode, id: string, name: string): string {
  return mode + ' ' + id + ' ' + name + '\0';
}

/** The tree whose text (its entries' treeEntryText, in name order) is `text`. */
export function treeOfText(text: string): { id: string; bytes: Buffer } {
  const bytes = Buffer.from(text, 'utf8');
  return { id: createHash('sha1').update(bytes).digest('hex'), bytes };
}

export function parseTree(bytes: Buffer, id: string): StoreTreeEntry[] {
  const out: StoreTreeEntry[] = [];
  for (let at = 0; at < bytes.length; ) {
    const end = entryEnd(bytes, at, id);
    out.push(decodeEntry(bytes, at, end, id));
    at = end + 1;
  }
  return out;
}

/** Where the name of the entry at `at` starts (after `<mode> <id> `; a mode has 5 or 6 digits). */
function nameAt(bytes: Buffer, at: number): number {
  return (bytes[at + 5] === 32 ? at + 5 : at + 6) + 42;
}

/** The end (its NUL) of the entry at `at`. */
function entryEnd(bytes: Buffer, at: number, id: string): number {
  let end = nameAt(bytes, at);
  while (end < bytes.length && bytes[end] !== 0) end++;
  if (end >= bytes.length) throw new Error(`Store tree ${id} is malformed at byte ${at}`);
  return end;
}

/** Whether `name` is one path component: a name in a folder that cannot reach outside it. */
export function isPathComponent(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/');
}

/**
 * The entry at bytes[at..end), checked: one of the four modes, a lowercase hex id, and a name
 * that is one path component (a tree from a remote must not reach outside its directory).
 */
function decodeEntry(bytes: Buffer, at: number, end: number, id: string): StoreTreeEntry {
  const sp = nameAt(bytes, at) - 42;
  const mode = modeAt(bytes, at, sp);
  const name = bytes.toString('utf8', sp + 42, end);
  if (mode === null || bytes[sp + 41] !== 32 || !isHex40(bytes, sp + 1) || !isPathComponent(name)) {
    throw new Error(`Store tree ${id} is malformed at byte ${at}`);
  }
  return { mode, id: bytes.toString('latin1', sp + 1, sp + 41), name };
}

/** The mode spelled by bytes[at..sp), compared as bytes (no string per entry), or null. */
function modeAt(b: Buffer, at: number, sp: number): TreeMode | null {
  if (sp === at + 5) return b[at] === 52 && b[at + 1] === 48 && b[at + 2] === 48 && b[at + 3] === 48 && b[at + 4] === 48 ? MODE_DIR : null;
  if (b[at] !== 49) return null;
  const d2 = b[at + 1];
  const d3 = b[at + 2];
  const d4 = b[at + 3];
  const d5 = b[at + 4];
  const d6 = b[at + 5];
  if (d2 === 48 && d3 === 48 && d4 === 54 && d5 === 52 && d6 === 52) return MODE_FILE;
  if (d2 === 48 && d3 === 48 && d4 === 55 && d5 === 53 && d6 === 53) return MODE_EXEC;
  return d2 === 50 && d3 === 48 && d4 === 48 && d5 === 48 && d6 === 48 ? MODE_LINK : null;
}

/**
 * Call `visit` for each name whose entries differ in two encoded trees (both sorted by code
 * points, which is UTF-8 byte order): with the entry of each side, undefined on the side that
 * lacks the name. Entries that are the same bytes are passed over in this loop, never decoded, so
 * comparing two directories that differ in a few of their files costs little more than a memcmp.
 * Entries visited are checked as parseTree checks them.
 */
export function pairTrees(a: Buffer, aId: string, b: Buffer, bId: string, visit: (a: StoreTreeEntry | undefined, b: StoreTreeEntry | undefined) => void): void {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const aEnd = i < a.length ? entryEnd(a, i, aId) : -1;
    const bEnd = j < b.length ? entryEnd(b, j, bId) : -1;
    let c: number;
    if (aEnd < 0) c = 1;
    else if (bEnd < 0) c = -1;
    else c = compareBytes(a, nameAt(a, i), aEnd, b, nameAt(b, j), bEnd);
    if (c === 0) {
      if (compareBytes(a, i, nameAt(a, i), b, j, nameAt(b, j)) !== 0) visit(decodeEntry(a, i, aEnd, aId), decodeEntry(b, j, bEnd, bId));
    } else if (c < 0) visit(decodeEntry(a, i, aEnd, aId), undefined);
    else visit(undefined, decodeEntry(b, j, bEnd, bId));
    if (c <= 0) i = aEnd + 1;
    if (c >= 0) j = bEnd + 1;
  }
}

/** a[ai..aEnd) against b[bi..bEnd), as bytes. A loop: Buffer.compare's checks cost more for short ranges. */
function compareBytes(a: Buffer, ai: number, aEnd: number, b: Buffer, bi: number, bEnd: number): number {
  const n = Math.min(aEnd - ai, bEnd - bi);
  for (let k = 0; k < n; k++) {
    const d = a[ai + k]! - b[bi + k]!;
    if (d !== 0) return d;
  }
  return aEnd - ai - (bEnd - bi);
}

/** Whether `bytes` holds 40 lowercase hex digits from `at`. */
function isHex40(bytes: Buffer, at: number): boolean {
  for (let i = at; i < at + 40; i++) {
    const c = bytes[i]!;
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Parsed trees per store: gc and history walks read shared subtrees many times. */
const parsedTrees = new WeakMap<ContentStore, Map<string, readonly StoreTreeEntry[]>>();
const PARSED_TREES_KEPT = 20_000;

/** The encoded bytes of a tree in the store, checked against its id. */
export function readTreeBytes(store: ContentStore, id: string): Buffer {
  return id === EMPTY_TREE ? Buffer.alloc(0) : store.read(id);
}

/** The entries of a tree in the store (shared: do not modify). */
export function readTree(store: ContentStore, id: string): readonly StoreTreeEntry[] {
  if (id === EMPTY_TREE) return [];
  let cache = parsedTrees.get(store);
  if (cache === undefined) parsedTrees.set(store, (cache = new Map()));
  let entries = cache.get(id);
  if (entries === undefined) {
    entries = parseTree(store.read(id), id);
    if (cache.size >= PARSED_TREES_KEPT) cache.clear();
    cache.set(id, entries);
  }
  return entries;
}

/** A file of a flattened tree. */
export interface FlatFile {
  mode: TreeMode;
  id: string;
}

/** Every file and link below a tree by path (`/`-separated), and every empty folder as `path/` (mode MODE_DIR): what a diff compares. */
export function flattenTree(store: ContentStore, root: string): Map<string, FlatFile> {
  const files = new Map<string, FlatFile>();
  const visit = (id: string, prefix: string) => {
    for (const e of readTree(store, id)) {
      const rel = prefix + e.name;
      if (e.mode !== MODE_DIR) files.set(rel, { mode: e.mode, id: e.id });
      else if (e.id === EMPTY_TREE) files.set(`${rel}/`, { mode: e.mode, id: e.id });
      else visit(e.id, rel + '/');
    }
  };
  visit(root, '');
  return files;
}

/**
 * Every object a tree reaches (itself, subtrees, file contents), added to `into`. Trees already
 * in `into` are not walked again, so walking many snapshots' trees costs each distinct tree once.
 * `missing` collects ids that are not in the store (their subtrees cannot be walked).
 */
export function reachable(store: ContentStore, root: string, into: Set<string>, missing?: Set<string>): void {
  const stack = [root];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (into.has(id)) continue;
    into.add(id);
    if (!store.has(id)) {
      missing?.add(id);
      continue;
    }
    for (const e of readTree(store, id)) {
      if (e.mode === MODE_DIR) stack.push(e.id);
      else {
        into.add(e.id);
        if (missing !== undefined && !store.has(e.id)) missing.add(e.id);
      }
    }
  }
}
