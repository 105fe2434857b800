/**
 * Names with rules: hostnames and tags (same regex, workspace-format §8), roles and their CLI
 * abbreviations, what looks like a snapshot hash, and resource names given in a list param.
 */
import { NotFoundError } from '../../protocol/errors.js';
import { ROLES, type Role } from '../../protocol/workspace.js';
import type { Context } from '../context.js';

const LABEL = '([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\\-]{0,61}[a-zA-Z0-9])';
const HOSTNAME_RE = new RegExp(`^${LABEL}(\\.${LABEL})*$`);

export function isValidHostname(s: string): boolean {
  return HOSTNAME_RE.test(s);
}

/**
 * Longest hostname (this machine's name in the workspace), in characters (the rule allows ASCII
 * only): Linux's HOST_NAME_MAX, so the default (the machine's name) always fits. The hostname goes
 * into results directory names (results.dir_template, default 'snapshots/{HOSTNAME}-{TAG}'),
 * whose 255 bytes must leave room for a tag; 1.6 had no limit, and its snapshots failed instead.
 */
export const MAX_HOSTNAME_LENGTH = 64;

/** Why a hostname is too long, or null (isValidHostname is checked on its own). */
export function hostnameLengthProblem(s: string): string | null {
  if (s.length <= MAX_HOSTNAME_LENGTH) return null;
  return `it is ${s.length} characters long; the limit is ${MAX_HOSTNAME_LENGTH}, so that the results directory names it goes into (results.dir_template) leave room for a tag`;
}

/**
 * HOSTNAME_RE in words. 1.6's text says '_' is allowed, but its regex rejects it, as it rejects a
 * name ending in '-' or with two dots in a row: we say what is really accepted.
 */
export const NAME_RULE = "must be letters, numbers and '-', starting and ending with a letter or number, in parts of at most 63 characters joined by single dots (e.g. v1.2-rc1)";

/** Fewest digits of a hash prefix that lookups take (workspace-format §8). */
export const MIN_HASH_PREFIX = 6;

/** 6+ lowercase hex chars: looked up as a hash prefix (workspace-format §8). */
export function isHashPrefix(s: string): boolean {
  return s.length >= MIN_HASH_PREFIX && /^[0-9a-f]+$/.test(s);
}

/** 40 hex chars in any case, or 6+ lowercase hex chars: would be taken as a hash by lookups. */
export function looksLikeHash(s: string): boolean {
  return /^[0-9a-fA-F]{40}$/.test(s) || isHashPrefix(s);
}

/**
 * Hex that lookups took for a tag, though it was perhaps meant as a hash prefix: why it is none
 * (too short, or in upper case), or null for anything else.
 */
export function notAHashPrefix(s: string): string | null {
  if (!/^[0-9a-fA-F]+$/.test(s) || s.length >= 40) return null;
  if (s.length < MIN_HASH_PREFIX) return `as a hash prefix, ${s} is too short: give at least ${MIN_HASH_PREFIX} hex digits`;
  if (s !== s.toLowerCase()) return `as a hash prefix, ${s} would need lowercase digits: ${s.toLowerCase()}`;
  return null;
}

const ROLE_ALIASES: Record<string, Role> = { s: 'source-data', i: 'intermediate-data', c: 'code', r: 'results' };

/** A role or its one-letter alias, case-insensitive; null if neither. */
export function parseRole(s: string): Role | null {
  const l = s.toLowerCase();
  if ((ROLES as readonly string[]).includes(l)) return l as Role;
  return ROLE_ALIASES[l] ?? null;
}

/** Machine hostname up to the first dot (dws 1.6's default instance name). */
export function shortHostname(full: string): string {
  return full.split('.')[0] ?? full;
}

/** Longest resource name, in UTF-8 bytes: it becomes a directory and a file name (`<name>.json`), whose limit is 255 bytes. */
export const MAX_RESOURCE_NAME_BYTES = 100;

/**
 * The resource name rule (docs/concepts.md "Resource names"; issue 13 item 3): a name is a directory or
 * file name in `.dataworkspace/` (hash trees, lineage, scratch), so it must be one ordinary path
 * component, short enough for every file system, and printable. Returns what is wrong, or null.
 */
export function resourceNameProblem(name: string): string | null {
  if (name === '') return 'it may not be empty';
  if (name === '.' || name === '..') return `it may not be '${name}'`;
  if (/[/\\]/.test(name)) return "it may not contain '/' or '\\'";
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f-\x9f]/.test(name)) return 'it may not contain control characters (newlines, tabs, escape sequences)';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_RESOURCE_NAME_BYTES) return `it is ${bytes} bytes long; the limit is ${MAX_RESOURCE_NAME_BYTES} bytes of UTF-8`;
  return null;
}

/** Text from a file or a client as it may appear in a message: control characters escaped, long text cut. */
export function printable(s: string, max = 80): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

/**
 * Refuse names in a param that lists resources (`only`, `leave`, `skip`) that are not among
 * `known`: one refusal (NotFound, data {param, unknown, known}) for every method, naming the
 * param, the unknown names and the known ones. `sentence`: how the command words it first; by
 * default 1.6's push and pull text (cli.md), restore passes 1.6's restore text.
 */
export function checkResourceNames(
  ctx: Context,
  known: string[],
  lists: Record<string, string[] | undefined>,
  sentence = (option: string, unknown: string[]) => `Invalid resource names were included with ${option}: ${unknown.join(', ')}`,
): void {
  for (const [param, names] of Object.entries(lists)) {
    const unknown = [...new Set((names ?? []).filter((n) => !known.includes(n)))].sort();
    if (unknown.length > 0) {
      // A client's names are shown escaped and cut (printable), as every refusal shows them.
      const shown = unknown.map((n) => printable(n));
      throw new NotFoundError(`${sentence(ctx.option(param), shown)}. Resources are: ${known.join(', ') || 'none'}`, { param, unknown, known });
    }
  }
}
