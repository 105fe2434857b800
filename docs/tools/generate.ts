/**
 * The generated parts of the docs: the protocol's method and notification tables (from the
 * registries in protocol/, with their zod schemas) and the command reference (the CLI's own
 * `--help` of every command). Each part lives in a docs file between two markers,
 *
 *   <!-- BEGIN generated:NAME (npm run docs:gen) -->  ...  <!-- END generated:NAME -->
 *
 * so the hand-written text around it stays, and rerunning the generator after new methods or
 * commands arrive only rewrites what is between the markers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { METHODS, NOTIFICATIONS } from '../../protocol/index.js';
import { buildProgram } from '../../clients/cli/main.js';

/** The whole command tree (the CLI loads its commands on demand: load them all once, here). */
const program = await buildProgram();

/** Which part goes into which file (relative to the repository root). */
export const GENERATED: { file: string; name: string; render: () => string }[] = [
  { file: 'docs/protocol.md', name: 'methods', render: methodTable },
  { file: 'docs/protocol.md', name: 'notifications', render: notificationTable },
  { file: 'docs/cli-reference.md', name: 'commands', render: commandReference },
];

const begin = (name: string) => `<!-- BEGIN generated:${name} (npm run docs:gen) -->`;
const end = (name: string) => `<!-- END generated:${name} -->`;

/** The file's text with every generated part brought up to date. Throws when a marker is missing. */
export function regenerate(repo: string, file: string): string {
  let text = readFileSync(join(repo, file), 'utf8');
  for (const part of GENERATED.filter((g) => g.file === file)) {
    const from = text.indexOf(begin(part.name));
    const to = text.indexOf(end(part.name));
    if (from < 0 || to < from) throw new Error(`${file}: the markers of the generated part '${part.name}' are missing; put these two lines where it goes:\n${begin(part.name)}\n${end(part.name)}`);
    text = `${text.slice(0, from)}${begin(part.name)}\n${part.render().trimEnd()}\n${text.slice(to)}`;
  }
  return text;
}

/** Rewrite the generated parts; returns the files that changed. With `write: false`, only says which are stale. */
export function generateDocs(repo: string, write: boolean): string[] {
  const changed: string[] = [];
  for (const file of new Set(GENERATED.map((g) => g.file))) {
    const next = regenerate(repo, file);
    if (next === readFileSync(join(repo, file), 'utf8')) continue;
    changed.push(file);
    if (write) writeFileSync(join(repo, file), next);
  }
  return changed;
}

// --- the protocol --------------------------------------------------------------------------

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  additionalProperties?: Schema | boolean;
};

const jsonSchema = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Schema;

/** A short type for a table cell: `string`, `number[]`, `"copy" \| "sync"`, `{…}`. */
function typeText(s: Schema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.map(typeText).join(' | ');
  const type = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
  if (type === 'array') {
    const item = typeText(s.items ?? {});
    return item.includes(' ') ? `(${item})[]` : `${item}[]`;
  }
  if (type === 'object') return s.properties && Object.keys(s.properties).length > 0 ? '{…}' : 'object';
  return type ?? 'any';
}

/** Params as `name?: type` lines (`?`: may be left out). */
function fieldsText(s: Schema): string {
  const props = Object.entries(s.properties ?? {});
  if (props.length === 0) return '(none)';
  return props.map(([name, p]) => code(`${name}${s.required?.includes(name) ? '' : '?'}: ${typeText(p)}`)).join('<br>');
}

/** A result's shape: its top-level fields, or what an array holds. */
function shapeText(s: Schema): string {
  if (s.type === 'array') return `array of ${s.items?.properties ? `{${Object.keys(s.items.properties).join(', ')}}` : typeText(s.items ?? {})}`;
  if (s.properties) return code(`{${Object.keys(s.properties).join(', ')}}`);
  return code(typeText(s));
}

/** Inline code in a table cell: pipes escaped so they do not split the cell. */
const code = (t: string) => `\`${t.replace(/\|/g, '\\|')}\``;
const cell = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function methodTable(): string {
  // A method's name is its command path (`dws/report/history`: `dws report history`) when the CLI has that command.
  const cli = new Set(commandsOf(program).map(({ path }) => path.join(' ')));
  const command = (method: string) => {
    const path = method.split('/').slice(1).join(' ');
    return cli.has(path) ? `[\`${path}\`](cli-reference.md#${anchor(`dws ${path}`)})` : '—';
  };
  const rows = Object.values(METHODS)
    .slice()
    .sort((a, b) => a.method.localeCompare(b.method))
    .map((d) => `| \`${d.method}\` | ${command(d.method)} | ${cell(d.doc)} | ${fieldsText(jsonSchema(d.params, 'input'))} | ${shapeText(jsonSchema(d.result, 'output'))} | ${d.mutates ? 'yes' : 'no'} |`);
  return ['| method | CLI | what it does | params | result | changes the workspace |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

function notificationTable(): string {
  const rows = Object.values(NOTIFICATIONS)
    .slice()
    .sort((a, b) => a.method.localeCompare(b.method))
    .map((d) => `| \`${d.method}\` | ${cell(d.doc)} | ${fieldsText(jsonSchema(d.params, 'output'))} |`);
  return ['| notification | when | params |', '|---|---|---|', ...rows].join('\n');
}

// --- the command line ----------------------------------------------------------------------

/** Every command and sub-command, depth first, with the path that names it (`report history`). */
function commandsOf(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  return cmd.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [{ path: [...path, c.name()], cmd: c }, ...commandsOf(c, [...path, c.name()])]);
}

/** `--help` as a pipe or a file gets it: 80 columns, no colours, whatever the terminal running the generator. */
function helpText(cmd: Command): string {
  cmd.configureHelp({ helpWidth: 80 });
  return cmd.helpInformation({ error: false }).trimEnd();
}

function commandReference(): string {
  const all = commandsOf(program);
  const sections = [
    `${all.length} commands. Each section is exactly what \`dws … --help\` prints.`,
    '',
    ...all.map(({ path }) => `- [\`dws ${path.join(' ')}\`](#${anchor(`dws ${path.join(' ')}`)})`),
    '',
    '## `dws`',
    '',
    '```text',
    helpText(program),
    '```',
  ];
  for (const { path, cmd } of all) sections.push('', `## \`dws ${path.join(' ')}\``, '', '```text', helpText(cmd), '```');
  return sections.join('\n');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes. */
export function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}
