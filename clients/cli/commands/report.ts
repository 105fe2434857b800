/** `dws report status|history|results|lineage|experiments`: tables as dws 1.6 prints them (cli.md `report`), and experiments. */
import type { Command } from 'commander';
import type { ReportStatus, SnapshotInfo } from '../../../protocol/index.js';
import { pyStr } from '../../../server/workspace/pyjson.js';
import { invoke, positiveInt, withJson, workspaceDirOption } from '../cli.js';
import { formatColumns } from '../table.js';
import { registerExperiments } from './report-experiments.js';
import { registerPlots } from './report-plots.js';
import { registerResults } from './report-results.js';
import { renderLineageTable } from './lineage.js';

export function renderStatus(r: ReportStatus): string {
  const params = r.resources.map((res) =>
    Object.entries(res.params)
      .map(([k, v]) => `${k}=${pyStr(v)}`)
      .join(',\n'),
  );
  let out = `Status for workspace: ${r.workspaceName}\n`;
  out += formatColumns(
    [
      ['Resource', r.resources.map((x) => x.name)],
      ['Role', r.resources.map((x) => x.role)],
      ['Type', r.resources.map((x) => x.resourceType)],
      ['Parameters', params],
    ],
    { nullValue: '', title: `Resources for workspace: ${r.workspaceName}` },
  );
  if (r.missingRoles.length > 0) out += `No resources for the following roles: ${r.missingRoles.join(', ')}.\n`;
  return out;
}

export function renderHistory(h: { snapshots: SnapshotInfo[]; total: number }, limit: number | undefined): string {
  const rows = h.snapshots;
  // The two metrics found in most listed snapshots; ties go to the first seen (newest first).
  const counts = new Map<string, number>();
  for (const s of rows) for (const k of Object.keys(s.metrics ?? {})) counts.set(k, (counts.get(k) ?? 0) + 1);
  const metricNames = [...counts.entries()]
    .map(([name, n], order) => ({ name, n, order }))
    .sort((a, b) => b.n - a.n || a.order - b.order)
    .slice(0, 2)
    .map((m) => m.name);
  // As 1.6: fixed widths everywhere, but only metric values are truncated (others wrap).
  const spec: Record<string, { width: number; truncate?: boolean }> = {
    Hash: { width: 8 },
    Tags: { width: 20 },
    Created: { width: 19 },
    Message: { width: 30 },
  };
  for (const m of metricNames) spec[m] = { width: 25, truncate: true };
  let out = formatColumns(
    [
      ['Hash', rows.map((s) => s.hash.slice(0, 7))],
      ['Tags', rows.map((s) => s.tags.join(', '))],
      ['Created', rows.map((s) => s.timestamp.slice(0, -7))],
      ...metricNames.map((m): [string, unknown[]] => [m, rows.map((s) => s.metrics?.[m] ?? null)]),
      ['Message', rows.map((s) => s.message)],
    ],
    { nullValue: '', spec, title: 'History of snapshots' },
  );
  out += limit !== undefined && rows.length === limit ? `Showing first ${limit} snapshots\n` : `${h.total} snapshots total\n`;
  return out;
}

export function register(program: Command): void {
  const report = program
    .command('report')
    .description('Reports on the workspace')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption);
  const wsDir = (cmd: Command, o: { workspaceDir?: string }) => o.workspaceDir ?? (cmd.parent?.opts() as { workspaceDir?: string }).workspaceDir;

  withJson(report.command('status'))
    .description('The workspace and its resources')
    .option('--workspace-dir <DIR>', 'workspace root', workspaceDirOption)
    .action(async (o: { workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/report/status', { workspaceDir: wsDir(cmd, o) }, renderStatus);
    });

  withJson(report.command('history'))
    .description('Snapshots, newest first, with tags, messages and metrics')
    .option('--limit <N>', 'show at most N snapshots', positiveInt)
    .option('--workspace-dir <DIR>', 'workspace root', workspaceDirOption)
    .action(async (o: { workspaceDir?: string; limit?: number }, cmd: Command) => {
      await invoke(cmd, 'dws/report/history', { workspaceDir: wsDir(cmd, o), limit: o.limit }, (r) => renderHistory(r, o.limit));
    });

  registerResults(report, wsDir);
  registerExperiments(report, wsDir);
  registerPlots(report, wsDir);

  withJson(report.command('lineage'))
    .description('The lineage table: one row per resource or path with lineage')
    .option('--snapshot <S>', 'as of this snapshot (tag or hash) instead of the current state')
    .option('--workspace-dir <DIR>', 'workspace root', workspaceDirOption)
    .action(async (o: { workspaceDir?: string; snapshot?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/report/lineage', { workspaceDir: wsDir(cmd, o), snapshot: o.snapshot }, renderLineageTable);
    });
}
