/** `dws/store/checkout`: write a stored tree into a new or empty directory (getting back what `restore --force` kept). */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
  try {
    return { directory: dir, files: await checkoutTree(ws, 'dws store checkout', { name: p.tree, root: dir, tree: p.tree }, 'checkout') };
  } catch (e) {
    // Interrupted (Ctrl-C, SIGTERM, a cancelled request): the directory goes back to how it was, new or empty.
    if (ctx.signal?.aborted) {
      if (st === undefined) rmSync(dir, { recursive: true, force: true });
      else for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
    }
    throw e;
  }
}
