/**
 * The CLI loads only the module of the command it runs (every test and every script pays for
 * what a dws process loads), while help and suggestions still see every command.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, DWS, dws, newWorkspace, TEST_ENV, tempDir } from '../helpers.js';
import { stepSource } from '../runner-fixture.js';

afterAll(cleanup);

/** The CLI command source files (clients/cli/commands/*.ts) whose code `dws ...args` loaded, from the loaded chunks' source maps. */
function cliCommandSources(args: string[]): string[] {
  const dir = tempDir();
  const log = join(dir, 'loaded.log');
  // A module loader hook that logs every file Node loads.
  writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  appendFileSync(${JSON.stringify(log)}, url + '\\n');\n  return next(url, context);\n}\n`);
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, DWS, ...args], { cwd: dir, env: TEST_ENV, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const chunks = readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith('file:') && u.endsWith('.js') && u.includes('/dist/'));
  expect(chunks.length).toBeGreaterThan(1);
  const sources = chunks.flatMap((u) => (JSON.parse(readFileSync(`${new URL(u).pathname}.map`, 'utf8')) as { sources: string[] }).sources);
  return [...new Set(sources.map((s) => /clients\/cli\/commands\/[^/]+\.ts$/.exec(s)?.[0]).filter((s) => s !== undefined))].sort();
}

describe('loading the CLI', () => {
  it('dws version loads no other command than its own', () => {
    expect(cliCommandSources(['version'])).toEqual(['clients/cli/commands/version.ts']);
  });

  it('a command that registers several words (gc, fsck, store) is loaded for any of them', () => {
    expect(cliCommandSources(['gc', '--help'])).toEqual(['clients/cli/commands/store.ts']);
  });

  it('dws --help still lists every command', async () => {
    const r = await dws(tempDir(), ['--help']);
    expect(r.code).toBe(0);
    const listed = [...r.stdout.split('Commands:')[1]!.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]);
    for (const c of ['init', 'add', 'snapshot', 'restore', 'delete-snapshot', 'diff', 'config', 'status', 'report', 'lineage', 'version', 'demo', 'server', 'push', 'pull', 'publish', 'clone', 'run', 'watch', 'reproduce', 'gc', 'fsck', 'store']) {
      expect(listed).toContain(c);
    }
    expect(listed).not.toContain('run-step');
  });

  it('a mistyped command is still answered with the nearest one', async () => {
    const r = await dws(tempDir(), ['snapsot']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Error: unknown command 'snapsot'");
    expect(r.stderr).toContain('(Did you mean snapshot?)');
  });

  it("an unknown option shows that command's usage", async () => {
    const r = await dws(tempDir(), ['--batch', 'status', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: dws status [options]');
    expect(r.stderr).toContain("Error: unknown option '--bogus'");
  });
});

describe('Node options on the command line', () => {
  // A V8 option (more memory for a large workspace) is Node's own: the worker threads of the hashing
  // and of `run --jobs` inherit it. Named in their options, as it once was, it made Node refuse to
  // start them (ERR_WORKER_INVALID_EXEC_ARGV) and dws crash.
  const node = (cwd: string, args: string[]) => spawnSync(process.execPath, ['--max-old-space-size=1024', DWS, '--batch', ...args], { cwd, env: TEST_ENV, encoding: 'utf8' });

  it('node --max-old-space-size=1024 dws: snapshot and restore (hashing threads) and run --jobs 2 (step threads) work', async () => {
    const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
    // Enough files that the snapshot hashes them in its threads (1,000 or more).
    for (let d = 0; d < 4; d++) {
      mkdirSync(join(dir, 'source-data', `d${d}`));
      for (let f = 0; f < 300; f++) writeFileSync(join(dir, 'source-data', `d${d}`, `f${f}.txt`), `${d}-${f}\n`);
    }
    for (const name of ['x', 'y']) {
      const body = `    mkdirSync(outputs.out, { recursive: true });\n    writeFileSync(join(outputs.out, 'data.txt'), '${name}');`;
      writeFileSync(join(dir, 'code', `${name}.step.ts`), stepSource({ name, inputs: {}, outputs: { out: `intermediate-data:/${name}` }, body }));
    }
    const run = node(dir, ['run', 'code', '--jobs', '2', '--no-snapshot']);
    expect(run.stderr).not.toContain('invalid execArgv');
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(join(dir, 'intermediate-data', 'y', 'data.txt'), 'utf8')).toBe('y');
    const snap = node(dir, ['snapshot', 'S1']);
    expect(snap.stderr).not.toContain('invalid execArgv');
    expect(snap.status, snap.stderr).toBe(0);
    writeFileSync(join(dir, 'source-data', 'd0', 'f0.txt'), 'changed\n');
    const back = node(dir, ['restore', 'S1']);
    expect(back.status, back.stderr).toBe(0);
    expect(readFileSync(join(dir, 'source-data', 'd0', 'f0.txt'), 'utf8')).toBe('0-0\n');
  });
});
