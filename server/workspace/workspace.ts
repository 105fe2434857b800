/**
 * A loaded workspace: the `.dataworkspace/` metadata of a git repository (workspace-format §1-5),
 * discovery from a directory, and the atomic writers for each metadata file.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { NotFoundError } from '../../protocol/errors.js';
import { PIPELINE_FILE } from '../../protocol/step-file.js';
import { ROLES, type Role } from '../../protocol/workspace.js';
import type { Context } from '../context.js';
import { corrupt, readJsonFile, writeJsonFile } from './files.js';
import { Git } from './git.js';
import { printable, resourceNameProblem } from './names.js';

export const META_DIR = '.dataworkspace';

/** dws 1.6 defaults of the global parameters (workspace-format §10). */
export const DEFAULT_DIR_TEMPLATE = 'snapshots/{HOSTNAME}-{TAG}';
export const DEFAULT_MOVE_EXCLUDE_FILES = ['README.txt', 'README.rst', 'README.md'];

export type JsonObject = Record<string, unknown>;

/** One entry of resources.json, as read (key order kept: it is part of the manifest bytes). */
export interface ResourceParams extends JsonObject {
  resource_type: string;
  name: string;
  role: Role;
}

export interface WorkspaceConfig extends JsonObject {
  name: string;
  'dws-version': string;
  global_params: JsonObject;
}

export class Workspace {
  readonly metaDir: string;
  readonly git: Git;
  private branchCache: string | undefined;

  private constructor(
    readonly dir: string,
    readonly ctx: Context,
    public config: WorkspaceConfig,
    public localParams: JsonObject,
    public resources: ResourceParams[],
    public resourceLocalParams: Record<string, JsonObject>,
  ) {
    this.metaDir = join(dir, META_DIR);
    this.git = new Git(dir, ctx);
  }

  /** Load the workspace at `dir` (workspace-format §5 load errors). */
  static load(ctx: Context, dir: string): Workspace {
    const root = resolve(ctx.cwd, dir);
    if (!existsSync(root)) throw new NotFoundError(`Workspace directory ${root} does not exist`, { path: root });
    const meta = join(root, META_DIR);
    if (!existsSync(meta)) {
      throw new NotFoundError(
        `Workspace directory ${root} does not correspond to an initialized git-backend workspace. Run '${ctx.command('dws/init')}' there, or pass ${ctx.option('workspaceDir')}.`,
        { path: root },
      );
    }
    const config = checkConfig(join(meta, 'config.json'), readJsonFile(join(meta, 'config.json')));
    const localParams = checkLocalParams(join(meta, 'local_params.json'), readJsonFile(join(meta, 'local_params.json')));
    const resources = checkResources(join(meta, 'resources.json'), readJsonFile(join(meta, 'resources.json')));
    const resourceLocalParams = checkObject(join(meta, 'resource_local_params.json'), readJsonFile(join(meta, 'resource_local_params.json'))) as Record<string, JsonObject>;
    return new Workspace(root, ctx, config, localParams, resources, resourceLocalParams);
  }

  /** Load the workspace given by `--workspace-dir`, else the one enclosing the cwd. */
  static open(ctx: Context, workspaceDir?: string): Workspace {
    if (workspaceDir !== undefined) return Workspace.load(ctx, workspaceDir);
    const found = findWorkspaceDir(ctx.cwd);
    if (!found) {
      throw new NotFoundError(
        `No workspace found: neither ${ctx.cwd} nor any directory above it has a ${META_DIR} directory. Run '${ctx.command('dws/init')}' to create one, or pass ${ctx.option('workspaceDir')}.`,
        { cwd: ctx.cwd },
      );
    }
    return Workspace.load(ctx, found);
  }

  get name(): string {
    return this.config.name;
  }

  get hostname(): string {
    return this.localParams.hostname as string;
  }

  get globalParams(): JsonObject {
    return this.config.global_params;
  }

  get dirTemplate(): string {
    const t = this.globalParams['results.dir_template'];
    return typeof t === 'string' ? t : DEFAULT_DIR_TEMPLATE;
  }

  get moveExcludeFiles(): string[] {
    const v = this.globalParams['results.move_exclude_files'];
    return Array.isArray(v) ? v.map(String) : DEFAULT_MOVE_EXCLUDE_FILES;
  }

