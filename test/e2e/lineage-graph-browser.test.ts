// The lineage graph page in a real browser: Debian's headless Chromium opens the HTML from disk
// with the network off (test/chromium.ts). It checks console errors, the names in the DOM, hover
// and click details, and that the screenshot is not blank.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../lineage/graph-render.js';
import type { LineageGraph } from '../../lineage/graph-model.js';
import { Browser, evaluate, ink, mouse, open, screenshot, type Page } from '../chromium.js';
import { fixtureGraph, generatedGraph, nodeNames } from '../graph-fixture.js';
import { dwsOk, FIXTURE, requireOnPath } from '../helpers.js';

// --- the tests -----------------------------------------------------------------------------------

describe('lineage graph page in headless Chromium', () => {
  let browser: Browser | undefined;
  let dir: string;

  beforeAll(() => {
    const chromium = requireOnPath(['chromium', 'chromium-browser', 'google-chrome'], "Debian's chromium package: apt-get install chromium");
    dir = mkdtempSync(join(tmpdir(), 'dws-graph-'));
    browser = Browser.launch(chromium);
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function show(g: LineageGraph, name: string): Promise<Page> {
    const file = join(dir, `${name}.html`);
    writeFileSync(file, renderHtml(g));
    return open(browser!, file);
  }

  async function checkPage(g: LineageGraph, page: Page): Promise<void> {
    // Every step and resource name is drawn as SVG text.
    const drawn = (await evaluate(browser!, page, `Array.from(document.querySelectorAll('#graph .node text.title'), (t) => t.textContent)`)) as string[];
    expect(drawn.sort()).toEqual(nodeNames(g).sort());
    const text = (await evaluate(browser!, page, 'document.body.textContent')) as string;
    for (const name of nodeNames(g)) expect(text).toContain(name);
    // Every label fits inside its box, and no two boxes overlap on screen.
    const boxes = (await evaluate(browser!, page, `Array.from(document.querySelectorAll('#graph .node'), (n) => {
      const r = n.querySelector('rect').getBoundingClientRect();
      const texts = Array.from(n.querySelectorAll('text'), (t) => t.getBoundingClientRect());
      return { r: [r.left, r.top, r.right, r.bottom], fits: texts.every((t) => t.left >= r.left && t.right <= r.right && t.top >= r.top - 1 && t.bottom <= r.bottom + 1) };
    })`)) as Array<{ r: [number, number, number, number]; fits: boolean }>;
    expect(boxes.filter((b) => !b.fits)).toEqual([]);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i]!.r, boxes[j]!.r];
        expect(a[2] <= b[0] || b[2] <= a[0] || a[3] <= b[1] || b[3] <= a[1], `node boxes ${i} and ${j} overlap`).toBe(true);
      }
    }
    // Not blank: many pixels are not background, in several colours.
    const shot = await screenshot(browser!, page);
    expect([shot.width, shot.height]).toEqual([1280, 800]);
    const { colours, inked } = ink(shot);
    expect(colours).toBeGreaterThan(50);
    expect(inked).toBeGreaterThan(0.02);
    expect(page.requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
    expect(page.errors).toEqual([]);
  }

  it('draws the Python fixture v3 snapshot: prepare, train and their resources', async () => {
    const g = fixtureGraph();
    const page = await show(g, 'fixture');
    await checkPage(g, page);
    expect(nodeNames(g)).toEqual(expect.arrayContaining(['prepare', 'train', 'source-data', 'intermediate-data:/prepared', 'results', 'code']));

    // Hover shows the parameters and the run; a click opens the details panel.
    const at = (await evaluate(browser!, page, `(() => {
      const n = Array.from(document.querySelectorAll('.node.step')).find((e) => e.textContent.startsWith('train'));
      const r = n.getBoundingClientRect();
      return [r.left + r.width / 2, r.top + r.height / 2];
    })()`)) as [number, number];
    await mouse(browser!, page, 'mouseMoved', ...at);
    const tip = (await evaluate(browser!, page, `[document.getElementById('tooltip').hidden, document.getElementById('tooltip').textContent]`)) as [boolean, string];
    expect(tip[0]).toBe(false);
    expect(tip[1]).toContain('alpha');
    expect(tip[1]).toContain('0.25');
    expect(tip[1]).toContain('2026-11-25 16:35:33.219154');
    expect(tip[1]).toContain('/usr/bin/python3 code/train.py --alpha 0.25');
    await mouse(browser!, page, 'mousePressed', ...at, { buttons: 1, clickCount: 1 });
    await mouse(browser!, page, 'mouseReleased', ...at, { clickCount: 1 });
    const panel = (await evaluate(browser!, page, `[document.getElementById('details').hidden, document.getElementById('details').textContent]`)) as [boolean, string];
    expect(panel[0]).toBe(false);
    for (const s of ['train', 'alpha', '0.25', '20 ms', 'code/train.py', 'intermediate-data:/prepared', 'results']) expect(panel[1]).toContain(s);
    // The wheel zooms.
    const before = await evaluate(browser!, page, `document.getElementById('scene').getAttribute('transform')`);
    await mouse(browser!, page, 'mouseWheel', 400, 300, { deltaX: 0, deltaY: -300 });
    expect(await evaluate(browser!, page, `document.getElementById('scene').getAttribute('transform')`)).not.toBe(before);
    expect(page.errors).toEqual([]);
  });

  it('opens the page `dws lineage graph` writes for the fixture, from disk, with the network off', async () => {
    execFileSync('tar', ['-xzf', join(FIXTURE, 'workspace.tar.gz'), '-C', dir]);
    const ws = join(dir, 'python-workspace');
    const file = join(dir, 'cli-v3.html');
    await dwsOk(ws, ['--batch', 'lineage', 'graph', '--snapshot', 'v3', file]);
    const page = await open(browser!, file);
    const drawn = (await evaluate(browser!, page, `Array.from(document.querySelectorAll('#graph .node text.title'), (t) => t.textContent)`)) as string[];
    expect(drawn).toEqual(expect.arrayContaining(['prepare', 'train', 'source-data', 'intermediate-data:/prepared', 'results']));
    expect(page.requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
    expect(page.errors).toEqual([]);
  });

  it('draws a 50-step graph with quotes, < and & in names and </script> in params', async () => {
    const g = generatedGraph(50, true);
    const page = await show(g, 'fifty');
    await checkPage(g, page);
    expect(await evaluate(browser!, page, `document.querySelectorAll('.node.step').length`)).toBe(50);
    expect(await evaluate(browser!, page, 'document.scripts.length')).toBe(2);
  });
});
