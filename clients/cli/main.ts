/**
 * The `dws` command line: argv -> protocol method, called in-process (DESIGN.md). This file
 * holds the program, the global options and the error-to-exit-code mapping; each command's
 * flags and rendering live in commands/<name>.ts.
 */
import { Command, CommanderError } from 'commander';
import { DwsError, InternalError } from '../../protocol/errors.js';
import { toJson } from './cli.js';
import * as add from './commands/add.js';
import * as demo from './commands/demo.js';
import * as init from './commands/init.js';
import * as report from './commands/report.js';
import * as snapshot from './commands/snapshot.js';
import * as status from './commands/status.js';
import * as version from './commands/version.js';

const COMMANDS = [init, add, snapshot, status, report, version, demo];

function buildProgram(): Command {
  const program = new Command('dws')
    .description('Data Workspaces: snapshot, restore, share and trace the data, code and results of a data-science project')
    .option('-b, --batch', 'never ask questions: fail where an answer would be needed')
    .option('--verbose', 'show each git call and more detail')
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
    return 0;
  } catch (e) {
    return reportError(e, argv);
  }
}

function reportError(e: unknown, argv: string[]): number {
  if (e instanceof CommanderError) {
    if (e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    if (e.code === 'commander.help' || e.code === 'commander.executeSubCommandAsync') return e.exitCode;
    const path = commandPath(argv);
    process.stderr.write(`Usage: dws ${path}${path ? ' ' : ''}[OPTIONS] ...\nTry 'dws ${path}${path ? ' ' : ''}--help' for help.\n\nError: ${e.message.replace(/^error: /, '')}\n`);
    return 2;
  }
  const err = e instanceof DwsError ? e : new InternalError(`unexpected exception: ${e instanceof Error ? e.message : String(e)}`);
  if (argv.includes('--json')) {
    process.stdout.write(`${toJson({ error: err.toJSON() })}\n`);
  } else {
    if (argv.includes('--verbose') && e instanceof Error && !(e instanceof DwsError)) process.stderr.write(`${e.stack}\n`);
    process.stderr.write(`${errorLine(err, argv)}\n`);
  }
  return err.exitCode;
}

function errorLine(err: DwsError, argv: string[]): string {
  switch (err.code) {
    case 'InvalidParams': {
      const path = commandPath(argv);
      return `Error: ${err.message}\nTry 'dws ${path}${path ? ' ' : ''}--help' for help.`;
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

/** The command words of argv (e.g. `report history`), for usage hints. */
function commandPath(argv: string[]): string {
  const words: string[] = [];
  let cmd: Command | undefined = buildProgram();
  for (const a of argv) {
    if (a.startsWith('-')) continue;
    const sub: Command | undefined = cmd?.commands.find((c) => c.name() === a);
    if (!sub) break;
    words.push(a);
    cmd = sub;
  }
  return words.join(' ');
}
