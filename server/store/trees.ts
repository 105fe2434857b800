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
  for (const e of entries) text += `${e.mode} ${e.id} ${e.name}\0`;
  const bytes = Buffer.from(text, 'utf8');
  return { id: createHash('sha1').update(bytes).digest('hex'), bytes };
}

const MODES = new Set<string>([MODE_FILE, MODE_EXEC, MODE_LINK, MODE_DIR]);

export function parseTree(bytes: Buffer, id: string): StoreTreeEntry[] {
  const out: StoreTreeEntry[] = [];
  const text = bytes.toString('utf8');
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\0', at);
    const sp1 = text.indexOf(' ', at);
    const mode = text.slice(at, sp1);
    if (end < 0 || sp1 < 0 || !MODES.has(mode) || text.charCodeAt(sp1 + 41) !== 32 || !isHex40(text, sp1 + 1)) {
      throw new Error(`Store tree ${id} is malformed at byte ${at}`);
    }
    out.push({ mode: mode as TreeMode, id: text.slice(sp1 + 1, sp1 + 41), name: text.slice(sp1 + 42, end) });
    at = end + 1;
  }
  return out;
}

/** Whether `text` holds 40 lowercase hex digits from `at` (a loop: a regular expression per entry cost more). */
function isHex40(text: string, at: number): boolean {
  for (let i = at; i < at + 40; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Parsed trees per store: a restore reads each differing tree twice (missing trees, then the plan). */
const parsedTrees = new WeakMap<ContentStore, Map<string, readonly StoreTreeEntry[]>>();
const PARSED_TREES_KEPT = 20_000;

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

/** Every file and link below `root`, by relative path (`/`-separated), and every directory. */
export function flattenTree(store: ContentStore, root: string): { files: Map<string, FlatFile>; dirs: string[] } {
  const files = new Map<string, FlatFile>();
  const dirs: string[] = [];
  const visit = (id: string, prefix: string) => {
    for (const e of readTree(store, id)) {
      const rel = prefix + e.name;
      if (e.mode === MODE_DIR) {
        dirs.push(rel);
        visit(e.id, rel + '/');
      } else files.set(rel, { mode: e.mode, id: e.id });
    }
  };
  visit(root, '');
  return { files, dirs };
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
