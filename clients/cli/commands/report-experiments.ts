/** `dws report experiments [--all] [--sort COL] [--desc] [--csv]`: experiments side by side, as a table or CSV. */
import type { Command } from 'commander';
import { InvalidParamsError, type Experiment, type reportExperiments as ReportExperiments, type ResultOf } from '../../../protocol/index.js';
import { isPyNumber, pyStr, toPlainJson } from '../../../server/workspace/pyjson.js';
import { globalOptions, invoke, withJson, workspaceDirOption } from '../cli.js';
import { formatColumns } from '../table.js';

type Result = ResultOf<typeof ReportExperiments>;
type Column = Result['columns'][number];

const value = (e: Experiment, c: Column): unknown => {
  const values = c.kind === 'param' ? e.params : e.metrics;
  return Object.hasOwn(values, c.name) ? values[c.name] : null;
};

export function renderExperiments(r: Result): string {
  const rows = r.experiments;
  let out = formatColumns(
    [
      ['Hash', rows.map((e) => e.hash.slice(0, 7))],
      ['Tags', rows.map((e) => e.tags.join(', '))],
      ['Created', rows.map((e) => e.timestamp.slice(0, 19))],
      ...r.columns.map((c): [string, unknown[]] => [c.name, rows.map((e) => value(e, c))]),
    ],
    { nullValue: '', title: 'Experiments: params (step.param) and metrics of each snapshot' },
  );
  out += `${rows.length} snapshot${rows.length === 1 ? '' : 's'}`;
  if (r.unchanged.length > 0) out += `; the same in every snapshot (--all shows them): ${r.unchanged.map((c) => `${c.name} = ${pyStr(value(rows[0]!, c) ?? '')}`).join(', ')}`;
  return `${out}\n`;
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  // Numbers as Python prints them (4.0 stays 4.0), so the CSV shows what the metadata holds.
  const text = typeof v === 'string' ? v : isPyNumber(v) ? pyStr(v) : JSON.stringify(toPlainJson(v));
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function renderExperimentsCsv(r: Result): string {
  const header = ['hash', 'tags', 'created', 'message', ...r.columns.map((c) => c.name)];
  const lines = [header.map(csvField).join(',')];
  for (const e of r.experiments) lines.push([e.hash, e.tags.join(' '), e.timestamp, e.message, ...r.columns.map((c) => value(e, c))].map(csvField).join(','));
  return `${lines.join('\n')}\n`;
}

export function registerExperiments(report: Command, wsDir: (cmd: Command, o: { workspaceDir?: string }) => string | undefined): void {
  withJson(report.command('experiments'))
    .description('One row per snapshot with the params of its steps and its metrics; only the columns that change, unless --all')
    .option('--all', 'also the params and metrics that are the same in every snapshot')
    .option('--sort <COL>', 'sort by a param (step.param) or metric; param:NAME or metric:NAME when a name is both')
    .option('--desc', 'sort descending (with --sort)')
    .option('--csv', 'print CSV (every snapshot, the same columns, full hashes and timestamps)')
    .option('--workspace-dir <DIR>', 'workspace root', workspaceDirOption)
    .action(async (o: { workspaceDir?: string; all?: boolean; sort?: string; desc?: boolean; csv?: boolean }, cmd: Command) => {
      if (o.csv && globalOptions(cmd).json) throw new InvalidParamsError('Give either --csv or --json, not both');
      if (o.desc && o.sort === undefined) throw new InvalidParamsError('--desc needs --sort COL');
      await invoke(
        cmd,
        'dws/report/experiments',
        { workspaceDir: wsDir(cmd, o), all: o.all ?? false, sort: o.sort, desc: o.desc ?? false },
        o.csv ? renderExperimentsCsv : renderExperiments,
      );
    });
}
