/**
 * What every `dws/add/*` handler shares (resources.md §1.1): option rules, choosing the role and
 * the name, path conflicts with other resources, and registering the new resource.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { ConfigurationError, ConflictError, InvalidParamsError } from '../../protocol/errors.js';
import type { Role } from '../../protocol/workspace.js';
import { needPrompter, type Context } from '../context.js';
import { ensureGitignoreEntry } from '../backends/git/gitignore.js';
import { openResource } from '../resources/registry.js';
import { MAX_RESOURCE_NAME_BYTES, parseRole, printable, resourceNameProblem } from '../workspace/names.js';
import { isWithin, relativePosix } from '../workspace/paths.js';
import { localCacheDir, META_DIR, type JsonObject, type ResourceParams, type Workspace } from '../workspace/workspace.js';
import { corrupt, readJsonFile } from '../workspace/files.js';

export interface AddOptions {
  role?: Role | undefined;
  name?: string | undefined;
  export: boolean;
  imported: boolean;
}

/** The option rules of cli.md `add`, in 1.6's order; returns the role (asking for it if needed). */
export async function chooseRole(ctx: Context, o: AddOptions, allowed?: readonly Role[]): Promise<Role> {
  if (o.export && (o.role === 'source-data' || o.role === 'code')) throw new InvalidParamsError('Cannot export a source data or code resource');
  if (o.export && o.imported) throw new InvalidParamsError(`Cannot specify both ${ctx.option('export')} and ${ctx.option('imported')}`);
  if (o.imported && o.role !== undefined && o.role !== 'source-data') throw new InvalidParamsError(`${ctx.option('imported')} only for source-data roles`);
  if (o.role !== undefined) {
    if (allowed && !allowed.includes(o.role)) throw new InvalidParamsError(`Invalid resource role. Must be one of: ${allowed.join(', ')}`, { role: o.role });
    return o.role;
  }
  if (o.imported) return 'source-data';
  const answer = await needPrompter(ctx, ctx.option('role')).text(
    'Please enter a role for this resource, one of [s]ource-data, [i]ntermediate-data, [c]ode, or [r]esults',
    { validate: (a) => (parseRole(a) ? null : 'Invalid resource role. Must be one of: source-data, intermediate-data, code, results') },
  );
  const role = parseRole(answer)!;
  if (o.export && (role === 'source-data' || role === 'code')) throw new InvalidParamsError('Cannot export a source data or code resource');
  return role;
}

/** `--name` if free; else the suggestion (batch) or the person's choice. */
export async function chooseName(ctx: Context, ws: Workspace, given: string | undefined, base: string, role: Role): Promise<string> {
  const taken = (n: string) => ws.resources.some((r) => r.name === n);
  if (given !== undefined) {
    checkResourceName(given, ctx.option('name'));
    if (taken(given)) throw new ConflictError(`Resource name '${given}' already in use`, { name: given });
    return given;
  }
  let suggestion = taken(base) ? `${base}-${role}` : base;
  for (let i = 2; taken(suggestion); i++) suggestion = `${base}-${role}-${i}`;
  if (!ctx.prompter) {
    // The directory's own name may not make a valid resource name (a newline, 300 characters...).
    checkResourceName(suggestion, `the directory name (give ${ctx.option('name')})`);
    return suggestion;
  }
  const answer = await ctx.prompter.text('Please enter a short, unique name for this resource', {
    default: resourceNameProblem(suggestion) === null ? suggestion : undefined,
    validate: (a) => (taken(a) ? `Resource name '${a}' already in use.` : a.trim() === '' ? 'A name is required' : nameError(a)),
  });
  checkResourceName(answer, 'the name entered');
  return answer;
}

const nameError = (name: string) => {
  const problem = resourceNameProblem(name);
  return problem === null ? null : `Resource name '${printable(name)}' is not valid: ${problem}`;
};

/** Refuse a name that breaks the resource name rule (names.ts), saying where it came from. */
export function checkResourceName(name: string, from: string): void {
  const problem = nameError(name);
  if (problem !== null) throw new InvalidParamsError(`${problem} (from ${from}). ${NAME_RULE_TEXT}`, { name: printable(name) });
}

const NAME_RULE_TEXT = `A resource name is one path component: not '.' or '..', no '/' or '\\', no control characters, at most ${MAX_RESOURCE_NAME_BYTES} bytes.`;

/**
 * Refuse the workspace root, any directory containing it, git's and dws's own metadata
 * (`.git`, `.dataworkspace`: a resource there would be git-ignored or moved, issue 13 item 1),
 * and any path that contains, or lies in, another resource's (`except`: the resource whose path
 * it is to become, `dws config`). Runs before anything is written.
 */
