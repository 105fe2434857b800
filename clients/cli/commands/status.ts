/** `dws status [--history] [--limit N]` */
import type { Command } from 'commander';
import { invoke, positiveInt, withJson } from '../cli.js';
import { renderHistory, renderStatus } from './report.js';

export function register(program: Command): void {
  withJson(program.command('status'))
    .description('The workspace and its resources; with --history, its snapshots too')
    .option('--history', 'also show the snapshot history')
    .option('--limit <N>', 'with --history, show at most N snapshots', positiveInt)
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)')
    .action(async (o: { history?: boolean; limit?: number; workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/status', { history: o.history ?? false, limit: o.limit, workspaceDir: o.workspaceDir }, (r) =>
        renderStatus(r) + (r.history ? `\n\n${renderHistory(r.history, o.limit)}` : ''),
      );
    });
}
