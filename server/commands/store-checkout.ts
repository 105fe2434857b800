/** `dws/store/checkout`: write a stored tree into a new or empty directory (getting back what `restore --force` kept). */
import { readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConflictError } from '../../protocol/errors.js';
import type { ResultOf, storeCheckout as StoreCheckout, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { checkoutTree } from '../store/materialize.js';
import { Workspace } from '../workspace/workspace.js';

export async function storeCheckout(ctx: Context, p: ValidParamsOf<typeof StoreCheckout>): Promise<ResultOf<typeof StoreCheckout>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const dir = resolve(ctx.cwd, p.directory);
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st !== undefined && !st.isDirectory()) throw new ConflictError(`${dir} is a file, not a directory: give a new or empty directory`, { directory: dir });
  if (st !== undefined && readdirSync(dir).length > 0) throw new ConflictError(`${dir} is not empty: give a new or empty directory`, { directory: dir });
  return { directory: dir, files: await checkoutTree(ws, 'dws store checkout', { name: p.tree, root: dir, tree: p.tree }, 'checkout') };
}
