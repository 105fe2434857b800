/** `dws publish [--skip L] REMOTE_URL` */
import type { Command } from 'commander';
import { invoke, resourceList, withJson, workspaceDirOption } from '../cli.js';

export function register(program: Command): void {
  withJson(program.command('publish'))
    .description('Set the origin of the workspace repository (it must have none) and push to it')
    .argument('<REMOTE_URL>', 'git URL or path of an empty repository, e.g. a new bare repository')
    .option('--skip <NAMES>', 'resources not to push (comma list)', resourceList)
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption)
    .action(async (remoteUrl: string, o: { skip?: string[]; workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/publish', { remoteUrl, skip: o.skip, workspaceDir: o.workspaceDir }, (r) => `Published workspace to ${r.remoteUrl}.\n`);
    });
}
