/**
 * `dws/report/plots`: metrics across snapshots. The snapshots are the experiments of `report
 * experiments` (experiments-common.ts) in history order, oldest first, so a chart reads left to
 * right as the work went; each metric with a number in some snapshot gets a chart, and metrics
 * whose values are not numbers are listed instead. The page (server/report/plots-page.ts) is
 * written to `output` and/or returned for a webview.
 */
import { resolve } from 'node:path';
import { InvalidParamsError } from '../../protocol/errors.js';
import type { PlotSnapshot, reportPlots as ReportPlots, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { SnapshotStore } from '../backends/git/snapshots.js';
import { renderPlotsPage } from '../report/plots-page.js';
import { atomicWriteFile } from '../workspace/files.js';
import { isPyNumber, numberValue, toPlainJson } from '../workspace/pyjson.js';
import { Workspace } from '../workspace/workspace.js';
import { experimentOf, sameKey } from './experiments-common.js';

type Result = ResultOf<typeof ReportPlots>;

export async function reportPlots(ctx: Context, p: ValidParamsOf<typeof ReportPlots>): Promise<Result> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const experiments = new SnapshotStore(ws).history().map((md) => experimentOf(ws, md)).reverse(); // oldest first

  const snapshots: PlotSnapshot[] = experiments.map((e) => ({
    hash: e.hash,
    tags: e.tags,
    timestamp: e.timestamp,
    message: e.message,
    label: e.tags.length > 0 ? e.tags.join(', ') : e.hash.slice(0, 7),
    params: toPlainJson(e.params) as Record<string, unknown>,
  }));
  const paramNames = [...new Set(experiments.flatMap((e) => Object.keys(e.params)))].sort();
  const changingParams =
    experiments.length < 2 ? paramNames : paramNames.filter((n) => new Set(experiments.map((e) => sameKey(valueIn(e.params, n)))).size > 1);

  const charts: Result['charts'] = [];
  const notPlotted: Result['notPlotted'] = [];
  // In order of first appearance, oldest first, as `report experiments` orders its metric columns.
  for (const metric of new Set(experiments.flatMap((e) => Object.keys(e.metrics)))) {
    const values = experiments.map((e) => valueIn(e.metrics, metric));
    const numbers = values.map(plottable);
    const plotted = numbers.some((n) => n !== null);
    if (plotted) charts.push({ metric, values: numbers });
    // A metric with one text value among numbers is charted where it is a number and listed too, so no value goes unseen.
    if (!plotted || values.some((v, i) => numbers[i] === null && v !== undefined && v !== null)) {
      notPlotted.push({ metric, values: values.map(shown) });
    }
  }

  const data = { snapshots, changingParams, charts, notPlotted };
  const page = p.output !== undefined || p.html ? renderPlotsPage(`Metrics of ${ws.name}`, data) : null;
  let file: string | null = null;
  if (p.output !== undefined && page !== null) {
    file = resolve(ctx.cwd, p.output);
    try {
      atomicWriteFile(file, page);
    } catch (e) {
      throw new InvalidParamsError(`Cannot write the plots page to ${file}: ${e instanceof Error ? e.message : String(e)}`, { output: p.output });
    }
  }
  return { ...data, file, ...(p.html && page !== null ? { html: page } : {}) };
}

function valueIn(values: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(values, name) ? values[name] : undefined;
}

/** A finite number (Python int or float), else null: NaN and infinities cannot be drawn. */
function plottable(v: unknown): number | null {
  if (!isPyNumber(v)) return null;
  const n = numberValue(v);
  return Number.isFinite(n) ? n : null;
}

/** A value as the page lists it: plain JSON, with NaN and infinities as their names (JSON has none). */
function shown(v: unknown): unknown {
  if (v === undefined) return null;
  if (isPyNumber(v) && !Number.isFinite(numberValue(v))) return String(numberValue(v));
  return toPlainJson(v);
}
