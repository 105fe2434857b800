/** `dws status [--history] [--limit N]` */
import type { Command } from 'commander';
import { invoke, positiveInt, withJson } from '../cli.js';
import { renderHistory, renderStatus } from './report.js';
import type { ResultOf, status as Status } from '../../../protocol/index.js';

/** After 1.6's output (which stays byte for byte the same): the stale steps (what `dws run` would rerun) and the removed ones. */
function renderStale(s: ResultOf<typeof Status>['stale']): string {
  let out = '';
  if (s.steps.length > 0) {
    out += '\nStale steps (dws run would rerun them):\n';
    for (const st of s.steps) {
      const why = [
        ...(st.changed.length > 0 ? st.changed.map((c) => `${c.kind} ${c.ref} changed (recorded ${c.recorded}, now ${c.current})`) : st.upstream.length > 0 ? [] : [st.reason]),
        ...st.upstream.map((u) => `reads the output of stale step ${u}`),
      ];
      out += `  ${st.step}${st.startTime ? ` (run at ${st.startTime.replace('T', ' ')})` : ''}: ${why.join('; ')}\n`;
    }
    out += `Outputs that depend on them: ${s.outputs.join(', ')}\n`;
  }
  if (s.removed.length > 0) {
    out += '\nRemoved steps (their step file is gone; forget one with dws lineage forget STEP):\n';
    for (const r of s.removed) out += `  ${r.step}${r.file ? ` (${r.file})` : ''}\n`;
  }
  return out;
}

export function register(program: Command): void {
  withJson(program.command('status'))
    .description('The workspace and its resources; with --history, its snapshots too')
    .option('--history', 'also show the snapshot history')
    .option('--limit <N>', 'with --history, show at most N snapshots', positiveInt)
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)')
    .action(async (o: { history?: boolean; limit?: number; workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/status', { history: o.history ?? false, limit: o.limit, workspaceDir: o.workspaceDir }, (r) =>
        renderStatus(r) + (r.history ? `\n\n${renderHistory(r.history, o.limit)}` : '') + renderStale(r.stale),
      );
    });
}
