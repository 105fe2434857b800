/**
 * `dws server --socket` and `--pipe` as real processes (the token, the socket file's mode), and
 * the server's watcher: a changed file is notified as dws/workspaceChanged and shows in dws/status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node.js';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, type DwsClient } from '../../clients/node/index.js';
import { DwsError, type WorkspaceChangedParams } from '../../protocol/index.js';
import { cleanup, DWS, dwsOk, newWorkspace, tempDir, TEST_ENV } from '../helpers.js';
import { preparedDataWorkspace } from '../runner-fixture.js';

const children: ChildProcess[] = [];
const clients: DwsClient[] = [];
afterAll(() => {
  clients.forEach((c) => c.close());
  children.forEach((c) => c.kill());
  cleanup();
});

/** Start `dws server ...args` and resolve with its first stderr lines once it says it listens. */
function startServer(cwd: string, args: string[]): Promise<string[]> {
  const child = spawn(process.execPath, [DWS, 'server', ...args], { cwd, env: TEST_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/^listening: .*\n/m.test(err)) resolve(err.split('\n'));
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

/** Send raw LSP-framed messages on a fresh connection; resolve with what came back when the server closed it. */
function rawExchange(port: number, messages: object[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    for (const m of messages) {
      const body = JSON.stringify(m);
      s.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    }
  });
}

const body = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { id: unknown; error?: { code: number; message: string } };

describe('dws server --socket', () => {
  it('writes a 0600 token file named on the first stderr line, refuses connections without the token, serves those with it', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    const tokenFile = join(tempDir(), 'token');
    const lines = await startServer(ws, ['--socket', '0', '--token-file', tokenFile]);
    expect(lines[0]).toBe(`token-file: ${tokenFile}`);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const port = Number(/^listening: 127\.0\.0\.1:(\d+)$/.exec(lines[1]!)![1]);

    // Anything but initialize first: an error, then the connection is closed.
    const first = body(await rawExchange(port, [{ jsonrpc: '2.0', id: 1, method: 'dws/version', params: {} }]));
    expect(first).toMatchObject({ id: 1, error: { code: -32002, message: expect.stringContaining("needs a token first: send 'initialize'") } });
    const wrong = body(await rawExchange(port, [{ jsonrpc: '2.0', id: 7, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {}, initializationOptions: { token: 'guess' } } }]));
    expect(wrong).toMatchObject({ id: 7, error: { code: -32600, message: expect.stringContaining("Wrong token in initialize's initializationOptions.token") } });
    const missing = body(await rawExchange(port, [{ jsonrpc: '2.0', id: 8, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } }]));
    expect(missing.error!.message).toContain('Missing token');

    // clients/node reads the token file; requests then work, on two connections at once.
    const [a, b] = await Promise.all([connect({ socket: { port, tokenFile } }), connect({ socket: { port, tokenFile } })]);
    clients.push(a, b);
    expect((await a.request('dws/report/status', {})).resources.map((r) => r.name)).toEqual(['code']);
    expect((await b.request('dws/version', {})).formatVersion).toBe('1.6.0');
    const err = await a.request('dws/report/history', { limit: -1 }).catch((e: unknown) => e);
    expect((err as DwsError).code).toBe('InvalidParams');
  });

  it('refuses --token-file without --socket', async () => {
    const dir = tempDir();
    const r = spawn(process.execPath, [DWS, 'server', '--pipe', join(dir, 's'), '--token-file', join(dir, 't')], { env: TEST_ENV });
    const err = await new Promise<string>((resolve) => {
      let e = '';
      r.stderr.on('data', (d: Buffer) => (e += d.toString()));
      r.on('close', (code) => resolve(`${code} ${e}`));
    });
    expect(err).toMatch(/^2 .*--token-file goes with --socket/s);
  });
});

describe('dws server --pipe', () => {
  it('creates the socket with mode 0600 and serves clients on it', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    const pipe = join(tempDir(), 'dws.sock');
    const lines = await startServer(ws, ['--pipe', pipe]);
    expect(lines[0]).toBe(`listening: ${pipe}`);
    const st = statSync(pipe);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    const c = await connect({ pipe });
    clients.push(c);
    expect((await c.request('dws/resources', {})).map((r) => r.name)).toEqual(['code']);
  });
});

/**
 * A workspace whose 1,500-file resource `data` has snapshots v1 and v2 (every file changed), the
 * files at v2, and a server for it on a pipe: a restore long enough to act on while it runs.
 */
async function servedWorkspace(): Promise<{ ws: string; data: string; pipe: string }> {
  const ws = await newWorkspace();
  const data = join(ws, 'data');
  mkdirSync(data);
  for (let i = 0; i < 1500; i++) writeFileSync(join(data, `f${i}.csv`), `${i}\n`);
  await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
  await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
  for (let i = 0; i < 1500; i++) writeFileSync(join(data, `f${i}.csv`), `changed ${i}\n`);
  await dwsOk(ws, ['--batch', 'snapshot', 'v2']);
  const pipe = join(tempDir(), 'dws.sock');
  await startServer(ws, ['--pipe', pipe]);
  return { ws, data, pipe };
}

