/**
 * What this clone knows to be on a store remote: `<git dir>/dws/pushed/<sha1 of the remote
 * location>`, one store file a line (`packs/<name>.pack`, `packs/<name>.idx`,
 * `objects/ab/<38 hex>`). Store files are named by their content, so a name on the remote is the
 * same bytes. Push sends only what is not recorded (nothing new: no rclone at all) and records
 * what it sent; a download adds the packs whose indexes it read there and the large objects it
 * got; every listing of the remote (fsck --remote, gc --remote) replaces the record with what is
 * really there, so a file removed from the remote behind this clone's back is sent again by the
 * next push after one of them. Never committed; without a git directory
 * nothing is recorded (every push offers everything to rclone, which skips what the remote has).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { atomicWriteFile } from '../workspace/files.js';
import { localCacheDir, type Workspace } from '../workspace/workspace.js';

/** A store file's path relative to the store (and to the remote): the only lines a record keeps. */
const STORE_FILE = /^(packs\/[0-9a-f]{40}\.(pack|idx)|objects\/[0-9a-f]{2}\/[0-9a-f]{38})$/;

function recordPath(ws: Workspace, remote: string): string | null {
  const dir = localCacheDir(ws);
  return dir === null ? null : join(dir, 'pushed', createHash('sha1').update(remote).digest('hex'));
}

/** The store files recorded as on `remote` (a location as remoteLocation gives it). */
export function readPushed(ws: Workspace, remote: string): Set<string> {
  const path = recordPath(ws, remote);
  if (path === null) return new Set();
  try {
    return new Set(readFileSync(path, 'utf8').split('\n').filter((l) => STORE_FILE.test(l)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw e;
  }
}

/** Replace the record of `remote` with `files` (other paths, such as a listing's stray files, are left out). */
export function writePushed(ws: Workspace, remote: string, files: Iterable<string>): void {
  const path = recordPath(ws, remote);
  if (path === null) return;
  mkdirSync(dirname(path), { recursive: true });
  atomicWriteFile(path, [...files].filter((f) => STORE_FILE.test(f)).sort().join('\n') + '\n');
}

/** Add `files` to the record of `remote` (what a download found there). */
export function addPushed(ws: Workspace, remote: string, files: string[]): void {
  if (files.length > 0) writePushed(ws, remote, new Set([...readPushed(ws, remote), ...files]));
}
