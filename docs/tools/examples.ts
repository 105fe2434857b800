/**
 * Runs the shell examples of the docs and compares their output with what the docs show.
 *
 * An example is a fenced block whose info string is `console`: lines starting with `$ ` are
 * commands (a line ending in `\` continues on the next, a here-document up to its terminator), the lines after a command are its
 * output (stdout and stderr together, as a terminal shows them). All examples of one file form
 * one session: one bash, started in an empty temporary directory that is also `$HOME`, with the
 * built `dws` first on PATH, the tests' git identity and TZ=UTC; `cd` and variables carry over
 * from one example to the next. The rules that make output comparable are in `normalize` and
 * are listed in docs/README.md ("How the examples are checked").
 *
 * Two HTML comments steer a file's session (they are invisible on GitHub):
 *   <!-- docs-check: skip REASON -->   before a block: do not run it (the reason is reported)
 *   <!-- docs-check: hidden            commands to run here whose output is not shown, e.g. to
 *   $ command                          make a file an example reads; each must exit 0
 *   -->
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Command {
  /** Where the command is in its file (1-based line), for messages. */
  line: number;
  text: string;
  /** The output the docs show; null for hidden commands (not compared). */
  expected: string[] | null;
}

export interface Skipped {
  line: number;
  reason: string;
}

export interface Session {
  file: string;
  commands: Command[];
  skipped: Skipped[];
}

