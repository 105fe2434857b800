/** `dws push [--only L | --skip L | --only-workspace]` */
import type { Command } from 'commander';
import { invoke, resourceList, withJson } from '../cli.js';

export function register(program: Command): void {
  withJson(program.command('push'))
    .description('Push the resources, then the workspace repository, to their origins')
    .option('--only <NAMES>', 'only these resources (comma list)', resourceList)
    .option('--skip <NAMES>', 'all resources except these (comma list)', resourceList)
    .option('--only-workspace', 'only the workspace repository, no resource')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)')
    .action(async (o: { only?: string[]; skip?: string[]; onlyWorkspace?: boolean; workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/push', { only: o.only, skip: o.skip, onlyWorkspace: o.onlyWorkspace ?? false, workspaceDir: o.workspaceDir }, (r) =>
        r.resources.length > 0 ? `Pushed workspace and resources: ${r.resources.join(', ')}\n` : 'Pushed workspace.\n',
      );
    });
}
