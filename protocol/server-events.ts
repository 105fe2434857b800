/** Notifications the server sends on its own (not answers to a request). */
import { z } from 'zod';
import { defineNotification } from './method.js';

export const WorkspaceChangedParams = z.object({
  /** The workspace whose files changed. */
  workspaceDir: z.string(),
  /** Resources whose files changed (all of them when the resource list itself changed). */
  resources: z.array(z.string()),
});
export type WorkspaceChangedParams = z.infer<typeof WorkspaceChangedParams>;

export const workspaceChangedNotification = defineNotification({
  method: 'dws/workspaceChanged',
  params: WorkspaceChangedParams,
  doc: 'Server to every client: files of a workspace it follows changed (seen by its file watcher), so trees, statuses and diagnostics shown from earlier answers may be out of date.',
});
export const workspaceChanged = workspaceChangedNotification.type;
