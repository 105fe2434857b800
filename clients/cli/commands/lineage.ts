/**
 * `dws lineage table|graph|upstream|downstream|show|diff|forget|export`: the lineage recorded by
 * steps (lineage.md). `table` is `dws report lineage`; `graph` is 1.6's command with more formats;
 * `forget` drops a removed step; `export` writes OpenLineage RunEvents.
 */
import type { Command } from 'commander';
import { EXPORT_FORMATS, GRAPH_FORMATS, type CertInfo, type LineageRecord, type ResultOf, type reportLineage } from '../../../protocol/index.js';
import { InvalidParamsError } from '../../../protocol/errors.js';
import { pyRepr, pyStr } from '../../../server/workspace/pyjson.js';
import { invoke, withJson, workspaceDirOption } from '../cli.js';
import { formatColumns } from '../table.js';

/** The 1.6 table: Resource / Type / Details / Inputs (inputs one per line, None for non-steps). */
export function renderLineageTable(r: ResultOf<typeof reportLineage>): string {
  return formatColumns(
    [
      ['Resource', r.rows.map((x) => x.resource)],
      ['Type', r.rows.map((x) => x.type)],
      ['Details', r.rows.map((x) => x.details)],
      ['Inputs', r.rows.map((x) => (x.inputs === null ? null : x.inputs.join('\n')))],
    ],
    { title: r.title },
  );
}

const cert = (c: CertInfo) => `${c.ref} (${c.certificate})`;

/** Records as indented text: a step with its parameters, inputs, code and outputs. */
export function renderRecords(records: LineageRecord[]): string {
  let out = '';
  for (const r of records) {
    if (r.type !== 'step') {
      out += `${r.type === 'code' ? 'Code' : 'Source data'} ${cert(r)}\n`;
      continue;
    }
    const time = r.executionTimeSeconds === null ? '' : ` (${r.executionTimeSeconds} s)`;
    out += `Step ${r.stepName} at ${r.startTime.replace('T', ' ')}${time}\n`;
    const params = Object.entries(r.parameters).map(([k, v]) => `${k}=${typeof v === 'string' ? pyRepr(v) : pyStr(v)}`);
    out += `  parameters: ${params.join(', ') || '(none)'}\n`;
    out += `  inputs:     ${r.inputs.map(cert).join(', ') || '(none)'}\n`;
    out += `  code:       ${r.code.map(cert).join(', ') || '(none)'}\n`;
    out += `  outputs:    ${r.outputs.map(cert).join(', ') || '(none)'}\n`;
    const observed = (r.observedWrites ?? []).map(
      (w) => `${w.path}${w.outside !== null ? ` (through a symlink to ${w.outside})` : ''}${w.runningWith.length > 0 ? ` (while ${w.runningWith.join(', ')} also ran)` : ''}`,
    );
    if (observed.length > 0) out += `  observed:   ${observed.join(', ')}\n`;
  }
  return out;
}

const change = ([a, b]: [unknown, unknown]) => `${a === null ? '(none)' : pyStr(a)} -> ${b === null ? '(none)' : pyStr(b)}`;

