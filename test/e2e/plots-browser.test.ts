// The plots page in a real browser: headless Chromium opens it from disk with the network off
// (test/chromium.ts). It checks that each numeric metric gets a chart whose canvas is drawn on,
// that hovering a point shows its snapshot and params, the pages for no snapshots, no metrics,
// non-numeric metrics and 400 snapshots, and no console errors; the screenshot of the main page
// is saved for a person to look at (its path is printed).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlotSnapshot } from '../../protocol/index.js';
import { renderPlotsPage, type PlotsData } from '../../server/report/plots-page.js';
import { Browser, evaluate, ink, mouse, open, screenshot, type Page } from '../chromium.js';
import { cleanup, dwsOk, newWorkspace, requireOnPath } from '../helpers.js';

/** Where the screenshot of the main page is kept after the test (outside the repository). */
const SCREENSHOT = join(tmpdir(), 'dws-screenshots', 'plots-page.png');

function snapshots(n: number, params: (i: number) => Record<string, unknown> = () => ({})): PlotSnapshot[] {
  return Array.from({ length: n }, (_, i) => ({
    hash: (i + 1).toString(16).padStart(8, '0') + 'c'.repeat(32),
    tags: i % 3 === 2 ? [] : [`v${i + 1}`],
    timestamp: `2026-12-0${1 + (i % 9)}T10:00:00.000000`,
    message: `run ${i + 1}`,
    label: i % 3 === 2 ? (i + 1).toString(16).padStart(7, '0') : `v${i + 1}`,
    params: params(i),
  }));
}

/** Six experiments: three numeric metrics (one with a gap), a metric that is text, and awkward names. */
const MAIN: PlotsData = {
  snapshots: snapshots(6, (i) => ({ 'prepare.scale': 2, 'train.alpha': [0.1, 0.2, 0.4, 0.8, 1.6, 3.2][i], 'train.model': i < 3 ? 'linear' : 'tree </script>' })),
  changingParams: ['train.alpha', 'train.model'],
  charts: [
    { metric: 'accuracy', values: [0.61, 0.66, 0.7, 0.7412345678, 0.73, 0.79] },
    { metric: 'loss', values: [1.2, 0.9, null, 0.55, 0.5, 0.41] },
    { metric: 'rows <&> "seen"', values: [1000, 1000, 1200, 1200, 1500, 1500] },
  ],
  notPlotted: [{ metric: 'optimizer', values: ['sgd', 'sgd', 'adam', null, 'adam', { name: 'adamw' }] }],
};

