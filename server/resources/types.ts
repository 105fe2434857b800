/**
 * The contract between the workspace and its resource types (STYLE.md 5): a small required core
 * (snapshot) and optional capabilities. Each type lives in its own module behind the registry.
 */
import type { Role } from '../../protocol/workspace.js';
import type { JsonObject, ResourceParams, Workspace } from '../workspace/workspace.js';
import type { Undo } from '../workspace/undo.js';

export interface SnapshotHashes {
  /** Identity of the state, written into the manifest (`hash`). */
  compareHash: string | null;
  /** What restore needs (a commit), or null when the state cannot be restored. */
  restoreHash: string | null;
  /** Resources whose files go to the content store: the store tree of this state (store/trees.ts). */
  storeTree?: string;
}

export interface Resource {
  readonly ws: Workspace;
  /** The resources.json entry as loaded: the manifest is built from exactly this object. */
  readonly params: ResourceParams;
  readonly name: string;
  readonly role: Role;
  /** Local directory of the resource, or null when it has none. */
  readonly localPath: string | null;
  /** Checks that must pass before a snapshot changes anything. */
  snapshotPrecheck(): Promise<void>;
  /**
   * Work that can fail, done before results move or anything is committed (hashing). Files it
   * writes into the workspace are noted in `undo` first, so that a failed snapshot removes them.
   */
  prepareSnapshot?(undo: Undo): Promise<void>;
  /** Record the state; notes what it writes into the workspace in `undo`, as prepareSnapshot. */
  snapshot(undo: Undo): Promise<SnapshotHashes>;
  /** Capability of resources with local files: results handling at snapshot time. */
  readonly results?: ResultsCapability;
  /**
   * Restore (resources.md §1.5), for resources whose snapshots have a restore hash. The restore
   * command runs every resource's precheck before any restore, so a failing check changes nothing.
   * Absent = not restorable (the snapshot's restore hash is null).
   */
  restorePrecheck?(restoreHash: string, options: { force: boolean }): Promise<void>;
  /** Make the resource's content equal its state at `restoreHash`; returns true if anything changed. */
  restore?(restoreHash: string, options: { force: boolean }): Promise<boolean>;
  /**
   * Resources whose files go to the content store (local-files, rclone): restore from a store
   * tree instead of a restore hash (store/restore-files.ts).
   */
  readonly storeFiles?: StoreFilesCapability;
  /** Remove the snapshot's results directory `relDest` if present; returns its absolute path when removed. */
  deleteSnapshotDir?(relDest: string): Promise<string | null>;
  /** Sharing (cli.md push/pull). Absent = nothing to do: the workspace push/pull carries the data, or there is no remote. */
  pushPrecheck?(): Promise<void>;
  push?(): Promise<void>;
  pullPrecheck?(): Promise<void>;
  /**
   * Returns true when it brought the resource's files from their own master (an rclone remote):
   * the pull then leaves them as they came instead of making them their latest snapshot's.
   */
  pull?(): Promise<boolean>;
}

export interface StoreFilesCapability {
  /** The directory whose files the store trees describe. */
  readonly root: string;
  /** The stat cache file of the resource (shared with snapshots), or null. */
  readonly cacheFile: string | null;
}

export interface ResultsCapability {
  /**
   * Move (or, for exported resources, copy) the current results files into `relDest`,
   * skipping `excludeFiles` and directories matching `excludeDirs` (resources.md §1.4).
   * Returns the number of files moved. `resuming`: `relDest` may exist, holding the results of
   * a snapshot killed after its move, which this snapshot finishes (commands/snapshot.ts).
   */
  moveCurrentFiles(relDest: string, excludeFiles: string[], excludeDirs: RegExp, resuming: boolean): Promise<number>;
}

export interface ResourceType {
  /** The `resource_type` value in resources.json. */
  readonly typeName: string;
  open(ws: Workspace, params: ResourceParams, localParams: JsonObject | undefined): Resource;
  /**
   * Create the resource's local state on this machine (clone, or a pull that brought the
   * resource) and return its resource_local_params.json entry. Absent = no local state: never
   * cloned, skipped by push and pull.
   */
  clone?(ws: Workspace, params: ResourceParams): Promise<JsonObject>;
}
