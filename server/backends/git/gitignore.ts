/** `.gitignore` edits of workspace-format §12. */
import { existsSync, readFileSync } from 'node:fs';
import { atomicWriteFile } from '../../workspace/files.js';

const strip = (s: string) => s.replace(/^\//, '').replace(/\/$/, '');

/** Append `entry` unless an equal line (ignoring one leading and trailing `/`) is there. Returns true if written. */
export function ensureGitignoreEntry(file: string, entry: string): boolean {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = text.split('\n').map((l) => l.trimEnd());
  if (lines.some((l) => l === entry || strip(l) === strip(entry))) return false;
  const prefix = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  atomicWriteFile(file, `${prefix}${entry}\n`);
  return true;
}
