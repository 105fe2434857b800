/** `dws diff SNAPSHOT_OR_TAG1 SNAPSHOT_OR_TAG2`: 1.6's comparison, then the files, params and metrics that changed. */
import type { Command } from 'commander';
import type { diff as Diff, ResultOf, ValueChange } from '../../../protocol/index.js';
import { pyStr } from '../../../server/workspace/pyjson.js';
import { invoke, shownPath, withJson, workspaceDirOption } from '../cli.js';

export function renderDiff(r: ResultOf<typeof Diff>): string {
  const snap = (s: { hash: string; tags: string[] }) => `Snapshot ${s.hash}${s.tags.length > 0 ? `, tags ${s.tags.join(',')}` : ''}`;
  const section = (title: string, names: string[]) => (names.length === 0 ? `  ${title}: None\n` : `  ${title}:\n${names.map((n) => `    ${n}\n`).join('')}`);
  let out = `Comparing:\n    ${snap(r.from)} to\n    ${snap(r.to)}\n`;
  out += section('Resources with the same value', r.same);
  out += section('Resources with different values', r.different);
  out += section('Added resources', r.added);
  out += section('Removed resources', r.removed);
  // Beyond 1.6: the files behind each different value.
  if (r.different.length > 0) {
    out += 'Files changed in resources with different values:\n';
    for (const name of r.different) {
      const f = r.files[name];
      if (!f || f.changes === null) out += `  ${name}: not available (${f?.reason ?? 'unknown'})\n`;
      else if (f.changes.length === 0) out += `  ${name}: no file changes\n`;
      else out += `  ${name}:\n${f.changes.map((c) => `    ${c.status} ${shownPath(c.path)}\n`).join('')}`;
    }
  }
  // Beyond 1.6: the params and metrics that changed (as `report experiments` shows them).
  out += changes('Params that changed', r.params);
  out += changes('Metrics that changed', r.metrics);
  return out;
}

function changes(title: string, list: ValueChange[]): string {
  if (list.length === 0) return '';
  const shown = (v: unknown) => (v === undefined ? '(none)' : pyStr(v));
  const lines = list.map((c) => `    ${c.name}: ${shown(c.from)} -> ${shown(c.to)}${c.delta === null ? '' : ` (${formatDelta(c.delta)})`}\n`);
  return `${title}:\n${lines.join('')}`;
}

/** A signed difference without binary noise (0.3 - 0.1 shows as +0.2). */
function formatDelta(d: number): string {
  const n = Number(d.toPrecision(12));
  return n > 0 ? `+${n}` : `${n}`;
}

export function register(program: Command): void {
  withJson(program.command('diff'))
    .description('Which resources (and which of their files) differ between two snapshots')
    .argument('<SNAPSHOT_OR_TAG1>')
    .argument('<SNAPSHOT_OR_TAG2>')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption)
    .action(async (snapshot1: string, snapshot2: string, o: { workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/diff', { snapshot1, snapshot2, workspaceDir: o.workspaceDir }, renderDiff);
    });
}
