/**
 * The VS Code extension's commands against a real `dws server --stdio`, with `vscode` replaced by
 * a recording fake (test/fake-vscode.ts): the tests assert what the user would see — messages,
 * the restore confirmation, the output channel — and what the workspace then holds.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node.js';
import { registerCommands } from '../../clients/vscode/src/commands.js';
import { fake } from '../fake-vscode.js';
import { cleanup, DWS, dwsOk, plotsPageData, tempDir, TEST_ENV } from '../helpers.js';
import { DOUBLE, stepSource, stepWorkspace } from '../runner-fixture.js';

vi.mock('vscode', async () => (await import('../fake-vscode.js')).fake.module());

/** Reads intermediate-data/doubled/out.txt, logs a line and writes intermediate-data/report/answer.txt. In code/more/: the pipeline is found at any depth. */
const REPORT = stepSource({
  name: 'report',
  inputs: { doubled: 'intermediate-data:/doubled' },
  outputs: { report: 'intermediate-data:/report' },
  body: `    const n = readFileSync(join(inputs.doubled, 'out.txt'), 'utf8').trim();
    log('the answer is ' + n);
    mkdirSync(outputs.report, { recursive: true });
    writeFileSync(join(outputs.report, 'answer.txt'), n);`,
}).replace('async run({ inputs, outputs, workspaceDir, signal })', 'async run({ inputs, outputs, log })');

const BROKEN = stepSource({ name: 'broken', inputs: { raw: 'source-data:/in.txt' }, outputs: { out: 'intermediate-data:/broken' }, body: "    throw new Error('no luck today');" });

let ws: string;
let child: ChildProcessWithoutNullStreams;
let connection: MessageConnection;
let stderr = '';
const subscriptions: Array<{ dispose(): unknown }> = [];
const run = (command: string, ...args: unknown[]) => (fake.module().commands as { executeCommand(c: string, ...a: unknown[]): Promise<unknown> }).executeCommand(command, ...args);
/** What the user saw since the last call. */
function seen(): typeof fake.shown {
  return fake.shown.splice(0);
}
const steps = () => fake.channels.get('Data Workspaces: Steps')!;

beforeAll(async () => {
  ws = await stepWorkspace({ 'double.step.ts': DOUBLE });
  mkdirSync(join(ws, 'code', 'more'));
  writeFileSync(join(ws, 'code', 'more', 'report.step.ts'), REPORT);
  fake.folder = ws;
  child = spawn(process.execPath, [DWS, 'server', '--stdio'], { cwd: ws, env: TEST_ENV });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  connection.onRequest(() => null); // window/workDoneProgress/create and the like
  connection.listen();
  // What vscode-languageclient does before the extension's first request.
  await connection.sendRequest('initialize', { processId: process.pid, rootUri: `file://${ws}`, capabilities: {} });
  await connection.sendNotification('initialized', {});
  registerCommands({ subscriptions }, connection);
});

afterAll(async () => {
  subscriptions.forEach((s) => s.dispose());
  connection?.dispose();
  child?.kill();
  cleanup();
});

