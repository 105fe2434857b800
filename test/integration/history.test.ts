/** `dws delete-snapshot`, `diff`, `config` and `report results` as real processes, and the API's getResults. */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getResults } from '../../index.js';
import { cleanup, dws, dwsOk, fingerprint, git, gitLog, newWorkspace } from '../helpers.js';

afterAll(cleanup);

const hashOf = (out: string) => /hash is ([0-9a-f]{40})/.exec(out)![1]!;

describe('dws delete-snapshot', () => {
  it('removes the metadata, manifest, lineage and results directory of a snapshot', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    writeFileSync(join(ws, 'results', 'results.json'), '{"metrics": {"acc": 0.5}}');
    const h1 = hashOf(await dwsOk(ws, ['--batch', 'snapshot', 'v1']));
    writeFileSync(join(ws, 'results', 'results.json'), '{"metrics": {"acc": 0.7}}');
    writeFileSync(join(ws, 'code', 'x.py'), 'x\n');
    const h2 = hashOf(await dwsOk(ws, ['--batch', 'snapshot', 'v2']));

    const out = await dwsOk(ws, ['--batch', 'delete-snapshot', 'v1']);
    const name = `${h1.slice(0, 7)} (Tagged as: v1)`;
    expect(out).toBe(`Successfully deleted snapshot ${name}.\n`);
    const meta = join(ws, '.dataworkspace');
    expect(existsSync(join(meta, 'snapshot_metadata', `${h1}_md.json`))).toBe(false);
    expect(existsSync(join(meta, 'snapshots', `snapshot-${h1}.json`))).toBe(false);
    expect(existsSync(join(meta, 'snapshot_lineage', h1))).toBe(false);
    expect(existsSync(join(ws, 'results', 'snapshots', 'test-v1'))).toBe(false);
    expect(existsSync(join(ws, 'results', 'snapshots', 'test-v2', 'results.json'))).toBe(true);
    expect(gitLog(ws).slice(0, 2)).toEqual([`Deleted snapshot ${name}`, `Deleted ${join(ws, 'results', 'snapshots', 'test-v1')}`]);
    expect(git(ws, ['status', '--porcelain'])).toBe('');
    expect(await dwsOk(ws, ['report', 'history'])).toContain('1 snapshots total');

    // --no-include-resources keeps the results directory.
    await dwsOk(ws, ['--batch', 'delete-snapshot', '--no-include-resources', h2]);
    expect(existsSync(join(ws, 'results', 'snapshots', 'test-v2', 'results.json'))).toBe(true);
    expect(existsSync(join(meta, 'snapshot_metadata', `${h2}_md.json`))).toBe(false);
    expect(gitLog(ws)[0]).toBe(`Deleted snapshot ${h2.slice(0, 7)} (Tagged as: v2)`);
  });

  it('says when a results resource has no restore hash, and refuses unknown snapshots', async () => {
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'out'));
    writeFileSync(join(ws, 'out', 'r.txt'), 'r');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'results', 'out']);
    const h = hashOf(await dwsOk(ws, ['--batch', 'snapshot', 'v1']));
    const before = fingerprint(ws);
    for (const [arg, message] of [
      ['nope', 'Configuration error: Snapshot for tag nope not found'],
      ['abc12', 'Configuration error: Snapshot for tag abc12 not found; as a hash prefix, abc12 is too short: give at least 6 hex digits\n'],
      ['bad_tag', "Error: Snapshot tag or hash 'bad_tag' is not valid"],
    ] as const) {
      const r = await dws(ws, ['--batch', 'delete-snapshot', arg]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(message);
      expect(fingerprint(ws)).toBe(before);
    }
    const out = await dwsOk(ws, ['--batch', 'delete-snapshot', 'v1']);
    expect(out).toBe(`Cannot delete snapshot for resource out, no restore hash\nSuccessfully deleted snapshot ${h.slice(0, 7)} (Tagged as: v1).\n`);
    expect(existsSync(join(ws, 'out', 'snapshots', 'test-v1', 'r.txt'))).toBe(true);
  });
});

