/**
 * THE contract between dws's core and its front ends: every method's name, params and result,
 * and the error codes. Imported by the server, the CLI and every client; imports nothing else of ours.
 */
import * as server from './server.js';
import * as workspace from './workspace.js';
import type { MethodDef } from './method.js';

export * from './errors.js';
export * from './method.js';
export * from './server.js';
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
} as const satisfies Record<string, MethodDef>;

export type MethodName = keyof typeof METHODS;
