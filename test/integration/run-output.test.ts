/**
 * Step output never corrupts machine-readable streams (issue 12 item 5): a step's console output
 * and a command step's stdout become `[step] line` on stderr for the CLI (also with --json) and
 * `dws/run/progress` log notifications for the server; a step's process.exit() fails only that
 * step; a carriage-return progress bar is one updating line on a terminal, its last state
 * elsewhere. And a failing step says where, in its own source (source maps).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, type DwsClient } from '../../clients/node/index.js';
import { cleanup, DWS, dws, gitLog, TEST_ENV } from '../helpers.js';
import { currentSteps, stepSource, stepWorkspace } from '../runner-fixture.js';

const clients: DwsClient[] = [];
afterAll(() => {
  clients.forEach((c) => c.close());
  cleanup();
});

const LOUD = stepSource({
  name: 'loud',
  inputs: {},
  outputs: { out: 'intermediate-data:/loud' },
  body: `    console.log('hello from loud');
    process.stdout.write('{"not": "the result"}\\n');
    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'x.txt'), 'x');`,
});

const EXITS = stepSource({
  name: 'exits',
  inputs: {},
  outputs: { out: 'intermediate-data:/exits' },
  body: `    mkdirSync(outputs.out, { recursive: true });
    process.exit(3);`,
});

/** A command step drawing a progress bar the way tqdm does: `\r` before each frame, `\n` at the end. */
const BAR = "process.stdout.write('start\\n'); for (const p of [0, 50, 100]) process.stderr.write('\\r' + p + '%|'); process.stderr.write('\\n'); require('fs').mkdirSync('intermediate-data/bar', { recursive: true }); require('fs').writeFileSync('intermediate-data/bar/x', 'x');";

describe('step output', () => {
  it('--json: stdout is only the result; console output of file and command steps is [step] lines on stderr', async () => {
    const dir = await stepWorkspace({ 'loud.step.mjs': LOUD });
    const r = await dws(dir, ['--json', 'run', 'code/loud.step.mjs', '--no-snapshot']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { ok: boolean }).ok).toBe(true);
    expect(r.stderr).toContain('[loud] hello from loud\n');
    expect(r.stderr).toContain('[loud] {"not": "the result"}\n');

    const cmd = await dws(dir, ['--json', 'run', '--name', 'echo', '--out', 'intermediate-data:/bar', '--no-snapshot', '--', process.execPath, '-e', BAR]);
    expect(cmd.code, cmd.stderr).toBe(0);
    expect((JSON.parse(cmd.stdout) as { ok: boolean }).ok).toBe(true);
    expect(cmd.stderr).toContain('[echo] start\n');
  });

  it('dws server --stdio: the client gets its answer; step output arrives as log notifications', async () => {
    const dir = await stepWorkspace({ 'loud.step.mjs': LOUD });
    const c = await connect({ cwd: dir, command: [process.execPath, DWS], env: TEST_ENV });
    clients.push(c);
    const logs: string[] = [];
    c.connection.onNotification('dws/run/progress', (p: { event: { type: string; step: string; message?: string } }) => {
      if (p.event.type === 'log') logs.push(`${p.event.step}: ${p.event.message}`);
    });
    // One step alone and --jobs 1: the cases that used to run in the server's own thread.
    const r = await c.request('dws/run', { files: ['code/loud.step.mjs'], jobs: 1, snapshot: false });
    expect(r.ok).toBe(true);
    const cmd = await c.request('dws/run', { command: { name: 'echo', outputs: ['intermediate-data:/bar'], argv: [process.execPath, '-e', BAR] }, snapshot: false });
    expect(cmd.ok).toBe(true);
    expect((await c.request('dws/version', {})).formatVersion).toBe('1.6.0');
    expect(logs).toEqual(expect.arrayContaining(['loud: hello from loud', 'loud: {"not": "the result"}', 'echo: start', 'echo: 100%|']));
  });

  it("a step's process.exit() fails only that step, with a message; the other step succeeds", async () => {
    const dir = await stepWorkspace({ 'exits.step.mjs': EXITS, 'loud.step.mjs': LOUD });
    const head = gitLog(dir)[0];
    const r = await dws(dir, ['run', 'code/exits.step.mjs', 'code/loud.step.mjs', '--jobs', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[exits] FAILED: it called process.exit(3) before finishing');
    expect(r.stderr).toContain('[loud] done');
    expect(r.stdout).toContain('Run failed: 1 ran, 0 skipped, 1 failed.');
    expect(currentSteps(dir, 'intermediate-data').map((s) => s.step_name)).toEqual(['loud']);
    expect(gitLog(dir)[0]).toBe(head);
  });

  it('a progress bar is its last state on a pipe, one line redrawn in place on a terminal', async () => {
    const dir = await stepWorkspace({});
    const args = ['run', '--name', 'bar', '--out', 'intermediate-data:/bar', '--no-snapshot', '--', process.execPath, '-e', BAR];
    const piped = await dws(dir, args);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr.split('\n').filter((l) => l.startsWith('[bar] ') && l.includes('%'))).toEqual(['[bar] 100%|']);
    // A terminal: `script` gives the run a pseudo-terminal.
    const shell = [process.execPath, DWS, 'run', '--force', ...args.slice(1)].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const tty = execFileSync('script', ['-qec', shell, '/dev/null'], { cwd: dir, env: TEST_ENV, encoding: 'utf8' });
    expect(tty).toContain('\r\x1b[K[bar] 0%|\r\x1b[K[bar] 50%|\r\x1b[K[bar] 100%|\r\n');
    expect(tty).not.toMatch(/\[bar\] 50%\|\r?\n/);
  });

  it('a failing step shows where, in its own source files, in the output and in --json', async () => {
    const dir = await stepWorkspace({
      'helper.ts': "export function check(n: number): void {\n  if (n > 1) throw new RangeError('too big: ' + n);\n}\n",
      'fails.step.ts': `import { defineStep } from 'dataworkspaces';
import { check } from './helper.js';

export default defineStep({
  name: 'fails',
  outputs: { out: 'intermediate-data:/f' },
  async run() {
    check(2);
  },
});
`,
    });
    const r = await dws(dir, ['run', 'code/fails.step.ts']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[fails] FAILED: RangeError: too big: 2\n[fails]     at check (code/helper.ts:2:20)\n[fails]     at Object.run (code/fails.step.ts:8:5)\n');
    expect(r.stdout).toContain('  fails failed: RangeError: too big: 2\n    at code/helper.ts:2:20\n');
    const json = await dws(dir, ['--json', 'run', 'code/fails.step.ts']);
    const step = (JSON.parse(json.stdout) as { steps: Array<{ where: unknown[] }> }).steps[0]!;
    expect(step.where).toEqual([
      { file: 'code/helper.ts', line: 2, column: 20, function: 'check' },
      { file: 'code/fails.step.ts', line: 8, column: 5, function: 'Object.run' },
    ]);
  });
});