describe('plots page in headless Chromium', () => {
  let browser: Browser | undefined;
  let dir: string;

  beforeAll(() => {
    const chromium = requireOnPath(['chromium', 'chromium-browser', 'google-chrome'], "Debian's chromium package: apt-get install chromium");
    dir = mkdtempSync(join(tmpdir(), 'dws-plots-browser-'));
    browser = Browser.launch(chromium);
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    cleanup();
  });

  async function show(data: PlotsData, name: string): Promise<Page> {
    const file = join(dir, `${name}.html`);
    writeFileSync(file, renderPlotsPage(`Metrics of ${name}`, data));
    return open(browser!, file);
  }

  /** The charts drawn: their titles, and how many pixels of each canvas uPlot painted. */
  async function charts(page: Page): Promise<Array<{ metric: string; title: string; painted: number; width: number }>> {
    await evaluate(browser!, page, 'new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))');
    return (await evaluate(browser!, page, `Array.from(document.querySelectorAll('#charts .chart'), (c) => {
      const canvas = c.querySelector('canvas');
      const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
      return { metric: c.getAttribute('data-metric'), title: c.querySelector('h2').textContent, painted, width: canvas.getBoundingClientRect().width };
    })`)) as Array<{ metric: string; title: string; painted: number; width: number }>;
  }

  /** The centre of data point `i` of the chart of `metric`, in page coordinates (x from the page's own layout). */
  async function point(page: Page, metric: string, i: number, n: number): Promise<[number, number]> {
    return (await evaluate(browser!, page, `(() => {
      const over = Array.from(document.querySelectorAll('#charts .chart')).find((c) => c.getAttribute('data-metric') === ${JSON.stringify(metric)}).querySelector('.u-over');
      const r = over.getBoundingClientRect();
      return [r.left + r.width * (${i} + 0.5) / ${n}, r.top + r.height / 2];
    })()`)) as [number, number];
  }

  async function tooltip(page: Page): Promise<[boolean, string]> {
    return (await evaluate(browser!, page, `[document.getElementById('tooltip').hidden, document.getElementById('tooltip').textContent]`)) as [boolean, string];
  }

  it('draws one chart per numeric metric, lists the others, and shows a point\'s snapshot and params on hover', async () => {
    const page = await show(MAIN, 'main');
    const drawn = await charts(page);
    expect(drawn.map((c) => c.title)).toEqual(['accuracy', 'loss', 'rows <&> "seen"']);
    for (const c of drawn) {
      expect(c.painted, `canvas of ${c.metric}`).toBeGreaterThan(2000);
      expect(c.width).toBeGreaterThan(400);
    }
    const text = (await evaluate(browser!, page, 'document.body.textContent')) as string;
    expect(text).toContain('6 snapshots · 3 charts · 1 not plotted');
    expect(text).toContain('Not plotted: values that are not numbers');
    for (const s of ['sgd in v1, v2', 'adam in 0000003, v5', '{"name":"adamw"} in 0000006']) expect(text).toContain(s);
    expect(text).toContain('The same in every snapshot: prepare.scale = 2');

    // The fourth snapshot (v4) on the accuracy chart: its value unrounded, its params.
    await mouse(browser!, page, 'mouseMoved', ...(await point(page, 'accuracy', 3, 6)));
    const [hidden, tip] = await tooltip(page);
    expect(hidden).toBe(false);
    for (const s of ['v4', 'accuracy0.7412345678', 'snapshot00000004cccc', 'taken2026-12-04 10:00:00', 'messagerun 4', 'train.alpha0.8', 'train.modeltree </script>']) expect(tip).toContain(s);
    expect(tip).not.toContain('prepare.scale');
    // The gap in the loss chart: the third snapshot has no value there.
    await mouse(browser!, page, 'mouseMoved', ...(await point(page, 'loss', 2, 6)));
    expect((await tooltip(page))[1]).toContain('lossno value');
    // Leaving the chart hides the card.
    await mouse(browser!, page, 'mouseMoved', 5, 5);
    expect((await tooltip(page))[0]).toBe(true);

    const shot = await screenshot(browser!, page);
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    writeFileSync(SCREENSHOT, shot.png);
    console.log(`plots page screenshot: ${SCREENSHOT}`);
    expect([shot.width, shot.height]).toEqual([1280, 800]);
    const { colours, inked } = ink(shot);
    expect(colours).toBeGreaterThan(50);
    expect(inked).toBeGreaterThan(0.01);
    expect(await evaluate(browser!, page, 'document.scripts.length')).toBe(3);
    expect(page.requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
    expect(page.errors).toEqual([]);
  });

  it('says so when there are no snapshots, or no metrics, and draws no chart', async () => {
    let page = await show({ snapshots: [], changingParams: [], charts: [], notPlotted: [] }, 'none');
    expect(await charts(page)).toEqual([]);
    expect(await evaluate(browser!, page, `document.querySelector('.empty').textContent`)).toMatch(/^No snapshots yet\./);
    expect(page.errors).toEqual([]);

    page = await show({ snapshots: snapshots(3), changingParams: [], charts: [], notPlotted: [] }, 'bare');
    expect(await charts(page)).toEqual([]);
    expect(await evaluate(browser!, page, `document.querySelector('.empty').textContent`)).toMatch(/^No snapshot has metrics\./);
    expect(page.errors).toEqual([]);
  });

  it('draws 400 snapshots and shows the last one on hover', async () => {
    const n = 400;
    const data: PlotsData = {
      snapshots: snapshots(n, (i) => ({ 'train.seed': i })),
      changingParams: ['train.seed'],
      charts: [
        { metric: 'accuracy', values: Array.from({ length: n }, (_, i) => 0.5 + 0.4 * Math.sin(i / 20) * Math.exp(-i / 300)) },
        { metric: 'loss', values: Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : 1 / (1 + i))) },
      ],
      notPlotted: [],
    };
    const page = await show(data, 'many');
    const drawn = await charts(page);
    expect(drawn.map((c) => c.metric)).toEqual(['accuracy', 'loss']);
    for (const c of drawn) expect(c.painted, `canvas of ${c.metric}`).toBeGreaterThan(2000);
    await mouse(browser!, page, 'mouseMoved', ...(await point(page, 'accuracy', n - 1, n)));
    const [hidden, tip] = await tooltip(page);
    expect(hidden).toBe(false);
    expect(tip).toMatch(/^v400accuracy0\.5\d+snapshot00000190cccc/);
    expect(tip).toContain('train.seed399');
    expect(page.errors).toEqual([]);
  });

  it('opens the page `dws report plots` writes for a workspace, from disk, with the network off', async () => {
    const ws = await newWorkspace(['--create-resources', 'results']);
    for (const [tag, acc] of [['first', 0.5], ['second', 0.75]] as const) {
      writeFileSync(join(ws, 'results', 'results.json'), JSON.stringify({ metrics: { acc, stage: tag } }));
      await dwsOk(ws, ['--batch', 'snapshot', tag]);
    }
    const file = join(dir, 'cli.html');
    await dwsOk(ws, ['report', 'plots', '--output', file]);
    const page = await open(browser!, file);
    const drawn = await charts(page);
    expect(drawn.map((c) => c.metric)).toEqual(['acc']);
    expect(drawn[0]!.painted).toBeGreaterThan(2000);
    await mouse(browser!, page, 'mouseMoved', ...(await point(page, 'acc', 1, 2)));
    expect((await tooltip(page))[1]).toMatch(/^secondacc0\.75snapshot[0-9a-f]{12}taken/);
    expect(await evaluate(browser!, page, 'document.body.textContent')).toContain('first in first');
    expect(page.requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
    expect(page.errors).toEqual([]);
  });
});
