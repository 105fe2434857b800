/**
 * History commands on a workspace made by Python dws 1.6 (test/fixtures/python-dws-1.6),
 * extracted to a temporary directory (so its local-files resources point at a path that does not
 * exist here, as in the fixture's relocation test): diff, config and report results print what
 * 1.6 printed, restore behaves as 1.6's (byte for byte on the relocated transcript), and
 * setting `global_local_path` repairs the relocated workspace.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dws, dwsOk, extractFixture, FIXTURE, fingerprint, git, gitLog } from '../helpers.js';

const EXPECTED = join(FIXTURE, 'expected');
const expected = (name: string) => readFileSync(join(EXPECTED, name), 'utf8');
const BUILD_WS = '/tmp/dwsref/fixtures/build/python-workspace';
const RELOCATED_WS = '/tmp/dws-relocated/python-workspace';
const V1 = '78ac19434c048cf140052627561c337d8b7cb4b6';

/**
 * A fresh copy of the fixture workspace, in a directory whose path has the length of the build
 * path, so that tables showing this copy's path keep 1.6's column widths.
 */
const made: string[] = [];
function extract(): string {
  const pad = BUILD_WS.length - '/python-workspace'.length - tmpdir().length - 1 - 6;
  const dir = mkdtempSync(join(tmpdir(), 'h'.repeat(pad)));
  made.push(dir);
  const ws = extractFixture(dir);
  expect(ws.length).toBe(BUILD_WS.length);
  return ws;
}

let WS: string;
beforeAll(() => {
  WS = extract();
});
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

