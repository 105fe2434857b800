/** `dws/store/checkout`: write a stored tree into a new or empty directory (getting back what `restore --force` kept). */
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConflictError } from '../../protocol/errors.js';
import type { ResultOf, storeCheckout as StoreCheckout, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { applyFiles, prepareFiles } from '../store/materialize.js';
import { withStoreLock, workspaceStore } from '../store/workspace-store.js';
import { Workspace } from '../workspace/workspace.js';

export async function storeCheckout(ctx: Context, p: ValidParamsOf<typeof StoreCheckout>): Promise<ResultOf<typeof StoreCheckout>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const dir = resolve(ctx.cwd, p.directory);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new ConflictError(`${dir} is not empty: give a new or empty directory`, { directory: dir });
  return withStoreLock(ws, 'dws store checkout', async () => {
    const store = workspaceStore(ws);
    const prepared = await prepareFiles(ws, store, [{ name: p.tree, root: dir, cacheFile: null, tree: p.tree }], { force: false, what: 'checkout' });
    await applyFiles(ws, store, prepared);
    return { directory: dir, files: prepared[0]!.plan.changes.added.filter((rel) => !rel.endsWith('/')).length }; // empty folders are listed as 'path/'
  });
}
