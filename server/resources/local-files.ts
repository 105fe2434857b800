/**
 * `file` (CLI `local-files`): a local directory recorded as a hash tree (resources.md §4,
 * workspace-format §13). Compare hash = root tree hash; restore hash = null (not restorable).
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Undo } from '../workspace/undo.js';
import { dirname, join, resolve } from 'node:path';
import { ConfigurationError } from '../../protocol/errors.js';
import type { Role } from '../../protocol/workspace.js';
import { needPrompter } from '../context.js';
import { localCacheDir, type JsonObject, type ResourceParams, type Workspace } from '../workspace/workspace.js';
import { BlobPackWriter, packDirOf } from '../backends/git/pack.js';
import { cloneInside, pathInsideClone, placeInWorkspace, recordedPath } from './clone-path.js';
import { computeHashTree } from './hashtree/index.js';
import { contentStoreEnabled, workspaceStore } from '../store/workspace-store.js';
import { latestTrees } from '../store/share.js';
import { messageIn } from '../store/advice.js';
import { checkDestinationFree, filesToMove, moveFiles } from './results-move.js';
import type { Resource, ResourceType, SnapshotHashes } from './types.js';

/** The hash-tree directory of a resource, `.dataworkspace/file/<role>/<name>`. */
export function hashTreeDir(ws: Workspace, role: string, name: string): string {
  return ws.meta('file', role, name);
}

export class LocalFilesResource implements Resource {
  readonly name: string;
  readonly role: Role;
  readonly localPath: string;
  readonly computeHash: boolean;
  private rootHash: string | undefined;
  private storeRoot: string | undefined;
  /** The blobs of the tree files written by hash(), packed while hashing goes on (null: no pack here). */
  private pack: BlobPackWriter | null = null;

  constructor(
    readonly ws: Workspace,
    readonly params: ResourceParams,
    local: JsonObject | undefined,
  ) {
    this.name = params.name;
    this.role = params.role;
    this.computeHash = params.compute_hash === true;
    // A machine-local override wins over the path recorded when the resource was added, which
    // follows the workspace when it was moved or copied.
    const override = local?.my_local_path ?? local?.local_path;
    this.localPath = typeof override === 'string' ? override : placeInWorkspace(ws, params);
  }

  get treeDir(): string {
    return hashTreeDir(this.ws, this.role, this.name);
  }

  async snapshotPrecheck(): Promise<void> {
    if (!existsSync(this.localPath)) {
      throw new ConfigurationError(
        `Local path ${this.localPath} of resource '${this.name}' does not exist. If the data moved, set its new place on this machine with: ${this.ws.ctx.command('dws/config', { resource: this.name, name: 'local_path', value: 'NEW_PATH' })}`,
        { resource: this.name, path: this.localPath },
      );
    }
  }

  /** Hash before results move or anything is committed, so an unreadable tree stops the snapshot early. */
  async prepareSnapshot(undo: Undo): Promise<void> {
    if (this.role !== 'results') this.rootHash = await this.hash(undo); // results: hashed after the move
  }

  /**
   * The tree files written by hash() are committed with the snapshot (its `git add --all`, which
   * also takes any left by an interrupted snapshot). Their blobs go into a pack first
   * (backends/git/pack.ts), so git finds them there and writes no loose object for each; git
   * still decides what it stores (filters, file modes), as for any file.
   */
  async snapshot(undo: Undo): Promise<SnapshotHashes> {
    const root = this.rootHash ?? (await this.hash(undo));
    this.pack?.flush();
    return { compareHash: root, restoreHash: null, ...(this.storeRoot !== undefined ? { storeTree: this.storeRoot } : {}) };
  }

  get storeFiles() {
    return { root: this.localPath, cacheFile: this.cacheFile };
  }

  /** The stat cache of this resource (in the git directory, never committed), or null. */
  get cacheFile(): string | null {
    const gitLocal = localCacheDir(this.ws);
    return gitLocal === null ? null : join(gitLocal, 'hashcache', encodeURIComponent(`${this.role}--${this.name}`));
  }

