/** Path tests by components (1.6 compared strings, so `/ws-scratch` counted as inside `/ws`), and paths in shell commands. */
import { isAbsolute, relative, sep } from 'node:path';

/** True when `child` is `parent` or lies below it. */
export function isWithin(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** `child` relative to `parent`, with `/` separators. */
export function relativePosix(parent: string, child: string): string {
  return relative(parent, child).split('\\').join('/');
}

/** `s` as one word of a POSIX shell command line: as it is when every character is plain, else in single quotes. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Up to `max` of `paths` for a message, and how many more there are: "a, b and 3 more". */
export function someOf(paths: string[], max = 10): string {
  const shown = paths.slice(0, max).join(', ');
  return paths.length > max ? `${shown} and ${paths.length - max} more` : shown;
}
