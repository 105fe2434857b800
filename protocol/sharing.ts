/**
 * Sharing a workspace: publish, push, pull and clone (cli.md push/pull/publish/clone), and the
 * resource types whose data lives elsewhere: rclone remotes and API data (resources.md §5-6).
 */
import { z } from 'zod';
import { defineMethod } from './method.js';
import { AddCommon, AddResult } from './workspace.js';

/** `--only`, `--skip`, `--only-workspace`: at most one of them (checked by the handler, with 1.6's message). */
const Selection = z.object({
  workspaceDir: z.string().optional(),
  /** Only these resources (comma list on the CLI), in this order. */
  only: z.array(z.string()).optional(),
  /** Every resource with local state except these. */
  skip: z.array(z.string()).optional(),
  /** The workspace metadata only, no resource. */
  onlyWorkspace: z.boolean().default(false),
});

export const push = defineMethod({
  method: 'dws/push',
  doc: 'CLI `dws push`: push every (selected) resource to its origin, then the workspace repository to its origin.',
  mutates: true,
  params: Selection,
  result: z.object({
    /** Resources pushed, in order (read-only git repositories and rclone resources not mastered locally do nothing). */
    resources: z.array(z.string()),
    /** Resources that have no local state and were skipped. */
    skippedNoLocalState: z.array(z.string()),
  }),
});

export const pull = defineMethod({
  method: 'dws/pull',
  doc: 'CLI `dws pull`: pull the workspace repository from its origin, then every (selected) resource; resources new on the origin are cloned.',
  mutates: true,
  params: Selection,
  result: z.object({
    /** Resources that existed here and were pulled. */
    resources: z.array(z.string()),
    /** Resources that came with the pull and were cloned. */
    cloned: z.array(z.string()),
    skippedNoLocalState: z.array(z.string()),
  }),
});

export const publish = defineMethod({
  method: 'dws/publish',
  doc: 'CLI `dws publish`: set the origin of the workspace repository (it must have none) and push to it.',
  mutates: true,
  params: z.object({
    workspaceDir: z.string().optional(),
    remoteUrl: z.string().min(1),
    skip: z.array(z.string()).optional(),
  }),
  result: z.object({ remoteUrl: z.string(), resources: z.array(z.string()) }),
});

export const clone = defineMethod({
  method: 'dws/clone',
  doc: "CLI `dws clone`: clone a workspace repository and recreate every resource's local state (asking where, unless in batch mode).",
  mutates: true,
  params: z.object({
    /** git URL or path of the workspace repository. */
    repository: z.string().min(1),
    /** Target directory (must not exist); default `<cwd>/<workspace name>`. */
    directory: z.string().optional(),
    /** This machine's name in snapshot paths; default the short hostname. */
    hostname: z.string().optional(),
  }),
  result: z.object({
    workspaceDir: z.string(),
    name: z.string(),
    hostname: z.string(),
    /** Resources whose local state was created, with their local paths. */
    resources: z.array(z.object({ name: z.string(), localPath: z.string().nullable() })),
  }),
});

export const RCLONE_MASTERS = ['none', 'remote', 'local'] as const;
export const RCLONE_SYNC_MODES = ['copy', 'sync'] as const;

export const addRclone = defineMethod({
  method: 'dws/add/rclone',
  doc: 'CLI `dws add rclone`: add a local copy of an rclone remote (copied at add time; pull/push keep it in step with the remote).',
  mutates: true,
  params: AddCommon.extend({
    /** `remotename:path`. */
    remote: z.string(),
    localPath: z.string(),
    /** rclone configuration file; default the one `rclone config file` names. */
    config: z.string().optional(),
    computeHash: z.boolean().default(false),
    /** Which side wins: remote (pull copies remote to local), local (push copies local to remote), or none (copied once). */
    master: z.enum(RCLONE_MASTERS).default('none'),
    /** `copy` never deletes; `sync` deletes what the master side no longer has. */
    syncMode: z.enum(RCLONE_SYNC_MODES).default('copy'),
    /** Compare files by size only (rclone --size-only). */
    sizeOnly: z.boolean().default(false),
  }),
  result: AddResult,
});

export const API_RESOURCE_ROLES = ['source-data', 'intermediate-data'] as const;

export const addApiResource = defineMethod({
  method: 'dws/add/api-resource',
  doc: 'CLI `dws add api-resource`: add data obtained through an API; a kit writes its hash to the resource scratch directory.',
  mutates: true,
  params: AddCommon,
  result: AddResult,
});