export async function checkPathConflicts(ws: Workspace, path: string, except?: string): Promise<void> {
  const real = realOrResolved(path);
  const root = realOrResolved(ws.dir);
  if (real === root) {
    throw new ConfigurationError('Cannot use the entire workspace as a resource local path', { path });
  }
  if (isWithin(root, real)) {
    throw new InvalidParamsError(`Cannot use ${path} as a resource local path: it contains the workspace ${ws.dir}`, { path });
  }
  const metadata = real.split(sep).find((c) => c === '.git' || c === META_DIR);
  const gitDir = localCacheDir(ws) === null ? null : dirname(localCacheDir(ws)!); // a worktree's git directory may live elsewhere
  if (metadata !== undefined || (gitDir !== null && isWithin(real, realOrResolved(gitDir)))) {
    const what = metadata === META_DIR ? "dws's metadata directory" : "git's own directory";
    throw new InvalidParamsError(`Cannot use ${path} as a resource local path: it is ${what} (${metadata ?? gitDir}) or inside it. Choose a directory of your data.`, { path });
  }
  for (const params of ws.resources) {
    if (params.name === except) continue;
    let other: string | null;
    try {
      other = (await openResource(ws, params)).localPath;
    } catch {
      continue; // a resource we cannot open here (e.g. not cloned) has no local path to clash with
    }
    if (other === null) continue;
    const otherReal = realOrResolved(other);
    if (isWithin(real, otherReal) || isWithin(otherReal, real)) {
      throw new ConflictError(`Proposed path ${path} for a new resource conflicts with local path ${other} of resource ${params.name}`, {
        path,
        resource: params.name,
      });
    }
  }
}

/**
 * A local-files or rclone resource's data stays out of git (it is git-ignored once added), so a
 * folder of the workspace that git already tracks cannot be one: its files would go on being
 * committed with every dws commit's metadata. Say how to untrack it, keeping the files.
 */
export async function checkNotTracked(ws: Workspace, path: string, kind: string): Promise<void> {
  const real = realOrResolved(path);
  const root = realOrResolved(ws.dir);
  if (!isWithin(real, root)) return;
  const rel = relativePosix(root, real);
  const tracked = (await ws.git.run(['ls-files', '-z', '--', `${rel}/`])).split('\0').filter(Boolean);
  if (tracked.length === 0) return;
  const example = tracked.slice(0, 3).join(', ') + (tracked.length > 3 ? ', ...' : '');
  throw new ConflictError(
    `Directory ${rel} is tracked by the workspace's git repository (${tracked.length} file${tracked.length === 1 ? '' : 's'}: ${example}), but the data of a ${kind} resource is kept out of git. ` +
      `Stop tracking it first (the files stay on disk): git rm -r --cached ${shellWord(rel)} && git commit -m 'Stop tracking ${rel.replaceAll("'", '')}', then add it again.`,
    { path, tracked: tracked.length },
  );
}

function shellWord(s: string): string {
  return /^[\w./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

export function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * The `.gitignore` entries that keep a resource's folder out of git: `/<path>/` for a folder in
 * the workspace; for a link in the workspace to a folder (a big disk's, typically), `/<path>`,
 * as an entry with a trailing `/` matches only a directory and git would list the link as new;
 * and the folder it leads to when that is in the workspace too.
 */
function ignoreEntriesFor(wsDir: string, path: string): string[] {
  const entries: string[] = [];
  const abs = resolve(path);
  if (isWithin(abs, wsDir) && lstatSync(abs, { throwIfNoEntry: false })?.isSymbolicLink()) entries.push(`/${relativePosix(wsDir, abs)}`);
  const [realWs, real] = [realOrResolved(wsDir), realOrResolved(path)];
  if (isWithin(real, realWs)) entries.push(`/${relativePosix(realWs, real)}/`);
  return entries;
}

/**
 * Append the resource to resources.json and its local params, add the `.gitignore` entry for a
 * local path inside the workspace (not for git-subdirectory), and commit "add of <name>".
 */
export async function registerResource(
  ws: Workspace,
  params: ResourceParams,
  localParams: JsonObject,
  ignoredPath: string | null,
): Promise<void> {
  ws.resources.push(params);
  ws.resourceLocalParams[params.name] = localParams;
  ws.writeResources();
  ws.writeResourceLocalParams();
  if (ignoredPath !== null) for (const entry of ignoreEntriesFor(ws.dir, ignoredPath)) ensureGitignoreEntry(join(ws.dir, '.gitignore'), entry);
  await ws.commit(`add of ${params.name}`);
}

/** `--imported`: the exported lineage file of the other workspace, checked (resources.md §1.6). */
export function readExportedLineage(localPath: string, name: string): unknown[] {
  const file = join(localPath, 'lineage.json');
  const data = readJsonFile(file, () => new ConfigurationError(`--imported was specified, but missing exported lineage file ${file}`, { path: file }));
  const o = data as JsonObject;
  if (typeof o !== 'object' || o === null || !Array.isArray(o.lineages)) throw corrupt(file, '"lineages"', 'must be a list');
  if (o.resource_name !== name) {
    throw new ConfigurationError(`Resource name in imported lineage '${String(o.resource_name)}' does not match '${name}'`, { path: file });
  }
  return o.lineages;
}
