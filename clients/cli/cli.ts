/**
 * What every CLI command file gets: `invoke`, which calls a protocol method in-process with a
 * terminal context and prints its result (rendered for people, or JSON with --json), and the
 * option parsers shared by several commands.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { z } from 'zod';
import { InvalidParamsError } from '../../protocol/errors.js';
import type { METHODS, MethodName, ParamsOf, ResultOf, Role } from '../../protocol/index.js';
import { callMethod } from '../../server/commands/index.js';
import { toPlainJson } from '../../server/workspace/pyjson.js';
import { parseRole } from '../../server/workspace/names.js';
import { terminalContext } from './terminal.js';

export type Render<M extends MethodName> = (result: ResultOf<(typeof METHODS)[M]>) => string;

/**
 * A file's path as a terminal shows it: as it is, or quoted with escapes (JSON's) when it holds a
 * control character, so that a name with a line feed stays one line and one with an escape
 * sequence cannot drive the terminal (`--json` keeps the names as they are).
 */
export function shownPath(path: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f-\x9f]/.test(path) ? JSON.stringify(path).replace(/[\x7f-\x9f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) : path;
}

interface GlobalOptions {
  batch?: boolean;
  verbose?: boolean;
  json?: boolean;
  lockTimeout?: string;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** What a command that stops on Ctrl-C or SIGTERM says: as it starts to stop, and once it has (each after 'Interrupted: '). */
export interface Interruption {
  stopping: string;
  stopped: string;
}

/**
 * Call `method` in-process and print its result. With `interruption`, the first Ctrl-C or SIGTERM
 * aborts the call (onInterrupt), which releases the workspace lock, removes its temporary files
 * and stops its rclone processes on the way out; then dws says so and exits 130 or 143.
 */
export async function invoke<M extends MethodName>(cmd: Command, method: M, params: ParamsOf<(typeof METHODS)[M]>, render: Render<M>, interruption?: Interruption): Promise<void> {
  const g = globalOptions(cmd);
  const interrupt = interruption ? onInterrupt(`Interrupted: ${interruption.stopping}`) : null;
  const ctx = { ...terminalContext({ batch: g.batch === true, verbose: g.verbose === true, json: g.json === true }), lockTimeoutMs: lockTimeoutMs(g), ...(interrupt ? { signal: interrupt.signal } : {}) };
  let result: ResultOf<(typeof METHODS)[M]>;
  try {
    result = await callMethod(ctx, method, params);
  } catch (e) {
    if (!interrupt?.signal.aborted) throw e;
    process.stderr.write(`Interrupted: ${interruption!.stopped}\n`);
    process.exit(interrupt.exitCode);
  } finally {
    interrupt?.dispose();
  }
  process.stdout.write(g.json ? `${toJson(result)}\n` : render(result));
}

/** How long a change waits for another process's workspace lock: --lock-timeout, DWS_LOCK_TIMEOUT_MS, else a minute. */
export function lockTimeoutMs(g: GlobalOptions): number {
  const given = g.lockTimeout ?? process.env.DWS_LOCK_TIMEOUT_MS;
  if (given === undefined || given === '') return 60_000;
  const ms = Number(given);
  if (!Number.isInteger(ms) || ms < 0) throw new InvalidParamsError(`Invalid lock timeout '${given}' (from ${g.lockTimeout !== undefined ? '--lock-timeout' : 'DWS_LOCK_TIMEOUT_MS'}): give a whole number of milliseconds, e.g. 5000`);
  return ms;
}

/** JSON for scripts: Python-style floats become plain numbers. */
export function toJson(value: unknown): string {
  return JSON.stringify(toPlainJson(value), null, 2);
}

export function roleOption(value: string): Role {
  const role = parseRole(value);
  if (!role) throw new InvalidArgumentError('Invalid resource role. Must be one of: source-data, intermediate-data, code, results');
  return role;
}

/**
 * A parser for an argument that checks it with its protocol schema, so that a bad value is a usage
 * error naming it (exit 2) like the other commands' bad arguments, not zod's report of the params.
 */
export function bySchema<T>(schema: z.ZodType<T>): (value: string) => T {
  return (value) => {
    const r = schema.safeParse(value);
    if (!r.success) throw new InvalidArgumentError(r.error.issues.map((i) => i.message).join('; '));
    return r.data;
  };
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`'${value}' is not a positive whole number`);
  return n;
}

/**
 * `--workspace-dir DIR` is checked as an option value, as 1.6 does (cli.md 1.2): a missing
 * directory or one without .dataworkspace/ is a usage error (exit 2), before any handler runs.
 */
export function workspaceDirOption(value: string): string {
  if (!existsSync(value) || !statSync(value).isDirectory()) throw new InvalidArgumentError(`Directory '${value}' does not exist`);
  if (!existsSync(join(value, '.dataworkspace'))) throw new InvalidArgumentError(`No .dataworkspace directory found under '${value}'. Did you run 'dws init'?`);
  return value;
}

/** Add `--json` to a command that prints. */
export function withJson(cmd: Command): Command {
  return cmd.option('--json', 'print the result as JSON (for scripts)');
}

/** A resource list (`--only`, `--skip`): comma-separated names, not trimmed (cli.md 1.5). */
export function resourceList(value: string): string[] {
  return value.split(',');
}

/** Options of `push` and `pull`: which resources, and the workspace. */
export interface SyncOptions {
  only?: string[];
  skip?: string[];
  onlyWorkspace?: boolean;
  workspaceDir?: string;
}

/** Declare the SyncOptions on `cmd`. */
export function syncOptions(cmd: Command): Command {
  return cmd
    .option('--only <NAMES>', 'only these resources (comma list)', resourceList)
    .option('--skip <NAMES>', 'all resources except these (comma list)', resourceList)
    .option('--only-workspace', 'only the workspace repository, no resource')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption);
}

/** The params of `dws/push` and `dws/pull` from their options. */
export function syncParams(o: SyncOptions) {
  return { only: o.only, skip: o.skip, onlyWorkspace: o.onlyWorkspace ?? false, workspaceDir: o.workspaceDir };
}

/**
 * An AbortSignal for long commands: the first Ctrl-C or SIGTERM aborts it (saying `message`), a
 * second ends the process. SIGTERM is what `timeout`, a CI cancel or a batch system's time limit
 * sends: left to Node's default, it ended dws at once and left a command step running on, writing
 * into the workspace. `exitCode`: 130 after Ctrl-C, 143 after SIGTERM (128 + the signal's number).
 */
export function onInterrupt(message: string): { signal: AbortSignal; readonly exitCode: number; dispose(): void } {
  const controller = new AbortController();
  let exitCode = 130;
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(exitCode);
    exitCode = signal === 'SIGTERM' ? 143 : 130;
    // Said in the terms of what stopped it: after a `timeout` or a batch system's SIGTERM nobody pressed Ctrl-C.
    process.stderr.write(`\n${message} (${signal === 'SIGTERM' ? 'SIGTERM' : 'Ctrl-C'} again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    get exitCode() {
      return exitCode;
    },
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** Collects every value of a repeatable option (`--param a=1 --param b=2`). */
export function repeatable(value: string, previous: string[]): string[] {
  return [...previous, value];
}
