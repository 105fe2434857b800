/**
 * The `dws` command line: argv -> protocol method, called in-process (DESIGN.md). This file
 * holds the program, the global options and the error-to-exit-code mapping; each command's
 * flags and rendering live in commands/<name>.ts.
 */
import { Command, CommanderError } from 'commander';
import { DwsError, InternalError, InvalidParamsError } from '../../protocol/errors.js';
import { toJson } from './cli.js';
import * as add from './commands/add.js';
import * as clone from './commands/clone.js';
import * as config from './commands/config.js';
import * as deleteSnapshot from './commands/delete-snapshot.js';
import * as store from './commands/store.js';
import * as diff from './commands/diff.js';
import * as demo from './commands/demo.js';
import * as init from './commands/init.js';
import * as lineage from './commands/lineage.js';
import * as publish from './commands/publish.js';
import * as pull from './commands/pull.js';
import * as push from './commands/push.js';
import * as report from './commands/report.js';
import * as reproduce from './commands/reproduce.js';
import * as restore from './commands/restore.js';
import * as run from './commands/run.js';
import * as runStep from './commands/run-step.js';
import * as server from './commands/server.js';
import * as snapshot from './commands/snapshot.js';
import * as status from './commands/status.js';
import * as version from './commands/version.js';
import * as watch from './commands/watch.js';

const COMMANDS = [init, add, snapshot, restore, deleteSnapshot, diff, config, status, report, lineage, version, demo, server, push, pull, publish, clone, run, runStep, watch, reproduce, store];

/** The whole command tree (also read by the docs generator for the command reference). */
export function buildProgram(): Command {
  const program = new Command('dws')
    .description('Data Workspaces: snapshot, restore, share and trace the data, code and results of a data-science project')
    .option('-b, --batch', 'never ask questions: fail where an answer would be needed')
    .option('--verbose', 'show each git call and more detail')
    .option('--json', 'print results (and errors) as JSON, for scripts')
    .option('--lock-timeout <ms>', 'how long a change waits for the workspace lock held by another dws (default: DWS_LOCK_TIMEOUT_MS or 60000)')
    .version(__DWS_VERSION__, '--version', 'print the version')
    .showSuggestionAfterError()
    .exitOverride();
  for (const c of COMMANDS) c.register(program);
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
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command that printed its result but did not succeed (a failed `dws run`) sets the code.
    return Number(process.exitCode ?? 0);
  } catch (e) {
    return reportError(e, argv);
  }
}

function reportError(e: unknown, argv: string[]): number {
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
    process.stderr.write(`${errorText(err, argv)}\n`);
  }
  return err.exitCode;
}

function errorText(err: DwsError, argv: string[]): string {
  switch (err.code) {
    case 'InvalidParams': {
      const { path, usage } = commandUsage(argv);
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
function commandUsage(argv: string[]): { path: string; usage: string } {
  let cmd: Command = buildProgram();
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