describe('VS Code extension commands on a real dws server', () => {
  it('registers every command of its package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../clients/vscode/package.json', import.meta.url), 'utf8')) as { contributes: { commands: Array<{ command: string }> } };
    expect([...fake.commandHandlers.keys()].sort()).toEqual(pkg.contributes.commands.map((c) => c.command).sort());
  });

  it("Run Steps with no step file open runs the workspace's pipeline, step logs in the output channel", async () => {
    fake.activeFile = undefined;
    await run('dataworkspaces.run');
    const [message, ...rest] = seen();
    expect(rest, stderr).toEqual([]);
    expect(message).toMatchObject({ kind: 'info' });
    expect(message!.text).toMatch(/^Ran the workspace's pipeline: 2 succeeded; snapshot [0-9a-f]{8}$/);
    expect(readFileSync(join(ws, 'intermediate-data', 'report', 'answer.txt'), 'utf8')).toBe('42');
    expect(steps().shown).toBe(true);
    expect(steps().text).toMatch(/^Running the workspace's pipeline\n/);
    expect(steps().text).toContain('[report] the answer is 42\n');
    expect(steps().text).toMatch(/\[double\] done in .*\n[^]*\[report\] done in /);
    expect(steps().text).toMatch(/Run succeeded \(2 succeeded\) in .*; snapshot [0-9a-f]{8}\n$/);
  });

  it('Run Steps on an open step file runs that file, and a failed run is reported as failed', async () => {
    const file = join(ws, 'code', 'broken.step.ts');
    writeFileSync(file, BROKEN);
    fake.activeFile = file;
    await run('dataworkspaces.run');
    const shown = seen();
    expect(shown).toEqual([{ kind: 'error', text: 'Run of code/broken.step.ts failed (1 failed). broken: no luck today', items: ['Show Output'] }]);
    expect(steps().text).toContain('Running code/broken.step.ts\n[broken] running\n[broken] FAILED: no luck today\n');
    expect(steps().text).toMatch(/Run failed \(1 failed\)\n$/);

    // The open step file is run even when it is not the pipeline's; the same file now succeeds.
    writeFileSync(file, DOUBLE.replace("name: \"double\"", 'name: "again"').replace('intermediate-data:/doubled', 'intermediate-data:/again'));
    await run('dataworkspaces.run');
    expect(seen()).toMatchObject([{ kind: 'info', text: expect.stringMatching(/^Ran code\/broken\.step\.ts: 1 succeeded; snapshot [0-9a-f]{8}$/) }]);
  });

  it("a server error is shown as an error (a broken step file in the pipeline)", async () => {
    writeFileSync(join(ws, 'code', 'broken.step.ts'), 'export default {');
    fake.activeFile = join(ws, 'source-data', 'in.txt'); // not a step file: the pipeline runs
    await run('dataworkspaces.run');
    const [m, ...rest] = seen();
    expect(rest).toEqual([]);
    expect(m).toMatchObject({ kind: 'error' });
    expect(m!.text).toMatch(/^dws: Cannot load step file code\/broken\.step\.ts:/);
  });

  it('Restore asks first, naming the snapshot; cancelling changes nothing, confirming restores', async () => {
    fake.activeFile = undefined;
    fake.answer('v1', 'the first');
    await run('dataworkspaces.snapshot');
    expect(seen()).toMatchObject([{ kind: 'input' }, { kind: 'input' }, { kind: 'info', text: expect.stringMatching(/^Snapshot [0-9a-f]{8} \(v1\) taken$/) }]);
    writeFileSync(join(ws, 'source-data', 'in.txt'), '5');
    fake.answer('v2', '');
    await run('dataworkspaces.snapshot');
    seen();

    const pickV1 = (items: Array<{ label: string }>) => items.find((i) => i.label === 'v1');
    fake.answer(pickV1, undefined); // pick v1, then dismiss the confirmation
    await run('dataworkspaces.restore');
    const [pick, confirm, ...rest] = seen();
    expect(pick).toMatchObject({ kind: 'quickPick', text: 'Snapshot to restore' });
    expect(pick!.items!.slice(0, 2)).toEqual(['v2', 'v1']);
    expect(confirm).toMatchObject({ kind: 'warning', modal: true, items: ['Restore'], text: expect.stringMatching(/^Restore snapshot v1 \([0-9a-f]{8}\)\?$/) });
    expect(confirm!.detail).toContain('("the first")');
    expect(rest).toEqual([]);
    expect(readFileSync(join(ws, 'source-data', 'in.txt'), 'utf8')).toBe('5');

    fake.answer(pickV1, 'Restore');
    await run('dataworkspaces.restore');
    const after = seen();
    expect(after.at(-1)).toMatchObject({ kind: 'info', text: expect.stringMatching(/^Restored snapshot v1 \([0-9a-f]{8}\): .*source-data/) });
    expect(readFileSync(join(ws, 'source-data', 'in.txt'), 'utf8')).toBe('21');
  });

  it('Show Metrics Plots opens the page of dws report plots in a webview, fed by the server, redrawn after a snapshot', async () => {
    writeFileSync(join(ws, 'results', 'results.json'), JSON.stringify({ metrics: { answer: 42, verdict: 'right' } }));
    fake.answer('plotted', '');
    await run('dataworkspaces.snapshot');
    seen();
    await run('dataworkspaces.plots');
    expect(seen()).toEqual([{ kind: 'webview', text: 'Metrics across snapshots' }]);
    const panel = fake.webviews.at(-1)!;
    expect(panel).toMatchObject({ id: 'dataworkspaces.plots', options: { enableScripts: true } });
    const data = plotsPageData(panel.webview.html) as { snapshots: Array<{ label: string }>; charts: Array<{ metric: string; values: unknown[] }>; notPlotted: Array<{ metric: string }> };
    expect(data.snapshots.at(-1)!.label).toBe('plotted');
    expect(data.charts).toEqual([{ metric: 'answer', values: [...data.snapshots.slice(1).map(() => null), 42] }]);
    expect(data.notPlotted).toEqual([{ metric: 'verdict', values: [...data.snapshots.slice(1).map(() => null), 'right'] }]);
    // The very page the CLI writes: one renderer for every front end.
    const file = join(tempDir(), 'plots.html');
    await dwsOk(ws, ['report', 'plots', '--output', file]);
    expect(panel.webview.html).toBe(readFileSync(file, 'utf8'));

    // A snapshot taken from the extension redraws the open view; showing it again reuses it.
    writeFileSync(join(ws, 'results', 'results.json'), JSON.stringify({ metrics: { answer: 43 } }));
    fake.answer('later', '');
    await run('dataworkspaces.snapshot');
    seen();
    expect((plotsPageData(panel.webview.html) as typeof data).charts[0]!.values.slice(-2)).toEqual([42, 43]);
    await run('dataworkspaces.plots');
    expect(seen()).toEqual([]);
    expect(fake.webviews.at(-1)).toBe(panel);
    expect(panel.revealed).toBe(1);
    // Once the user closes it, the command opens a new one.
    panel.dispose();
    await run('dataworkspaces.plots');
    expect(seen()).toEqual([{ kind: 'webview', text: 'Metrics across snapshots' }]);
    expect(fake.webviews.at(-1)).not.toBe(panel);
  });
});
