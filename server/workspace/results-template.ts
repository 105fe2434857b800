/**
 * The results directory template (`results.dir_template`, workspace-format §9): where a snapshot
 * moves the files of results resources, e.g. `snapshots/{HOSTNAME}-{TAG}` -> `snapshots/laptop-v1`.
 */
import { ConfigurationError } from '../../protocol/errors.js';
import { createContext, type Context } from '../context.js';
import { printable } from './names.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Each variable and the regex its values match (used to skip old snapshot directories). */
const VARIABLES: Record<string, string> = {
  USERNAME: '\\w([\\w\\-\\.])*',
  HOSTNAME: '\\w([\\w\\-\\.])*',
  SNAPSHOT_NO: '\\d\\d+',
  ISO_TIMESTAMP: '\\d\\d\\d\\d\\-\\d\\d\\-\\d\\dT\\d\\d:\\d\\d:\\d\\d',
  YEAR: '\\d\\d\\d\\d',
  MONTH: '\\d\\d',
  SHORT_MONTH: '\\w\\w\\w',
  DAY: '\\d\\d',
  HOUR: '\\d\\d',
  MIN: '\\d\\d',
  SEC: '\\d\\d',
  DAY_OF_WEEK: '\\w+',
  TAG: '\\w([\\w\\-\\.])*',
};

const VAR_RE = /\{(\w+)\}/g;

export function validateTemplate(template: string): void {
  if (!template.startsWith('snapshots/')) {
    throw new ConfigurationError(`Results directory template '${printable(template)}' must start with 'snapshots/'`);
  }
  const problem = pathProblem(template);
  if (problem !== null) throw new ConfigurationError(`Results directory template '${printable(template)}' ${problem}`, { template: printable(template) });
  for (const m of template.matchAll(VAR_RE)) {
    if (!(m[1]! in VARIABLES)) {
      throw new ConfigurationError(`Unknown variable '${m[1]}' in results directory template '${template}'`);
    }
  }
}

export interface TemplateValues {
  username: string;
  hostname: string;
  snapshotNumber: number;
  /** The snapshot's ISO timestamp (local time). */
  timestamp: string;
  tag: string | null;
}

/** Each variable's value. */
function templateValues(v: TemplateValues): Record<string, string> {
  const ts = v.timestamp;
  const [y, mo, d] = [Number(ts.slice(0, 4)), Number(ts.slice(5, 7)), Number(ts.slice(8, 10))];
  const number = String(v.snapshotNumber).padStart(3, '0');
  return {
    USERNAME: v.username,
    HOSTNAME: v.hostname,
    SNAPSHOT_NO: number,
    ISO_TIMESTAMP: ts.slice(0, 19),
    YEAR: ts.slice(0, 4),
    MONTH: ts.slice(5, 7),
    SHORT_MONTH: MONTHS[mo - 1]!,
    DAY: ts.slice(8, 10),
    HOUR: ts.slice(11, 13),
    MIN: ts.slice(14, 16),
    SEC: ts.slice(17, 19),
    DAY_OF_WEEK: DAYS[new Date(y, mo - 1, d).getDay()]!,
    TAG: v.tag ?? number,
  };
}

/** `command`: how the caller's messages say what to run (Context['command']). */
export function expandTemplate(template: string, v: TemplateValues, command: Context['command'] = createContext().command): string {
  const values = templateValues(v);
  const dest = template.replace(VAR_RE, (_, name: string) => values[name]!);
  // Checked on use too: a hand-edited hostname ("../../../esc") or template must not move
  // results out of their resource (issue 13 item 2).
  const problem = pathProblem(dest);
  if (problem !== null) {
    throw new ConfigurationError(
      `Results directory '${printable(dest)}' (template '${printable(template)}' with hostname '${printable(v.hostname)}', user '${printable(v.username)}', tag '${printable(values.TAG!)}') ${problem}. Fix results.dir_template with '${command('dws/config')}', or the hostname in .dataworkspace/local_params.json ('${command('dws/config', { name: 'hostname', value: 'NAME' })}').`,
      { template: printable(template), destination: printable(dest) },
    );
  }
  return dest;
}

