/**
 * `dws/report/experiments`: experiments side by side. A snapshot is an experiment: its params
 * are those of the steps in its lineage (snapshot_lineage/<hash>/, lineage.md §5), its metrics
 * those of its metadata. By default only the columns whose value differs between snapshots are
 * listed, since those are the ones that explain a difference in results.
 */
import { InvalidParamsError } from '../../protocol/errors.js';
import type { Experiment, reportExperiments as ReportExperiments, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { SnapshotStore } from '../backends/git/snapshots.js';
import { isPyNumber, numberValue, toPlainJson } from '../workspace/pyjson.js';
import { Workspace } from '../workspace/workspace.js';
import { experimentOf, sameKey } from './experiments-common.js';

type Column = ResultOf<typeof ReportExperiments>['columns'][number];

export async function reportExperiments(ctx: Context, p: ValidParamsOf<typeof ReportExperiments>): Promise<ResultOf<typeof ReportExperiments>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const experiments = new SnapshotStore(ws).history().map((md) => experimentOf(ws, md)); // newest first

  const all: Column[] = [
    ...[...new Set(experiments.flatMap((e) => Object.keys(e.params)))].sort().map((name) => ({ kind: 'param' as const, name })),
    ...[...new Set([...experiments].reverse().flatMap((e) => Object.keys(e.metrics)))].map((name) => ({ kind: 'metric' as const, name })),
  ];
  const changes = (c: Column) => new Set(experiments.map((e) => sameKey(cell(e, c)))).size > 1;
  const keepAll = p.all || experiments.length < 2;
  const columns = keepAll ? all : all.filter(changes);
  const unchanged = keepAll ? [] : all.filter((c) => !changes(c));

  if (p.sort !== undefined) {
    const by = sortColumn(all, p.sort);
    const sign = p.desc ? -1 : 1;
    // Array.prototype.sort is stable: equal values keep the newest-first order.
    experiments.sort((a, b) => {
      const [x, y] = [cell(a, by), cell(b, by)];
      if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1; // missing last, either way
      return sign * compareValues(x, y);
    });
  }
  return { columns, unchanged, experiments };
}

function cell(e: Experiment, c: Column): unknown {
  const values = c.kind === 'param' ? e.params : e.metrics;
  return Object.hasOwn(values, c.name) ? values[c.name] : undefined;
}

/** `NAME`, `param:NAME` or `metric:NAME`; a bare name that is both a param and a metric must say which. */
function sortColumn(all: Column[], spec: string): Column {
  const m = /^(param|metric):(.*)$/.exec(spec);
  const matches = all.filter((c) => (m ? c.kind === m[1] && c.name === m[2] : c.name === spec));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new InvalidParamsError(`Sort column '${spec}' is both a param and a metric: say 'param:${spec}' or 'metric:${spec}'`, { sort: spec });
  }
  const known = all.map((c) => c.name);
  throw new InvalidParamsError(
    `No param or metric named '${spec}' to sort by. ${known.length > 0 ? `Known: ${known.join(', ')}` : 'No snapshot has params or metrics.'}`,
    { sort: spec, known },
  );
}

/** Numbers (and booleans) by value, before strings; strings by code point; anything else as JSON. */
function compareValues(x: unknown, y: unknown): number {
  const num = (v: unknown) => (isPyNumber(v) ? numberValue(v) : typeof v === 'boolean' ? Number(v) : null);
  const [a, b] = [num(x), num(y)];
  if (a !== null && b !== null) return a - b;
  if (a !== null) return -1;
  if (b !== null) return 1;
  const [s, t] = [typeof x === 'string' ? x : JSON.stringify(toPlainJson(x)), typeof y === 'string' ? y : JSON.stringify(toPlainJson(y))];
  return s < t ? -1 : s > t ? 1 : 0;
}
