/** `dws restore [--only R1,R2 | --leave R1,R2] [--strict] [--force] TAG_OR_HASH` */
import type { Command } from 'commander';
import { planText } from '../../../server/commands/restore.js';
import { invoke, resourceList, withJson, workspaceDirOption } from '../cli.js';

export function register(program: Command): void {
  withJson(program.command('restore'))
    .description('Bring resources back to their state at a snapshot (results resources are left as they are)')
    .argument('<TAG_OR_HASH>', 'a tag, a full hash, or a unique prefix of 6+ hex digits')
    .option('--only <R1,R2>', 'restore only these resources (implies --strict)', resourceList)
    .option('--leave <R1,R2>', 'leave these resources as they are', resourceList)
    .option('--strict', 'fail instead of skipping results resources and resources not in the snapshot')
    .option('--force', 'replace files whose content is in no snapshot (kept in the store first: dws store checkout gets them back), and commit uncommitted changes of separate git repositories before restoring them')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption)
    .action(async (tagOrHash: string, o: { only?: string[]; leave?: string[]; strict?: boolean; force?: boolean; workspaceDir?: string }, cmd: Command) => {
      await invoke(
        cmd,
        'dws/restore',
        { tagOrHash, only: o.only, leave: o.leave, strict: o.strict === true, force: o.force === true, workspaceDir: o.workspaceDir },
        (r) => {
          let out = '';
          if (r.skippedResults.length > 0) {
            out += `Skipping the restore of the following result resources, which are left in their latest state: ${r.skippedResults.join(', ')}\n`;
          }
          return out + (r.restored.length === 0 ? 'No resources to restore.\n' : planText(r));
        },
        { stopping: 'stopping the restore', stopped: 'the restore stopped before it changed any file.' },
      );
    });
}
