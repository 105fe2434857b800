/** `dws clone [--hostname H] REPOSITORY [DIRECTORY]` */
import type { Command } from 'commander';
import { invoke, withJson } from '../cli.js';

export function register(program: Command): void {
  withJson(program.command('clone'))
    .description("Clone a workspace and recreate each resource's local state (asks where, unless --batch)")
    .argument('<REPOSITORY>', 'git URL or path of the workspace repository')
    .argument('[DIRECTORY]', 'new directory for the workspace (default: ./<workspace name>)')
    .option('--hostname <NAME>', "this machine's name in snapshot directory paths (default: short hostname)")
    .action(async (repository: string, directory: string | undefined, o: { hostname?: string }, cmd: Command) => {
      // Left to Node's default, Ctrl-C ended dws at once and left a half-made workspace behind.
      await invoke(cmd, 'dws/clone', { repository, directory, hostname: o.hostname }, (r) => `Successfully completed clone of workspace ${r.name}.\n`, {
        stopping: 'removing the unfinished clone',
        stopped: 'the unfinished clone was removed.',
      });
    });
}
