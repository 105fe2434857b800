/** `dws/publish`: give the workspace repository its origin, then push (cli.md publish). */
import { ConfigurationError, ConflictError } from '../../protocol/errors.js';
import type { publish as Publish, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { Workspace } from '../workspace/workspace.js';
import { pushWorkspace, repositoryLocation, selectResources } from './share-common.js';

export async function publish(ctx: Context, p: ValidParamsOf<typeof Publish>): Promise<ResultOf<typeof Publish>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const url = repositoryLocation(ctx, p.remoteUrl);
  // 1.6 let `git remote add` fail here; we say what to do instead.
  if (await ws.git.succeeds(['config', '--get', 'remote.origin.url'])) {
    const current = (await ws.git.run(['config', '--get', 'remote.origin.url'])).trim();
    throw new ConflictError(`The workspace repository at ${ws.dir} already has the origin ${current}. Use '${ctx.command('dws/push')}', or change it with 'git remote set-url origin URL'.`, {
      origin: current,
    });
  }
  const sel = await selectResources(ctx, ws.resources, { skip: p.skip, onlyWorkspace: false });
  if (!(await ws.git.succeeds(['ls-remote', '--quiet', url]))) {
    throw new ConfigurationError(`Unable to access remote repository '${url}'`, { remoteUrl: url });
  }
  await ws.git.run(['remote', 'add', 'origin', url]);
  ctx.log.info(`Set remote origin to ${url}`);
  try {
    return { remoteUrl: url, resources: await pushWorkspace(ctx, ws, sel, false) };
  } catch (e) {
    // A refused push leaves the workspace as it was: without an origin.
    await ws.git.run(['remote', 'remove', 'origin']);
    throw e;
  }
}
