/**
 * What a handler gets besides its params: where it runs, how to talk to the person (if any), and
 * the platform (clock, environment). Front ends build one; tests pass their own (STYLE.md 4).
 * Handlers never write to stdout themselves.
 */
import { BatchModeError } from '../protocol/errors.js';
import type { MethodName } from '../protocol/index.js';
import type { RunEvent } from '../protocol/runner.js';
import type { Resource } from './resources/types.js';

export interface Logger {
  /** Progress lines a person wants to see, e.g. "[snapshot] Taking snapshot of resource code". */
  info(message: string): void;
  /** Something is off but the operation goes on. */
  warn(message: string): void;
  /** Shown with --verbose only: subprocess calls and their output. */
  debug(message: string): void;
}

export interface ProgressTask {
  report(done: number, total?: number, detail?: string): void;
  end(): void;
}

export interface ProgressReporter {
  /** `unit`: what `done` and `total` count (files by default; bytes for transfers). */
  begin(title: string, unit?: 'files' | 'bytes'): ProgressTask;
}

/** Questions to a person. Absent in batch mode and in servers without a user. */
export interface Prompter {
  confirm(message: string, defaultYes: boolean): Promise<boolean>;
  /** Asks until `validate` returns null (or accepts); returns the answer or the default. */
  text(message: string, options?: { default?: string; validate?: (answer: string) => string | null }): Promise<string>;
}

export interface Context {
  cwd: string;
  verbose: boolean;
  log: Logger;
  progress: ProgressReporter;
  /** null = batch mode: anything that needs an answer fails with BatchModeError. */
  prompter: Prompter | null;
  now(): Date;
  env: NodeJS.ProcessEnv;
  /** Aborted when the caller gives up (a server request cancelled); handlers check it before changing anything. */
  signal?: AbortSignal;
  /** The runner's progress events (`dws/run/progress`): the CLI prints them, the server sends them as notifications. */
  onRunEvent?: ((e: RunEvent) => void) | undefined;
  /** Server mode: a file watcher's view of the workspaces (server/rpc/watch.ts); absent = compute everything each time. */
  watched?: WatchedState | undefined;
  /** How long a change waits for the workspace lock held by another process; undefined = as long as it takes (the server). */
  lockTimeoutMs?: number | undefined;
  /**
   * How messages name a param (given `value`, if it matters) to the person who gave it: the
   * protocol param itself (`workspaceDir`, `snapshot: false`) for JSON-RPC and API callers, by
   * default; the CLI says `--workspace-dir`, `--no-snapshot`.
   */
  option(param: string, value?: unknown): string;
  /**
   * How messages tell the person to run a method with `params`, as `option` names one param: the
   * method and its params (`dws/fsck with {"remote": true}`) for JSON-RPC and API callers, by
   * default; the CLI says its command line (`dws fsck --remote`). A value in capitals (`REMOTE`) or
   * in angle brackets (`<hash>`) stands for one the person fills in.
   */
  command(method: MethodName, params?: Record<string, unknown>): string;
}

/** Resources' current hashes, kept by following their files instead of rehashing on every request. */
export interface WatchedState {
  /** Start following the workspace at `dir` (once); resolves when changes from then on are seen. */
  follow(dir: string): Promise<void>;
  /** The resource's current compare hash (lineage/current-hash.ts), recomputed only after its files changed. */
  currentHash(r: Resource): Promise<string | null>;
  /**
   * The answer kept under `key` while nothing it came from can have changed: no file event, no
   * server command that may change a workspace (forget), none of its `files` changed on disk;
   * else `compute`'s answer, kept for next time unless its `files` are null.
   */
  remember<T>(key: string, compute: () => Promise<{ value: T; files: string[] | null }>): Promise<T>;
  /** Drop every kept answer (a command that may have changed a workspace has run). */
  forget(): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, debug() {} };
export const noProgress: ProgressReporter = { begin: () => ({ report() {}, end() {} }) };

export function createContext(overrides: Partial<Context> = {}): Context {
  return {
    cwd: process.cwd(),
    verbose: false,
    log: silentLogger,
    progress: noProgress,
    prompter: null,
    now: () => new Date(),
    env: process.env,
    option: (param, value) => (value === undefined ? param : `${param}: ${JSON.stringify(value)}`),
    command: methodCall,
    ...overrides,
  };
}

/** A method call as messages show it to JSON-RPC clients: `dws/fsck with {"remote": true}`, or the bare name without params. */
export function methodCall(method: MethodName, params: Record<string, unknown> = {}): string {
  const given = Object.entries(params).filter(([, v]) => v !== undefined);
  return given.length === 0 ? method : `${method} with {${given.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`;
}

/** The prompter, or a BatchModeError naming what would have answered the question (e.g. `ctx.option('role')`). */
export function needPrompter(ctx: Context, what: string): Prompter {
  if (!ctx.prompter) throw new BatchModeError(what, ctx.option('batch'));
  return ctx.prompter;
}
