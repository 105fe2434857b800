/**
 * `dws server --stdio` as a language server, driven with raw LSP messages (Content-Length
 * framing by hand): initialize, diagnostics on step files and metadata, hover, completion,
 * code lenses, executeCommand, errors of each kind for `dws/*` methods, cancellation,
 * `$/progress` for a snapshot, shutdown/exit.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dwsOk, git, newWorkspace, REPO, TEST_ENV } from '../helpers.js';
import { LspClient } from '../lsp-client.js';

const API = pathToFileURL(join(REPO, 'dist', 'index.js')).href;

// Records step `prepare` through the lineage API, as the runner will.
const RECORD = `
import { mkdirSync, writeFileSync } from 'node:fs';
import { recordStep } from '${API}';
await recordStep({ name: 'prepare', inputs: ['source-data'], code: ['code/record.mjs'], outputs: ['intermediate-data:/prepared'] }, async (step) => {
  mkdirSync(step.outputPaths[0], { recursive: true });
  writeFileSync(step.outputPaths[0] + '/data.txt', '2\\n');
});
`;

const STEP = `import { defineStep } from 'dataworkspaces';

export default defineStep({
  name: 'prepare',
  inputs: { raw: 'source-data', extra: 'no-such-data', sub: 'source-data:/nope' },
  outputs: { prepared: 'intermediate-data:/prepared', twice: 'intermediate-data:/prepared/x' },
  async run() {},
});
`;

let ws: string;
let lsp: LspClient;
let snapshotHash: string;
const uri = (rel: string) => pathToFileURL(join(ws, rel)).href;
/** Offset → LSP position of the `n`th character of `needle` in `text`. */
const pos = (text: string, needle: string, n = 0) => {
  const at = text.indexOf(needle) + n;
  const before = text.slice(0, at);
  return { line: before.split('\n').length - 1, character: at - before.lastIndexOf('\n') - 1 };
};
const open = (rel: string, text: string, languageId = 'typescript') => lsp.notify('textDocument/didOpen', { textDocument: { uri: uri(rel), languageId, version: 1, text } });