describe('dws diff', () => {
  it('names the resources that changed, and lists the files added, removed and changed', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    const data = join(ws, 'data');
    mkdirSync(join(data, 'sub'), { recursive: true });
    writeFileSync(join(data, 'keep.csv'), 'k\n');
    writeFileSync(join(data, 'change.csv'), '1\n');
    writeFileSync(join(data, 'sub', 'gone.csv'), 'g\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--compute-hash', 'data']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    const h1 = hashOf(await dwsOk(ws, ['--batch', 'snapshot', 'v1']));
    writeFileSync(join(data, 'change.csv'), '2\n');
    rmSync(join(data, 'sub', 'gone.csv'));
    writeFileSync(join(data, 'sub', 'new.csv'), 'n\n');
    writeFileSync(join(ws, 'code', 'b.py'), 'b\n');
    rmSync(join(ws, 'code', 'a.py'));
    const h2 = hashOf(await dwsOk(ws, ['--batch', 'snapshot', 'v2']));
    const before = fingerprint(ws);

    const out = await dwsOk(ws, ['--batch', 'diff', 'v1', h2.slice(0, 8)]);
    expect(out).toBe(
      [
        'Comparing:',
        `    Snapshot ${h1}, tags v1 to`,
        `    Snapshot ${h2}, tags v2`,
        '  Resources with the same value: None',
        '  Resources with different values:',
        '    code',
        '    data',
        '  Added resources: None',
        '  Removed resources: None',
        'Files changed in resources with different values:',
        '  code:',
        '    D a.py',
        '    A b.py',
        '  data:',
        '    M change.csv',
        '    D sub/gone.csv',
        '    A sub/new.csv',
        '',
      ].join('\n'),
    );
    const json = JSON.parse(await dwsOk(ws, ['diff', '--json', 'v1', 'v2']));
    expect(json.different).toEqual(['code', 'data']);
    expect(json.files.data.changes).toEqual([
      { status: 'M', path: 'change.csv' },
      { status: 'D', path: 'sub/gone.csv' },
      { status: 'A', path: 'sub/new.csv' },
    ]);
    expect(fingerprint(ws)).toBe(before);
    const bad = await dws(ws, ['--batch', 'diff', 'v1', 'nope']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('Configuration error: Snapshot for tag nope not found\n');
  });
});

