/** `dws add git|local-files` as real processes: the resources.json entries of dws 1.6, and every refusal. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, fingerprint, git, gitLog, newWorkspace, tempDir } from '../helpers.js';

afterAll(cleanup);

const resources = (ws: string) => JSON.parse(readFileSync(join(ws, '.dataworkspace', 'resources.json'), 'utf8'));
const localParams = (ws: string) => JSON.parse(readFileSync(join(ws, '.dataworkspace', 'resource_local_params.json'), 'utf8'));

/** A git repository with an origin and a second branch, outside any workspace. */
function makeRepo(): string {
  const base = tempDir();
  const origin = join(base, 'origin.git');
  const repo = join(base, 'repo');
  git(base, ['init', '--quiet', '--bare', origin]);
  git(base, ['init', '--quiet', repo]);
  writeFileSync(join(repo, 'model.py'), 'print(1)\n');
  git(repo, ['add', '.']);
  git(repo, ['commit', '--quiet', '-m', 'first']);
  git(repo, ['remote', 'add', 'origin', origin]);
  git(repo, ['branch', 'other']);
  return repo;
}

describe('dws add', () => {
  it('adds a directory of the workspace as a git-subdirectory resource', async () => {
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'code'));
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    const out = await dwsOk(ws, ['--batch', 'add', 'git', '--role', 'c', 'code']);
    expect(out).toBe("Successfully added resource 'code' to workspace.\n");
    expect(readFileSync(join(ws, '.dataworkspace', 'resources.json'), 'utf8')).toBe(
      '[\n  {\n    "resource_type": "git-subdirectory",\n    "name": "code",\n    "role": "code",\n    "export": false,\n    "relative_path": "code"\n  }\n]',
    );
    expect(localParams(ws)).toEqual({ code: { local_path: join(ws, 'code') } });
    expect(gitLog(ws)[0]).toBe('add of code');
    expect(git(ws, ['status', '--porcelain'])).toBe('');
  });

  it('adds a separate git repository with its origin and branch', async () => {
    const ws = await newWorkspace();
    const repo = makeRepo();
    await dwsOk(ws, ['--batch', 'add', 'git', '--role', 'source-data', '--branch', 'other', '--read-only', repo]);
    expect(resources(ws)).toEqual([
      {
        resource_type: 'git',
        name: 'repo',
        role: 'source-data',
        export: false,
        remote_origin_url: join(repo, '..', 'origin.git'),
        relative_local_path: null,
        branch: 'other',
        read_only: true,
        imported: false,
      },
    ]);
    expect(git(repo, ['symbolic-ref', '--short', 'HEAD']).trim()).toBe('other');
    // Its snapshot hash is the repository's HEAD commit.
    const out = await dwsOk(ws, ['--batch', 'snapshot']);
    const hash = /hash is ([0-9a-f]{40})/.exec(out)![1]!;
    const manifest = JSON.parse(readFileSync(join(ws, '.dataworkspace', 'snapshots', `snapshot-${hash}.json`), 'utf8'));
    expect(manifest[0].hash).toBe(git(repo, ['rev-parse', 'HEAD']).trim());
  });

  it('adds local files, suggesting a free name from the path', async () => {
    const ws = await newWorkspace();
    const a = join(tempDir(), 'data');
    const b = join(tempDir(), 'data');
    mkdirSync(a);
    mkdirSync(b);
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--compute-hash', a]);
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'intermediate-data', b]);
    expect(resources(ws).map((r: { name: string }) => r.name)).toEqual(['data', 'data-intermediate-data']);
    expect(resources(ws)[0]).toEqual({
      resource_type: 'file',
      name: 'data',
      role: 'source-data',
      global_local_path: a,
      compute_hash: true,
      export: false,
      imported: false,
    });
    expect(readFileSync(join(ws, '.dataworkspace', 'file', 'source-data', 'data', 'dummy.txt'), 'utf8')).toBe('Placeholder to ensure directory is added to git\n');
    expect(gitLog(ws).slice(0, 2)).toEqual(['add of data-intermediate-data', 'Adding resource data-intermediate-data']);
  });

  describe('refuses bad input, leaving every file as it was', () => {
    const cases: Array<[string, (ws: string) => string[], number, string]> = [
      ['an unknown role', () => ['add', 'local-files', '--role', 'models', 'data'], 2, 'Invalid resource role. Must be one of: source-data, intermediate-data, code, results'],
      ['a missing role in batch mode', () => ['add', 'local-files', 'data'], 1, 'Running in --batch mode, but user input required for --role'],
      ['a missing path', () => ['add', 'local-files', '--role', 's', 'nope'], 2, "Directory 'nope' does not exist"],
      ['an unknown resource type', () => ['add', 'ftp', 'data'], 2, "unknown command 'ftp'"],
      ['export of source data', () => ['add', 'local-files', '--role', 's', '--export', 'data'], 2, 'Cannot export a source data or code resource'],
      ['a duplicate name', () => ['add', 'local-files', '--role', 's', '--name', 'code', 'data'], 1, "Resource name 'code' already in use"],
      ['a path inside another resource', () => ['add', 'local-files', '--role', 's', 'code/sub'], 1, 'conflicts with local path'],
      ['the workspace itself', () => ['add', 'local-files', '--role', 's', '.'], 1, 'Cannot use the entire workspace as a resource local path'],
      ['a git URL', () => ['add', 'git', '--role', 's', 'git@example.invalid:x.git'], 2, 'It looks like you tried to specify a git URL'],
      ['a subdirectory outside the workspace', () => ['add', 'git', '--role', 's', tempDir()], 1, 'git subdirectories can only be used as resources when under the workspace repo'],
      ['a missing subdirectory', () => ['add', 'git', '--role', 's', 'nothing-here'], 1, "Did not find '"],
      // Exit 1 as in 1.6, where the workspace (not the option parser) refuses these.
      ['--read-only on a subdirectory', () => ['add', 'git', '--role', 's', '--read-only', 'data'], 1, 'The --read-only parameter is only valid for separate git repositories'],
      ['--imported on a subdirectory', () => ['add', 'git', '--role', 's', '--imported', 'data'], 1, 'The --imported parameter is only valid for separate git repositories'],
      ['another branch for a subdirectory', () => ['add', 'git', '--role', 's', '--branch', 'other', 'data'], 1, 'Branch for subdirectory must match branch of primary dws git repository (master)'],
    ];
    it.each(cases)('%s', async (_what, args, code, message) => {
      const ws = await newWorkspace(['--create-resources=code']);
      mkdirSync(join(ws, 'data'));
      mkdirSync(join(ws, 'code', 'sub'));
      const before = fingerprint(ws);
      const r = await dws(ws, ['--batch', ...args(ws)]);
      expect(r.stderr).toContain(message);
      expect(r.code).toBe(code);
      expect(fingerprint(ws)).toBe(before);
    });

    it('dws config giving a resource a place that overlaps another resource’s, as add refuses it; its own place is fine', async () => {
      const ws = await newWorkspace(['--create-resources=code']);
      for (const d of ['a', 'b']) {
        mkdirSync(join(ws, d));
        await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', d]);
      }
      const before = fingerprint(ws);
      for (const place of [join(ws, 'a'), join(ws, 'a', 'inner'), ws, join(ws, '.dataworkspace')]) {
        mkdirSync(place, { recursive: true });
        const r = await dws(ws, ['--batch', 'config', '--resource', 'b', 'local_path', place]);
        expect(r.code, place).not.toBe(0);
        expect(r.stderr).toMatch(/conflicts with local path .* of resource a|Cannot use the entire workspace|Cannot use .* as a resource local path/);
      }
      rmSync(join(ws, 'a', 'inner'), { recursive: true });
      expect(fingerprint(ws)).toBe(before);
      await dwsOk(ws, ['--batch', 'config', '--resource', 'b', 'local_path', join(ws, 'b')]);
    });

    it('a repository without an origin', async () => {
      const ws = await newWorkspace();
      const repo = join(tempDir(), 'norigin');
      git(tempDir(), ['init', '--quiet', repo]);
      const before = fingerprint(ws);
      const r = await dws(ws, ['--batch', 'add', 'git', '--role', 'code', repo]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Remote origin is missing for git repository at ${repo}`);
      expect(fingerprint(ws)).toBe(before);
    });

    it('outside any workspace', async () => {
      const dir = tempDir();
      mkdirSync(join(dir, 'data'));
      const r = await dws(dir, ['--batch', 'add', 'local-files', '--role', 's', 'data']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("No workspace found: neither");
      expect(r.stderr).toContain("Run 'dws init' to create one");
    });
  });
});

describe('hand-broken metadata', () => {
  it.each([
    ['resources.json', '[{"resource_type": "git-subdirectory", "name": "code", "role": "code",', /resources\.json is not valid JSON: .* at line 1 column \d+/],
    ['resources.json', '[{"resource_type": "git-subdirectory", "name": "code", "role": "models"}]', /resources\.json: resource "code" has role 'models'; valid roles are/],
    ['resources.json', '[{"resource_type": "ftp", "name": "x", "role": "code"}]', /'ftp' not a valid resource type. Valid types are: api-resource, file, git, git-subdirectory, rclone\./],
    ['config.json', '{"name": "x", "dws-version": "1.6.0"}', /config\.json: "global_params" must be an object/],
    ['config.json', '', /config\.json is not valid JSON: Unexpected end of input/],
  ])('%s containing %j is named in the error and nothing changes', async (file, content, message) => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, '.dataworkspace', file), content);
    const before = fingerprint(ws);
    const r = await dws(ws, ['--batch', 'snapshot']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(fingerprint(ws)).toBe(before);
    const s = await dws(ws, ['status']);
    if (file === 'resources.json' && content.includes('ftp')) {
      expect(s.code).toBe(0); // status lists what it cannot snapshot
    } else {
      expect(s.code).toBe(1);
      expect(s.stderr).toMatch(message);
    }
  });
});
