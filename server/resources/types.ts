/**
 * The contract between the workspace and its resource types (STYLE.md 5): a small required core
 * (snapshot) and optional capabilities. Each type lives in its own module behind the registry.
 */
import type { Role } from '../../protocol/workspace.js';
import type { JsonObject, ResourceParams, Workspace } from '../workspace/workspace.js';

export interface SnapshotHashes {
  /** Identity of the state, written into the manifest (`hash`). */
  compareHash: string | null;
  /** What restore needs (a commit), or null when the state cannot be restored. */
  restoreHash: string | null;
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
  /** Work that can fail, done before results move or anything is committed (hashing). */
  prepareSnapshot?(): Promise<void>;
  snapshot(): Promise<SnapshotHashes>;
  /** Capability of resources with local files: results handling at snapshot time. */
  readonly results?: ResultsCapability;
}

export interface ResultsCapability {
  /**
   * Move (or, for exported resources, copy) the current results files into `relDest`,
   * skipping `excludeFiles` and directories matching `excludeDirs` (resources.md §1.4).
   * Returns the number of files moved.
   */
  moveCurrentFiles(relDest: string, excludeFiles: string[], excludeDirs: RegExp): Promise<number>;
}

export interface ResourceType {
  /** The `resource_type` value in resources.json. */
  readonly typeName: string;
  open(ws: Workspace, params: ResourceParams, localParams: JsonObject | undefined): Resource;
}