  meta(...parts: string[]): string {
    return join(this.metaDir, ...parts);
  }

  /** The workspace repository's branch: `dws_git_branch`, else (pre-1.5 workspaces) the current one. */
  async branch(): Promise<string> {
    const b = this.globalParams.dws_git_branch;
    if (typeof b === 'string') return b;
    this.branchCache ??= await this.git.currentBranch();
    return this.branchCache;
  }

  /**
   * The paths of the workspace repository that dws commits (relative, `/`-separated): its
   * metadata, the root `.gitignore` and `.gitattributes` it edits, the pipeline file (dws.yaml:
   * each snapshot records the pipeline, and push/pull/clone share it), and the git-subdirectory
   * resources, whose content the workspace repository versions. Everything else in the work
   * tree is the user's: a local-files resource's data above all, which must never reach git.
   */
  ownedPaths(): string[] {
    const subdirs = this.resources.filter((r) => r.resource_type === 'git-subdirectory' && typeof r.relative_path === 'string').map((r) => String(r.relative_path));
    return [META_DIR, '.gitignore', '.gitattributes', PIPELINE_FILE, ...subdirs];
  }

  /** Stage the changes of the owned paths (deleted files too) and commit them; false when there were none. */
  commit(message: string, options: { changed?: boolean } = {}): Promise<boolean> {
    return this.git.commitAll(message, this.ownedPaths(), options);
  }

  /**
   * commit()'s staging alone, for a command that ends with long work outside the owned paths (a
   * restore writing a resource's files): run during that work, it takes git's walk of the owned
   * paths (~0.2 s once `.dataworkspace` holds 80,000 hash-tree files) off the command's end.
   * Resolves to whether anything is staged there, for `git.commit` afterwards.
   */
  async stageOwned(): Promise<boolean> {
    const owned = this.ownedPaths();
    const present = await this.git.stageAll(owned);
    return present.length > 0 && (await this.git.hasStaged(present));
  }

  /**
   * The changes in the workspace repository a push or pull must not go past, by path: any change
   * to a tracked file, or an untracked file among the owned paths. Untracked files elsewhere are
   * not dws's to commit (1.6 committed the whole tree, so it never had any), and git refuses a
   * merge itself if one would be overwritten.
   */
  async uncommittedChanges(): Promise<string[]> {
    const owned = this.ownedPaths();
    const ownedOrAbove = (p: string) => owned.some((o) => p === o || p.startsWith(`${o}/`) || (p.endsWith('/') && o.startsWith(p)));
    return (await this.git.status(undefined, 'normal')).filter((e) => e.index !== '?' || ownedOrAbove(e.path)).map((e) => e.path);
  }

  async hasUncommittedChanges(): Promise<boolean> {
    return (await this.uncommittedChanges()).length > 0;
  }

  resourceParams(name: string): ResourceParams {
    const r = this.resources.find((p) => p.name === name);
    if (!r) throw new NotFoundError(`A resource by the name '${name}' does not exist in this workspace`, { resource: name });
    return r;
  }

  writeResources(): void {
    writeJsonFile(this.meta('resources.json'), this.resources);
  }

  writeResourceLocalParams(): void {
    writeJsonFile(this.meta('resource_local_params.json'), this.resourceLocalParams);
  }

  writeConfig(): void {
    const { name, 'dws-version': v, global_params } = this.config;
    writeJsonFile(this.meta('config.json'), { name, 'dws-version': v, global_params });
  }

  writeLocalParams(): void {
    writeJsonFile(this.meta('local_params.json'), this.localParams);
  }
}

/** Walk up from `start` to the first writable directory with `.dataworkspace/` (never `/` itself). */
export function findWorkspaceDir(start: string): string | null {
  let dir = resolve(start);
  while (dir !== dirname(dir)) {
    const meta = join(dir, META_DIR);
    try {
      if (statSync(meta).isDirectory()) {
        accessSync(dir, constants.W_OK);
        return dir;
      }
    } catch {
      // not here (or not writable): keep walking up
    }
    dir = dirname(dir);
  }
  return null;
}

// The checks of each metadata file's content (workspace-format §5), on a parsed value, so editors
// can check unsaved text with the same rules.
export function checkObject(file: string, v: unknown): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw corrupt(file, 'the top level', 'must be a JSON object');
  return v as JsonObject;
}

