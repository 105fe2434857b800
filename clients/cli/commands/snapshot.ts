/** `dws snapshot [-m MSG] [TAG]` */
import type { Command } from 'commander';
import { invoke, withJson, workspaceDirOption } from '../cli.js';

export function register(program: Command): void {
  withJson(program.command('snapshot'))
    .description('Record the state of every resource under one hash (moves results into a snapshot directory)')
    .argument('[TAG]', 'a name for the snapshot, unique in the workspace')
    .option('-m, --message <TEXT>', 'what this snapshot is', '')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption)
    .action(async (tag: string | undefined, o: { message: string; workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/snapshot', { tag, message: o.message, workspaceDir: o.workspaceDir }, (r) =>
        r.tag !== null
          ? `Have successfully taken snapshot of workspace, tagged with '${r.tag}', hash is ${r.hash}.\n`
          : `Have successfully taken snapshot of workspace, hash is ${r.hash}.\n`,
        // Checked between resources and before the results move: from there on the snapshot completes.
        { stopping: 'stopping the snapshot', stopped: 'the snapshot stopped before it recorded anything; the workspace is as it was.' },
      );
    });
}