/** The examples of one markdown file, in order. */
export function parseExamples(file: string, markdown: string): Session {
  const lines = markdown.split('\n');
  const session: Session = { file, commands: [], skipped: [] };
  let skipReason: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const skip = /^<!-- docs-check: skip (.*?) ?-->$/.exec(line);
    if (skip) {
      skipReason = skip[1]!;
      continue;
    }
    if (line.startsWith('<!-- docs-check: hidden')) {
      const end = lines.findIndex((l, j) => j > i && l.trim() === '-->');
      if (end < 0) throw new Error(`${file}:${i + 1}: a 'docs-check: hidden' comment without its closing '-->' line`);
      const body = lines.slice(i + 1, end).map((l) => l.trim());
      session.commands.push(...commandsOf(body, i + 2).map((c) => ({ ...c, expected: null })));
      i = end;
      continue;
    }
    // A block may be indented (inside a list item): its lines lose that indent.
    const fence = /^( *)(`{3,})(\S*)/.exec(lines[i]!);
    if (!fence) continue;
    const [, indent, ticks, info] = fence as unknown as [string, string, string, string];
    const close = lines.findIndex((l, j) => j > i && l.trim() === ticks);
    if (close < 0) throw new Error(`${file}:${i + 1}: a fenced block that is never closed`);
    if (info === 'console') {
      const body = lines.slice(i + 1, close).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l));
      if (skipReason !== null) session.skipped.push({ line: i + 1, reason: skipReason });
      else session.commands.push(...commandsOf(body, i + 2));
    }
    skipReason = null;
    i = close;
  }
  return session;
}

/** `$ ` lines (with `\` continuations) and the output lines under each. */
function commandsOf(block: string[], firstLine: number): Command[] {
  const out: Command[] = [];
  for (let i = 0; i < block.length; i++) {
    const l = block[i]!;
    if (l.startsWith('$ ')) {
      const start = i;
      let text = l.slice(2);
      while (text.endsWith('\\') && i + 1 < block.length) text = `${text}\n${block[++i]}`;
      // A here-document's lines are part of the command, up to its terminator.
      const heredoc = /<<-?\s*'?(\w+)'?/.exec(text);
      if (heredoc) {
        while (i + 1 < block.length && block[i + 1] !== heredoc[1]) text = `${text}\n${block[++i]}`;
        if (i + 1 < block.length) text = `${text}\n${block[++i]}`;
      }
      out.push({ line: firstLine + start, text, expected: [] });
    } else if (out.length === 0) {
      if (l.trim() !== '') throw new Error(`line ${firstLine + i}: output before any '$ ' command in a console block`);
    } else {
      out[out.length - 1]!.expected!.push(l);
    }
  }
  return out;
}

export interface Outcome {
  command: Command;
  exitCode: number;
  /** Normalized output lines. */
  actual: string[];
  /** The output as printed, only the session's home shown as `~` (to paste into the docs after checking it). */
  raw: string;
  ok: boolean;
  why?: string;
}

const MARK = '@@dws-docs-check@@';

/**
 * Run a session's commands in one bash in a fresh temporary directory and compare each output.
 * `repo` holds the `dist/dws.js` to run and the `test/gitconfig` identity.
 */
export async function runSession(session: Session, repo: string, options: { timeoutMs?: number } = {}): Promise<Outcome[]> {
  // A short path: table columns that show paths keep the width the docs show.
  const home = realpathSync(mkdtempSync(join(tmpdir(), 'dd-')));
  try {
    const bin = join(home, '.bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'dws'), `#!/bin/sh\nexec "${process.execPath}" "${join(repo, 'dist', 'dws.js')}" "$@"\n`);
    chmodSync(join(bin, 'dws'), 0o755);
    const script = ['cd "$HOME"', ...session.commands.flatMap((c) => [c.text, `printf '\\n${MARK} %s\\n' "$?"`])].join('\n');
    writeFileSync(join(bin, 'session.sh'), script);
    const env: NodeJS.ProcessEnv = {
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: home,
      TZ: 'UTC',
      LC_ALL: 'C',
      GIT_CONFIG_GLOBAL: join(repo, 'test', 'gitconfig'),
      GIT_CONFIG_NOSYSTEM: '1',
      DWS_LOCK_TIMEOUT_MS: '10000',
      // Hidden set-up commands may take files from the checkout (the Python-made fixture).
      DWS_REPO: repo,
    };
    const output = await runBash(join(bin, 'session.sh'), home, env, options.timeoutMs ?? 300_000);
    const parts = output.split(new RegExp(`\\n${MARK} (\\d+)\\n`));
    return session.commands.map((command, k) => {
      const raw = parts[2 * k];
      const exitCode = raw === undefined ? -1 : Number(parts[2 * k + 1]);
      if (raw === undefined) return { command, exitCode, actual: [], raw: '', ok: false, why: 'the session stopped before this command (timeout or crash)' };
      const actual = normalize(raw, home);
      const printed = raw.split(home).join('~').replace(/^\n+|\n+$/g, '');
      if (exitCode !== 0 && !command.text.includes('$?')) return { command, exitCode, actual, raw: printed, ok: false, why: `exited ${exitCode} (show a failing command's status with \`; echo "exit $?"\`)` };
      if (command.expected === null) return { command, exitCode, actual, raw: printed, ok: true };
      const expected = normalize(command.expected.join('\n'), null);
      return { command, exitCode, actual, raw: printed, ...(matches(expected, actual) ? { ok: true } : { ok: false, why: 'output differs' }) };
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function runBash(script: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // stderr joins stdout in one pipe, so lines keep the order a terminal shows them in.
    const child = spawn('bash', ['-c', `exec 2>&1; . "${script}"`], { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/**
 * What varies from run to run, made equal on both sides (docs/README.md lists these rules):
 * the session's home directory is `~`; hashes (7 to 40 hex digits) are `<hash>`; times and
 * durations (`31 ms`, `2.6 s`) are `<time>` and `<duration>`; runs of spaces or of `_` count as one (table columns
 * widen with a longer path); trailing spaces and blank lines at either end are dropped.
 */
export function normalize(text: string, home: string | null): string[] {
  let t = text;
  if (home !== null) t = t.split(home).join('~');
  t = t
    .replace(/\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z?/g, '<time>')
    .replace(/\b[0-9a-f]{7,40}\b/g, '<hash>')
    .replace(/\b\d+(\.\d+)? ?(ms|s)\b/g, '<duration>')
    .replace(/ {2,}/g, ' ')
    .replace(/_{2,}/g, '_');
  const lines = t.split('\n').map((l) => l.trimEnd());
  while (lines.length > 0 && lines[0] === '') lines.shift();
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Line by line; a line `...` in the docs stands for any number of lines. */
export function matches(expected: string[], actual: string[]): boolean {
  const at = (e: number, a: number): boolean => {
    if (e === expected.length) return a === actual.length;
    if (expected[e]!.trim() === '...') {
      for (let k = a; k <= actual.length; k++) if (at(e + 1, k)) return true;
      return false;
    }
    return a < actual.length && expected[e] === actual[a] && at(e + 1, a + 1);
  };
  return at(0, 0);
}

/** A failure as a person reads it: where, why, and both outputs. */
export function describe(file: string, o: Outcome, raw = false): string {
  const shown = o.command.expected === null ? '(hidden command)' : normalize(o.command.expected.join('\n'), null).join('\n');
  const printed = raw ? ['  --- it printed:', indent(o.raw)] : ['  --- it printed (normalized):', indent(o.actual.join('\n'))];
  return [`${file}:${o.command.line}: $ ${o.command.text}`, `  ${o.why}`, '  --- the docs show (normalized):', indent(shown), ...printed].join('\n');
}

const indent = (t: string) => t.split('\n').map((l) => `    ${l}`).join('\n');
