/** The test helpers themselves: what they hand the processes they start, and the workspaces they make. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, filesUnder, git, newWorkspace, TEST_ENV, tempDir } from '../helpers.js';

afterAll(cleanup);

describe('TEST_ENV', () => {
  it('leaves out NODE_EXTRA_CA_CERTS, which costs every Node process a CA bundle parse', () => {
    expect(Object.keys(TEST_ENV)).not.toContain('NODE_EXTRA_CA_CERTS');
    expect(TEST_ENV.GIT_CONFIG_NOSYSTEM).toBe('1');
  });

  it('nor do the test workers have it (vitest.config.ts), for what they spawn with their own env', () => {
    expect(Object.keys(process.env)).not.toContain('NODE_EXTRA_CA_CERTS');
  });
});

describe('newWorkspace', () => {
  const args = ['--create-resources=source-data,code,results'];

  /** Every file of the workspace outside .git with its content, the workspace's own path written as <ws>. */
  const contents = (ws: string) => Object.fromEntries(filesUnder(ws).filter((f) => !f.startsWith('.git/')).map((f) => [f, readFileSync(join(ws, f), 'utf8').replaceAll(ws, '<ws>')]));
  const modes = (ws: string) => filesUnder(ws).filter((f) => !f.startsWith('.git/')).map((f) => `${f} ${statSync(join(ws, f)).mode.toString(8)}`);
  /** Each commit's subject and the files it changed, oldest first. */
  const history = (ws: string) => git(ws, ['log', '--reverse', '--format=%s', '--name-status']);

  it('gives a workspace equal to a fresh dws init: same files, same commits, git fsck clean, dws works in it', async () => {
    const fresh = join(tempDir(), 'ws');
    mkdirSync(fresh);
    await dwsOk(fresh, ['--batch', 'init', '--hostname', 'test', ...args]);
    for (const ws of [await newWorkspace(args), await newWorkspace(args)]) {
      expect(contents(ws)).toEqual(contents(fresh));
      expect(modes(ws)).toEqual(modes(fresh));
      expect(history(ws)).toBe(history(fresh));
      // The same trees, so the same bytes in git (only commit times differ).
      expect(git(ws, ['rev-parse', 'HEAD^{tree}'])).toBe(git(fresh, ['rev-parse', 'HEAD^{tree}']));
      execFileSync('git', ['fsck', '--strict', '--no-progress'], { cwd: ws, env: TEST_ENV, stdio: 'pipe' });
      expect(git(ws, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
      const status = await dws(ws, ['--json', 'status']);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toEqual(JSON.parse((await dws(fresh, ['--json', 'status'])).stdout.replaceAll(fresh, ws)));
    }
  });

  it('copies one template per arguments: workspaces share its files, not their changes', async () => {
    const a = await newWorkspace(['--create-resources=code']);
    const b = await newWorkspace(['--create-resources=code']);
    expect(a).not.toBe(b);
    // Copies of one init keep its files' times; two inits could not.
    expect(statSync(join(b, 'code', 'README.txt')).mtimeMs).toBe(statSync(join(a, 'code', 'README.txt')).mtimeMs);
    expect(git(b, ['rev-parse', 'HEAD'])).toBe(git(a, ['rev-parse', 'HEAD']));
    writeFileSync(join(a, 'code', 'x.py'), 'x = 1\n');
    await dwsOk(a, ['--batch', 'snapshot', 'v1']);
    expect(filesUnder(join(b, 'code'))).toEqual(['README.txt']);
    expect(git(b, ['tag'])).toBe('');
    expect(readFileSync(join(b, '.dataworkspace', 'resource_local_params.json'), 'utf8')).toContain(join(b, 'code'));
  });
});
