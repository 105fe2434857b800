/** `dws pull [--only L | --skip L | --only-workspace]` */
import type { Command } from 'commander';
import { invoke, resourceList, withJson } from '../cli.js';

export function register(program: Command): void {
  withJson(program.command('pull'))
    .description('Pull the workspace repository from its origin, then the resources (new resources are cloned)')
    .option('--only <NAMES>', 'only these resources (comma list)', resourceList)
    .option('--skip <NAMES>', 'all resources except these (comma list)', resourceList)
    .option('--only-workspace', 'only the workspace repository, no resource')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)')
    .action(async (o: { only?: string[]; skip?: string[]; onlyWorkspace?: boolean; workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/pull', { only: o.only, skip: o.skip, onlyWorkspace: o.onlyWorkspace ?? false, workspaceDir: o.workspaceDir }, (r) => {
        const parts = [r.resources.length > 0 ? `Pulled workspace and resources: ${r.resources.join(', ')}` : 'Pulled workspace.'];
        if (r.cloned.length > 0) parts.push(`Cloned new resources: ${r.cloned.join(', ')}`);
        return `${parts.join('\n')}\n`;
      });
    });
}
