/**
 * `rclone`: a local copy of an rclone remote (resources.md §5). Snapshots hash the local copy
 * exactly like local-files; pull copies remote -> local when the remote is master, push local ->
 * remote when the local copy is. Every call runs the real binary as
 * `rclone <cmd> --config <path> <args...>`, in the workspace directory.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Context } from '../context.js';
import type { JsonObject, ResourceParams, Workspace } from '../workspace/workspace.js';
import { keepUnsnapshotted } from '../store/materialize.js';
import { pathInsideClone, recordedPath } from './clone-path.js';
import { askLocalPath, LocalFilesResource } from './local-files.js';
import { Rclone, type RcloneSyncMode } from './rclone-binary.js';
import type { ResourceType } from './types.js';

export type RcloneMaster = 'none' | 'remote' | 'local';

/** The settings of an rclone resource that transfers need. */
export interface RcloneSettings {
  name: string;
  remote: string;
  localPath: string;
  master: RcloneMaster;
  syncMode: RcloneSyncMode;
  sizeOnly: boolean;
}

/** The initial-copy decision of add and clone (resources.md §5), with 1.6's messages. */
export async function initialCopy(ctx: Context, rclone: Rclone, s: RcloneSettings): Promise<void> {
  const exists = existsSync(s.localPath);
  if (s.master === 'remote') {
    ctx.log.info(`${s.name}: performing initial ${s.syncMode} from remote`);
    mkdirSync(s.localPath, { recursive: true });
    await rclone.transfer(s.syncMode, s.remote, s.localPath, s.sizeOnly);
  } else if (s.master === 'none' && !exists) {
    ctx.log.info(`${s.name}: performing initial copy from remote`);
    mkdirSync(s.localPath, { recursive: true });
    await rclone.transfer('copy', s.remote, s.localPath, s.sizeOnly);
  } else if (s.master === 'local' && !exists) {
    ctx.log.info(`Creating empty directory at ${s.localPath} for resource ${s.name}`);
    mkdirSync(s.localPath, { recursive: true });
  } else {
    ctx.log.info(`Skipping initial copy of resource ${s.name} to ${s.localPath}: path already exists and remote is local`);
  }
}

export class RcloneResource extends LocalFilesResource {
  private rclone: Rclone | undefined;

  get settings(): RcloneSettings {
    const p = this.params;
    return {
      name: this.name,
      remote: String(p.remote_origin),
      localPath: this.localPath,
      master: (p.master ?? 'none') as RcloneMaster,
      syncMode: (p.sync_mode ?? 'copy') as RcloneSyncMode,
      sizeOnly: p.size_only === true,
    };
  }

  /** rclone must work and know the remote before anything moves (only when there is something to transfer). */
  private async ready(side: RcloneMaster): Promise<void> {
    if (this.settings.master !== side) return;
    const config = typeof this.params.config === 'string' ? this.params.config : null;
    this.rclone = await Rclone.open(this.ws.ctx, this.ws.dir, config);
    await this.rclone.checkRemote(this.settings.remote);
  }

  pullPrecheck(): Promise<void> {
    return this.ready('remote');
  }

  async pull(): Promise<boolean> {
    const s = this.settings;
    if (s.master !== 'remote' || !this.rclone) {
      this.ws.ctx.log.info(`Skipping pull of resource ${s.name}, master is ${s.master}`);
      return false;
    }
    // The remote wins, but local edits that no snapshot holds are not lost without a trace.
    await keepUnsnapshotted(this.ws, { name: s.name, ...this.storeFiles }, `before the ${s.syncMode} from its remote (master remote) may replace them`);
    mkdirSync(s.localPath, { recursive: true });
    await this.rclone.transfer(s.syncMode, s.remote, s.localPath, s.sizeOnly);
    return true;
  }

  pushPrecheck(): Promise<void> {
    return this.ready('local');
  }

  async push(): Promise<void> {
    const s = this.settings;
    if (s.master !== 'local' || !this.rclone) return this.ws.ctx.log.info(`Skipping push of resource ${s.name}, master is ${s.master}`);
    await this.rclone.transfer(s.syncMode, s.localPath, s.remote, s.sizeOnly);
  }
}

export const rcloneType: ResourceType = {
  typeName: 'rclone',
  open: (ws, params, local) => new RcloneResource(ws, params, local),
  /** Like local-files, but a missing copy is made again from the remote (batch: at the recorded place). */
  clone: async (ws: Workspace, params: ResourceParams): Promise<JsonObject> => {
    const recorded = recordedPath(params);
    let local: JsonObject = { local_path: null };
    // Inside the original workspace: the copy is made inside this one, never in the original's folder.
    const inside = pathInsideClone(ws, recorded);
    if (inside !== null) {
      if (inside !== recorded) local = { local_path: inside };
    } else if (!existsSync(recorded) && ws.ctx.prompter) {
      const path = await askLocalPath(ws, `Rclone resource '${params.name}' was located at '${recorded}' on the original system. Where is it located on this system?`, false);
      if (path !== recorded) local = { local_path: path };
    }
    const r = new RcloneResource(ws, params, local);
    const rclone = await Rclone.open(ws.ctx, ws.dir, typeof params.config === 'string' ? params.config : null);
    await rclone.checkRemote(r.settings.remote);
    await initialCopy(ws.ctx, rclone, r.settings);
    return local;
  },
};
