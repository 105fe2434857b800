/**
 * `dws/config`: list, read or set workspace parameters (workspace-format §10) and resource
 * parameters (cli.md `config`). Every value set is parsed and validated by its parameter's type;
 * 1.6 stored resource parameters unvalidated and could not read or set a local-files resource's
 * `local_path` (its definition is named `my_local_path`): both fixed here.
 */
import { existsSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { checkPathConflicts } from './add-common.js';
import { ConfigurationError, NotFoundError } from '../../protocol/errors.js';
import type { config as Config, ConfigParam, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { EXECUTORS } from '../../runner/executor.js';
import { openResource } from '../resources/registry.js';
import { parsePyJson } from '../workspace/pyjson.js';
import { hostnameLengthProblem, isValidHostname, NAME_RULE, printable, shortHostname } from '../workspace/names.js';
import { validateTemplate } from '../workspace/results-template.js';
import { remoteLocation } from '../store/remote.js';
import { copyStoreAdvice, holdsObjects, STORE_DIR_PARAM, STORE_REMOTE_PARAM, storeDirOf, storeDirProblem, storeRemoteProblem } from '../store/workspace-store.js';
import { DEFAULT_DIR_TEMPLATE, DEFAULT_MOVE_EXCLUDE_FILES, scratchDirectoryProblem, Workspace, type JsonObject, type ResourceParams } from '../workspace/workspace.js';

type Scope = 'global' | 'local';
type Kind = 'string' | 'bool' | 'list';

interface ParamDef {
  name: string;
  scope: Scope;
  default: unknown;
  description: string;
  kind: Kind;
  /** The value as it is stored, from the one given (before validate). */
  normalize?: (v: unknown, ws: Workspace) => unknown;
  /** Why the value is wrong, or null. */
  validate?: (v: unknown, ws: Workspace) => string | null;
  /** Names a place of the resource's files: it may not overlap another resource's (as `dws add` checks). */
  place?: true;
  /** Set: the parameter cannot be changed with dws config, and why. */
  readOnly?: string;
  /** The key in resource_local_params.json when it differs from the name. */
  key?: string;
  /** Other names accepted on the command line. */
  aliases?: string[];
  /** Not a parameter of Python dws 1.6 (listed after 1.6's table). */
  dwsOnly?: boolean;
}

const relativePath = (v: unknown) => (typeof v === 'string' && v !== '' && !isAbsolute(v) ? null : 'must be a relative path');
const absoluteDir = (v: unknown) =>
  typeof v !== 'string' || !isAbsolute(v) ? 'must be an absolute path' : !existsSync(v) || !statSync(v).isDirectory() ? `directory ${v} does not exist` : null;
const nonEmpty = (v: unknown) => (typeof v === 'string' && v !== '' ? null : 'must not be empty');

const WORKSPACE_PARAMS: ParamDef[] = [
  {
    name: 'results.dir_template',
    scope: 'global',
    default: DEFAULT_DIR_TEMPLATE,
    kind: 'string',
    description: 'Template describing where results files will be moved during snapshot',
    validate: (v) => {
      try {
        validateTemplate(String(v));
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
  },
  {
    name: 'results.move_exclude_files',
    scope: 'global',
    default: DEFAULT_MOVE_EXCLUDE_FILES,
    kind: 'list',
    description: 'List of files to exclude when moving results to a subdirectory during snapshot.',
    validate: (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? null : 'must be a JSON list of file names, e.g. ["README.md"]'),
  },
  {
    name: 'scratch_directory',
    scope: 'global',
    default: null,
    kind: 'string',
    description: 'Directory where scratch files are stored (checkpoints, temporary data, etc.). If this is set, it is relative to the workspace directory.',
    validate: (v) => (typeof v === 'string' ? scratchDirectoryProblem(v) : 'must be a relative path inside the workspace'),
  },
  {
    name: 'dws_git_branch',
    scope: 'global',
    default: null,
    kind: 'string',
    description: 'Name of git branch for the main dws repository. This is set when the dws workspace is initialized to the current branch.',
    validate: nonEmpty,
  },
  {
    name: 'hostname',
    scope: 'local',
    default: shortHostname(osHostname()),
    kind: 'string',
    description: 'Hostname to identify this machine in snapshots.',
    validate: (v) => (isValidHostname(String(v)) ? hostnameLengthProblem(String(v)) : NAME_RULE),
  },
  {
    name: 'local_scratch_directory',
    scope: 'local',
    default: null,
    kind: 'string',
    description:
      'Directory where scratch files are stored (checkpoints, temporary data, etc.). If this is set, it is absolute and only specific to the local machine.',
    validate: (v) => (typeof v === 'string' && isAbsolute(v) ? null : 'must be an absolute path'),
  },
  // dws only (1.6 keeps unknown parameters as they are and never reads them): the content store.
  {
    name: STORE_DIR_PARAM,
    scope: 'local',
    dwsOnly: true,
    default: null,
    kind: 'string',
    description: "Directory of this machine's content store (file contents of local-files and rclone resources); several workspaces may share one. Default: the git directory's dws/store.",
    validate: (v, ws) => storeDirProblem(ws, v),
  },
  {
    name: STORE_REMOTE_PARAM,
    scope: 'global',
    dwsOnly: true,
    default: null,
    kind: 'string',
    description: "Where push sends and clone, pull and restore fetch the content store's objects: an rclone remote (name:path) or a directory.",
    // A directory is kept absolute: config.json is shared, and a clone elsewhere would read a relative one from its own place.
    normalize: (v, ws) => (typeof v === 'string' && v !== '' ? remoteLocation(ws, v) : v),
    validate: (v, ws) => storeRemoteProblem(ws, v),
  },
  // Local, not committed: whether steps go to a cluster depends on the machine a clone is on
  // (a laptop clone of a workspace run on the cluster has no sbatch).
  {
    name: 'runner.executor',
    scope: 'local',
    dwsOnly: true,
    default: 'local',
    kind: 'string',
    description: 'Where dws run runs steps by default: local (threads and processes on this machine) or slurm (each step an sbatch job; docs/slurm.md). dws run --executor overrides it.',
    validate: (v) => (typeof v === 'string' && (EXECUTORS as readonly string[]).includes(v) ? null : `must be one of ${EXECUTORS.join(', ')}`),
  },
];

const COMMON: ParamDef[] = [
  { name: 'resource_type', scope: 'global', default: null, kind: 'string', description: 'Type of this resource (e.g. git, local_files, api, etc.)', readOnly: 'it is fixed when the resource is added' },
  { name: 'name', scope: 'global', default: null, kind: 'string', description: 'Name of the resource', readOnly: 'snapshots, lineage and hash trees refer to it' },
  { name: 'role', scope: 'global', default: null, kind: 'string', description: 'Resource role (source-data, intermediate-data, code, results)', readOnly: 'snapshots and hash trees refer to it' },
];
const EXPORT: ParamDef = { name: 'export', scope: 'global', default: false, kind: 'bool', description: 'True if metadata for export should be added each snapshot' };
const IMPORTED: ParamDef = { name: 'imported', scope: 'global', default: false, kind: 'bool', description: 'If True, then this resource has lineage imported from another workspace' };

/** Per resource type, in 1.6's definition order (globals first, then locals, as listed). */
const RESOURCE_PARAMS: Record<string, ParamDef[]> = {
  'git-subdirectory': [
    ...COMMON,
    EXPORT,
    { name: 'relative_path', scope: 'global', default: null, kind: 'string', description: "Path of resource's directory relative to the workspace root", readOnly: 'moving a resource directory is not supported' },
    {
      name: 'local_path',
      scope: 'local',
      default: null,
      kind: 'string',
      description: 'Always points to the root of this resource (not necessarily the root of the repo)',
      readOnly: 'it is always the workspace directory joined with relative_path',
    },
  ],
  git: [
    ...COMMON,
    EXPORT,
    { name: 'remote_origin_url', scope: 'global', default: null, kind: 'string', description: 'URL of the remote git repo', validate: nonEmpty },
    { name: 'relative_local_path', scope: 'global', default: null, kind: 'string', description: 'Local path of repo relative to the workspace', validate: relativePath, place: true },
    { name: 'branch', scope: 'global', default: null, kind: 'string', description: 'Git branch to use', validate: nonEmpty },
    { name: 'read_only', scope: 'global', default: false, kind: 'bool', description: 'If True, than no pushes are done for this repo' },
    IMPORTED,
    {
      name: 'local_path',
      place: true,
      scope: 'local',
      default: null,
      kind: 'string',
      description: 'Always points to the root of this resource (not necessarily the root of the repo)',
      validate: (v) => (typeof v === 'string' && isAbsolute(v) ? absoluteDir(v) : relativePath(v)),
    },
  ],
  file: [
    ...COMMON,
    {
      name: 'global_local_path',
      place: true,
      scope: 'global',
      default: null,
      kind: 'string',
      description: 'Location of files on local filesystem, as defined when the resource is created. May be overridden locally via my_local_path.',
      validate: absoluteDir,
    },
    { name: 'compute_hash', scope: 'global', default: false, kind: 'bool', description: 'If True, then compute the full hash of all files rather than using sizes.' },
    EXPORT,
    IMPORTED,
    {
      name: 'my_local_path',
      place: true,
      scope: 'local',
      default: null,
      kind: 'string',
      description: 'Override of global_local_path, just for this instance of the workspace.',
      validate: absoluteDir,
      key: 'local_path',
      aliases: ['local_path'],
    },
  ],
};

export async function config(ctx: Context, p: ValidParamsOf<typeof Config>): Promise<ResultOf<typeof Config>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const target = p.resource === undefined ? null : ws.resources.find((r) => r.name === p.resource);
  if (target === undefined) {
    throw new NotFoundError(`No resource in this workspace with name '${printable(p.resource!)}'. Resources are: ${ws.resources.map((r) => r.name).join(', ')}`, {
      resource: printable(p.resource!),
    });
  }
  const defs = target === null ? WORKSPACE_PARAMS : resourceDefs(target);
  const current = (d: ParamDef) => (target === null ? workspaceValue(ws, d) : resourceValue(ws, target, d));
  const show = async (d: ParamDef): Promise<ConfigParam> => {
    const { value, stored } = await current(d);
    return { name: d.name, scope: d.scope, value, isDefault: !stored || same(value, d.default), description: d.description, dwsOnly: d.dwsOnly === true };
  };
  const resource = target?.name ?? null;
  if (p.name === undefined) return { resource, params: await Promise.all(defs.map(show)) };

  const def = defs.find((d) => d.name === p.name || d.aliases?.includes(p.name!));
  if (!def) {
    const names = defs.map((d) => d.name).join(', ');
    throw new ConfigurationError(
      target === null ? `No workspace parameter named '${printable(p.name)}'. Parameters are: ${names}` : `Resource ${target.name} has no parameter named '${printable(p.name)}'. Parameters are: ${names}`,
      { parameter: printable(p.name) },
    );
  }
  if (p.value === undefined) return { resource, params: [await show(def)] };

  const what = target === null ? 'workspace' : `resource '${target.name}'`;
  if (def.readOnly) throw new ConfigurationError(`Parameter '${p.name}' of ${what} cannot be changed with dws config: ${def.readOnly}`, { parameter: p.name });
  // An empty value takes a dws setting that has no default (store.dir, store.remote) away again.
  const unset = p.value === '' && def.dwsOnly === true && def.default === null;
  const parsed = unset ? null : parseValue(def, p.name, p.value);
  const value = unset || !def.normalize ? parsed : def.normalize(parsed, ws);
  const problem = unset ? null : (def.validate?.(value, ws) ?? null);
  if (problem !== null) {
    throw new ConfigurationError(`Error in validation of configuration parameter '${p.name}': ${problem}`, { parameter: p.name, value: p.value });
  }
  if (target !== null && def.place && typeof value === 'string') await checkPathConflicts(ws, resolve(ws.dir, value), target.name);
  if (target === null) {
    if (def.scope === 'global') {
      const before = ws.config.global_params[def.name];
      if (unset) delete ws.config.global_params[def.name];
      else ws.config.global_params[def.name] = value;
      ws.writeConfig();
      await ws.git.commitAll(`Update of workspace parameter ${def.name}`, '.dataworkspace/config.json', { only: true });
      if (def.name === STORE_REMOTE_PARAM && typeof before === 'string' && before !== '' && before !== value && !unset) {
        // Push sends only what this store holds: objects of snapshots never downloaded here stay on the old remote alone.
        ctx.log.warn(
          `The store remote ${before} keeps the objects pushed there so far, which '${ctx.command('dws/push')}' sends again only from a store that holds them: so that clones can restore the snapshots taken so far, copy them over: rclone copy ${before} ${String(value)}`,
        );
      }
    } else {
      const storeBefore = def.name === STORE_DIR_PARAM ? storeDirOrNull(ws) : null;
      if (unset) delete ws.localParams[def.name];
      else ws.localParams[def.name] = value;
      ws.writeLocalParams();
      const storeNow = storeBefore === null ? null : storeDirOrNull(ws);
      if (storeBefore !== null && storeNow !== null && storeNow !== storeBefore && holdsObjects(storeBefore)) {
        // Nothing is moved (it may be a copy across disks): the objects stay where they are, and restores of the snapshots taken so far need them.
        ctx.log.warn(
          `The content store at ${storeBefore} holds the file contents of the snapshots taken so far; dws now uses ${storeNow}. To restore those snapshots, copy them over: ${copyStoreAdvice(storeBefore, storeNow)}`,
        );
      }
    }
  } else if (def.scope === 'global') {
    target[def.name] = value;
    ws.writeResources();
    await ws.git.commitAll(`Update of resource '${target.name}' parameter ${def.name}`, '.dataworkspace/resources.json', { only: true });
  } else {
    ws.resourceLocalParams[target.name] = { ...ws.resourceLocalParams[target.name], [def.key ?? def.name]: value };
    ws.writeResourceLocalParams();
  }
  return { resource, params: [await show(def)], set: { name: p.name, scope: def.scope, value } };
}

/** The workspace's content store directory, or null where it has none (a store.dir set by hand to something wrong, no git directory). */
function storeDirOrNull(ws: Workspace): string | null {
  try {
    return storeDirOf(ws);
  } catch {
    return null;
  }
}

/** Definitions for a resource; a type without its own lists its stored parameters (read-only). */
function resourceDefs(r: ResourceParams): ParamDef[] {
  const known = RESOURCE_PARAMS[r.resource_type];
  if (known) return known;
  const rest = Object.keys(r).filter((k) => !COMMON.some((c) => c.name === k));
  return [
    ...COMMON,
    ...rest.map((name): ParamDef => ({ name, scope: 'global', default: null, kind: 'string', description: '', readOnly: `dws config does not set parameters of ${r.resource_type} resources` })),
  ];
}

async function workspaceValue(ws: Workspace, d: ParamDef): Promise<{ value: unknown; stored: boolean }> {
  const src = d.scope === 'global' ? ws.globalParams : ws.localParams;
  const stored = Object.hasOwn(src, d.name);
  return { value: stored ? src[d.name] : d.default, stored };
}

async function resourceValue(ws: Workspace, r: ResourceParams, d: ParamDef): Promise<{ value: unknown; stored: boolean }> {
  if (d.scope === 'global') {
    const stored = Object.hasOwn(r, d.name);
    return { value: stored ? r[d.name] : d.default, stored };
  }
  // git-subdirectory: the path the loaded resource really uses (1.6 regenerates it too).
  if (r.resource_type === 'git-subdirectory') return { value: (await openResource(ws, r)).localPath, stored: true };
  const local: JsonObject = ws.resourceLocalParams[r.name] ?? {};
  const key = [d.name, d.key].find((k) => k !== undefined && Object.hasOwn(local, k));
  return key === undefined ? { value: d.default, stored: false } : { value: local[key], stored: true };
}

function parseValue(def: ParamDef, given: string, raw: string): unknown {
  const bad = () => new ConfigurationError(`Unable to parse parameter ${given} value '${raw}'`, { parameter: given, value: raw });
  if (def.kind === 'bool') {
    if (/^true$/i.test(raw)) return true;
    if (/^false$/i.test(raw)) return false;
    throw bad();
  }
  if (def.kind === 'list') {
    try {
      return parsePyJson(raw);
    } catch {
      throw bad();
    }
  }
  return raw;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
