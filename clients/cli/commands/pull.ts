/** `dws pull [--only L | --skip L | --only-workspace]` */
import type { Command } from 'commander';
import { invoke, syncOptions, syncParams, withJson, type SyncOptions } from '../cli.js';

export function register(program: Command): void {
  syncOptions(withJson(program.command('pull')))
    .description('Pull the workspace repository from its origin, then the resources (new resources are cloned)')
    .action(async (o: SyncOptions, cmd: Command) => {
      await invoke(cmd, 'dws/pull', syncParams(o), (r) => {
        const parts = [r.resources.length > 0 ? `Pulled workspace and resources: ${r.resources.join(', ')}` : 'Pulled workspace.'];
        if (r.cloned.length > 0) parts.push(`Cloned new resources: ${r.cloned.join(', ')}`);
        return `${parts.join('\n')}\n`;
      }, { stopping: 'stopping the pull', stopped: "the pull stopped. Run 'dws pull' again to complete it." });
    });
}
