// The lineage graph page in a real browser: Debian's headless Chromium opens the HTML from disk
// with the network off, driven over the DevTools protocol on a pipe (fd 3/4, NUL-delimited JSON),
// so the test needs no browser library. It checks console errors, the names in the DOM, hover and
// click details, and that the screenshot is not blank (PNG decoded here with node:zlib).
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../lineage/graph-render.js';
import type { LineageGraph } from '../../lineage/graph-model.js';
import { fixtureGraph, generatedGraph, nodeNames } from '../graph-fixture.js';
import { dwsOk, FIXTURE, requireOnPath } from '../helpers.js';

const TIMEOUT_MS = 10_000;

type Json = Record<string, any>; // CDP messages are loosely typed JSON

/** A headless Chromium and its DevTools connection over --remote-debugging-pipe. */
class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Json) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(m: Json) => void>();
  private stderr = '';
  private exited = false;

  private constructor(private readonly proc: ChildProcess, private readonly profile: string) {
    let buffer = '';
    (proc.stdio[4] as Readable).on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\0')) >= 0) {
        const msg = JSON.parse(buffer.slice(0, end)) as Json;
        buffer = buffer.slice(end + 1);
        const waiter = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
        if (waiter) {
          this.pending.delete(msg.id);
          if (msg.error) waiter.reject(new Error(`CDP error: ${JSON.stringify(msg.error)}`));
          else waiter.resolve(msg.result as Json);
        } else {
          this.listeners.forEach((l) => l(msg));
        }
      }
    });
    proc.stderr!.on('data', (chunk: Buffer) => { this.stderr = (this.stderr + chunk.toString()).slice(-4000); });
    proc.on('exit', () => {
      this.exited = true;
      for (const w of this.pending.values()) w.reject(new Error(`Chromium exited; its stderr ends with:\n${this.stderr}`));
      this.pending.clear();
    });
  }

  static launch(executable: string): Browser {
    const profile = mkdtempSync(join(tmpdir(), 'dws-chromium-'));
    const proc = spawn(executable, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--no-default-browser-check',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-extensions',
      // Network off: every host is unresolvable and every proxied request goes to a closed port.
      '--proxy-server=127.0.0.1:9', '--host-resolver-rules=MAP * ~NOTFOUND', '--allow-file-access-from-files',
      `--user-data-dir=${profile}`, '--window-size=1280,800', '--remote-debugging-pipe', 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true });
    return new Browser(proc, profile);
  }

  send(method: string, params: Json = {}, sessionId?: string): Promise<Json> {
    const id = this.nextId++;
    const reply = new Promise<Json>((resolve, reject) => {
      if (this.exited) return reject(new Error(`Chromium is not running; its stderr ends with:\n${this.stderr}`));
      this.pending.set(id, { resolve, reject });
    });
    (this.proc.stdio[3] as Writable).write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    return withTimeout(reply, `${method} got no answer`);
  }

  on(listener: (m: Json) => void): void {
    this.listeners.add(listener);
  }

  waitFor(method: string, sessionId: string): Promise<Json> {
    return withTimeout(new Promise<Json>((resolve) => {
      const l = (m: Json): void => {
        if (m.method === method && m.sessionId === sessionId) { this.listeners.delete(l); resolve(m.params as Json); }
      };
      this.listeners.add(l);
    }), `no ${method} event`);
  }

  /**
   * Asks Chromium to quit (so it reaps its helpers), then kills its whole process group (it was
   * started detached) in case it did not, and removes its profile.
   */
  async close(): Promise<void> {
    if (!this.exited) {
      const exit = new Promise((resolve) => this.proc.once('exit', resolve));
      await this.send('Browser.close').catch(() => undefined);
      await withTimeout(exit, 'no exit after Browser.close').catch(() => undefined);
      try { process.kill(-this.proc.pid!, 'SIGKILL'); } catch { /* the group is gone */ }
      await exit;
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`Chromium: ${what} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A page opened from a file, with everything it logged as an error and every URL it requested. */
interface Page { session: string; errors: string[]; requests: string[] }

async function open(browser: Browser, file: string): Promise<Page> {
  const { targetId } = await browser.send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await browser.send('Target.attachToTarget', { targetId, flatten: true });
  const page: Page = { session: sessionId as string, errors: [], requests: [] };
  browser.on((m) => {
    if (m.sessionId !== page.session) return;
    const p = m.params as Json;
    if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert')) page.errors.push(`console.${p.type}: ${JSON.stringify(p.args)}`);
    if (m.method === 'Runtime.exceptionThrown') page.errors.push(`exception: ${JSON.stringify(p.exceptionDetails)}`);
    if (m.method === 'Log.entryAdded' && p.entry.level === 'error') page.errors.push(`log: ${p.entry.text}`);
    if (m.method === 'Network.requestWillBeSent') page.requests.push(p.request.url);
  });
  for (const domain of ['Runtime', 'Log', 'Page', 'Network']) await browser.send(`${domain}.enable`, {}, page.session);
  await browser.send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 800, deviceScaleFactor: 1, mobile: false }, page.session);
  const loaded = browser.waitFor('Page.loadEventFired', page.session);
  const nav = await browser.send('Page.navigate', { url: pathToFileURL(file).href }, page.session);
  expect(nav.errorText, `navigating to ${file}`).toBeUndefined();
  await loaded;
  return page;
}

async function evaluate(browser: Browser, page: Page, expression: string): Promise<unknown> {
  const r = await browser.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, page.session);
  if (r.exceptionDetails) throw new Error(`${expression}: ${JSON.stringify(r.exceptionDetails)}`);
  return (r.result as Json).value;
}

async function mouse(browser: Browser, page: Page, type: string, x: number, y: number, extra: Json = {}): Promise<void> {
  await browser.send('Input.dispatchMouseEvent', { type, x, y, button: type === 'mouseMoved' ? 'none' : 'left', ...extra }, page.session);
}

// --- PNG: enough of a decoder for Chromium's 8-bit RGB/RGBA, non-interlaced screenshots ----------

function decodePng(png: Buffer): { width: number; height: number; channels: number; pixels: Buffer } {
  expect(png.subarray(0, 8).toString('hex'), 'PNG signature').toBe('89504e470d0a1a0a');
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, interlace] = [data[8], data[9], data[12]];
      expect({ depth, interlace, colourTypeKnown: colour === 2 || colour === 6 }).toEqual({ depth: 8, interlace: 0, colourTypeKnown: true });
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
      if (predictor === undefined) throw new Error(`PNG: unknown filter ${filter} in row ${y}`);
      pixels[y * stride + x] = (v + predictor) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

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
    const shot = await browser!.send('Page.captureScreenshot', { format: 'png' }, page.session);
    const { width, height, channels, pixels } = decodePng(Buffer.from(shot.data as string, 'base64'));
    expect([width, height]).toEqual([1280, 800]);
    const colours = new Set<number>();
    let inked = 0;
    for (let i = 0; i < pixels.length; i += channels) {
      const [r, gr, b] = [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!];
      colours.add((r << 16) | (gr << 8) | b);
      if (r + gr + b < 600) inked++;
    }
    expect(colours.size).toBeGreaterThan(50);
    expect(inked / (width * height)).toBeGreaterThan(0.02);
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
