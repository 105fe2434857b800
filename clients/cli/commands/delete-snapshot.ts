/** `dws delete-snapshot [--no-include-resources] TAG_OR_HASH` */
import type { Command } from 'commander';
import { invoke, withJson, workspaceDirOption } from '../cli.js';

export function register(program: Command): void {
  withJson(program.command('delete-snapshot'))
    .description("Delete a snapshot's metadata, manifest and lineage, and its results directories")
    .argument('<TAG_OR_HASH>', 'a tag, a full hash, or a unique prefix of 6+ hex digits')
    .option('--no-include-resources', "keep the snapshot's results directories")
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption)
    .action(async (tagOrHash: string, o: { includeResources: boolean; workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/delete-snapshot', { tagOrHash, noIncludeResources: !o.includeResources, workspaceDir: o.workspaceDir }, (r) =>
        [...r.noRestoreHash.map((n) => `Cannot delete snapshot for resource ${n}, no restore hash\n`), `Successfully deleted snapshot ${r.name}.\n`].join(''),
      );
    });
}