describe('read-only history commands on the Python 1.6 workspace', () => {
  it.each([['v1', 'v3'], ['v1', 'v2'], ['v2', 'v3'], ['v3', 'v3']])('diff %s %s prints 1.6 output, then the files that changed', async (a, b) => {
    const before = fingerprint(WS);
    const out = await dwsOk(WS, ['--batch', 'diff', a, b]);
    const want = expected(`diff-${a}-${b}.txt`);
    // 1.6's text byte for byte; anything after it is the file-level section 1.6 did not have.
    expect(out.slice(0, want.length)).toBe(want);
    const extra = out.slice(want.length);
    if (a === b) expect(extra).toBe('');
    else expect(extra).toMatch(/^Files changed in resources with different values:\n/);
    expect(fingerprint(WS)).toBe(before);
  });

  it('diff v1 v3 names every changed resource and its changed files', async () => {
    const r = JSON.parse(await dwsOk(WS, ['diff', '--json', 'v1', 'v3']));
    expect(r.different).toEqual(['code', 'intermediate-data', 'results', 'source-data']);
    expect(r.files['source-data'].changes).toEqual([{ status: 'M', path: 'data.csv' }]);
    expect(r.files['intermediate-data'].changes).toEqual([{ status: 'A', path: 'prepared/data.csv' }]);
    expect(r.files.code.changes).toEqual([{ status: 'M', path: 'README.md' }]);
    expect(r.files.results.changes.map((c: { path: string }) => c.path)).toContain('snapshots/fixture-host-v3/results.json');
  });

  it('diff v2 v3 ends with the params of the Python steps and the metrics that changed', async () => {
    const out = await dwsOk(WS, ['--batch', 'diff', 'v2', 'v3']);
    expect(out.slice(out.indexOf('Params that changed:'))).toBe(
      [
        'Params that changed:',
        '    prepare.scale: 2 -> 3 (+1)',
        '    train.alpha: 0.5 -> 0.25 (-0.25)',
        'Metrics that changed:',
        '    alpha: 0.5 -> 0.25 (-0.25)',
        '    mean: 4.0 -> 7.5 (+3.5)',
        '    sum: 12 -> 30 (+18)',
        '',
      ].join('\n'),
    );
  });

  it('report experiments: the params from the lineage Python steps wrote, the metrics of 1.6 metadata', async () => {
    const before = fingerprint(WS);
    expect(await dwsOk(WS, ['report', 'experiments'])).toBe(
      [
        'Experiments: params (step.param) and metrics of each snapshot',
        '| Hash    | Tags | Created             | prepare.scale | train.alpha | accuracy | sum | mean | alpha |',
        '|_________|______|_____________________|_______________|_____________|__________|_____|______|_______|',
        '| e2cbb8e | v3   | 2026-11-25T16:35:33 |             3 |        0.25 |          |  30 |  7.5 |  0.25 |',
        '| 7fca31f | v2   | 2026-11-25T16:35:31 |             2 |         0.5 |          |  12 |  4.0 |   0.5 |',
        '| 78ac194 | v1   | 2026-11-25T16:35:29 |               |             |      0.5 |     |      |       |',
        '3 snapshots',
        '',
      ].join('\n'),
    );
    // Ascending or descending, a snapshot without the value (v1 has no mean) comes last.
    const order = (out: string) => [...out.matchAll(/^[0-9a-f]{40},(v\d)/gm)].map((m) => m[1]);
    expect(order(await dwsOk(WS, ['report', 'experiments', '--csv', '--sort', 'mean']))).toEqual(['v2', 'v3', 'v1']);
    expect(order(await dwsOk(WS, ['report', 'experiments', '--csv', '--sort', 'mean', '--desc']))).toEqual(['v3', 'v2', 'v1']);
    const csv = await dwsOk(WS, ['report', 'experiments', '--csv', '--sort', 'accuracy']);
    expect(csv).toBe(
      [
        'hash,tags,created,message,prepare.scale,train.alpha,accuracy,sum,mean,alpha',
        '78ac19434c048cf140052627561c337d8b7cb4b6,v1,2026-11-25T16:35:29.008791,first snapshot,,,0.5,,,',
        'e2cbb8e19eb52338512e1ab3823f46278bc71730,v3,2026-11-25T16:35:33.506796,third snapshot,3,0.25,,30,7.5,0.25',
        '7fca31ff6a22fee9721f9c2941e2e8cc4650f903,v2,2026-11-25T16:35:31.238473,"second snapshot, with lineage",2,0.5,,12,4.0,0.5',
        '',
      ].join('\n'),
    );
    expect(fingerprint(WS)).toBe(before);
  });

  it.each([
    ['config', ['config']],
    ['config-hostname', ['config', 'hostname']],
    ['config-dir-template', ['config', 'results.dir_template']],
    ['config-resource-code', ['config', '--resource', 'code']],
    ['config-resource-results', ['config', '--resource', 'results']],
    ['config-resource-source-data', ['config', '--resource', 'source-data']],
    ['config-resource-intermediate-data', ['config', '--resource', 'intermediate-data']],
    ['report-results', ['report', 'results']],
    ['report-results-v1', ['report', 'results', '--snapshot', 'v1']],
    ['report-results-v2', ['report', 'results', '--snapshot', 'v2']],
  ])('%s prints exactly what dws 1.6 printed', async (name, args) => {
    const before = fingerprint(WS);
    const r = await dws(WS, ['--batch', ...args]);
    expect(r.code).toBe(0);
    // A git-subdirectory's local_path is where the workspace is now (1.6 recomputes it too).
    const want = name === 'config-resource-code' || name === 'config-resource-results' ? expected(`${name}.txt`).replaceAll(BUILD_WS, WS) : expected(`${name}.txt`);
    if (name === 'config') {
      // 1.6's table byte for byte, then the parameters this dws adds (the content store's).
      expect(r.stdout.startsWith(want)).toBe(true);
      const extra = r.stdout.slice(want.length);
      expect(extra.startsWith('\nParameters of this dws that Python dws 1.6 does not have:\n| Name ')).toBe(true);
      expect(extra).toMatch(/\| store\.remote +\| global /);
      expect(extra).toMatch(/\| store\.dir +\| local /);
    } else expect(r.stdout).toBe(want);
    const stderrFile = join(EXPECTED, `${name}.stderr.txt`);
    expect(r.stderr).toBe(existsSync(stderrFile) ? readFileSync(stderrFile, 'utf8') : '');
    expect(fingerprint(WS)).toBe(before);
  });
});

