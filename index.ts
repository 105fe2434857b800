// Kept in dist/types/index.d.ts (preserve): the public types use Node's (Buffer, NodeJS.*), and a
// step file that imports 'dataworkspaces' then gets Node's types too, found next to this package.
/// <reference types="node" preserve="true" />
/**
 * The integration API (the TypeScript counterpart of dws 1.6's `dataworkspaces.api`, spec/api.md):
 * the same operations as the CLI, in-process, typed from protocol/. Every function takes an
 * optional workspace directory; without it the workspace enclosing the current directory is used.
 * Like 1.6's API, nothing here asks questions (batch mode).
 */
import { METHODS, type MethodName, type ParamsOf, type ResourceInfo, type ResultOf, type SnapshotInfo } from './protocol/index.js';
import { callMethod } from './server/commands/index.js';
import { createContext, type Context } from './server/context.js';
import { findWorkspaceDir } from './server/workspace/workspace.js';
import { API_VERSION } from './server/commands/version.js';
import { DwsError, InvalidParamsError, NotFoundError } from './protocol/errors.js';
import { toPlainJson } from './server/workspace/pyjson.js';

export * from './protocol/index.js';
/** Recording lineage from a TypeScript step (lineage.md §8; docs/api.md "Recording lineage"). */
export { LineageStep, recordStep, type StepOptions } from './lineage/step.js';
export { LineageConflictError, LineageConsistencyError, LineageNotFoundError, LineagePlaceHolderError } from './lineage/model.js';
/** Pipeline steps for `dws run` (docs/runner.md): `import { defineStep, z } from 'dataworkspaces'` (or, lighter, from 'dataworkspaces/step'). */
export * from './step.js';

export interface ApiOptions {
  /** Workspace root, or any directory inside it; default the current directory. */
  workspaceDir?: string;
  /** Where log lines go; default nowhere. */
  log?: Context['log'];
}

function ctxFor(o: ApiOptions): Context {
  return createContext({ ...(o.log ? { log: o.log } : {}) });
}

/**
 * Call any protocol method in-process (what every function below does). Numbers in results are
 * plain JavaScript numbers (Python's `4.0` arrives as 4).
 */
export async function call<M extends MethodName>(method: M, params: ParamsOf<(typeof METHODS)[M]>, options: ApiOptions = {}): Promise<ResultOf<(typeof METHODS)[M]>> {
  return toPlainJson(await callMethod(ctxFor(options), method, params)) as ResultOf<(typeof METHODS)[M]>;
}

export function getVersion(): string {
  return __DWS_VERSION__;
}

export function getApiVersion(): string {
  return API_VERSION;
}

/** The root of the workspace that encloses `dir` (default: the current directory). */
export function findWorkspace(dir: string = process.cwd()): string {
  const found = findWorkspaceDir(dir);
  if (!found) throw new NotFoundError(`Did not find a data workspace enclosing the directory ${dir}`, { path: dir });
  return found;
}

function wsParams(o: ApiOptions): { workspaceDir?: string } {
  return o.workspaceDir === undefined ? {} : { workspaceDir: findWorkspace(o.workspaceDir) };
}

/** Resources in resources.json order, with their local paths. */
export async function getResourceInfo(options: ApiOptions = {}): Promise<ResourceInfo[]> {
  return call('dws/resources', wsParams(options), options);
}

/** Local path of a resource, or null when it has none. */
export async function getLocalPathForResource(name: string, options: ApiOptions = {}): Promise<string | null> {
  const r = (await getResourceInfo(options)).find((x) => x.name === name);
  if (!r) throw new NotFoundError(`A resource by the name '${name}' does not exist in this workspace`, { resource: name });
  return r.localPath;
}

/** Take a snapshot; returns its full hash. */
export async function takeSnapshot(options: ApiOptions & { tag?: string; message?: string } = {}): Promise<string> {
  const r = await call('dws/snapshot', { ...wsParams(options), tag: options.tag, message: options.message ?? '' }, options);
  return r.hash;
}

export interface HistoryEntry extends SnapshotInfo {
  /** 1 for the oldest snapshot; numbers follow the order shown. */
  snapshotNumber: number;
}

/**
 * Snapshot history, oldest first numbered 1, 2, ...; with `reverse`, newest first numbered
 * N, N-1, ... (api.md `get_snapshot_history`); `maxCount` truncates after ordering.
 */
export async function getSnapshotHistory(options: ApiOptions & { reverse?: boolean; maxCount?: number } = {}): Promise<HistoryEntry[]> {
  const { snapshots, total } = await call('dws/report/history', wsParams(options), options);
  const newestFirst = snapshots.map((s, i) => ({ ...s, snapshotNumber: total - i }));
  const ordered = options.reverse ? newestFirst : newestFirst.reverse();
  return ordered.slice(0, options.maxCount ?? ordered.length);
}

/**
 * Restore resources to a snapshot (api.md `restore`): not strict unless `only` is given; returns
 * the number of restored resources. Results resources are never restored.
 */
export async function restore(tagOrHash: string, options: ApiOptions & { only?: string[]; leave?: string[] } = {}): Promise<number> {
  if (options.only && options.leave) throw new InvalidParamsError('Cannot specify both only and leave for restore command.');
  const r = await call('dws/restore', { ...wsParams(options), tagOrHash, only: options.only, leave: options.leave }, options);
  return r.restored.length;
}

/**
 * A results.json and where it was found ("<resource>:/<subpath>"), or null when there is none
 * (api.md `get_results`; the search rules of `dws report results`).
 */
export async function getResults(
  options: ApiOptions & { tagOrHash?: string; resourceName?: string } = {},
): Promise<{ results: Record<string, unknown>; location: string } | null> {
  try {
    const r = await call('dws/report/results', { ...wsParams(options), snapshot: options.tagOrHash, resource: options.resourceName }, options);
    return { results: r.results, location: `${r.resource}:/${r.subpath}` };
  } catch (e) {
    if (e instanceof DwsError && e.data.reason === 'no-results-file') return null;
    throw e;
  }
}

export { METHODS };