/** The most bytes a file or directory name may have on Linux's file systems (ext4, XFS, Btrfs; NAME_MAX). */
export const MAX_NAME_BYTES = 255;

/**
 * Each directory name of the template expanded but for {TAG}, with the day of the week at its
 * longest (a run may end on another day): the name with {TAG} left in ('laptop-{TAG}'), its bytes
 * (UTF-8) without {TAG}, and how many {TAG} it holds.
 */
function namesBeforeTag(template: string, v: Omit<TemplateValues, 'tag'>): Array<{ name: string; bytes: number; tags: number }> {
  const values: Record<string, string> = { ...templateValues({ ...v, tag: null }), DAY_OF_WEEK: 'Wednesday' };
  return template.split('/').map((part) => {
    const name = part.replace(VAR_RE, (m, n: string) => (n === 'TAG' ? m : (values[n] ?? m)));
    return { name, bytes: Buffer.byteLength(name.replaceAll('{TAG}', ''), 'utf8'), tags: part.split('{TAG}').length - 1 };
  });
}

/**
 * How many bytes (UTF-8) a tag may have: each directory name of the template that holds {TAG}
 * must fit in MAX_NAME_BYTES once expanded. `name`: the tightest such directory name with {TAG}
 * left in; null when the template has no {TAG} (the limit is then a name's own).
 */
export function tagRoom(template: string, v: Omit<TemplateValues, 'tag'>): { limit: number; name: string | null } {
  let room: { limit: number; name: string | null } = { limit: MAX_NAME_BYTES, name: null };
  for (const { name, bytes, tags } of namesBeforeTag(template, v)) {
    if (tags === 0) continue;
    const limit = Math.floor((MAX_NAME_BYTES - bytes) / tags);
    if (room.name === null || limit < room.limit) room = { limit, name };
  }
  return room;
}

/**
 * A directory name of the template that is too long before the tag goes in: the hostname (or user
 * name, or the template itself) leaves no room for a tag (`tagged`), or for the snapshot number an
 * untagged snapshot puts in its place. Null when every name has room.
 */
export function noRoomForTag(template: string, v: Omit<TemplateValues, 'tag'>, tagged: boolean): { name: string; bytes: number; tags: number } | null {
  // The shortest tag is one character; an untagged snapshot's is its number ('001').
  const least = tagged ? 1 : String(v.snapshotNumber).padStart(3, '0').length;
  return namesBeforeTag(template, v).find((p) => p.bytes + p.tags * least > MAX_NAME_BYTES) ?? null;
}

/**
 * Why a relative path made from a template could leave its resource, or null: every component
 * must be an ordinary name (no '..', '.', empty or absolute part, no '\\', no control characters).
 */
export function pathProblem(path: string): string | null {
  if (path.startsWith('/')) return 'must be a relative path';
  // eslint-disable-next-line no-control-regex
  if (/[\\\x00-\x1f\x7f]/.test(path)) return "may not contain '\\' or control characters";
  const parts = path.replace(/\/$/, '').split('/');
  if (parts.some((c) => c === '..')) return "may not contain '..': results must stay inside their resource";
  if (parts.some((c) => c === '.' || c === '')) return "may not contain '.' or empty path components";
  return null;
}

/**
 * Matches directories made from the template (relative to a resource root), so moves skip them,
 * and the `earlier` snapshots' recorded directories: made with another template (changed since,
 * maybe by a collaborator), they would otherwise be moved into the new one (as 1.6 does).
 */
export function templateExcludeRegex(template: string, earlier: string[] = []): RegExp {
  let re = '';
  let last = 0;
  for (const m of template.matchAll(VAR_RE)) {
    re += escapeRegex(template.slice(last, m.index)) + VARIABLES[m[1]!]!;
    last = m.index! + m[0].length;
  }
  re += escapeRegex(template.slice(last));
  return new RegExp(`^(?:${[re, ...earlier.map(escapeRegex)].join('|')})$`);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\\-/]/g, '\\$&');
}
