/**
 * Methods on the workspace's history and settings: restore, delete-snapshot, diff, config and
 * report results. Params are the CLI options in camelCase; results are what `--json` prints.
 */
import { z } from 'zod';
import { defineMethod } from './method.js';

const WorkspaceParams = z.object({
  /** Workspace root; default: the nearest enclosing directory that has `.dataworkspace/`. */
  workspaceDir: z.string().optional(),
});

export const restore = defineMethod({
  method: 'dws/restore',
  doc: 'CLI `dws restore`, API `restore`: bring resources back to their state at a snapshot (results are never restored).',
  mutates: true,
  params: WorkspaceParams.extend({
    /** A tag, a full hash or a unique prefix of 6+ lowercase hex digits. */
    tagOrHash: z.string(),
    /** Restore only these resources (implies strict). */
    only: z.array(z.string()).optional(),
    /** Restore everything but these resources. */
    leave: z.array(z.string()).optional(),
    /** Fail instead of skipping results resources and resources not restorable from the snapshot. */
    strict: z.boolean().default(false),
    /**
     * Commit uncommitted changes of separate git repositories before restoring them, and keep
     * unsnapshotted files of local-files/rclone resources in the content store before replacing
     * them (else both are refused).
     */
    force: z.boolean().default(false),
  }),
  result: z.object({
    hash: z.string(),
    tags: z.array(z.string()),
    /** Restored resources, in workspace order (empty: nothing to restore). */
    restored: z.array(z.string()),
    /** Current resources left as they are, sorted. */
    left: z.array(z.string()),
    /** Results resources that were asked for but skipped. */
    skippedResults: z.array(z.string()),
    /** Resources without a restore hash in the snapshot (added since, or not restorable), skipped. */
    notInSnapshot: z.array(z.string()),
    /** Resources whose files actually changed (a new commit was made). */
    changed: z.array(z.string()),
  }),
});

export const deleteSnapshot = defineMethod({
  method: 'dws/delete-snapshot',
  doc: 'CLI `dws delete-snapshot`: remove a snapshot\'s manifest, metadata and lineage, and (unless told not to) its results directories.',
  mutates: true,
  params: WorkspaceParams.extend({
    tagOrHash: z.string(),
    /** Keep the results subdirectories of the snapshot (default: remove them from git-based results resources). */
    noIncludeResources: z.boolean().default(false),
  }),
  result: z.object({
    hash: z.string(),
    /** "<hash[0:7]> (Tagged as: <tags>)", as dws 1.6 names it. */
    name: z.string(),
    /** Absolute paths of the results directories removed. */
    deletedDirectories: z.array(z.string()),
    /** Results resources whose snapshot directory cannot be deleted (no restore hash). */
    noRestoreHash: z.array(z.string()),
  }),
});

const FileChange = z.object({
  /** A = added, D = deleted, M = modified (git's letters). */
  status: z.enum(['A', 'D', 'M']),
  /** Path relative to the resource root. */
  path: z.string(),
});

const SnapshotRef = z.object({ hash: z.string(), tags: z.array(z.string()) });

export const diff = defineMethod({
  method: 'dws/diff',
  doc: 'CLI `dws diff`: which resources differ between two snapshots and, where the stored state allows, which files.',
  mutates: false,
  params: WorkspaceParams.extend({ snapshot1: z.string(), snapshot2: z.string() }),
  result: z.object({
    from: SnapshotRef,
    to: SnapshotRef,
    /** Sorted resource names. */
    same: z.array(z.string()),
    different: z.array(z.string()),
    added: z.array(z.string()),
    removed: z.array(z.string()),
    /** Per different resource: the files added, deleted, modified, or null when they cannot be listed. */
    files: z.record(z.string(), z.object({ changes: z.array(FileChange).nullable(), reason: z.string().optional() })),
  }),
});

export const ConfigParam = z.object({
  name: z.string(),
  scope: z.enum(['global', 'local']),
  value: z.unknown(),
  isDefault: z.boolean(),
  description: z.string(),
  /** A parameter of this dws that Python dws 1.6 does not have (it keeps but never reads it). */
  dwsOnly: z.boolean(),
});
export type ConfigParam = z.infer<typeof ConfigParam>;

export const config = defineMethod({
  method: 'dws/config',
  doc: 'CLI `dws config`: list, read or set a workspace parameter, or a resource\'s parameter with `resource`.',
  mutates: true,
  params: WorkspaceParams.extend({
    resource: z.string().optional(),
    /** Absent: list all parameters. */
    name: z.string().optional(),
    /** Present: set the parameter (parsed and validated as its type requires). */
    value: z.string().optional(),
  }),
  result: z.object({
    resource: z.string().nullable(),
    /** All parameters (list), the one read, or the one after setting it. */
    params: z.array(ConfigParam),
    /** Set only: the parsed value that was written. */
    set: z.object({ name: z.string(), scope: z.enum(['global', 'local']), value: z.unknown() }).optional(),
  }),
});

export const reportResults = defineMethod({
  method: 'dws/report/results',
  doc: 'CLI `dws report results`, API `getResults`: find and read a results.json, current or of a snapshot.',
  mutates: false,
  params: WorkspaceParams.extend({ snapshot: z.string().optional(), resource: z.string().optional() }),
  result: z.object({
    resource: z.string(),
    /** Path of the file inside the resource. */
    subpath: z.string(),
    /** True when no current results.json was found and the newest snapshot's was used. */
    fromLatestSnapshot: z.boolean(),
    results: z.record(z.string(), z.unknown()),
  }),
});
