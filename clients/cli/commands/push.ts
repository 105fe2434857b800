/** `dws push [--only L | --skip L | --only-workspace]` */
import type { Command } from 'commander';
import { invoke, syncOptions, syncParams, withJson, type SyncOptions } from '../cli.js';

export function register(program: Command): void {
  syncOptions(withJson(program.command('push')))
    .description('Push the resources, then the workspace repository, to their origins')
    .action(async (o: SyncOptions, cmd: Command) => {
      await invoke(cmd, 'dws/push', syncParams(o), (r) =>
        r.resources.length > 0 ? `Pushed workspace and resources: ${r.resources.join(', ')}\n` : 'Pushed workspace.\n',
        { stopping: 'stopping the push', stopped: "the push stopped before the workspace's commits were pushed. Run 'dws push' again to push everything." },
      );
    });
}
