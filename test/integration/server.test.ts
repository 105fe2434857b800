/** `dws server --stdio` as a real process, driven by clients/node (the same handlers as the CLI). */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node.js';
import { afterAll, describe, expect, it } from 'vitest';
import { DwsError } from '../../protocol/index.js';
import { cleanup, dwsOk, git, newWorkspace, stdioServer, TEST_ENV } from '../helpers.js';
import { DOUBLE, stepWorkspace } from '../runner-fixture.js';

afterAll(cleanup);
const client = stdioServer;

describe('dws server --stdio', () => {
  it('serves every protocol method with JSON Schemas, and the workspace methods', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    const c = await client(ws);
    expect((await c.request('dws/version', {})).formatVersion).toBe('1.6.0');
    const methods = await c.request('dws/methods', {});
    const snapshot = methods.find((m) => m.method === 'dws/snapshot')!;
    expect(snapshot.mutates).toBe(true);
    expect(snapshot.params).toMatchObject({ type: 'object', properties: { tag: { type: 'string' }, message: { type: 'string' } } });
    const status = await c.request('dws/report/status', {});
    expect(status.resources.map((r) => r.name)).toEqual(['code', 'results']);
  });

  it('answers bad requests with JSON-RPC errors and keeps serving', async () => {
    const ws = await newWorkspace();
    const c = await client(ws);
    const invalid = await c.request('dws/report/history', { limit: -3 }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(DwsError);
    expect((invalid as DwsError).code).toBe('InvalidParams');
    const raw = await c.connection.sendRequest('dws/no-such-method', {}).catch((e: { code: number }) => e);
    expect((raw as { code: number }).code).toBe(-32601);
    const missing = await c.request('dws/status', { workspaceDir: join(ws, 'nope') }).catch((e: unknown) => e);
    expect((missing as DwsError).code).toBe('NotFound');
    expect((missing as DwsError).rpcCode).toBe(1001);
    expect((await c.request('dws/version', {})).apiVersion).toBe('0.2');
  });

  it('refuses a param it does not know, naming it and the known ones, before changing anything', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    writeFileSync(join(ws, 'code', 'a.py'), 'b\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    const c = await client(ws);
    // A typo of `only` used to be dropped: the restore then brought back every resource.
    const typo = await c.request('dws/restore', { tagOrHash: 'v1', onyl: ['code'] } as never).catch((e: unknown) => e);
    expect(typo).toBeInstanceOf(DwsError);
    expect((typo as DwsError).rpcCode).toBe(-32602);
    expect((typo as DwsError).message).toBe("Invalid params for dws/restore: unknown param 'onyl'; its params are workspaceDir, tagOrHash, only, leave, strict, force");
    expect(readFileSync(join(ws, 'code', 'a.py'), 'utf8')).toBe('b\n');
    // LSP's own fields are not the method's params, and stay allowed.
    expect((await c.request('dws/version', { workDoneToken: 'w1' } as never)).apiVersion).toBe('0.2');
  });

  it("sends a method's warnings to the client that asked, as window/logMessage (not only to the server's stderr)", async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'x.csv'), '1\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    const c = await client(ws);
    const messages: Array<{ type: number; message: string }> = [];
    c.connection.onNotification('window/logMessage', (m: { type: number; message: string }) => messages.push(m));
    const r = await c.request('dws/restore', { tagOrHash: 'v1' });
    expect(r.notInSnapshot).toEqual(['data']);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the notification is sent before the answer, but read on its own turn
    expect(messages).toContainEqual({ type: 2, message: 'Resources have been added to workspace since restore, will leave them as-is: data' });
  });

  it('cancels a request through the token given to request(), rejecting with RequestCancelled (-32800), not an internal error', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    mkdirSync(join(ws, 'data'));
    for (let i = 0; i < 1500; i++) writeFileSync(join(ws, 'data', `f${i}.csv`), `${i}\n`);
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    const c = await client(ws);
    const snapshot = c.request('dws/snapshot', { tag: 'v2' });
    const cancel = new CancellationTokenSource();
    const restore = c.request('dws/restore', { tagOrHash: 'v1' }, cancel.token).catch((e: unknown) => e);
    cancel.cancel(); // while it waits for the snapshot
    const e = await restore;
    expect(e).toBeInstanceOf(ResponseError);
    expect(e).toMatchObject({ code: -32800, message: 'dws/restore was cancelled before it changed anything' });
    await snapshot;
  });

  it('a restore that fails after writing files says so and records it, even when it was cancelled meanwhile', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    mkdirSync(join(ws, 'data'));
    for (let i = 0; i < 300; i++) writeFileSync(join(ws, 'data', `f${i}.csv`), `${i}\n`);
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    for (let i = 0; i < 300; i++) writeFileSync(join(ws, 'data', `f${i}.csv`), `changed ${i}\n`);
    writeFileSync(join(ws, 'code', 'a.py'), 'b\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
    // A git that works in the repository holds its index lock: the restore of code fails, after data's files were written.
    const holder = spawn('git', ['cat-file', '--batch'], { cwd: ws, env: TEST_ENV, stdio: ['pipe', 'ignore', 'ignore'] });
    writeFileSync(join(ws, '.git', 'index.lock'), '');
    try {
      const c = await client(ws);
      const cancel = new CancellationTokenSource();
      const restore = c.request('dws/restore', { tagOrHash: 'v1' }, cancel.token).catch((e: unknown) => e);
      // Cancelled once data's files are written (cancelled before, it stops with nothing changed).
      while (readFileSync(join(ws, 'data', 'f7.csv'), 'utf8') !== '7\n') await new Promise((r) => setTimeout(r, 5));
      cancel.cancel(); // too late: a restore that has begun to change files is not stopped
      const e = (await restore) as DwsError;
      // It was answered 'dws/restore was cancelled before it changed anything' (-32800), and status called data's restored files changes.
      expect(e).toBeInstanceOf(DwsError);
      expect(e.code).toBe('SubprocessFailed');
      expect(e.message).toContain('index.lock');
      expect(e.message).toMatch(/The files of data were restored to [0-9a-f]{40} already: run the same restore again to finish it\.$/);
      expect(readFileSync(join(ws, 'data', 'f7.csv'), 'utf8')).toBe('7\n');
      const status = await c.request('dws/status', {});
      expect(status.changes).toEqual([expect.objectContaining({ resource: 'data', added: [], modified: [], deleted: [] })]);
    } finally {
      holder.kill();
      rmSync(join(ws, '.git', 'index.lock'), { force: true });
    }
    await dwsOk(ws, ['--batch', 'restore', 'v1']);
    expect(readFileSync(join(ws, 'code', 'a.py'), 'utf8')).toBe('a\n');
  });

  it('runs two snapshots sent at once one after the other', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    const c = await client(ws);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    const [a, b] = await Promise.all([c.request('dws/snapshot', { tag: 'A' }), c.request('dws/snapshot', { tag: 'B' })]);
    expect(a.hash).toBe(b.hash); // same state: the second re-tags the first
    expect(b.updatedExisting).toBe(true);
    const history = await c.request('dws/report/history', {});
    expect(history.snapshots).toHaveLength(1);
    expect(history.snapshots[0]!.tags).toEqual(['A', 'B']);
    expect(git(ws, ['status', '--porcelain'])).toBe('');
  });
});

describe('dws/run over the server', () => {
  it('sends each step event as a dws/run/progress notification', async () => {
    const ws = await stepWorkspace({ 'double.step.ts': DOUBLE });
    const c = await client(ws);
    const events: Array<{ workspaceDir: string; event: { type: string; step?: string } }> = [];
    c.connection.onNotification('dws/run/progress', (p: (typeof events)[number]) => events.push(p));
    const r = await c.request('dws/run', { files: ['code/double.step.ts'], snapshot: false });
    expect(r).toBeTruthy();
    expect(readFileSync(join(ws, 'intermediate-data', 'doubled', 'out.txt'), 'utf8')).toBe('42\n');
    expect(events.map((e) => `${e.event.type}:${e.event.step ?? ''}`)).toEqual(expect.arrayContaining(['queued:double', 'started:double', 'succeeded:double']));
    expect(new Set(events.map((e) => e.workspaceDir))).toEqual(new Set([ws]));
  });
});
