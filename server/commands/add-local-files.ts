/** `dws/add/local-files`: a local directory recorded by hash trees (cli.md `add`, resources.md §4). */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ConfigurationError, InvalidParamsError } from '../../protocol/errors.js';
import type { addLocalFiles as AddLocalFiles, ValidParamsOf, ResultOf, Role } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { importLineage } from '../../lineage/store.js';
import { hashTreeDir } from '../resources/local-files.js';
import { atomicWriteFile } from '../workspace/files.js';
import { Workspace } from '../workspace/workspace.js';
import { checkNotTracked, checkPathConflicts, chooseName, chooseRole, readExportedLineage, registerResource } from './add-common.js';

export async function addLocalFiles(ctx: Context, p: ValidParamsOf<typeof AddLocalFiles>): Promise<ResultOf<typeof AddLocalFiles>> {
  const localPath = resolve(ctx.cwd, p.path);
  if (!existsSync(localPath) || !statSync(localPath).isDirectory()) {
    throw new InvalidParamsError(`Directory '${p.path}' does not exist`, { path: localPath });
  }
  try {
    accessSync(localPath, constants.R_OK | constants.X_OK);
  } catch {
    throw new ConfigurationError(`${localPath} does not have read permission`, { path: localPath });
  }
  const opts = { role: p.role, name: p.name, export: p.export, imported: p.imported };
  const role = await chooseRole(ctx, opts);
  const ws = Workspace.open(ctx, p.workspaceDir);
  await checkPathConflicts(ws, localPath);
  await checkNotTracked(ws, localPath, 'local-files');
  const name = await chooseName(ctx, ws, p.name, basename(localPath), role);
  const lineages = opts.imported ? readExportedLineage(localPath, name) : null;

  await createHashTreeDir(ws, role, name);
  await registerResource(
    ws,
    {
      resource_type: 'file',
      name,
      role,
      global_local_path: localPath,
      compute_hash: p.computeHash,
      export: opts.export,
      imported: opts.imported,
    },
    { local_path: null },
    localPath,
  );
  if (lineages) importLineage(ws, name, lineages);
  return { name, role, resourceType: 'file', localPath };
}

/** The hash-tree directory, with a placeholder so git keeps it (workspace-format §13); also used by rclone. */
export async function createHashTreeDir(ws: Workspace, role: Role, name: string): Promise<void> {
  const treeDir = hashTreeDir(ws, role, name);
  if (existsSync(treeDir)) return;
  mkdirSync(treeDir, { recursive: true });
  atomicWriteFile(join(treeDir, 'dummy.txt'), 'Placeholder to ensure directory is added to git\n');
  const rel = join('.dataworkspace', 'file', role, name);
  await ws.git.run(['add', '--', rel]);
  await ws.git.run(['commit', '--quiet', '--no-verify', '-m', `Adding resource ${name}`, '--', rel]);
}