  /**
   * Hash the tree, writing the tree files that are new and packing their blobs as they come. The
   * new files are noted in `undo` as they are written: a hash that fails halfway has written some.
   */
  private async hash(undo: Undo): Promise<string> {
    undo.mkdir(this.treeDir);
    const cacheFile = this.cacheFile;
    if (cacheFile !== null) mkdirSync(dirname(cacheFile), { recursive: true });
    const store = contentStoreEnabled(this.ws.ctx.env) ? workspaceStore(this.ws) : null;
    const packDir = packDirOf(this.ws.dir, this.ws.ctx.env);
    const pack = (this.pack = packDir === null ? null : new BlobPackWriter(packDir));
    const task = this.ws.ctx.progress.begin(`Hashing ${this.name}`);
    try {
      const r = await computeHashTree({
        root: this.localPath,
        computeHash: this.computeHash,
        treeDir: this.treeDir,
        ...(cacheFile !== null ? { cacheFile } : {}),
        ...(store !== null ? { store: store.sink() } : {}),
        deferCacheSave: true,
        onProgress: (done, total) => task.report(done, total),
        onWarning: (m) => this.ws.ctx.log.warn(m),
        onTreeFileWritten: (content, path, created) => {
          if (created) undo.created(path);
          pack?.add(content);
        },
      });
      // Saved when this thread next waits (for git, at the latest the snapshot's commit), not now.
      setImmediate(r.saveCache);
      this.storeRoot = r.storeRoot ?? undefined;
      return r.rootHash;
    } catch (e) {
      const into = store !== null ? ` (storing its files in the content store at ${store.dir})` : '';
      throw new ConfigurationError(`Cannot hash resource '${this.name}' at ${this.localPath}${into}: ${messageIn(this.ws.ctx, e)}`, {
        resource: this.name,
      });
    } finally {
      task.end();
    }
  }

  get results() {
    if (this.role !== 'results') return undefined;
    return {
      moveCurrentFiles: async (relDest: string, excludeFiles: string[], excludeDirs: RegExp, resuming: boolean) => {
        const files = filesToMove(this.localPath, excludeFiles, excludeDirs);
        if (files.length === 0) return 0;
        checkDestinationFree(this.localPath, relDest, this.name, files, resuming);
        moveFiles(this.localPath, relDest, files, this.params.export === true);
        return files.length;
      },
    };
  }
}

export const localFilesType: ResourceType = {
  typeName: 'file',
  open: (ws, params, local) => new LocalFilesResource(ws, params, local),
  clone: async (ws, params) => {
    const recorded = recordedPath(params);
    // Inside the original workspace: inside this one too, never the original's folder.
    const inside = pathInsideClone(ws, recorded);
    if (inside !== null) return cloneInside(ws, params.name, recorded, inside);
    if (existsSync(recorded)) return { local_path: null };
    // Its files are in the content store: the clone writes them there (store/share.ts).
    if (!ws.ctx.prompter && latestTrees(ws).has(params.name)) return { local_path: null };
    if (!ws.ctx.prompter) {
      throw new ConfigurationError(`Local files resource ${params.name} is missing from ${recorded}.`, { resource: params.name, path: recorded });
    }
    return { local_path: await askLocalPath(ws, `Local files resource '${params.name}' was located at '${recorded}' on the original system. Where is it located on this system?`, true) };
  },
};


/** Ask where the data is on this machine (an absolute path); `mustExist` re-asks until it does. */
export async function askLocalPath(ws: Workspace, question: string, mustExist: boolean): Promise<string> {
  const abs = (a: string) => resolve(ws.ctx.cwd, a);
  const answer = await needPrompter(ws.ctx, 'the local path').text(question, {
    validate: (a) => (a === '' ? 'A path is required' : mustExist && !existsSync(abs(a)) ? `${abs(a)} does not exist` : null),
  });
  return abs(answer);
}