describe('restore and relocation on the Python 1.6 workspace', () => {
  it('restore v2 prints what 1.6 printed in the relocated workspace', async () => {
    const ws = extract();
    const r = await dws(ws, ['--batch', 'restore', 'v2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected('relocated/restore-v2.txt'));
    // 1.6's words, then why: v2 was taken by 1.6, without a content store.
    expect(r.stderr).toBe(
      expected('relocated/restore-v2.stderr.txt') +
        '(Snapshot 7fca31ff6a22fee9721f9c2941e2e8cc4650f903 was taken without a content store (by Python dws 1.6 or an older dws), so it holds no copy of the files of intermediate-data, source-data.)\n',
    );
    expect(git(ws, ['status', '--porcelain'])).toBe('');
  });

  it('restoring v1 gives v1 content of code/ and leaves results/ as it is (results are never restored)', async () => {
    const ws = extract();
    const v1Commit = JSON.parse(readFileSync(join(ws, '.dataworkspace', 'snapshot_metadata', `${V1}_md.json`), 'utf8')).restore_hashes.code as string;
    const resultsBefore = git(ws, ['rev-parse', 'HEAD:results']).trim();
    const r = await dws(ws, ['--batch', 'restore', 'v1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Skipping the restore of the following result resources, which are left in their latest state: results\n');
    for (const f of ['README.md', 'prepare.py', 'train.py']) {
      expect(readFileSync(join(ws, 'code', f), 'utf8')).toBe(git(ws, ['show', `${v1Commit}:code/${f}`]));
    }
    expect(git(ws, ['rev-parse', 'HEAD:code']).trim()).toBe(git(ws, ['rev-parse', `${v1Commit}:code`]).trim());
    // results/ keeps every snapshot directory, including v1's results.json moved there at v1.
    expect(git(ws, ['rev-parse', 'HEAD:results']).trim()).toBe(resultsBefore);
    expect(readFileSync(join(ws, 'results', 'snapshots', 'fixture-host-v1', 'results.json'), 'utf8')).toBe(
      '{"step": "manual", "metrics": {"accuracy": 0.5}}\n',
    );
    expect(gitLog(ws)[0]).toMatch(/^Revert to commit [0-9a-f]{40}$/);
    expect(git(ws, ['status', '--porcelain'])).toBe('');
    // The lineage of the restored code resource is v1's (empty).
    expect(JSON.parse(readFileSync(join(ws, '.dataworkspace', 'current_lineage', 'code.json'), 'utf8'))).toEqual({ resource_name: 'code', lineages: [] });
  });

  it('setting global_local_path repairs the relocated workspace, so a snapshot succeeds', async () => {
    const ws = extract();
    for (const name of ['source-data', 'intermediate-data']) {
      const out = await dwsOk(ws, ['--batch', 'config', '--resource', name, 'global_local_path', join(ws, name)]);
      // The same text as 1.6's, with this copy's path.
      expect(out).toBe(expected(`relocated/config-fix-${name}.txt`).replace(`${RELOCATED_WS}/${name}`, join(ws, name)));
      expect(gitLog(ws)[0]).toBe(`Update of resource '${name}' parameter global_local_path`);
    }
    expect(git(ws, ['status', '--porcelain'])).toBe('');
    const out = await dwsOk(ws, ['--batch', 'snapshot', '-m', 'after relocation', 'v4']);
    expect(out).toMatch(/^Have successfully taken snapshot of workspace, tagged with 'v4', hash is [0-9a-f]{40}\.\n$/);
    // The local-files trees hash this copy's data: the same as v3's.
    const h = JSON.parse(await dwsOk(ws, ['diff', '--json', 'v3', 'v4']));
    expect(h.same).toEqual(expect.arrayContaining(['source-data', 'intermediate-data', 'code']));
    // 1.6 rejected my_local_path (the listed name of the local override); it is settable here.
    expect(await dwsOk(ws, ['--batch', 'config', '--resource', 'source-data', 'my_local_path', join(ws, 'source-data')])).toBe(
      `Successfully set resource 'source-data' local parameter 'my_local_path' to '${join(ws, 'source-data')}'.\n`,
    );
  });
});