export function checkLocalParams(file: string, v: unknown): JsonObject {
  const p = checkObject(file, v);
  if (typeof p.hostname !== 'string') throw corrupt(file, '"hostname"', 'is missing: add this machine\'s name, e.g. {"hostname": "laptop"}', ['hostname']);
  return p;
}

export function checkConfig(file: string, v: unknown): WorkspaceConfig {
  const c = checkObject(file, v);
  if (typeof c.name !== 'string') throw corrupt(file, '"name"', 'must be a string', ['name']);
  if (typeof c['dws-version'] !== 'string') throw corrupt(file, '"dws-version"', 'must be a string', ['dws-version']);
  if (typeof c.global_params !== 'object' || c.global_params === null || Array.isArray(c.global_params)) {
    throw corrupt(file, '"global_params"', 'must be an object', ['global_params']);
  }
  return c as WorkspaceConfig;
}

export function checkResources(file: string, list: unknown): ResourceParams[] {
  if (!Array.isArray(list)) throw corrupt(file, 'the top level', 'must be a JSON list of resources');
  const seen = new Set<string>();
  list.forEach((r: unknown, i) => {
    const where = `resource ${i + 1}`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw corrupt(file, where, 'must be an object', [i]);
    const p = r as JsonObject;
    for (const key of ['resource_type', 'name', 'role']) {
      if (typeof p[key] !== 'string') throw corrupt(file, `${where} ("${printable(String(p.name ?? '?'))}")`, `has no string "${key}"`, key in p ? [i, key] : [i]);
    }
    const nameProblem = resourceNameProblem(p.name as string);
    if (nameProblem !== null) {
      throw corrupt(file, `${where} (name "${printable(p.name as string)}")`, `has an invalid name: ${nameProblem}. Rename it in the file (and its directories under .dataworkspace/)`, [i, 'name']);
    }
    if (!(ROLES as readonly string[]).includes(p.role as string)) {
      throw corrupt(file, `resource "${p.name}"`, `has role '${p.role}'; valid roles are ${ROLES.join(', ')}`, [i, 'role']);
    }
    if (seen.has(p.name as string)) throw corrupt(file, `resource "${p.name}"`, 'appears twice', [i, 'name']);
    seen.add(p.name as string);
  });
  return list as ResourceParams[];
}

/** The effective scratch directory, or null (workspace-format §11). */
export function scratchDirectory(ws: Workspace): string | null {
  const rel = ws.globalParams.scratch_directory;
  if (typeof rel === 'string') {
    // Checked on use as on set: a hand-edited config.json must not send scratch files elsewhere.
    const problem = scratchDirectoryProblem(rel);
    if (problem !== null) throw corrupt(join(ws.metaDir, 'config.json'), `"global_params"."scratch_directory" ('${rel}')`, problem, ['global_params', 'scratch_directory']);
    return resolve(ws.dir, rel);
  }
  const abs = ws.localParams.local_scratch_directory;
  return typeof abs === 'string' ? abs : null;
}

/**
 * Where this clone keeps machine-local caches (the hash stat cache): inside the git directory,
 * so they are never committed, never copied by clone, and need no .gitignore entry. Null when
 * there is no git directory to use (then nothing is cached).
 */
export function localCacheDir(ws: Pick<Workspace, 'dir'>): string | null {
  const dotGit = join(ws.dir, '.git');
  try {
    if (statSync(dotGit).isDirectory()) return join(dotGit, 'dws');
    // A worktree or submodule: `.git` is a file "gitdir: <path>".
    const m = /^gitdir: (.*)$/m.exec(readFileSync(dotGit, 'utf8'));
    if (m) return join(resolve(ws.dir, m[1]!.trim()), 'dws');
  } catch {
    // no usable git directory
  }
  return null;
}

/** Why a workspace-relative `scratch_directory` is not acceptable, or null: it must name a directory inside the workspace, outside its metadata. */
export function scratchDirectoryProblem(rel: string): string | null {
  if (rel === '' || isAbsolute(rel)) return 'must be a relative path inside the workspace';
  const parts = normalize(rel).split(sep);
  if (parts[0] === '..' || parts[0] === '.') return 'must stay inside the workspace (no leading ..)';
  if (parts.some((c) => c === '.git' || c === META_DIR)) return `may not be in ${META_DIR} or .git`;
  return null;
}
