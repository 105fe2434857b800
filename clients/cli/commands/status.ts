/** `dws status [--history] [--limit N]` */
import type { Command } from 'commander';
import { globalOptions, invoke, positiveInt, shownPath, withJson, workspaceDirOption } from '../cli.js';
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

/** After the stale steps: what changed in local-files/rclone resources since the snapshot each is at (paths with --verbose). */
export function renderChanges(changes: ResultOf<typeof Status>['changes'], verbose: boolean): string {
  if (changes === undefined || changes.length === 0) return '';
  let out = '\nChanges since the snapshot each resource is at:\n';
  for (const c of changes) {
    const gone = c.folderMissing === true ? 'its folder does not exist; ' : '';
    if (!c.known) {
      const why =
        c.problem ?? (c.snapshot === null ? 'no snapshot holds its files yet (the next dws snapshot will; Python dws 1.6 keeps none)' : `cannot compare (the files of snapshot ${c.snapshot.slice(0, 7)} are not in the local store)`);
      out += `  ${c.resource}: ${gone}${why}\n`;
      continue;
    }
    const n = c.added.length + c.modified.length + c.deleted.length;
    out += `  ${c.resource}: ${gone}${n === 0 ? 'no changes' : `${c.added.length} added, ${c.modified.length} modified, ${c.deleted.length} deleted`} (since ${c.snapshot!.slice(0, 7)})\n`;
    if (verbose) {
      for (const [mark, list] of [['+', c.added], ['M', c.modified], ['-', c.deleted]] as const) for (const p of list) out += `    ${mark} ${shownPath(p)}\n`;
    }
  }
  return out;
}

export function register(program: Command): void {
  withJson(program.command('status'))
    .description('The workspace and its resources; with --history, its snapshots too')
    .option('--history', 'also show the snapshot history')
    .option('--limit <N>', 'with --history, show at most N snapshots', positiveInt)
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption)
    .action(async (o: { history?: boolean; limit?: number; workspaceDir?: string }, cmd: Command) => {
      const verbose = globalOptions(cmd).verbose === true;
      await invoke(cmd, 'dws/status', { history: o.history ?? false, limit: o.limit, workspaceDir: o.workspaceDir }, (r) =>
        renderStatus(r) + (r.history ? `\n\n${renderHistory(r.history, o.limit)}` : '') + renderStale(r.stale) + renderChanges(r.changes, verbose),
      );
    });
}
