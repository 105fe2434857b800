/** `dws/add/rclone`: a local copy of an rclone remote (cli.md `add`, resources.md §5). */
import { accessSync, constants, existsSync, rmSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ConfigurationError, InvalidParamsError } from '../../protocol/errors.js';
import type { addRclone as AddRclone, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { importLineage } from '../../lineage/store.js';
import { initialCopy } from '../resources/rclone.js';
import { Rclone } from '../resources/rclone-binary.js';
import { Workspace } from '../workspace/workspace.js';
import { checkNotTracked, checkPathConflicts, chooseName, chooseRole, readExportedLineage, registerResource } from './add-common.js';
import { createHashTreeDir } from './add-local-files.js';

export async function addRclone(ctx: Context, p: ValidParamsOf<typeof AddRclone>): Promise<ResultOf<typeof AddRclone>> {
  if (!p.remote.includes(':')) throw new InvalidParamsError('Source in rclone should be specified as remotename:filepath', { remote: p.remote });
  const opts = { role: p.role, name: p.name, export: p.export, imported: p.imported };
  const role = await chooseRole(ctx, opts);
  const ws = Workspace.open(ctx, p.workspaceDir);
  const localPath = resolve(ctx.cwd, p.localPath);
  const existed = existsSync(localPath);
  if (existed) {
    try {
      accessSync(localPath, constants.W_OK);
    } catch {
      throw new ConfigurationError(`${localPath} does not have write permission`, { path: localPath });
    }
  }
  await checkPathConflicts(ws, localPath);
  await checkNotTracked(ws, localPath, 'rclone');
  const config = p.config === undefined ? null : resolve(ctx.cwd, p.config);
  const rclone = await Rclone.open(ctx, ws.dir, config);
  await rclone.checkRemote(p.remote);
  const name = await chooseName(ctx, ws, p.name, basename(localPath), role);

  let lineages: unknown[] | null = null;
  try {
    await initialCopy(ctx, rclone, { name, remote: p.remote, localPath, master: p.master, syncMode: p.syncMode, sizeOnly: p.sizeOnly });
    if (opts.imported) lineages = readExportedLineage(localPath, name);
  } catch (e) {
    if (!existed) rmSync(localPath, { recursive: true, force: true });
    throw e;
  }
  await createHashTreeDir(ws, role, name);
  await registerResource(
    ws,
    {
      resource_type: 'rclone',
      name,
      role,
      global_local_path: localPath,
      compute_hash: p.computeHash,
      export: opts.export,
      imported: opts.imported,
      remote_origin: p.remote,
      config,
      master: p.master,
      sync_mode: p.syncMode,
      size_only: p.sizeOnly,
    },
    { local_path: null },
    localPath,
  );
  if (lineages) importLineage(ws, name, lineages);
  return { name, role, resourceType: 'rclone', localPath };
}