describe('dws config', () => {
  it('sets workspace parameters with parsing and validation, and commits them', async () => {
    const ws = await newWorkspace(['--create-resources=results']);
    expect(await dwsOk(ws, ['--batch', 'config', 'results.dir_template', 'snapshots/{USERNAME}-{TAG}'])).toBe(
      "Successfully set workspace global parameter 'results.dir_template' to 'snapshots/{USERNAME}-{TAG}'.\n",
    );
    expect(gitLog(ws)[0]).toBe('Update of workspace parameter results.dir_template');
    expect(await dwsOk(ws, ['--batch', 'config', 'results.move_exclude_files', '["a.txt"]'])).toBe(
      "Successfully set workspace global parameter 'results.move_exclude_files' to ['a.txt'].\n",
    );
    expect(JSON.parse(readFileSync(join(ws, '.dataworkspace', 'config.json'), 'utf8')).global_params['results.move_exclude_files']).toEqual(['a.txt']);
    expect(await dwsOk(ws, ['--batch', 'config', 'hostname', 'other-host'])).toBe("Successfully set workspace local parameter 'hostname' to 'other-host'.\n");
    expect(JSON.parse(readFileSync(join(ws, '.dataworkspace', 'local_params.json'), 'utf8')).hostname).toBe('other-host');
    expect(git(ws, ['status', '--porcelain'])).toBe('');

    const before = fingerprint(ws);
    const cases: Array<[string[], string]> = [
      [['config', 'nope'], "Configuration error: No workspace parameter named 'nope'. Parameters are: results.dir_template,"],
      [['config', 'results.dir_template', 'elsewhere/{TAG}'], "Configuration error: Error in validation of configuration parameter 'results.dir_template': "],
      [['config', 'results.dir_template', 'snapshots/{NOPE}'], "Unknown variable 'NOPE'"],
      [['config', 'results.move_exclude_files', '[1, 2'], "Configuration error: Unable to parse parameter results.move_exclude_files value '[1, 2'"],
      [['config', 'results.move_exclude_files', '{"a": 1}'], 'must be a JSON list of file names'],
      [['config', 'hostname', 'bad_host'], "Configuration error: Error in validation of configuration parameter 'hostname'"],
      [['config', 'scratch_directory', '/abs'], 'must be a relative path'],
      [['config', '--resource', 'nope'], "Configuration error: No resource in this workspace with name 'nope'"],
      [['config', '--resource', 'results', 'nope'], "Configuration error: Resource results has no parameter named 'nope'"],
      [['config', '--resource', 'results', 'export', 'yes'], "Configuration error: Unable to parse parameter export value 'yes'"],
      [['config', '--resource', 'results', 'role', 'code'], "Configuration error: Parameter 'role' of resource 'results' cannot be changed with dws config"],
    ];
    for (const [args, message] of cases) {
      const r = await dws(ws, ['--batch', ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toContain(message);
      expect(fingerprint(ws), args.join(' ')).toBe(before);
    }
  });

  it("reads and sets resource parameters, including a local-files resource's local_path (1.6 crashed)", async () => {
    const ws = await newWorkspace(['--create-resources=results']);
    mkdirSync(join(ws, 'data'));
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    expect(await dwsOk(ws, ['--batch', 'config', '--resource', 'results', 'export', 'TRUE'])).toBe(
      "Successfully set resource 'results' global parameter 'export' to True.\n",
    );
    expect(gitLog(ws)[0]).toBe("Update of resource 'results' parameter export");
    expect(JSON.parse(readFileSync(join(ws, '.dataworkspace', 'resources.json'), 'utf8'))[0].export).toBe(true);

    const moved = join(ws, 'moved-data');
    mkdirSync(moved);
    writeFileSync(join(moved, 'x.csv'), 'x\n');
    expect(await dwsOk(ws, ['--batch', 'config', '--resource', 'data', 'local_path', moved])).toBe(
      `Successfully set resource 'data' local parameter 'local_path' to '${moved}'.\n`,
    );
    expect(JSON.parse(readFileSync(join(ws, '.dataworkspace', 'resource_local_params.json'), 'utf8')).data).toEqual({ local_path: moved });
    const got = await dwsOk(ws, ['--batch', 'config', '--resource', 'data', 'my_local_path']);
    expect(got).toContain(`Resource 'data' parameter 'my_local_path'\n${'='.repeat(41)}\n\n`);
    expect(got).toContain(`| ${moved} | local | N        |`);
    const missing = await dws(ws, ['--batch', 'config', '--resource', 'data', 'global_local_path', join(ws, 'nowhere')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`directory ${join(ws, 'nowhere')} does not exist`);
    // The snapshot hashes the new place.
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    const tree = readdirTree(join(ws, '.dataworkspace', 'file', 'source-data', 'data'));
    expect(tree.some((t) => t.includes('\tblob\tx.csv'))).toBe(true);
  });
});

function readdirTree(dir: string): string[] {
  return git(dir, ['ls-files']).trim().split('\n').map((f) => readFileSync(join(dir, f), 'utf8'));
}

describe('dws report results', () => {
  it('shows the current results, those of a snapshot, and says when there are none', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    const none = await dws(ws, ['--batch', 'report', 'results']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Configuration error: Could not find results file');
    expect(await getResults({ workspaceDir: ws })).toBeNull();

    writeFileSync(
      join(ws, 'results', 'results.json'),
      '{"step": "train", "note": null, "parameters": {"alpha": 0.5}, "metrics": {"acc": 0.9, "per_class": {"a": 1, "b": {"x": 2, "y": "z"}}}}',
    );
    const current = await dwsOk(ws, ['--batch', 'report', 'results']);
    expect(current).toBe(
      [
        'Results file at results:/results.json',
        '',
        'General Properties',
        '| Key  | Value |',
        '|______|_______|',
        '| step | train |',
        '| note | None  |',
        '',
        'Parameters',
        '| Key   | Value |',
        '|_______|_______|',
        '| alpha |   0.5 |',
        '',
        'Metrics',
        '| Key | Value |',
        '|_____|_______|',
        '| acc |   0.9 |',
        '',
        'Metrics: per_class',
        '| Key | Value      |',
        '|_____|____________|',
        '| a   | 1          |',
        '| b   | x: 2, y: z |',
        '',
      ].join('\n'),
    );
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    const latest = await dws(ws, ['--batch', 'report', 'results']);
    expect(latest.stderr).toBe('Did not find a results.json file in current workspace, checking most recent snapshot...\n');
    expect(latest.stdout).toMatch(/^Results file at results:\/snapshots\/test-v1\/results.json\n/);
    expect(await dwsOk(ws, ['--batch', 'report', 'results', '--snapshot', 'v1', '--resource', 'results'])).toBe(latest.stdout);
    expect(await getResults({ workspaceDir: ws, tagOrHash: 'v1' })).toMatchObject({ location: 'results:/snapshots/test-v1/results.json', results: { step: 'train' } });

    const missing = await dws(ws, ['--batch', 'report', 'results', '--snapshot', 'v1', '--resource', 'code']);
    expect(missing.stderr).toBe('Configuration error: Could not find results file for snapshot v1 for resource code\n');
    const unknown = await dws(ws, ['--batch', 'report', 'results', '--resource', 'nope']);
    expect(unknown.stderr).toBe("Configuration error: A resource by the name 'nope' does not exist in this workspace\n");
  });
});
