/** The VS Code extension is built by `node build.mjs` and packed by @vscode/vsce: a .vsix (zip) with the manifest, package.json and the bundle. */
import { readdirSync, readFileSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers.js';

/** The entries of a zip (stored or deflated), read from its central directory. */
function unzip(zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const method = zip.readUInt16LE(at + 10);
    expect([0, 8]).toContain(method); // stored or deflated
    const size = zip.readUInt32LE(at + 20); // compressed size
    const nameLen = zip.readUInt16LE(at + 28);
    const skip = nameLen + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLen);
    const local = zip.readUInt32LE(at + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    files.set(name, method === 8 ? inflateRawSync(data) : data);
    at += 46 + skip;
  }
  return files;
}

describe('VS Code extension package', () => {
  it('is a .vsix with extension/package.json and extension/dist/extension.js that loads and exports activate', () => {
    const dir = join(REPO, 'dist', 'vscode');
    const vsix = readdirSync(dir).find((f) => f.endsWith('.vsix'));
    expect(vsix).toBe('dataworkspaces-vscode-0.1.0.vsix');
    const files = unzip(readFileSync(join(dir, vsix!)));
    expect([...files.keys()].sort()).toEqual(['[Content_Types].xml', 'extension.vsixmanifest', 'extension/dist/extension.js', 'extension/package.json', 'extension/readme.md']);
    const pkg = JSON.parse(files.get('extension/package.json')!.toString()) as { main: string; engines: { vscode: string }; activationEvents: string[] };
    expect(pkg).toMatchObject({ main: './dist/extension.js', engines: { vscode: '^1.82.0' }, activationEvents: ['workspaceContains:.dataworkspace'] });
    expect(files.get('extension.vsixmanifest')!.toString()).toContain('<Identity Language="en-US" Id="dataworkspaces-vscode" Version="0.1.0" Publisher="dataworkspaces" />');

    // The bundle is CommonJS needing nothing but `vscode` (stubbed here, every member a class: VS Code cannot run in tests).
    const m = new Module(join(dir, 'extension.js'));
    m.filename = join(dir, 'extension.js');
    m.paths = [];
    const load = (Module as unknown as { _load: (r: string, ...a: unknown[]) => unknown })._load;
    (Module as unknown as { _load: typeof load })._load = (r, ...a) => (r === 'vscode' ? new Proxy({}, { get: () => class {} }) : load(r, ...a));
    try {
      (m as unknown as { _compile(code: string, file: string): void })._compile(files.get('extension/dist/extension.js')!.toString(), m.filename);
    } finally {
      (Module as unknown as { _load: typeof load })._load = load;
    }
    expect(Object.keys(m.exports as object).sort()).toEqual(['activate', 'deactivate']);
  });
});
