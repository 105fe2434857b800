/**
 * Reproducing a snapshot's steps (issue 6, item 7). `dws watch` has no method: it is a front-end
 * mode that reruns steps through the runner (runner/watch.ts, transport-free, stopped by an
 * AbortSignal); each run it makes is the runner's own operation.
 */
import { z } from 'zod';
import { defineMethod } from './method.js';

export const reproduce = defineMethod({
  method: 'dws/reproduce',
  doc:
    'CLI `dws reproduce`: replay the steps recorded in a snapshot\'s lineage in a scratch copy of the workspace restored to that snapshot, ' +
    'and compare each output\'s own content (its subpath\'s tree) in the replay with that in the snapshot. Changes nothing in the workspace.',
  mutates: false,
  params: z.object({
    /** Workspace root; default: the nearest enclosing directory that has `.dataworkspace/`. */
    workspaceDir: z.string().optional(),
    /** A tag, a full hash or a unique prefix of 6+ lowercase hex digits. */
    snapshot: z.string(),
    /** Keep the scratch copy (its path is in the result) instead of removing it. */
    keep: z.boolean().default(false),
  }),
  result: z.object({
    hash: z.string(),
    tags: z.array(z.string()),
    /** The scratch copy, when kept (else null: it was removed). */
    scratchDir: z.string().nullable(),
    /** The recorded steps, in the order they were replayed (their recorded start times). */
    steps: z.array(
      z.object({
        step: z.string(),
        startTime: z.string(),
        /** How it was replayed: its step file through the runner, or its recorded command line. */
        how: z.string(),
        ok: z.boolean(),
        /** Why it failed (null when it succeeded). */
        error: z.string().nullable(),
      }),
    ),
    /** One entry per recorded output. */
    outputs: z.array(
      z.object({
        /** `resource` or `resource:/subpath`. */
        ref: z.string(),
        step: z.string(),
        /**
         * The output's own content in the snapshot (`Hash:<8 hex>`): a subpath output's tree or file
         * there, a whole-resource output's compare hash; the lineage certificate
         * (`Placeholder:version=<v>`, ...) when the snapshot's content is not known here.
         */
        recorded: z.string(),
        /** The same hash of the replayed output (its subpath's tree or file), or null when it could not be computed. */
        recomputed: z.string().nullable(),
        equal: z.boolean(),
      }),
    ),
    /**
     * Things the replay could not restore: local-files and rclone data the content store cannot
     * give as the snapshot had it is copied as it is now, and named here when its hash differs
     * from what the steps recorded reading.
     */
    notes: z.array(z.string()),
    /** Every output equal (and every step replayed). */
    allEqual: z.boolean(),
  }),
});
