/**
 * Experiments side by side: `dws report experiments` (table, --all, --sort/--desc, --csv, --json),
 * the params and metrics section of `dws diff` and the data of `dws report plots`, as real
 * processes, on a workspace whose snapshots were taken by `dws run` with different params; and
 * the same methods over `dws server --stdio`. (The plots page in a browser: test/e2e/plots-browser.test.ts.)
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../clients/node/index.js';
import { cleanup, DWS, dws, dwsOk, fingerprint, newWorkspace, plotsPageData, tempDir, TEST_ENV } from '../helpers.js';
import { PREPARE, TRAIN } from '../pipeline-steps.js';

afterAll(cleanup);

let ws: string;
const hashes: Record<string, string> = {};

beforeAll(async () => {
  ws = await newWorkspace(['--create-resources', 'source-data,intermediate-data,code,results']);
  writeFileSync(join(ws, 'source-data', 'values.txt'), '1\n2\n3\n4\n');
  writeFileSync(join(ws, 'code', 'prepare.step.ts'), PREPARE);
  writeFileSync(join(ws, 'code', 'train.step.ts'), TRAIN);
  // Prepared values are 2, 4, 6, 8: thresholds 5, 7, 3 keep 2, 1 and 3 of them.
  for (const [tag, threshold] of [['t5', 5], ['t7', 7], ['t3', 3]] as const) {
    await dwsOk(ws, ['--batch', 'run', 'code/', '--param', `threshold=${threshold}`, '--tag', tag]);
  }
  const history = JSON.parse(await dwsOk(ws, ['report', 'history', '--json'])) as { snapshots: Array<{ hash: string; tags: string[] }> };
  for (const s of history.snapshots) hashes[s.tags[0]!] = s.hash;
});

const short = (tag: string) => hashes[tag]!.slice(0, 7);

describe('dws report experiments', () => {
  it('shows one row per snapshot with the params and metrics that change, newest first', async () => {
    const before = fingerprint(ws);
    const r = await dws(ws, ['report', 'experiments']);
    expect(r.code, r.stderr).toBe(0);
    const created = (r.stdout.match(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/g) ?? []) as string[];
    expect(created).toHaveLength(3);
    expect(r.stdout).toBe(
      [
        'Experiments: params (step.param) and metrics of each snapshot',
        '| Hash    | Tags | Created             | train.threshold | accuracy | above |',
        '|_________|______|_____________________|_________________|__________|_______|',
        `| ${short('t3')} | t3   | ${created[0]} |               3 |     0.75 |     3 |`,
        `| ${short('t7')} | t7   | ${created[1]} |               7 |     0.25 |     1 |`,
        `| ${short('t5')} | t5   | ${created[2]} |               5 |      0.5 |     2 |`,
        '3 snapshots; the same in every snapshot (--all shows them): prepare.scale = 2, train.model = linear, total = 4',
        '',
      ].join('\n'),
    );
    expect(fingerprint(ws)).toBe(before);
  });

  it('--all keeps the unchanged columns; --sort orders by a metric or param, --desc reverses, missing values last', async () => {
    const all = await dwsOk(ws, ['report', 'experiments', '--all']);
    expect(all.split('\n')[1]).toBe('| Hash    | Tags | Created             | prepare.scale | train.model | train.threshold | accuracy | above | total |');
    expect(all.split('\n').at(-2)).toBe('3 snapshots');
    const tags = (out: string) => [...out.matchAll(/^\| [0-9a-f]{7} \| (\S+)/gm)].map((m) => m[1]);
    expect(tags(await dwsOk(ws, ['report', 'experiments', '--sort', 'accuracy']))).toEqual(['t7', 't5', 't3']);
    expect(tags(await dwsOk(ws, ['report', 'experiments', '--sort', 'accuracy', '--desc']))).toEqual(['t3', 't5', 't7']);
    expect(tags(await dwsOk(ws, ['report', 'experiments', '--sort', 'param:train.threshold', '--desc']))).toEqual(['t7', 't5', 't3']);
  });

  it('--csv prints every snapshot with full hashes, and --json the typed result with every param and metric', async () => {
    const csv = await dwsOk(ws, ['report', 'experiments', '--csv']);
    const lines = csv.split('\n');
    expect(lines[0]).toBe('hash,tags,created,message,train.threshold,accuracy,above');
    // The first run's message has a comma, so it is quoted.
    expect(lines[1]).toMatch(new RegExp(`^${hashes.t3},t3,\\d{4}-\\d\\d-\\d\\dT[\\d:.]{15},dws run: train \\(threshold=3\\),3,0.75,3$`));
    expect(lines[3]).toMatch(new RegExp(`^${hashes.t5},t5,[^,]+,"dws run: prepare, train \\(threshold=5\\)",5,0.5,2$`));
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('');

    const json = JSON.parse(await dwsOk(ws, ['report', 'experiments', '--json']));
    expect(json.columns).toEqual([
      { kind: 'param', name: 'train.threshold' },
      { kind: 'metric', name: 'accuracy' },
      { kind: 'metric', name: 'above' },
    ]);
    expect(json.unchanged).toEqual([
      { kind: 'param', name: 'prepare.scale' },
      { kind: 'param', name: 'train.model' },
      { kind: 'metric', name: 'total' },
    ]);
    expect(json.experiments[2]).toMatchObject({
      hash: hashes.t5,
      tags: ['t5'],
      params: { 'prepare.scale': 2, 'train.model': 'linear', 'train.threshold': 5 },
      metrics: { accuracy: 0.5, above: 2, total: 4 },
    });
  });

  it('refuses an unknown sort column, --desc without --sort, and --csv with --json (exit 2)', async () => {
    let r = await dws(ws, ['report', 'experiments', '--sort', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("No param or metric named 'nope' to sort by. Known: prepare.scale, train.model, train.threshold, accuracy, above, total");
    r = await dws(ws, ['report', 'experiments', '--desc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--desc needs --sort COL');
    r = await dws(ws, ['report', 'experiments', '--csv', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'InvalidParams', message: 'Give either --csv or --json, not both' });
  });

  it('lists a workspace without snapshots as empty', async () => {
    const empty = await newWorkspace();
    expect(await dwsOk(empty, ['report', 'experiments'])).toBe(
      'Experiments: params (step.param) and metrics of each snapshot\n| Hash | Tags | Created |\n|______|______|_________|\n0 snapshots\n',
    );
  });

  it('is served by dws server --stdio with the same result', async () => {
    const c = await connect({ cwd: ws, command: [process.execPath, DWS], env: TEST_ENV });
    try {
      const viaServer = await c.request('dws/report/experiments', { sort: 'accuracy' });
      const viaCli = JSON.parse(await dwsOk(ws, ['report', 'experiments', '--sort', 'accuracy', '--json']));
      expect(JSON.parse(JSON.stringify(viaServer))).toEqual(viaCli);
    } finally {
      c.close();
    }
  });
});

describe('dws diff, params and metrics', () => {
  it('adds the params and metrics that changed, with deltas, after the files', async () => {
    const out = await dwsOk(ws, ['--batch', 'diff', 't5', 't7']);
    expect(out.slice(out.indexOf('Params that changed'))).toBe(
      ['Params that changed:', '    train.threshold: 5 -> 7 (+2)', 'Metrics that changed:', '    above: 2 -> 1 (-1)', '    accuracy: 0.5 -> 0.25 (-0.25)', ''].join('\n'),
    );
    const json = JSON.parse(await dwsOk(ws, ['diff', '--json', 't5', 't7']));
    expect(json.params).toEqual([{ name: 'train.threshold', from: 5, to: 7, delta: 2 }]);
    expect(json.metrics).toEqual([
      { name: 'above', from: 2, to: 1, delta: -1 },
      { name: 'accuracy', from: 0.5, to: 0.25, delta: -0.25 },
    ]);
    // The same snapshot twice: nothing changed, no section.
    expect(await dwsOk(ws, ['--batch', 'diff', 't5', 't5'])).not.toContain('changed');
  });
});

describe('dws report plots', () => {
  it('writes one chart per metric across snapshots, oldest first, with the params that change for the hover card', async () => {
    const before = fingerprint(ws);
    const file = join(tempDir(), 'plots.html');
    const r = await dws(ws, ['report', 'plots', '--output', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Wrote 3 charts of metrics across 3 snapshots to ${file}\n`);
    const json = JSON.parse(await dwsOk(ws, ['report', 'plots', '--output', file, '--json']));
    expect(json.snapshots.map((s: { label: string }) => s.label)).toEqual(['t5', 't7', 't3']);
    expect(json.snapshots.map((s: { hash: string }) => s.hash)).toEqual([hashes.t5, hashes.t7, hashes.t3]);
    expect(json.snapshots[1].params).toEqual({ 'prepare.scale': 2, 'train.model': 'linear', 'train.threshold': 7 });
    expect(json.changingParams).toEqual(['train.threshold']);
    expect(json.charts).toEqual([
      { metric: 'accuracy', values: [0.5, 0.25, 0.75] },
      { metric: 'above', values: [2, 1, 3] },
      { metric: 'total', values: [4, 4, 4] },
    ]);
    expect(json.notPlotted).toEqual([]);
    expect(json.file).toBe(file);
    expect(json.html).toBeUndefined();
    const { file: _, ...data } = json;
    const html = readFileSync(file, 'utf8');
    expect(plotsPageData(html)).toEqual(data);
    // The chart library is in the page: nothing is fetched.
    expect(html).toContain('/*! https://github.com/leeoniya/uPlot (v1.6.32) */');
    // ... with its MIT notice, which goes with every copy.
    expect(html).toMatch(/<!-- The charts are drawn by uPlot [^]*Copyright \(c\) 2022 Leon Sorokin[^]*Permission is hereby granted[^]*-->\n<script>/);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(fingerprint(ws)).toBe(before);
  });

  it('without --output writes the page outside the workspace, in a new temporary directory', async () => {
    const before = fingerprint(ws);
    const json = JSON.parse(await dwsOk(ws, ['report', 'plots', '--json']));
    expect(json.file).toMatch(/[/\\]dws-plots-[^/\\]+[/\\]plots\.html$/);
    expect(json.file.startsWith(ws)).toBe(false);
    expect(plotsPageData(readFileSync(json.file, 'utf8'))).toMatchObject({ charts: [{ metric: 'accuracy' }, { metric: 'above' }, { metric: 'total' }] });
    rmSync(dirname(json.file), { recursive: true });
    expect(fingerprint(ws)).toBe(before);
  });

  it('--open hands the page to $BROWSER, and says where the page is when no browser starts', async () => {
    const dir = tempDir();
    const browser = join(dir, 'browser.sh');
    writeFileSync(browser, `#!/bin/sh\nprintf '%s' "$1" > ${JSON.stringify(join(dir, 'opened.tmp'))} && mv ${JSON.stringify(join(dir, 'opened.tmp'))} ${JSON.stringify(join(dir, 'opened'))}\n`);
    chmodSync(browser, 0o755);
    const file = join(dir, 'page.html');
    const r = await dws(ws, ['report', 'plots', '--output', file, '--open'], { env: { ...TEST_ENV, BROWSER: browser } });
    expect(r.code, r.stderr).toBe(0);
    // The browser is left running on its own, so its work is waited for here, not by dws.
    const opened = join(dir, 'opened');
    for (let i = 0; i < 200 && !existsSync(opened); i++) await new Promise((done) => setTimeout(done, 50));
    expect(readFileSync(opened, 'utf8')).toBe(file);

    // No browser to be found: the page is still written, and the user is told where it is.
    const missing = join(dir, 'no-browser');
    const r2 = await dws(ws, ['report', 'plots', '--output', file, '--open'], { env: { ...TEST_ENV, BROWSER: missing } });
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stderr).toContain(`Could not open the page with ${missing} (spawn ${missing} ENOENT); open ${file} in a browser.`);
  });

  it('is served by dws server --stdio: the same data, and the page itself with html (as the VS Code webview asks)', async () => {
    const file = join(tempDir(), 'plots.html');
    const { file: _, ...viaCli } = JSON.parse(await dwsOk(ws, ['report', 'plots', '--output', file, '--json']));
    const c = await connect({ cwd: ws, command: [process.execPath, DWS], env: TEST_ENV });
    try {
      const data = await c.request('dws/report/plots', {});
      expect(data.file).toBeNull();
      expect(data.html).toBeUndefined();
      const { file: __, ...rest } = data;
      expect(rest).toEqual(viaCli);
      const page = await c.request('dws/report/plots', { html: true });
      expect(page.html).toBe(readFileSync(file, 'utf8'));
      await expect(c.request('dws/report/plots', { output: '' })).rejects.toMatchObject({ code: 'InvalidParams' });
      await expect(c.request('dws/report/plots', { html: 'yes' } as never)).rejects.toMatchObject({ code: 'InvalidParams', message: expect.stringContaining('html') });
    } finally {
      c.close();
    }
  });

  it('refuses a page it cannot write, naming the file, and leaves everything as it was (exit 2)', async () => {
    const before = fingerprint(ws);
    const file = join(tempDir(), 'no-such-dir', 'plots.html');
    const r = await dws(ws, ['report', 'plots', '--output', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Cannot write the plots page to ${file}: ENOENT`);
    expect(existsSync(join(file, '..'))).toBe(false);
    expect(fingerprint(ws)).toBe(before);
  });

  it('handles no snapshots, snapshots without metrics, and metrics that are not numbers (listed, not plotted)', async () => {
    const other = await newWorkspace(['--create-resources', 'results']);
    const dir = tempDir();
    const page = async (name: string) => {
      const json = JSON.parse(await dwsOk(other, ['report', 'plots', '--output', join(dir, name), '--json']));
      return { json, html: readFileSync(join(dir, name), 'utf8') };
    };
    let p = await page('none.html');
    expect(p.json).toMatchObject({ snapshots: [], changingParams: [], charts: [], notPlotted: [] });
    expect(p.html).toContain('No snapshots yet.');

    await dwsOk(other, ['--batch', 'snapshot', 'bare']);
    p = await page('bare.html');
    expect(p.json).toMatchObject({ snapshots: [{ label: 'bare', params: {} }], charts: [], notPlotted: [] });
    expect(p.html).toContain('No snapshot has metrics.');

    // Python's json writes NaN bare; a text value among numbers is charted where it is a number and listed too.
    writeFileSync(join(other, 'results', 'results.json'), '{"metrics": {"acc": 0.5, "note": "first <try>", "ok": true, "loss": NaN}}');
    await dwsOk(other, ['--batch', 'snapshot', 'one']);
    writeFileSync(join(other, 'results', 'results.json'), '{"metrics": {"acc": "n/a", "note": "second", "ok": true, "loss": 1.5}}');
    await dwsOk(other, ['--batch', 'snapshot', 'two']);
    const r = await dws(other, ['report', 'plots', '--output', join(dir, 'mixed.html')]);
    expect(r.stdout).toBe(`Wrote 2 charts of metrics across 3 snapshots to ${join(dir, 'mixed.html')}\nNot plotted (values that are not numbers, listed on the page): acc, note, ok, loss\n`);
    p = await page('mixed.html');
    expect(p.json.snapshots.map((s: { label: string }) => s.label)).toEqual(['bare', 'one', 'two']);
    expect(p.json.charts).toEqual([
      { metric: 'acc', values: [null, 0.5, null] },
      { metric: 'loss', values: [null, null, 1.5] },
    ]);
    expect(p.json.notPlotted).toEqual([
      { metric: 'acc', values: [null, 0.5, 'n/a'] },
      { metric: 'note', values: [null, 'first <try>', 'second'] },
      { metric: 'ok', values: [null, true, true] },
      { metric: 'loss', values: [null, 'NaN', 1.5] },
    ]);
    expect(p.html).toContain('<li><code>first &lt;try&gt;</code> in one</li>');
    expect(p.html).toContain('<li><code>true</code> in one, two</li>');
    expect(readdirSync(dir).sort()).toEqual(['bare.html', 'mixed.html', 'none.html']);
  });
});