beforeAll(async () => {
  ws = await newWorkspace(['--create-resources', 'source-data,intermediate-data,code,results']);
  writeFileSync(join(ws, 'source-data', 'data.csv'), 'value\n1\n');
  writeFileSync(join(ws, 'code', 'record.mjs'), RECORD);
  writeFileSync(join(ws, 'code', 'prepare.step.ts'), STEP);
  git(ws, ['add', '-A']);
  git(ws, ['commit', '-q', '-m', 'data and code']);
  const r = spawnSync(process.execPath, ['code/record.mjs'], { cwd: ws, env: TEST_ENV, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  snapshotHash = JSON.parse(await dwsOk(ws, ['--json', 'snapshot', '-m', 'prepared'])).hash;
  writeFileSync(join(ws, 'source-data', 'data.csv'), 'value\n1\n2\n'); // prepare is now stale
  lsp = new LspClient(ws);
});
afterAll(() => {
  lsp?.close();
  cleanup();
});

describe('dws server --stdio as a language server', () => {
  it('initializes with its capabilities and the workspace folder', async () => {
    const r = await lsp.request('initialize', {
      processId: null,
      rootUri: null,
      capabilities: { window: { workDoneProgress: true } },
      workspaceFolders: [{ uri: pathToFileURL(ws).href, name: 'ws' }],
    });
    expect(r.error).toBeUndefined();
    expect(r.result.serverInfo.name).toBe('dws');
    expect(r.result.capabilities).toMatchObject({ hoverProvider: true, codeLensProvider: {}, completionProvider: {} });
    expect(r.result.capabilities.executeCommandProvider.commands).toEqual(['dws.snapshot', 'dws.restore', 'dws.run']);
    lsp.notify('initialized', {});
  });

  it('reports a syntax error in a step file at its line', async () => {
    open('code/broken.step.ts', "import { defineStep } from 'dataworkspaces';\nexport default defineStep({\n  name: 'b',,\n});\n");
    const [d] = await lsp.diagnostics(uri('code/broken.step.ts'), (ds) => ds.length > 0, 'diagnostics for broken.step.ts');
    expect(d.message).toMatch(/^Syntax error: /);
    expect(d.range.start).toEqual({ line: 2, character: 12 });
    expect(d.severity).toBe(1);
  });

  it('reports unknown resources and subpaths, overlapping outputs and a stale step, at their ranges', async () => {
    open('code/prepare.step.ts', STEP);
    const ds = await lsp.diagnostics(uri('code/prepare.step.ts'), (x) => x.length > 0, 'diagnostics for prepare.step.ts');
    const by = (re: RegExp) => ds.find((d) => re.test(d.message));
    const unknown = by(/^Unknown resource 'no-such-data'/);
    expect(unknown.message).toContain('this workspace has source-data, intermediate-data, code, results');
    expect(unknown.range).toEqual({ start: pos(STEP, 'no-such-data'), end: pos(STEP, 'no-such-data', 'no-such-data'.length) });
    expect(by(/^'nope' does not exist in resource source-data/).range.start).toEqual(pos(STEP, 'source-data:/nope'));
    expect(by(/^Output 'intermediate-data:\/prepared\/x' overlaps output 'intermediate-data:\/prepared'/).range.start).toEqual(pos(STEP, 'intermediate-data:/prepared/x'));
    const stale = by(/^Step prepare is stale/);
    expect(stale.severity).toBe(2);
    expect(stale.message).toMatch(/input source-data changed \(recorded Hash:[0-9a-f]{8}, now Hash:[0-9a-f]{8}\)/);
    expect(stale.range.start).toEqual(pos(STEP, "prepare'"));
    expect(ds).toHaveLength(4);
  });

  it('underlines the bad value of a metadata file, and JSON syntax errors', async () => {
    const file = '.dataworkspace/resources.json';
    const text = readFileSync(join(ws, file), 'utf8').replace('"role": "code"', '"role": "cod"');
    open(file, text, 'json');
    const [d] = await lsp.diagnostics(uri(file), (x) => x.length > 0, 'diagnostics for resources.json');
    expect(d.message).toContain(`has role 'cod'; valid roles are source-data, intermediate-data, code, results`);
    expect(d.range).toEqual({ start: pos(text, '"cod"'), end: pos(text, '"cod"', 5) });
    const config = '.dataworkspace/config.json';
    const bad = '{\n  "name": "x",\n  "dws-version": 1.6,\n  "global_params": {}\n}\n';
    open(config, bad, 'json');
    const [c] = await lsp.diagnostics(uri(config), (x) => x.length > 0, 'diagnostics for config.json');
    expect(c.message).toContain('"dws-version" must be a string');
    expect(c.range).toEqual({ start: pos(bad, '1.6'), end: pos(bad, '1.6', 3) });
    lsp.notify('textDocument/didChange', { textDocument: { uri: uri(config), version: 2 }, contentChanges: [{ text: '{\n  "name": "x",\n}' }] });
    const [s] = await lsp.diagnostics(uri(config), (x) => x.length > 0 && /Invalid JSON/.test(x[0].message), 'a JSON syntax error');
    expect(s.range.start.line).toBe(2);
  });

  it('hovers a ref string with type, role, current hash and producing step', async () => {
    const r = await lsp.request('textDocument/hover', { textDocument: { uri: uri('code/prepare.step.ts') }, position: pos(STEP, "intermediate-data:/prepared'", 3) });
    const text: string = r.result.contents.value;
    expect(text).toContain('**intermediate-data:/prepared**: git-subdirectory resource, role intermediate-data');
    expect(text).toMatch(/current hash: [0-9a-f]{8}/);
    expect(text).toMatch(/produced by: step prepare at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
  });

  it('completes resource names and subpaths inside ref strings', async () => {
    const text = STEP.replace("raw: 'source-data'", "raw: 'sou'");
    lsp.notify('textDocument/didChange', { textDocument: { uri: uri('code/prepare.step.ts'), version: 2 }, contentChanges: [{ text }] });
    const names = await lsp.request('textDocument/completion', { textDocument: { uri: uri('code/prepare.step.ts') }, position: pos(text, "sou'", 3) });
    expect(names.result.map((i: { label: string }) => i.label)).toEqual(['source-data', 'intermediate-data', 'code', 'results']);
    expect(names.result[0].textEdit).toEqual({ range: { start: pos(text, "sou'"), end: pos(text, "sou'", 3) }, newText: 'source-data' });
    const sub = await lsp.request('textDocument/completion', { textDocument: { uri: uri('code/prepare.step.ts') }, position: pos(text, "source-data:/nope'", 13) });
    expect(sub.result.map((i: { label: string }) => i.label)).toContain('data.csv');
  });

  it('shows a code lens with the last run of each step', async () => {
    const r = await lsp.request('textDocument/codeLens', { textDocument: { uri: uri('code/prepare.step.ts') } });
    const titles: string[] = r.result.map((l: { command: { title: string } }) => l.command.title);
    expect(titles).toContainEqual(expect.stringMatching(new RegExp(`^last run: stale, \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d, snapshot ${snapshotHash.slice(0, 7)}$`)));
    expect(r.result[0].range.start).toEqual(pos(STEP, 'defineStep('));
    // Run runs the step's file through dws/run.
    expect(r.result).toContainEqual(expect.objectContaining({ command: { title: 'Run prepare', command: 'dws.run', arguments: [{ uri: uri('code/prepare.step.ts') }] } }));
  });

  it('answers each kind of dws/* error and keeps serving', async () => {
    expect((await lsp.request('dws/no-such-method', {})).error!.code).toBe(-32601);
    const invalid = await lsp.request('dws/report/history', { limit: -3 });
    expect(invalid.error!.code).toBe(-32602);
    expect(invalid.error!.data.issues[0].path).toEqual(['limit']);
    const missing = await lsp.request('dws/status', { workspaceDir: join(ws, 'nope') });
    expect(missing.error).toMatchObject({ code: 1001, data: { code: 'NotFound' } });
    const conflict = await lsp.request('dws/snapshot', { tag: snapshotHash.slice(0, 10) });
    expect(conflict.error).toMatchObject({ code: 1000, message: expect.stringContaining('looks like a git hash') });
    // Without workspaceDir, the workspace folder given in initialize is used.
    expect((await lsp.request('dws/report/history', {})).result.snapshots[0].hash).toBe(snapshotHash);
  });

  it('answers an unknown method with -32601 naming it and the nearest dws method, and ignores unknown notifications', async () => {
    const unknown = async (method: string) => (await lsp.request(method, {})).error;
    const LISTED = 'dws/methods lists every dws method.';
    expect(await unknown('dws/snapshoot')).toEqual({
      code: -32601,
      message: `Unknown method 'dws/snapshoot': did you mean 'dws/snapshot'? ${LISTED}`,
      data: { method: 'dws/snapshoot', suggestions: ['dws/snapshot'] },
    });
    // A name without the dws/ prefix (a CLI command's words) is matched with it.
    expect(await unknown('report/history')).toMatchObject({ code: -32601, data: { suggestions: ['dws/report/history'] } });
    expect(await unknown('status')).toMatchObject({ code: -32601, message: `Unknown method 'status': did you mean 'dws/status'? ${LISTED}` });
    expect(await unknown('dws/no-such-method')).toEqual({ code: -32601, message: `Unknown method 'dws/no-such-method': ${LISTED}`, data: { method: 'dws/no-such-method', suggestions: [] } });
    // LSP: a request starting with $/ that the server does not know is answered MethodNotFound.
    expect(await unknown('$/no-such-request')).toMatchObject({ code: -32601, message: `Unknown method '$/no-such-request': ${LISTED}` });
    // Notifications are never answered, known or not.
    const before = lsp.messages.length;
    lsp.notify('dws/snapshoot', {});
    lsp.notify('$/no-such-notification', {});
    expect((await lsp.request('dws/version', {})).result.formatVersion).toBe('1.6.0');
    expect(lsp.messages.slice(before).filter((m) => m.error !== undefined || (m.id === undefined && JSON.stringify(m).includes('snapshoot')))).toEqual([]);
  });

  it('reports $/progress for a snapshot and runs executeCommand snapshot', async () => {
    const r = await lsp.request('dws/snapshot', { tag: 'with-progress', workDoneToken: 'snap-1' });
    expect(r.error).toBeUndefined();
    const progress = lsp.messages.filter((m) => m.method === '$/progress' && m.params.token === 'snap-1').map((m) => m.params.value);
    expect(progress[0]).toMatchObject({ kind: 'begin', title: 'dws/snapshot' });
    expect(progress).toContainEqual({ kind: 'report', message: '[snapshot] Taking snapshot of resource source-data' });
    expect(progress.at(-1)).toEqual({ kind: 'end' });

    writeFileSync(join(ws, 'source-data', 'more.csv'), 'value\n3\n');
    const c = await lsp.request('workspace/executeCommand', { command: 'dws.snapshot', arguments: [{ uri: uri('code/prepare.step.ts'), tag: 'from-editor' }] });
    expect(c.error).toBeUndefined();
    expect(c.result.tag).toBe('from-editor');
    // The server made its own progress token (the client said it supports work done progress).
    const created = lsp.messages.find((m) => m.method === 'window/workDoneProgress/create')!;
    await lsp.waitFor((m) => m.method === '$/progress' && m.params.token === created.params.token && m.params.value.kind === 'end', 'the end of the command progress');
    const history = JSON.parse(await dwsOk(ws, ['--json', 'report', 'history']));
    expect(history.snapshots[0]).toMatchObject({ hash: c.result.hash, tags: ['from-editor'] });
  });

  it('answers a cancelled request with RequestCancelled and does not run it', async () => {
    writeFileSync(join(ws, 'source-data', 'even-more.csv'), 'value\n4\n');
    const first = lsp.requestMessage('dws/snapshot', { tag: 'first' });
    const second = lsp.requestMessage('dws/snapshot', { tag: 'second' });
    // The second waits for the first (changes run one at a time) and is cancelled meanwhile.
    lsp.send(first, second, { jsonrpc: '2.0', method: '$/cancelRequest', params: { id: second.id } });
    expect((await lsp.response(first.id)).error).toBeUndefined();
    const cancelled = await lsp.response(second.id);
    expect(cancelled.error!.code).toBe(-32800);
    const history = JSON.parse(await dwsOk(ws, ['--json', 'report', 'history']));
    expect(history.snapshots.flatMap((s: { tags: string[] }) => s.tags)).not.toContain('second');
    expect(history.snapshots[0].tags).toEqual(['first']);
  });

  it('runs executeCommand restore', async () => {
    const r = await lsp.request('workspace/executeCommand', { command: 'dws.restore', arguments: [{ uri: uri('code/prepare.step.ts'), tagOrHash: 'with-progress' }] });
    expect(r.error).toBeUndefined();
    expect(r.result.restored).toContain('source-data');
    expect(existsSync(join(ws, 'source-data', 'more.csv'))).toBe(false);
    const unknown = await lsp.request('workspace/executeCommand', { command: 'dws.nope', arguments: [] });
    expect(unknown.error).toMatchObject({ code: -32602, message: "Unknown command 'dws.nope': this server has dws.snapshot, dws.restore, dws.run" });
  });

  it('shuts down and exits with 0', async () => {
    expect((await lsp.request('shutdown')).result).toBeNull();
    lsp.notify('exit', undefined);
    expect(await lsp.exited).toBe(0);
  });
});
