/**
 * Names with rules: hostnames and tags (same regex, workspace-format §8), roles and their CLI
 * abbreviations, and what looks like a snapshot hash.
 */
import { ROLES, type Role } from '../../protocol/workspace.js';

const LABEL = '([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\\-]{0,61}[a-zA-Z0-9])';
const HOSTNAME_RE = new RegExp(`^${LABEL}(\\.${LABEL})*$`);

export function isValidHostname(s: string): boolean {
  return HOSTNAME_RE.test(s);
}

/** 1.6's text says '_' is allowed, but its regex rejects it; we say what is really accepted. */
export const NAME_RULE = "must start with a letter or number and only contain letters, numbers, '.' or '-'";

/** 40 hex chars in any case, or 6+ lowercase hex chars: would be taken as a hash by lookups. */
export function looksLikeHash(s: string): boolean {
  return /^[0-9a-fA-F]{40}$/.test(s) || /^[0-9a-f]{6,}$/.test(s);
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
