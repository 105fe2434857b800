/**
 * The `dws` command line: argv -> protocol method, called in-process (DESIGN.md). This file
 * holds the program, the global options and the error-to-exit-code mapping; each command's
 * flags and rendering live in commands/<name>.ts.
 */
import { Command, CommanderError } from 'commander';
import { DwsError, InternalError, InvalidParamsError } from '../../protocol/errors.js';
import { toJson } from './cli.js';
import { commandOf } from './argv.js';

interface CommandModule {
  register(program: Command): void;
}

/**
 * Each top-level command word and the module that registers it, in help order. A run loads only
 * the module of its own command: loading all of them (and what they import) cost every dws
 * process ~40 ms of CPU. `store` registers three words.
 */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  init: () => import('./commands/init.js'),
  add: () => import('./commands/add.js'),
  snapshot: () => import('./commands/snapshot.js'),
  restore: () => import('./commands/restore.js'),
  'delete-snapshot': () => import('./commands/delete-snapshot.js'),
  diff: () => import('./commands/diff.js'),
  config: () => import('./commands/config.js'),
  status: () => import('./commands/status.js'),
  report: () => import('./commands/report.js'),
  lineage: () => import('./commands/lineage.js'),
  version: () => import('./commands/version.js'),
  demo: () => import('./commands/demo.js'),
  server: () => import('./commands/server.js'),
  push: () => import('./commands/push.js'),
  pull: () => import('./commands/pull.js'),
  publish: () => import('./commands/publish.js'),
  clone: () => import('./commands/clone.js'),
  run: () => import('./commands/run.js'),
  'run-step': () => import('./commands/run-step.js'),
  watch: () => import('./commands/watch.js'),
  reproduce: () => import('./commands/reproduce.js'),
  gc: () => import('./commands/store.js'),
  fsck: () => import('./commands/store.js'),
  store: () => import('./commands/store.js'),
};

/**
 * The command tree: with `command` (a known command word) only that command, else the whole
 * tree (for help, suggestions, and the docs generator's command reference).
 */
export async function buildProgram(command?: string): Promise<Command> {
  const loaders = command !== undefined && Object.hasOwn(COMMANDS, command) ? [COMMANDS[command]!] : Object.values(COMMANDS);
  // One module may register several words: register each module once.
  const modules = new Set(await Promise.all(loaders.map((load) => load())));
  const program = new Command('dws')
    .description('Data Workspaces: snapshot, restore, share and trace the data, code and results of a data-science project')
    .option('-b, --batch', 'never ask questions: fail where an answer would be needed')
    .option('--verbose', 'show each git call and more detail')
    .option('--json', 'print results (and errors) as JSON, for scripts')
    .option('--lock-timeout <ms>', 'how long a change waits for the workspace lock held by another dws (default: DWS_LOCK_TIMEOUT_MS or 60000)')
    .version(__DWS_VERSION__, '--version', 'print the version')
    .showSuggestionAfterError()
    .exitOverride();
  for (const m of modules) m.register(program);
  // Sub-commands inherit exitOverride and output settings.
  const configure = (cmd: Command) => {
    cmd.exitOverride().configureOutput({ outputError: () => {} });
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** Run the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(commandOf(argv));
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command that printed its result but did not succeed (a failed `dws run`) sets the code.
    return Number(process.exitCode ?? 0);
  } catch (e) {
    return reportError(e, argv, program);
  }
}

function reportError(e: unknown, argv: string[], program: Command): number {
  if (e instanceof CommanderError) {
    if (e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    if (e.code === 'commander.help') return 2; // a group without its sub-command: help was shown
    // Anything else from the argument parser (including a group given no sub-command) is a usage error.
    e = new InvalidParamsError(e.message.replace(/^error: /, ''));
  }
  const err = e instanceof DwsError ? e : new InternalError(`unexpected exception: ${e instanceof Error ? e.message : String(e)}`);
  if (argv.includes('--json')) {
    process.stdout.write(`${toJson({ error: err.toJSON() })}\n`);
  } else {
    if (argv.includes('--verbose') && e instanceof Error && !(e instanceof DwsError)) process.stderr.write(`${e.stack}\n`);
    process.stderr.write(`${errorText(err, argv, program)}\n`);
  }
  return err.exitCode;
}

function errorText(err: DwsError, argv: string[], program: Command): string {
  switch (err.code) {
    case 'InvalidParams': {
      const { path, usage } = commandUsage(argv, program);
      return `Usage: dws ${path}${usage}\nTry 'dws ${path}--help' for help.\n\nError: ${err.message}`;
    }
    case 'ConfigurationError':
    case 'NotFound':
    case 'Conflict':
    case 'CorruptMetadata':
      return `Configuration error: ${err.message}`;
    case 'SubprocessFailed':
      return `Error in subprocess call: ${err.message}`;
    case 'InternalError':
      return `Aborting due to internal error: ${err.message}`;
    default:
      return err.message;
  }
}

/** The command words of argv (e.g. `report history `) and that command's usage line. */
function commandUsage(argv: string[], program: Command): { path: string; usage: string } {
  let cmd = program;
  let path = '';
  for (const a of argv) {
    if (a.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === a);
    if (!sub) break;
    path += `${a} `;
    cmd = sub;
  }
  return { path, usage: cmd.usage() };
}
