/**
 * Methods on the workspace itself: version, init, add (one per resource type), snapshot, status,
 * reports. Params are the CLI options in camelCase; results are what `--json` prints.
 */
import { z } from 'zod';
import { defineMethod } from './method.js';

export const ROLES = ['source-data', 'intermediate-data', 'code', 'results'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** Every method that works on an existing workspace takes this: default is discovery from the cwd. */
const WorkspaceParams = z.object({
  /** Workspace root; default: the nearest enclosing directory that has `.dataworkspace/`. */
  workspaceDir: z.string().optional(),
});

/** A JSON value as read from a Python-written file (integral floats keep their float-ness). */
const JsonValue = z.unknown();

export const SnapshotInfo = z.object({
  hash: z.string(),
  tags: z.array(z.string()),
  message: z.string(),
  hostname: z.string(),
  timestamp: z.string(),
  relativeDestinationPath: z.string(),
  restoreHashes: z.record(z.string(), z.string().nullable()),
  metrics: z.record(z.string(), JsonValue).nullable(),
  updatedTimestamp: z.string().optional(),
});
export type SnapshotInfo = z.infer<typeof SnapshotInfo>;

export const ResourceInfo = z.object({
  name: z.string(),
  role: Role,
  resourceType: z.string(),
  /** Local directory of the resource, null for resources without one (api-resource, s3). */
  localPath: z.string().nullable(),
  /** The resource's parameters as stored in resources.json (without type, name and role). */
  params: z.record(z.string(), JsonValue),
});
export type ResourceInfo = z.infer<typeof ResourceInfo>;

export const version = defineMethod({
  method: 'dws/version',
  doc: 'Any client: the dws version, the dws 1.6 format it reads and writes, and the API version.',
  mutates: false,
  params: z.object({}),
  result: z.object({ version: z.string(), formatVersion: z.string(), apiVersion: z.string() }),
});

export const init = defineMethod({
  method: 'dws/init',
  doc: 'CLI `dws init`: make the directory a workspace (git init if needed) and optionally create one git-subdirectory resource per role.',
  mutates: true,
  params: z.object({
    /** The directory to initialize; default the current directory. */
    directory: z.string().optional(),
    /** Workspace name; default the directory's basename. */
    name: z.string().optional(),
    /** This machine's name in snapshot paths; default the short hostname. */
    hostname: z.string().optional(),
    createResources: z.array(Role).default([]),
    /** Default `<workspace>/scratch`. */
    scratchDirectory: z.string().optional(),
    /** Patterns to track with git-lfs. */
    gitLfsAttributes: z.array(z.string()).optional(),
  }),
  result: z.object({
    workspaceDir: z.string(),
    name: z.string(),
    hostname: z.string(),
    alreadyGitRepo: z.boolean(),
    createdResources: z.array(z.object({ name: z.string(), relativePath: z.string(), createdDirectory: z.boolean() })),
  }),
});

export const AddCommon = WorkspaceParams.extend({
  /** Role of the new resource; asked for when missing (error in batch mode), source-data when imported. */
  role: Role.optional(),
  /** Resource name; default a suggestion from the path. */
  name: z.string().optional(),
  /** Export the resource's lineage for other workspaces (not for source-data or code). */
  export: z.boolean().default(false),
  /** The resource was exported by another workspace: import its lineage (source-data only). */
  imported: z.boolean().default(false),
});

export const AddResult = z.object({
  name: z.string(),
  role: Role,
  resourceType: z.string(),
  localPath: z.string().nullable(),
});
export type AddResult = z.infer<typeof AddResult>;

export const addGit = defineMethod({
  method: 'dws/add/git',
  doc: 'CLI `dws add git`: add a separate local git repository, or a directory of the workspace repository (a git-subdirectory resource).',
  mutates: true,
  params: AddCommon.extend({
    path: z.string(),
    /** Branch to use; default the repository's current branch. */
    branch: z.string().optional(),
    readOnly: z.boolean().default(false),
  }),
  result: AddResult,
});

export const addLocalFiles = defineMethod({
  method: 'dws/add/local-files',
  doc: 'CLI `dws add local-files`: add a local directory whose state is recorded as a hash tree.',
  mutates: true,
  params: AddCommon.extend({
    path: z.string(),
    /** Hash file contents (SHA-1); default: record sizes only. */
    computeHash: z.boolean().default(false),
  }),
  result: AddResult,
});

export const snapshot = defineMethod({
  method: 'dws/snapshot',
  doc: 'CLI `dws snapshot`, the runner after a successful run, editors: record the state of every resource under one hash.',
  mutates: true,
  params: WorkspaceParams.extend({
    message: z.string().default(''),
    tag: z.string().optional(),
    /** A state equal to an existing snapshot keeps that snapshot's message, without asking whether to replace it (the runner: its message is made up, and a run asks nothing). */
    keepExistingMessage: z.boolean().default(false),
    /**
     * Hashes of the snapshots the caller agreed to take `tag` from (the runner asks before its
     * steps run): the tag moves from them without a question. Any other snapshot carrying the tag
     * is asked about, or in batch mode refused.
     */
    moveTagFrom: z.array(z.string()).default([]),
  }),
  result: z.object({
    hash: z.string(),
    tag: z.string().nullable(),
    /** True when the state equals an existing snapshot whose metadata was updated. */
    updatedExisting: z.boolean(),
    relativeDestinationPath: z.string(),
    resources: z.array(z.object({ name: z.string(), compareHash: z.string().nullable(), restoreHash: z.string().nullable() })),
    metrics: z.record(z.string(), JsonValue).nullable(),
  }),
});

const ReportStatusResult = z.object({
  workspaceName: z.string(),
  workspaceDir: z.string(),
  resources: z.array(ResourceInfo),
  /** Roles that have no resource. */
  missingRoles: z.array(Role),
});

export type ReportStatus = z.infer<typeof ReportStatusResult>;

export const reportStatus = defineMethod({
  method: 'dws/report/status',
  doc: 'CLI `dws report status`: the workspace name and its resources with their parameters.',
  mutates: false,
  params: WorkspaceParams,
  result: ReportStatusResult,
});

export const reportHistory = defineMethod({
  method: 'dws/report/history',
  doc: 'CLI `dws report history`: snapshots, newest first, with tags, messages and metrics.',
  mutates: false,
  params: WorkspaceParams.extend({ limit: z.number().int().positive().optional() }),
  result: z.object({
    /** Newest first. */
    snapshots: z.array(SnapshotInfo),
    /** Number of snapshots in the workspace (may exceed `snapshots.length` with a limit). */
    total: z.number().int(),
  }),
});

export const status = defineMethod({
  method: 'dws/status',
  doc: 'CLI `dws status`: the resources of the workspace and, with `history`, its snapshots.',
  mutates: false,
  params: WorkspaceParams.extend({
    history: z.boolean().default(false),
    limit: z.number().int().positive().optional(),
    /** Compare local-files and rclone resources with the snapshot each is at (a walk with the stat cache); false skips it. */
    changes: z.boolean().default(true),
  }),
  result: ReportStatusResult.extend({
    history: z.object({ snapshots: z.array(SnapshotInfo), total: z.number().int() }).optional(),
    /** Per local-files/rclone resource: files added, modified and deleted since the snapshot it is at. */
    changes: z
      .array(
        z.object({
          resource: z.string(),
          /** The snapshot compared with: the one its files were last made on this machine (snapshot, restore, clone, pull), else the newest that recorded them; null when none did. */
          snapshot: z.string().nullable(),
          /** false: nothing to compare with here (no snapshot, or its trees are not in the local store). */
          known: z.boolean(),
          /** The resource's folder does not exist (every file of the snapshot counts as deleted). */
          folderMissing: z.boolean().optional(),
          /** Why its files could not be scanned (known is false): a folder that is a file, one that cannot be read... */
          problem: z.string().optional(),
          added: z.array(z.string()),
          modified: z.array(z.string()),
          deleted: z.array(z.string()),
        }),
      )
      .optional(),
    /**
     * Recorded steps that are stale — by the runner's fingerprints for steps `dws run` ran (what
     * `dws run` would rerun), by certificates for the others — and what they wrote; removed steps.
     */
    stale: z.object({
      steps: z.array(
        z.object({
          step: z.string(),
          startTime: z.string(),
          /** Why, in the runner's words (`dws run --dry-run` gives the same), e.g. `input source-data:/a.txt changed`. */
          reason: z.string(),
          changed: z.array(z.object({ ref: z.string(), kind: z.enum(['input', 'code']), recorded: z.string(), current: z.string() })),
          upstream: z.array(z.string()),
          outputs: z.array(z.string()),
        }),
      ),
      outputs: z.array(z.string()),
      /** Steps whose step file is gone (forget one with `dws/lineage/forget`). */
      removed: z.array(z.object({ step: z.string(), file: z.string().nullable() })),
    }),
  }),
});

export const resources = defineMethod({
  method: 'dws/resources',
  doc: 'Scripts and editors: the resources of the workspace in order, with their local paths.',
  mutates: false,
  params: WorkspaceParams,
  result: z.array(ResourceInfo),
});
