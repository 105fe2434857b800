/** `dws config [--resource R] [PARAM [VALUE]]`: list, read or set parameters, tables as 1.6. */
import type { Command } from 'commander';
import type { config as Config, ResultOf } from '../../../protocol/index.js';
import { pyRepr } from '../../../server/workspace/pyjson.js';
import { invoke, withJson, workspaceDirOption } from '../cli.js';
import { formatColumns } from '../table.js';

function render(r: ResultOf<typeof Config>, name: string | undefined): string {
  const what = r.resource === null ? 'workspace' : `resource '${r.resource}'`;
  if (r.set) return `Successfully set ${what} ${r.set.scope} parameter '${r.set.name}' to ${pyRepr(r.set.value)}.\n`;
  const dflt = (d: boolean) => (d ? 'Y' : 'N');
  if (name === undefined) {
    // 1.6's table byte for byte, then the parameters only this dws has.
    const list = (params: typeof r.params) =>
      formatColumns(
        [
          ['Name', params.map((p) => p.name)],
          ['Scope', params.map((p) => p.scope)],
          ['Value', params.map((p) => p.value)],
          ['Default?', params.map((p) => dflt(p.isDefault))],
          ['Description', params.map((p) => p.description)],
        ],
        { spec: { Description: { width: 40 } } },
      );
    const extra = r.params.filter((p) => p.dwsOnly);
    return `${list(r.params.filter((p) => !p.dwsOnly))}\n${extra.length > 0 ? `\nParameters of this dws that Python dws 1.6 does not have:\n${list(extra)}\n` : ''}`;
  }
  // Python's str.capitalize(): first letter upper, the rest lower.
  const title = `${what.charAt(0).toUpperCase()}${what.slice(1).toLowerCase()} parameter '${name}'`;
  const table = formatColumns(
    [
      ['Value', r.params.map((p) => p.value)],
      ['Scope', r.params.map((p) => p.scope)],
      ['Default?', r.params.map((p) => dflt(p.isDefault))],
      ['Description', r.params.map((p) => p.description)],
    ],
    { spec: { Description: { width: 60 } } },
  );
  return `${title}\n${'='.repeat(title.length)}\n\n${table}\n`;
}

export function register(program: Command): void {
  withJson(program.command('config'))
    .description('List, read or set workspace parameters (or a resource\'s, with --resource)')
    .argument('[PARAMETER_NAME]')
    .argument('[PARAMETER_VALUE]')
    .option('--resource <R>', 'the parameters of this resource')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption)
    .action(async (name: string | undefined, value: string | undefined, o: { resource?: string; workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/config', { name, value, resource: o.resource, workspaceDir: o.workspaceDir }, (r) => render(r, name));
    });
}
