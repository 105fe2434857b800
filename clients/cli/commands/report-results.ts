/** `dws report results [--snapshot S] [--resource R]`: a results.json as 1.6's tables (cli.md `report`). */
import type { Command } from 'commander';
import type { reportResults as ReportResults, ResultOf } from '../../../protocol/index.js';
import { pyStr } from '../../../server/workspace/pyjson.js';
import { invoke, withJson, workspaceDirOption } from '../cli.js';
import { formatColumns } from '../table.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && v.constructor === Object;

function keyValueTable(title: string, entries: Array<[string, unknown]>): string {
  return `\n${formatColumns(
    [
      ['Key', entries.map(([k]) => k)],
      ['Value', entries.map(([, v]) => v)],
    ],
    { title },
  )}`;
}

export function renderResults(r: ResultOf<typeof ReportResults>): string {
  const data = r.results;
  const plain = (o: Record<string, unknown>) => Object.entries(o).filter(([, v]) => !isObject(v));
  let out = `Results file at ${r.resource}:/${r.subpath}\n`;
  out += keyValueTable('General Properties', plain(data));
  if (isObject(data.parameters)) out += keyValueTable('Parameters', plain(data.parameters));
  if (isObject(data.metrics)) {
    const metrics = data.metrics;
    out += keyValueTable('Metrics', plain(metrics));
    for (const [k, v] of Object.entries(metrics)) {
      if (!isObject(v)) continue;
      const rows = Object.entries(v).map(([k2, v2]): [string, unknown] => [
        k2,
        isObject(v2) ? Object.entries(v2).map(([a, b]) => `${a}: ${pyStr(b)}`).join(', ') : v2,
      ]);
      out += keyValueTable(`Metrics: ${k}`, rows);
    }
  }
  return out;
}

export function registerResults(report: Command, wsDir: (cmd: Command, o: { workspaceDir?: string }) => string | undefined): void {
  withJson(report.command('results'))
    .description('Show a results.json: the current one, or one of a snapshot')
    .option('--snapshot <S>', 'tag or hash of the snapshot whose results to show')
    .option('--resource <R>', 'look only in this resource')
    .option('--workspace-dir <DIR>', 'workspace root', workspaceDirOption)
    .action(async (o: { workspaceDir?: string; snapshot?: string; resource?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/report/results', { workspaceDir: wsDir(cmd, o), snapshot: o.snapshot, resource: o.resource }, renderResults);
    });
}
