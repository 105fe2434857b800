/**
 * File helpers for metadata: atomic writes (temp file + rename, so a crash never leaves a
 * half-written file) and JSON reading that names the file when it is broken.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync, chmodSync, type BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CorruptMetadataError, ConfigurationError } from '../../protocol/errors.js';
import { dumpPyJson, JsonSyntaxError, parsePyJson } from './pyjson.js';

let tempCounter = 0;

const tempPathFor = (path: string) => join(dirname(path), `.${basename(path)}.${process.pid}.${++tempCounter}.tmp`);

export function atomicWriteFile(path: string, data: string | Uint8Array, mode?: number): void {
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'w', mode ?? 0o644);
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (mode !== undefined) chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * atomicWriteFile without the fsync, for records that are only a cache: after a crash the file
 * is the old one, the new one or empty, and a cache that does not match is simply recomputed.
 */
export function writeCacheFile(path: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** A file written and synced under a temp name: `commit()` renames it into place, `discard()` removes it. */
export interface StagedFile {
  commit(): void;
  discard(): void;
}

/**
 * atomicWriteFile in two halves, the fsync on libuv's thread pool so that the event loop goes on
 * meanwhile (the runner's lineage writes, one per step, would otherwise stop every other step
 * while the disk syncs): the content is durable once this resolves; the rename (`commit()`) can
 * wait for what must happen first (a run-cache restore's outputs, copied while the fsync runs).
 */
export async function stageFileAsync(path: string, data: string): Promise<StagedFile> {
  const tmp = tempPathFor(path);
  try {
    const h = await open(tmp, 'w', 0o644);
    try {
      await h.writeFile(data, 'utf8');
      await h.sync();
    } finally {
      await h.close();
    }
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return {
    commit: () => {
      try {
        renameSync(tmp, path);
      } catch (e) {
        rmSync(tmp, { force: true });
        throw e;
      }
    },
    discard: () => rmSync(tmp, { force: true }),
  };
}

/** A file's text, or null when it cannot be read (missing, a directory...). */
export function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** What identifies a file's current content for a record of a check made on it (a replaced or rewritten file differs). */
export function fileStamp(st: BigIntStats): string {
  return `${st.ino} ${st.size} ${st.mtimeNs}\n`;
}

/** Write a JSON file exactly as Python dws 1.6 writes it (workspace-format §2), atomically. */
export function writeJsonFile(path: string, value: unknown): void {
  atomicWriteFile(path, dumpPyJson(value));
}

/** writeJsonFile, staged with the fsync off the event loop (stageFileAsync). */
export function stageJsonFileAsync(path: string, value: unknown): Promise<StagedFile> {
  return stageFileAsync(path, dumpPyJson(value));
}

/** Read and parse a JSON file; a missing file gives `missing()`'s error, a broken one names the file and the position. */
export function readJsonFile(path: string, missing?: () => Error): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw missing ? missing() : new ConfigurationError(`Did not find workspace metadata file ${path}`, { file: path });
    }
    throw e;
  }
  try {
    return parsePyJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      throw new CorruptMetadataError(
        `${path} is not valid JSON: ${e.message}. Fix the file by hand, or bring back the committed version with 'git checkout -- ${path}'.`,
        { file: path, line: e.line, column: e.column },
      );
    }
    throw e;
  }
}

/**
 * A metadata file whose value at `where` is wrong. `jsonPath` (keys and indexes from the top)
 * lets editors underline the bad value (server/rpc/lsp/metadata-diagnostics.ts).
 */
export function corrupt(file: string, where: string, problem: string, jsonPath: Array<string | number> = []): CorruptMetadataError {
  return new CorruptMetadataError(
    `${file}: ${where} ${problem}. Fix the file by hand, or bring back the committed version with 'git checkout -- ${file}'.`,
    { file, where, jsonPath },
  );
}
