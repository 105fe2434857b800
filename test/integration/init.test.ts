/** `dws init`, run as a real process: the exact files dws 1.6 writes, commits, and refusals. */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, fingerprint, git, gitLog, tempDir, TEST_ENV } from '../helpers.js';

afterAll(cleanup);

describe('dws init', () => {
  it('writes the metadata files byte for byte as dws 1.6', async () => {
    const dir = tempDir();
    const out = await dwsOk(dir, ['--batch', 'init', '--hostname', 'host1', 'myws']);
    expect(out).toBe('Workspace myws initialized successfully.\n');
    const meta = (f: string) => readFileSync(join(dir, '.dataworkspace', f), 'utf8');
    expect(meta('config.json')).toBe(
      '{\n  "name": "myws",\n  "dws-version": "1.6.0",\n  "global_params": {\n    "results.dir_template": "snapshots/{HOSTNAME}-{TAG}",\n' +
        '    "results.move_exclude_files": [\n      "README.txt",\n      "README.rst",\n      "README.md"\n    ],\n' +
        '    "scratch_directory": "scratch",\n    "dws_git_branch": "master"\n  }\n}',
    );
    expect(meta('resources.json')).toBe('[]');
    expect(meta('local_params.json')).toBe('{\n  "hostname": "host1"\n}');
    expect(meta('resource_local_params.json')).toBe('{}');
    expect(meta('.gitignore')).toBe('local_params.json\nresource_local_params.json\ncurrent_lineage/\n');
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('/scratch\n.ipynb_checkpoints/\n.~*\nnode_modules/\n');
    expect(existsSync(join(dir, 'scratch'))).toBe(true);
    expect(gitLog(dir)).toEqual(['dws init (config.json)', 'dws init']);
    expect(git(dir, ['status', '--porcelain'])).toBe('');
    // local files stay out of git
    expect(git(dir, ['ls-files']).split('\n')).not.toContain('.dataworkspace/local_params.json');
  });

  it('creates one git-subdirectory resource per role with --create-resources', async () => {
    const dir = tempDir();
    const r = await dws(dir, ['--batch', 'init', '--hostname', 'h', '--create-resources', 'code,r']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Will now create sub-directory resources for code, results');
    expect(r.stderr).toContain('Added results to git repository');
    expect(readFileSync(join(dir, 'code', 'README.txt'), 'utf8')).toBe(
      'This directory is for code.\nThis README file ensures the directory is added to the git repository, as git does not support empty directories.\n',
    );
    const resources = JSON.parse(readFileSync(join(dir, '.dataworkspace', 'resources.json'), 'utf8'));
    expect(resources).toEqual([
      { resource_type: 'git-subdirectory', name: 'code', role: 'code', export: false, relative_path: 'code' },
      { resource_type: 'git-subdirectory', name: 'results', role: 'results', export: false, relative_path: 'results' },
    ]);
    expect(gitLog(dir).slice(0, 3)).toEqual(['workspace initialization', 'Add results to repo for storing results', 'Add code to repo for storing results']);
  });

  it('keeps a scratch directory outside the workspace as a local parameter', async () => {
    const base = tempDir();
    const dir = join(base, 'ws');
    mkdirSync(dir);
    // A sibling whose name starts with the workspace's: 1.6 took it for a subdirectory and crashed.
    await dwsOk(dir, ['--batch', 'init', '--hostname', 'h', '--scratch-directory', join(base, 'ws-scratch')]);
    const local = JSON.parse(readFileSync(join(dir, '.dataworkspace', 'local_params.json'), 'utf8'));
    expect(local).toEqual({ hostname: 'h', local_scratch_directory: join(base, 'ws-scratch') });
    const config = JSON.parse(readFileSync(join(dir, '.dataworkspace', 'config.json'), 'utf8'));
    expect(config.global_params.scratch_directory).toBeUndefined();
    expect(existsSync(join(base, 'ws-scratch'))).toBe(true);
  });

  it('refuses a second init, leaving everything as it was', async () => {
    const dir = tempDir();
    await dwsOk(dir, ['--batch', 'init', '--hostname', 'h']);
    const before = fingerprint(dir);
    const r = await dws(dir, ['--batch', 'init', '--hostname', 'h']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Found .dataworkspace directory under ${dir}. Has this workspace already been initialized?`);
    expect(fingerprint(dir)).toBe(before);
  });

  it.each([
    [['--hostname', 'bad_host'], 2, "Hostname 'bad_host' is not valid"],
    // A ConfigurationError in 1.6 (exit 1): the option parses, the value is refused.
    [['--scratch-directory', '.'], 1, 'Scratch directory cannot be equal to workspace directory'],
    [['--create-resources', 'code,models'], 2, "Invalid resource role 'models'"],
  ])('refuses bad options %j with exit %i and writes nothing', async (args, code, message) => {
    const dir = tempDir();
    const r = await dws(dir, ['--batch', 'init', ...args]);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(message);
    expect(existsSync(join(dir, '.dataworkspace'))).toBe(false);
    expect(existsSync(join(dir, '.git'))).toBe(false);
  });

  it('refuses a hostname too long for the results directory names, naming its length and the limit', async () => {
    // Five parts of 63: valid for the rule, but every snapshot failed with ENAMETOOLONG.
    const long = Array.from({ length: 5 }, () => 'h'.repeat(63)).join('.');
    const dir = tempDir();
    const r = await dws(dir, ['--batch', 'init', '--hostname', long]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `Error: Hostname '${long.slice(0, 80)}...' is not valid: it is 319 characters long; the limit is 64, so that the results directory names it goes into (results.dir_template) leave room for a tag\n`,
    );
    expect(existsSync(join(dir, '.dataworkspace'))).toBe(false);
    // One that breaks the rule is cut too.
    const bad = `${'h'.repeat(100)}_`;
    const r2 = await dws(dir, ['--batch', 'init', '--hostname', bad]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`Error: Hostname '${bad.slice(0, 80)}...' is not valid: it must be letters, numbers and '-'`);
    expect(existsSync(join(dir, '.dataworkspace'))).toBe(false);
    // 64 is taken.
    await dwsOk(dir, ['--batch', 'init', '--hostname', `${'h'.repeat(32)}.${'h'.repeat(31)}`]);
  });

  it('refuses to run when git has no user identity, writing nothing', async () => {
    const dir = tempDir();
    const env = { ...TEST_ENV, GIT_CONFIG_GLOBAL: join(dir, 'no-such-config'), HOME: dir };
    const r = await dws(dir, ['--batch', 'init', '--hostname', 'h'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Git is not fully configured, need to set the Git config parameters user.name and user.email');
    expect(existsSync(join(dir, '.dataworkspace'))).toBe(false);
  });
});
