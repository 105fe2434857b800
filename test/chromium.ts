/**
 * A real headless Chromium for the page tests (the lineage graph, the plots page), driven over the
 * DevTools protocol on a pipe (fd 3/4, NUL-delimited JSON), so the tests need no browser library:
 * open a page from disk with the network off, evaluate in it, move the mouse, and decode its
 * screenshot (PNG, with node:zlib) to check it is not blank.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { expect } from 'vitest';

const TIMEOUT_MS = 10_000;

type Json = Record<string, any>; // CDP messages are loosely typed JSON

/** A headless Chromium and its DevTools connection over --remote-debugging-pipe. */
export class Browser {
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
export interface Page { session: string; errors: string[]; requests: string[] }

export async function open(browser: Browser, file: string): Promise<Page> {
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

export async function evaluate(browser: Browser, page: Page, expression: string): Promise<unknown> {
  const r = await browser.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, page.session);
  if (r.exceptionDetails) throw new Error(`${expression}: ${JSON.stringify(r.exceptionDetails)}`);
  return (r.result as Json).value;
}

export async function mouse(browser: Browser, page: Page, type: string, x: number, y: number, extra: Json = {}): Promise<void> {
  await browser.send('Input.dispatchMouseEvent', { type, x, y, button: type === 'mouseMoved' ? 'none' : 'left', ...extra }, page.session);
}

// --- PNG: enough of a decoder for Chromium's 8-bit RGB/RGBA, non-interlaced screenshots ----------

export function decodePng(png: Buffer): { width: number; height: number; channels: number; pixels: Buffer } {
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


/** A screenshot of the page (the PNG as Chromium sent it, and its pixels). */
export async function screenshot(browser: Browser, page: Page): Promise<ReturnType<typeof decodePng> & { png: Buffer }> {
  const shot = await browser.send('Page.captureScreenshot', { format: 'png' }, page.session);
  const png = Buffer.from(shot.data as string, 'base64');
  return { png, ...decodePng(png) };
}

/** How much is drawn: distinct colours, and the share of pixels darker than a light background. */
export function ink({ width, height, channels, pixels }: ReturnType<typeof decodePng>): { colours: number; inked: number } {
  const colours = new Set<number>();
  let inked = 0;
  for (let i = 0; i < pixels.length; i += channels) {
    const [r, g, b] = [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!];
    colours.add((r << 16) | (g << 8) | b);
    if (r + g + b < 600) inked++;
  }
  return { colours: colours.size, inked: inked / (width * height) };
}
