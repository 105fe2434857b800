/**
 * Methods on the content store (file contents of local-files and rclone resources, keyed by
 * SHA-1): garbage collection, verification, and getting a stored tree back into a directory.
 */
import { z } from 'zod';
import { defineMethod } from './method.js';

const WorkspaceParams = z.object({
  /** Workspace root; default: the nearest enclosing directory that has `.dataworkspace/`. */
  workspaceDir: z.string().optional(),
});

/**
 * A store tree id (40 hex digits), as a restore with `force` reports it; a bad one is named in the
 * message, which every client gets (a schema has no context to word it for one): it names the
 * method and the CLI's command.
 */
export const StoreTreeId = z.string().regex(/^[0-9a-f]{40}$/, {
  error: (issue) => `'${String(issue.input)}' is not a store tree id: give its 40 lowercase hex digits, as dws/restore with force (the CLI's 'dws restore --force') reported them`,
});

const Counts = z.object({ objects: z.number().int(), bytes: z.number() });

export const gc = defineMethod({
  method: 'dws/gc',
  doc: 'CLI `dws gc`: remove store objects that no snapshot (of any workspace sharing the store), saved tree or current file reaches.',
  mutates: true,
  params: WorkspaceParams.extend({
    /** Only report what would be removed. */
    dryRun: z.boolean().default(false),
    /** Also remove unreachable objects from the store remote (whole packs and large objects). */
    remote: z.boolean().default(false),
    /** Workspaces sharing the store that were deleted for good: their registrations go, and with them what only their snapshots reached. */
    forgetWorkspaces: z.array(z.string()).default([]),
  }),
  result: z.object({
    dryRun: z.boolean(),
    kept: Counts,
    removed: Counts,
    /** Packs rewritten because part of them was unreachable. */
    packsRewritten: z.number().int(),
    /** With `remote`: what was removed there (null without). */
    remoteRemoved: Counts.nullable(),
  }),
});

export const fsck = defineMethod({
  method: 'dws/fsck',
  doc: "CLI `dws fsck`: check that every object in the store hashes to its id, and that every snapshot's objects are here or on the store remote (looked at with `remote`; without it, objects missing here are a problem only when there is no store remote); with `repair`, replace corrupt objects with the store remote's intact copies.",
  mutates: false,
  params: WorkspaceParams.extend({
    /** Look on the store remote for objects missing here. */
    remote: z.boolean().default(false),
    /** Replace corrupt objects with the store remote's copies, each checked against its id (needs a store remote). */
    repair: z.boolean().default(false),
  }),
  result: z.object({
    objects: z.number().int(),
    bytes: z.number(),
    /** Objects whose bytes do not hash to their id, with where they are (after `repair`: those it could not replace). */
    corrupt: z.array(z.object({ id: z.string(), where: z.string() })),
    /** With `repair`: the corrupt objects replaced with the store remote's copies. */
    repaired: z.array(z.string()),
    /** Objects some snapshot needs that are not in the local store. */
    missingLocally: z.number().int(),
    /** Of those, the ones the store remote lacks too (null: the remote was not asked). */
    missingEverywhere: z.number().int().nullable(),
    /** The workspace's store remote, which a restore fetches missing objects from (null: none, and objects missing here are lost). */
    storeRemote: z.string().nullable(),
    /** Snapshots (hash) with objects missing here and, when asked (or when there is no store remote), there. */
    incompleteSnapshots: z.array(z.string()),
    /** With `remote`: store files (`packs/...`, `objects/...`) the remote holds with another size than here, as a push cut short leaves them; the next push sends them again. */
    wrongSizeOnRemote: z.array(z.string()),
    ok: z.boolean(),
  }),
});

export const storeCheckout = defineMethod({
  method: 'dws/store/checkout',
  doc: 'CLI `dws store checkout`: write a stored tree (e.g. one kept by `restore --force`) into a new or empty directory.',
  mutates: false,
  params: WorkspaceParams.extend({
    tree: StoreTreeId,
    /** Target directory: must not exist or be empty. */
    directory: z.string().min(1),
  }),
  result: z.object({ directory: z.string(), files: z.number().int() }),
});
