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
    /**
     * With `force`: per local-files/rclone resource whose unsnapshotted files were replaced, the
     * store tree that keeps them (`dws store checkout TREE DIR` gets them back) and how many.
     */
    kept: z.array(z.object({ resource: z.string(), tree: z.string(), files: z.number().int() })),
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

/** A param or metric that differs between two snapshots; a missing side is absent. */
export const ValueChange = z.object({
  name: z.string(),
  from: z.unknown().optional(),
  to: z.unknown().optional(),
  /** `to - from` when both are numbers, else null. */
  delta: z.number().nullable(),
});
export type ValueChange = z.infer<typeof ValueChange>;

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
    /** Params (`<step>.<param>`, as in `report experiments`) that differ, sorted by name. */
    params: z.array(ValueChange),
    /** Metrics that differ, sorted by name. */
    metrics: z.array(ValueChange),
  }),
});

/** One experiment: a snapshot, the params of the steps in its lineage, and its metrics. */
export const Experiment = z.object({
  hash: z.string(),
  tags: z.array(z.string()),
  timestamp: z.string(),
  message: z.string(),
  /**
   * `<step>.<param>` → value (nested objects flattened with `.`), from the step records in the
   * snapshot's lineage; a step recorded more than once counts with its latest run.
   */
  params: z.record(z.string(), z.unknown()),
  /** The snapshot's metrics (metadata `metrics`), `{}` when it has none. */
  metrics: z.record(z.string(), z.unknown()),
});
export type Experiment = z.infer<typeof Experiment>;

const ExperimentColumn = z.object({ kind: z.enum(['param', 'metric']), name: z.string() });

export const reportExperiments = defineMethod({
  method: 'dws/report/experiments',
  doc: 'CLI `dws report experiments`: one row per snapshot with every param of its steps and every metric, to compare experiments side by side.',
  mutates: false,
  params: WorkspaceParams.extend({
    /** Keep the columns whose value is the same in every snapshot (default: only columns that change). */
    all: z.boolean().default(false),
    /** Sort by this column: a param (`train.alpha`) or metric name, or `param:NAME` / `metric:NAME`. Missing values last. */
    sort: z.string().optional(),
    /** Sort descending (default ascending; without `sort`: newest first, and `desc` has no effect). */
    desc: z.boolean().default(false),
  }),
  result: z.object({
    /** The columns to show, params first (sorted), then metrics (in order of first appearance, oldest first). */
    columns: z.array(ExperimentColumn),
    /** Columns left out because every snapshot has the same value (empty with `all`, or with fewer than two snapshots). */
    unchanged: z.array(ExperimentColumn),
    /** Every snapshot, with all its params and metrics (not only the shown columns). */
    experiments: z.array(Experiment),
  }),
});

/** A snapshot on the plots' x axis. */
export const PlotSnapshot = z.object({
  hash: z.string(),
  tags: z.array(z.string()),
  timestamp: z.string(),
  message: z.string(),
  /** How the x axis names it: its tags, else the first 7 digits of its hash. */
  label: z.string(),
  /** Every param of its steps (`<step>.<param>`, as in `report experiments`). */
  params: z.record(z.string(), z.unknown()),
});
export type PlotSnapshot = z.infer<typeof PlotSnapshot>;

export const reportPlots = defineMethod({
  method: 'dws/report/plots',
  doc:
    'CLI `dws report plots`, the VS Code "Show Metrics Plots" webview: every metric across snapshots, oldest first, one chart per numeric metric; ' +
    'the data, and a self-contained HTML page written to `output` and/or returned when `html` is set.',
  mutates: false,
  params: WorkspaceParams.extend({
    /** Write the page to this file (relative paths: from the current directory). */
    output: z.string().min(1).optional(),
    /** Return the page in the reply (for a webview). */
    html: z.boolean().default(false),
  }),
  result: z.object({
    /** Every snapshot, oldest first (the x axis). */
    snapshots: z.array(PlotSnapshot),
    /** Params whose value differs between snapshots (every param with fewer than two snapshots): what hovering a point shows. */
    changingParams: z.array(z.string()),
    /** One chart per metric that has a number in some snapshot, in order of first appearance; one value per snapshot, null where it has none. */
    charts: z.array(z.object({ metric: z.string(), values: z.array(z.number().nullable()) })),
    /**
     * Metrics with values that are not numbers (text, booleans, lists, NaN…), or with no value at all: listed on the
     * page, not plotted. One value per snapshot, null where it has none.
     */
    notPlotted: z.array(z.object({ metric: z.string(), values: z.array(z.unknown()) })),
    /** Absolute path of the page written, or null without `output`. */
    file: z.string().nullable(),
    /** The page, with `html`. */
    html: z.string().optional(),
  }),
});
export type ReportPlots = z.output<typeof reportPlots.result>;

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
