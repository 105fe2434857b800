/**
 * What a command is about to change in the workspace, so that a failure can put it back
 * (docs/store.md: a failed snapshot removes what it had written and records nothing). Callers
 * note each file before writing it, each directory before creating it; rollback() restores the
 * files' earlier bytes and modes, and removes the files and directories that were not there.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { atomicWriteFile } from './files.js';

type Saved = { bytes: Buffer; mode: number } | null;

export class Undo {
  /** Files noted, with their content before the first change (null: absent), in order. */
  private readonly files = new Map<string, Saved>();
  /** Directories this command created (the topmost new one of each mkdir), in order. */
  private readonly dirs: string[] = [];

  /** Before writing or removing `path`: remember what it holds (the first time only). */
  file(path: string): void {
    if (this.files.has(path)) return;
    const st = lstatSync(path, { throwIfNoEntry: false });
    this.files.set(path, st?.isFile() ? { bytes: readFileSync(path), mode: st.mode & 0o7777 } : null);
  }

  /** A file known to be new (the caller created it with O_EXCL): removed by rollback. */
  created(path: string): void {
    if (!this.files.has(path)) this.files.set(path, null);
  }

  /** mkdirSync(dir, { recursive: true }), remembering the directories it created. */
  mkdir(dir: string): void {
    const first = mkdirSync(dir, { recursive: true });
    if (first !== undefined) this.dirs.push(first);
  }

  /** Like mkdir, for a directory made by someone else: note it if it is not there yet. */
  dir(dir: string): void {
    if (!existsSync(dir)) this.dirs.push(dir);
  }

  /**
   * Put back every noted file and remove the created directories, latest first. Each step is
   * tried: a failure here must not hide the error that made the command roll back, so the paths
   * that could not be put back are returned for the message.
   */
  rollback(): string[] {
    const failed: string[] = [];
    for (const [path, saved] of [...this.files].reverse()) {
      try {
        if (saved === null) rmSync(path, { force: true });
        else atomicWriteFile(path, saved.bytes, saved.mode);
      } catch {
        failed.push(path);
      }
    }
    for (const dir of [...this.dirs].reverse()) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        failed.push(dir);
      }
    }
    this.files.clear();
    this.dirs.length = 0;
    return failed;
  }
}
