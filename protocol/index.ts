/**
 * THE contract between dws's core and its front ends: every method's name, params and result,
 * and the error codes. Imported by the server, the CLI and every client; imports nothing else of ours.
 */
import * as history from './history.js';
import * as lineage from './lineage.js';
import * as runnerWatch from './runner-watch.js';
import * as runner from './runner.js';
import * as server from './server.js';
import * as sharing from './sharing.js';
import * as store from './store.js';
import * as workspace from './workspace.js';
import type { MethodDef, NotificationDef } from './method.js';
import { workspaceChangedNotification } from './server-events.js';

export * from './errors.js';
export * from './history.js';
export * from './lineage.js';
export * from './method.js';
export * from './runner-watch.js';
export * from './runner.js';
export * from './server.js';
export * from './server-events.js';
export * from './sharing.js';
export * from './step-file.js';
export * from './store.js';
export * from './workspace.js';

/** Every method of the protocol, by name. */
export const METHODS = {
  [server.methods.method]: server.methods,
  [workspace.version.method]: workspace.version,
  [workspace.init.method]: workspace.init,
  [workspace.addGit.method]: workspace.addGit,
  [workspace.addLocalFiles.method]: workspace.addLocalFiles,
  [workspace.snapshot.method]: workspace.snapshot,
  [workspace.status.method]: workspace.status,
  [workspace.reportStatus.method]: workspace.reportStatus,
  [workspace.reportHistory.method]: workspace.reportHistory,
  [workspace.resources.method]: workspace.resources,
  [history.restore.method]: history.restore,
  [history.deleteSnapshot.method]: history.deleteSnapshot,
  [history.diff.method]: history.diff,
  [history.config.method]: history.config,
  [history.reportResults.method]: history.reportResults,
  [history.reportExperiments.method]: history.reportExperiments,
  [history.reportPlots.method]: history.reportPlots,
  [sharing.push.method]: sharing.push,
  [sharing.pull.method]: sharing.pull,
  [sharing.publish.method]: sharing.publish,
  [sharing.clone.method]: sharing.clone,
  [sharing.addRclone.method]: sharing.addRclone,
  [sharing.addApiResource.method]: sharing.addApiResource,
  [lineage.reportLineage.method]: lineage.reportLineage,
  [lineage.lineageUpstream.method]: lineage.lineageUpstream,
  [lineage.lineageDownstream.method]: lineage.lineageDownstream,
  [lineage.lineageShow.method]: lineage.lineageShow,
  [lineage.lineageDiff.method]: lineage.lineageDiff,
  [lineage.lineageGraph.method]: lineage.lineageGraph,
  [lineage.lineageForget.method]: lineage.lineageForget,
  [lineage.lineageExport.method]: lineage.lineageExport,
  [runnerWatch.reproduce.method]: runnerWatch.reproduce,
  [runner.run.method]: runner.run,
  [store.gc.method]: store.gc,
  [store.fsck.method]: store.fsck,
  [store.storeCheckout.method]: store.storeCheckout,
} as const satisfies Record<string, MethodDef>;

export type MethodName = keyof typeof METHODS;

/** Every notification the server sends on its own, by name. */
export const NOTIFICATIONS = {
  [workspaceChangedNotification.method]: workspaceChangedNotification,
  [runner.runProgressNotification.method]: runner.runProgressNotification,
} as const satisfies Record<string, NotificationDef>;