export function register(program: Command): void {
  const lineage = program
    .command('lineage')
    .description('The lineage recorded by steps: table, graph, what produced a resource, what depends on it')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption);
  const wsDir = (cmd: Command) => (cmd.parent?.opts() as { workspaceDir?: string }).workspaceDir;
  const snapshotOption = (c: Command) => c.option('--snapshot <S>', 'as of this snapshot (tag or hash) instead of the current state');

  snapshotOption(withJson(lineage.command('table')))
    .description('The lineage table (as `dws report lineage`): one row per resource or path with lineage')
    .action(async (o: { snapshot?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/report/lineage', { workspaceDir: wsDir(cmd), snapshot: o.snapshot }, renderLineageTable);
    });

  snapshotOption(withJson(lineage.command('graph')))
    .description('Draw the lineage of a resource into a file: a self-contained HTML page, or dot, mermaid, json')
    .argument('[OUTPUT_FILE]', 'file to write (or use -o)')
    .option('--resource <R>', 'resource whose lineage to draw (default: the first results resource)')
    .option('--format <F>', `one of ${GRAPH_FORMATS.join(', ')}`, 'html')
    .option('-o, --output <FILE>', 'file to write')
    .action(async (file: string | undefined, o: { resource?: string; snapshot?: string; format: string; output?: string }, cmd: Command) => {
      const output = o.output ?? file;
      if (output === undefined) throw new InvalidParamsError('Missing the output file: give OUTPUT_FILE or -o FILE');
      if (o.output !== undefined && file !== undefined) throw new InvalidParamsError('Give the output file once: either OUTPUT_FILE or -o FILE');
      if (!(GRAPH_FORMATS as readonly string[]).includes(o.format)) throw new InvalidParamsError(`Unknown format '${o.format}': use one of ${GRAPH_FORMATS.join(', ')}`);
      const format = o.format as (typeof GRAPH_FORMATS)[number];
      await invoke(cmd, 'dws/lineage/graph', { workspaceDir: wsDir(cmd), resource: o.resource, snapshot: o.snapshot, format, output }, (r) =>
        `Wrote lineage for ${r.resource}${o.snapshot === undefined ? '' : ` as of snapshot ${o.snapshot}`} to ${r.file}\n`,
      );
    });

  withJson(lineage.command('export'))
    .description('The steps of a snapshot (or of the current state) as OpenLineage RunEvents: JSON lines on stdout or in a file, or POSTed to a URL')
    .argument('[SNAPSHOT]', 'snapshot (tag or hash); default: the current state, with the last failed run of each step')
    .option('--snapshot <S>', 'the same as SNAPSHOT')
    .option('--format <F>', `one of ${EXPORT_FORMATS.join(', ')}`, 'openlineage')
    .option('-o, --output <FILE>', 'write the events to FILE, one per line, instead of stdout')
    .option('--url <URL>', 'POST each event to this OpenLineage endpoint, e.g. http://localhost:5000/api/v1/lineage (then stdout shows a summary)')
    .option('--namespace <NS>', 'namespace of the jobs and datasets (default: dws://<workspace name>)')
    .action(async (given: string | undefined, o: { snapshot?: string; format: string; output?: string; url?: string; namespace?: string }, cmd: Command) => {
      if (given !== undefined && o.snapshot !== undefined) throw new InvalidParamsError('Give the snapshot once: either SNAPSHOT or --snapshot S');
      if (!(EXPORT_FORMATS as readonly string[]).includes(o.format)) throw new InvalidParamsError(`Unknown format '${o.format}': use one of ${EXPORT_FORMATS.join(', ')}`);
      const format = o.format as (typeof EXPORT_FORMATS)[number];
      const snapshot = given ?? o.snapshot;
      await invoke(cmd, 'dws/lineage/export', { workspaceDir: wsDir(cmd), snapshot, format, output: o.output, url: o.url, namespace: o.namespace }, (r) => {
        if (r.file === null && r.posted === null) return r.events.map((e) => `${JSON.stringify(e)}\n`).join('');
        const runs = new Set(r.events.map((e) => e.run.runId)).size;
        const what = `${r.events.length} OpenLineage event${r.events.length === 1 ? '' : 's'} (${runs} run${runs === 1 ? '' : 's'})`;
        return (r.file === null ? '' : `Wrote ${what} to ${r.file}\n`) + (r.posted === null ? '' : `Sent ${what} to ${r.posted.url}\n`);
      });
    });

  snapshotOption(withJson(lineage.command('upstream')))
    .description('What produced a resource or path: its step, and the steps before it back to source data')
    .argument('<REF>', 'resource, resource:/subpath, or a local path inside a resource')
    .action(async (ref: string, o: { snapshot?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/lineage/upstream', { workspaceDir: wsDir(cmd), ref, snapshot: o.snapshot }, (r) => {
        const warnings = r.warnings.map((w) => `${w}\n`).join('');
        return r.records.length === 0 ? `No lineage recorded for ${r.ref}\n` : `Lineage of ${r.ref}:\n${renderRecords(r.records)}${warnings}`;
      });
    });

  snapshotOption(withJson(lineage.command('downstream')))
    .description('Everything downstream of a resource or path: the steps that read it, transitively, and what they wrote')
    .argument('<REF>', 'resource, resource:/subpath, or a local path inside a resource')
    .action(async (ref: string, o: { snapshot?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/lineage/downstream', { workspaceDir: wsDir(cmd), ref, snapshot: o.snapshot }, (r) =>
        r.steps.length === 0
          ? `No recorded step depends on ${r.ref}\n`
          : `Steps depending on ${r.ref}:\n${renderRecords(r.steps)}Outputs depending on ${r.ref}: ${r.outputs.join(', ')}\n`,
      );
    });

  snapshotOption(withJson(lineage.command('show')))
    .description('Every lineage record of a snapshot (or of the current state), with parameters, inputs, code and outputs')
    .action(async (o: { snapshot?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/lineage/show', { workspaceDir: wsDir(cmd), snapshot: o.snapshot }, (r) =>
        r.records.length === 0 ? 'No lineage recorded\n' : renderRecords(r.records),
      );
    });

  withJson(lineage.command('diff'))
    .description('How the steps recorded in two snapshots differ: added, removed, changed parameters, inputs or code')
    .argument('<FROM>', 'snapshot (tag or hash)')
    .argument('<TO>', 'snapshot (tag or hash)')
    .action(async (from: string, to: string, _o: unknown, cmd: Command) => {
      await invoke(cmd, 'dws/lineage/diff', { workspaceDir: wsDir(cmd), from, to }, (r) => {
        if (r.steps.length === 0) return `No differences in lineage between ${from} and ${to}\n`;
        let out = '';
        for (const s of r.steps) {
          out += `Step ${s.step}: ${s.status}${s.outputs.length > 0 ? ` (outputs: ${s.outputs.join(', ')})` : ''}\n`;
          for (const [k, v] of Object.entries(s.parameters)) out += `  parameter ${k}: ${change(v)}\n`;
          for (const [k, v] of Object.entries(s.inputs)) out += `  input ${k}: ${change(v)}\n`;
          for (const [k, v] of Object.entries(s.code)) out += `  code ${k}: ${change(v)}\n`;
        }
        return out;
      });
    });

  withJson(lineage.command('forget'))
    .description('Forget a removed step (its step file is gone): its run-cache record and its current lineage records; snapshots keep theirs')
    .argument('<STEP>', 'the step name, as dws status lists it')
    .option('--force', 'forget it although its step file still exists')
    .action(async (step: string, o: { force?: boolean }, cmd: Command) => {
      await invoke(cmd, 'dws/lineage/forget', { workspaceDir: wsDir(cmd), step, force: o.force === true }, (r) => {
        const what: string[] = [];
        if (r.runCache) what.push('its run-cache record');
        if (r.records > 0) what.push(`${r.records} current lineage record${r.records > 1 ? 's' : ''} (${r.resources.join(', ')})`);
        if (r.hidden > 0) what.push(`${r.hidden} run${r.hidden > 1 ? 's' : ''} seen in the latest snapshot's lineage, now hidden from the current view (the snapshot keeps ${r.hidden > 1 ? 'them' : 'it'})`);
        return `Forgot step ${r.step}: ${what.join('; ')}\n`;
      });
    });
}