describe('changes sent on two connections of one server', () => {
  it('runs a snapshot sent while another connection\'s restore holds the workspace lock after that restore, not beside it', async () => {
    const { ws, pipe } = await servedWorkspace();
    const [a, b] = [await connect({ pipe }), await connect({ pipe })];
    clients.push(a, b);
    const answered: string[] = [];
    const restore = a.request('dws/restore', { tagOrHash: 'v1' }).then((r) => (answered.push('restore'), r));
    const lock = join(ws, '.git', 'dws', 'lock');
    while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 5));
    // The restore's token in the server's own DWS_LOCK_TOKENS let this snapshot in at once: it
    // recorded the files as they were before (or half way through) the restore.
    const snapshot = await b.request('dws/snapshot', { tag: 'after' }).then((r) => (answered.push('snapshot'), r));
    expect(answered).toEqual(['restore', 'snapshot']);
    expect(snapshot.hash).toBe((await restore).hash);
  });
});

describe('cancelling a change that waits for another connection\'s', () => {
  it('answers RequestCancelled and changes nothing when it gets its turn', async () => {
    const { ws, data, pipe } = await servedWorkspace();
    const [a, b] = [await connect({ pipe }), await connect({ pipe })];
    clients.push(a, b);
    const restore = a.request('dws/restore', { tagOrHash: 'v1' });
    const lock = join(ws, '.git', 'dws', 'lock');
    while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 5));
    const cancel = new CancellationTokenSource();
    const second = b.connection.sendRequest('dws/restore', { tagOrHash: 'v2' }, cancel.token).catch((e: { code: number }) => e);
    await new Promise((r) => setTimeout(r, 200));
    cancel.cancel();
    await restore;
    // It waited on the workspace lock (not on its own connection's queue), then ran anyway.
    expect(await second).toMatchObject({ code: -32800 });
    expect(readFileSync(join(data, 'f7.csv'), 'utf8')).toBe('7\n');
  });
});

describe('a client that goes away', () => {
  it('leaves the server serving the others when it closes its connection while its restore runs', async () => {
    const { ws, pipe } = await servedWorkspace();
    const server = children.at(-1)!;
    const exited = new Promise<string>((resolve) => server.on('exit', (code) => resolve(`server exited ${code}`)));
    const [a, b] = [await connect({ pipe }), await connect({ pipe })];
    clients.push(b);
    void a.request('dws/restore', { tagOrHash: 'v1' }).catch(() => undefined);
    const lock = join(ws, '.git', 'dws', 'lock');
    while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 5));
    a.close();
    // The restore's answer had nowhere to go: vscode-jsonrpc logged the failed write through the
    // connection, which threw once disposed, and the process died with every other client's work.
    const after = b.request('dws/snapshot', { tag: 'after' });
    expect(await Promise.race([after.then((r) => r.hash), exited])).toMatch(/^[0-9a-f]{40}$/);
    expect(server.exitCode).toBe(null);
  });

  it('lets a restore whose client went away finish, though its progress has nowhere to go', async () => {
    const { data, pipe } = await servedWorkspace();
    const [a, b] = [await connect({ pipe }), await connect({ pipe })];
    clients.push(b);
    const reported = new Promise<void>((resolve) =>
      a.connection.onNotification('$/progress', (p: { value: { kind: string } }) => p.value.kind === 'report' && resolve()),
    );
    const restore = a.connection.sendRequest('dws/restore', { tagOrHash: 'v1', workDoneToken: 'restore-1' }).catch(() => undefined);
    await reported;
    a.close();
    void restore;
    // Its next progress notification threw 'Connection is disposed' inside the restore, which
    // stopped half way: the snapshot after it recorded v2, or a mix.
    const after = await b.request('dws/snapshot', { tag: 'after' });
    const v1 = (await b.request('dws/report/history', {})).snapshots.find((s) => s.tags.includes('v1'))!;
    expect(after.hash).toBe(v1.hash);
    expect(readFileSync(join(data, 'f7.csv'), 'utf8')).toBe('7\n');
  });
});

describe('watching', () => {
  it('notifies dws/workspaceChanged when a resource file changes, and dws/status shows the step it makes stale', async () => {
    const { ws, data } = await preparedDataWorkspace();

    const c = await connect({ cwd: ws, command: [process.execPath, DWS], env: TEST_ENV });
    clients.push(c);
    expect((await c.request('dws/status', {})).stale.steps).toEqual([]); // and the server now follows the workspace
    const changed = new Promise<WorkspaceChangedParams>((resolve) => c.onWorkspaceChanged(resolve));
    writeFileSync(join(data, 'a.csv'), '3,4\n');
    expect(await changed).toEqual({ workspaceDir: ws, resources: ['data'] });
    const status = await c.request('dws/status', {});
    expect(status.stale.steps.map((s) => [s.step, s.changed.map((x) => x.ref)])).toEqual([['prepare', ['data']]]);
  });

  it('notifies changes of a workspace opened through a symbolic link to it', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    const link = join(tempDir(), 'linked-ws');
    symlinkSync(ws, link);
    const c = await connect({ cwd: tempDir(), command: [process.execPath, DWS], env: TEST_ENV });
    clients.push(c);
    await c.request('dws/status', { workspaceDir: link });
    const changed = new Promise<WorkspaceChangedParams>((resolve) => c.onWorkspaceChanged(resolve));
    // chokidar does not go into a root that is a link: nothing was ever notified.
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    expect(await Promise.race([changed, new Promise((r) => setTimeout(() => r('no notification within 3 s'), 3000))])).toEqual({ workspaceDir: link, resources: ['code'] });
  });
});
