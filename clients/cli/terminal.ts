/**
 * The CLI's platform for handlers: log lines and warnings on stderr, progress drawn on stderr
 * only when a person watches a terminal (never with --json or when stdout is not a TTY), and
 * questions read from standard input unless --batch.
 */
import { createInterface } from 'node:readline';
import { UserAbortError } from '../../protocol/errors.js';
import { createContext, type Context, type Logger, type ProgressReporter, type Prompter } from '../../server/context.js';
import { shellQuote } from '../../server/workspace/paths.js';

export interface TerminalOptions {
  batch: boolean;
  verbose: boolean;
  json: boolean;
}

export function terminalContext(o: TerminalOptions): Context {
  return createContext({
    verbose: o.verbose,
    log: terminalLogger(o),
    progress: process.stdout.isTTY && process.stderr.isTTY && !o.json ? terminalProgress() : { begin: () => ({ report() {}, end() {} }) },
    prompter: o.batch ? null : stdinPrompter(),
    option: cliOption,
    command: cliCommand,
  });
}

/** How the CLI gives a protocol param: its option (`workspaceDir` -> `--workspace-dir`, `snapshot` false -> `--no-snapshot`), or the words below for the rest. */
function cliOption(param: string, value?: unknown): string {
  return CLI_WORDS[param] ?? `--${value === false ? 'no-' : ''}${param.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
const CLI_WORDS: Record<string, string> = { files: 'step files', command: 'a command after --', message: '-m', forgetWorkspaces: '--forget-workspace' };

/**
 * How the CLI says to run a method: its command line, options first (`dws/restore` with
 * `{ force: true, tagOrHash: 'SNAPSHOT' }` -> `dws restore --force SNAPSHOT`), values quoted for
 * the shell unless they are placeholders (`<hash>`).
 */
function cliCommand(method: string, params: Record<string, unknown> = {}): string {
  const args = CLI_ARGUMENTS[method] ?? [];
  const word = (v: unknown) => (/^<[^<>]+>$/.test(String(v)) ? String(v) : shellQuote(String(v)));
  const given = Object.entries(params).filter(([, v]) => v !== undefined);
  const options = given
    .filter(([k]) => !args.includes(k))
    .flatMap(([k, v]) => (typeof v === 'boolean' ? [cliOption(k, v)] : (Array.isArray(v) ? v : [v]).map((x) => `${cliOption(k)} ${word(x)}`)));
  const positional = args.filter((a) => params[a] !== undefined).map((a) => word(params[a]));
  return ['dws', ...method.replace(/^dws\//, '').split('/'), ...options, ...positional].join(' ');
}
/** The params each command takes as arguments, in their order; the others are options. */
const CLI_ARGUMENTS: Record<string, string[]> = {
  'dws/restore': ['tagOrHash'],
  'dws/snapshot': ['tag'],
  'dws/delete-snapshot': ['tagOrHash'],
  'dws/config': ['name', 'value'],
  'dws/publish': ['remoteUrl'],
  'dws/add/local-files': ['path'],
  'dws/init': ['name'],
  'dws/store/checkout': ['tree', 'directory'],
};

function terminalLogger(o: TerminalOptions): Logger {
  const err = (m: string) => process.stderr.write(`${m}\n`);
  return {
    info: o.json ? () => {} : err,
    warn: err,
    debug: o.verbose ? err : () => {},
  };
}

/** One status line, redrawn at most 10 times a second, shown only for work that lasts over 0.3 s. */
function terminalProgress(): ProgressReporter {
  return {
    begin(title, unit = 'files') {
      const started = Date.now();
      let last = 0;
      let drawn = false;
      return {
        report(done, total, detail) {
          const now = Date.now();
          if (now - started < 300 || now - last < 100) return;
          last = now;
          drawn = true;
          const n = (x: number) => (unit === 'bytes' ? (x / 1e6).toFixed(1) : String(x));
          const what = unit === 'bytes' ? 'MB' : 'files';
          const count = total ? `${n(done)}/${n(total)} ${what} (${Math.floor((100 * done) / total)}%)` : `${n(done)} ${what}`;
          process.stderr.write(`\r\x1b[K${title}: ${count}${detail ? ` ${detail}` : ''}`);
        },
        end() {
          if (drawn) process.stderr.write('\r\x1b[K');
        },
      };
    },
  };
}

function stdinPrompter(): Prompter {
  // One reader for the whole run: a reader per question would lose lines already buffered
  // from a pipe (answers given as `printf 's\nname\n' | dws add ...`).
  let lines: LineQueue | null = null;
  const ask = async (question: string): Promise<string> => {
    process.stderr.write(question);
    lines ??= new LineQueue();
    const answer = await lines.next();
    if (answer === null) throw new UserAbortError('No answer on standard input (use --batch to run without questions)');
    if (!process.stdin.isTTY) process.stderr.write('\n');
    return answer.trim();
  };
  return {
    async confirm(message, defaultYes) {
      const a = (await ask(`${message} [${defaultYes ? 'Y/n' : 'y/N'}]: `)).toLowerCase();
      return a === '' ? defaultYes : a === 'y' || a === 'yes';
    },
    async text(message, options = {}) {
      for (;;) {
        const a = await ask(`${message}${options.default !== undefined ? ` [${options.default}]` : ''}: `);
        const answer = a === '' && options.default !== undefined ? options.default : a;
        const problem = options.validate?.(answer) ?? null;
        if (problem === null) return answer;
        process.stderr.write(`${problem}\n`);
      }
    },
  };
}

/** Lines of standard input, one at a time; null once it has ended. */
class LineQueue {
  private readonly buffered: string[] = [];
  private readonly waiting: Array<(line: string | null) => void> = [];
  private closed = false;
  private readonly rl = createInterface({ input: process.stdin, terminal: false });

  constructor() {
    this.rl.on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.buffered.push(line);
      // Paused between questions, so a terminal's stdin does not keep the process alive.
      if (this.waiting.length === 0) this.rl.pause();
    });
    this.rl.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w(null);
    });
  }

  next(): Promise<string | null> {
    const line = this.buffered.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.closed) return Promise.resolve(null);
    this.rl.resume();
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}
