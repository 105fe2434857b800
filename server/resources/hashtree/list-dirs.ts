/**
 * Directory listings for the hash-tree walk (index.ts): a directory's entries in tree order, each
 * with its kind, and optionally the stat of every file and link (lstat; stat through a link).
 * For trees the stat cache knows to be large, the hashing threads list directories ahead of the
 * walk, several per job (runListJob), so that the stats of a no-change snapshot, a status or a
 * restore's scan (100,000 of them, ~3-4 µs of kernel time each here) run on every core instead of
 * the walk's one. A stat that fails is left to the walk (NaN), which stats again and reports it
 * by name. Kept free of other imports but the tree order: the worker bundle loads it.
 */
import { lstatSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { putStat, STAT_FIELDS } from './hash-files.js';
import { compareCodePoints } from './tree-format.js';

export const EntryKind = { File: 0, Link: 1, Dir: 2, Fifo: 3, Socket: 4, Device: 5, Special: 6 } as const;

const SPECIAL_NAMES = ['', '', '', 'FIFO', 'socket', 'device', 'special file'];
export const specialKindName = (kind: number): string => SPECIAL_NAMES[kind] ?? 'special file';

export interface Listing {
  names: string[];
  kinds: Uint8Array;
  /** STAT_FIELDS numbers per entry (size, mtimeMs, ctimeMs, ino, mode; NaN where not taken), or null: not taken. */
  stats: Float64Array | null;
}

/** Directories to list (a thread's job): their paths relative to `base`, each '' or ending in '/'. */
export interface ListJob {
  kind: 'list';
  id: number;
  base: string;
  /** The directories' prefixes, NUL-separated. */
  prefixes: string;
}

export interface ListJobResult {
  kind: 'list';
  id: number;
  /** Per directory: its number of entries, or -1 when it could not be listed (the reason in `errors`). */
  counts: Int32Array;
  /** Every entry's name followed by a NUL, directory after directory. */
  names: string;
  kinds: Uint8Array;
  stats: Float64Array;
  errors: string[];
}

function kindOf(ent: Dirent): number {
  if (ent.isFile()) return EntryKind.File;
  if (ent.isSymbolicLink()) return EntryKind.Link;
  if (ent.isDirectory()) return EntryKind.Dir;
  if (ent.isFIFO()) return EntryKind.Fifo;
  if (ent.isSocket()) return EntryKind.Socket;
  if (ent.isBlockDevice() || ent.isCharacterDevice()) return EntryKind.Device;
  return EntryKind.Special;
}

const SURROGATE = /[\uD800-\uDFFF]/;
const byName = (a: Dirent, b: Dirent) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const byCodePoints = (a: Dirent, b: Dirent) => compareCodePoints(a.name, b.name);

/** The directory at `prefix` ('' or ending in '/') below `base` (a root without its trailing slash: '' for '/'). */
export function dirPath(base: string, prefix: string): string {
  return prefix === '' ? base || '/' : base + '/' + prefix.slice(0, -1);
}

/** List `dirAbs` in tree order (code points; plain string order unless a name has astral characters). Throws what readdir throws. */
export function listDir(dirAbs: string, withStats: boolean): Listing {
  const ents = readdirSync(dirAbs, { withFileTypes: true });
  let astral = false;
  for (const ent of ents) if (SURROGATE.test(ent.name)) astral = true;
  ents.sort(astral ? byCodePoints : byName);
  const n = ents.length;
  const names = new Array<string>(n);
  const kinds = new Uint8Array(n);
  const stats = withStats ? new Float64Array(n * STAT_FIELDS).fill(NaN) : null;
  for (let e = 0; e < n; e++) {
    const name = (names[e] = ents[e]!.name);
    const kind = (kinds[e] = kindOf(ents[e]!));
    if (stats === null || kind > EntryKind.Link) continue;
    const abs = dirAbs === '/' ? '/' + name : dirAbs + '/' + name;
    try {
      putStat(stats, e * STAT_FIELDS, kind === EntryKind.Link ? statSync(abs) : lstatSync(abs));
    } catch {
      // left NaN: the walk stats it again and names the file in its error
    }
  }
  return { names, kinds, stats };
}

/** A thread's part: list every directory of the job, with stats. */
export function runListJob(job: ListJob): ListJobResult {
  const prefixes = job.prefixes.split('\0');
  const counts = new Int32Array(prefixes.length);
  const listings: Listing[] = [];
  const errors: string[] = [];
  let total = 0;
  prefixes.forEach((prefix, i) => {
    try {
      const l = listDir(dirPath(job.base, prefix), true);
      listings.push(l);
      counts[i] = l.names.length;
      total += l.names.length;
      errors.push('');
    } catch (e) {
      counts[i] = -1;
      errors.push(e instanceof Error ? e.message : String(e));
    }
  });
  const kinds = new Uint8Array(total);
  const stats = new Float64Array(total * STAT_FIELDS);
  let names = '';
  let at = 0;
  for (const l of listings) {
    for (const name of l.names) names += name + '\0';
    kinds.set(l.kinds, at);
    stats.set(l.stats!, at * STAT_FIELDS);
    at += l.names.length;
  }
  return { kind: 'list', id: job.id, counts, names, kinds, stats, errors };
}
