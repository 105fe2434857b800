/** `dws server --stdio` as a real process, driven by clients/node (the same handlers as the CLI). */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node.js';
import { afterAll, describe, expect, it } from 'vitest';
import { DwsError } from '../../protocol/index.js';
import { cleanup, dws, dwsOk, git, newWorkspace, stdioServer, tempDir, TEST_ENV } from '../helpers.js';
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

  it("resolves a request's relative paths against its workspaceDir, not the server's working directory", async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'x.csv'), '1\n');
    const elsewhere = join(ws, '..', 'elsewhere');
    mkdirSync(elsewhere);
    const c = await client(elsewhere); // a server shared by editors runs wherever it was started
    // `data` used to be looked for in the server's cwd: "Directory 'data' does not exist".
    const added = await c.request('dws/add/local-files', { workspaceDir: ws, path: 'data', role: 'source-data' });
    expect(added.localPath).toBe(join(ws, 'data'));
    // A relative workspaceDir resolves against the server's directory, and the paths in the request against the workspace.
    await c.request('dws/snapshot', { workspaceDir: '../ws', tag: 'v1' });
    const plots = await c.request('dws/report/plots', { workspaceDir: '../ws', output: 'plots.html' });
    expect(plots.file).toBe(join(ws, 'plots.html'));
    expect(existsSync(join(ws, 'plots.html'))).toBe(true);
    expect(existsSync(join(elsewhere, 'plots.html'))).toBe(false);
  });

  it('refuses unknown resource names in only, leave and skip the same way in every method, naming them and the known ones', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    const origin = join(ws, '..', 'origin.git');
    git(join(ws, '..'), ['init', '--quiet', '--bare', origin]);
    const c = await client(ws);
    const refused = async (method: string, params: Record<string, unknown>, param: string) => {
      const e = await c.request(method as 'dws/push', params).catch((x: unknown) => x);
      const unknown = (params[param] as string[]).filter((n) => n !== 'code').sort();
      expect(e, method).toBeInstanceOf(DwsError);
      expect((e as DwsError).rpcCode, method).toBe(1001);
      // restore keeps 1.6's restore sentence, push and pull 1.6's sync sentence (cli.md).
      const [first, ...more] = unknown;
      const sentence =
        method === 'dws/restore'
          ? `A resource by the name '${first}' does not exist in this workspace (given in ${param}${more.length > 0 ? `; also unknown: ${more.join(', ')}` : ''})`
          : `Invalid resource names were included with ${param}: ${unknown.join(', ')}`;
      expect((e as DwsError).message, method).toBe(`${sentence}. Resources are: code, results`);
      expect((e as DwsError).data, method).toEqual({ param, unknown, known: ['code', 'results'] });
    };
    await refused('dws/publish', { remoteUrl: origin, skip: ['nope'] }, 'skip');
    expect(git(ws, ['remote'])).toBe('');
    await dwsOk(ws, ['--batch', 'publish', origin]);
    const before = git(ws, ['log', '--oneline', '--all']);
    const calls: Array<[string, Record<string, unknown>, string]> = [
      ['dws/push', { only: ['code', 'nope', 'zzz'] }, 'only'],
      ['dws/push', { skip: ['nope'] }, 'skip'],
      ['dws/pull', { only: ['nope'] }, 'only'],
      ['dws/pull', { skip: ['zzz', 'nope'] }, 'skip'],
      ['dws/restore', { tagOrHash: 'v1', only: ['nope', 'zzz'] }, 'only'],
      ['dws/restore', { tagOrHash: 'v1', leave: ['nope', 'code'] }, 'leave'],
    ];
    for (const [method, params, param] of calls) await refused(method, params, param);
    // A client's name is shown escaped, as in every other refusal (data keeps it as given).
    const control = await c.request('dws/push', { only: ['a\nb'] }).catch((x: unknown) => x);
    expect((control as DwsError).message).toBe('Invalid resource names were included with only: a\\x0ab. Resources are: code, results');
    expect(git(ws, ['log', '--oneline', '--all'])).toBe(before);
    expect(git(ws, ['status', '--porcelain'])).toBe('');
  });

  it('refuses requests after shutdown with InvalidRequest (-32600), changing nothing', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    const c = await client(ws);
    expect(await c.connection.sendRequest('shutdown')).toBeNull();
    // A snapshot used to be taken after shutdown, while the client believed the server done.
    const after = await c.connection.sendRequest('dws/snapshot', { tag: 'after' }).catch((e: ResponseError<unknown>) => e);
    expect(after).toMatchObject({ code: -32600, message: 'dws/snapshot refused: the server was asked to shut down and serves no more requests' });
    const command = await c.connection.sendRequest('workspace/executeCommand', { command: 'dws.snapshot', arguments: [{ tag: 'after' }] }).catch((e: ResponseError<unknown>) => e);
    expect(command).toMatchObject({ code: -32600 });
    expect(git(ws, ['tag'])).toBe('');
    expect(git(ws, ['status', '--porcelain'])).toBe('?? code/a.py\n');
  });

  it('refuses every request after shutdown with -32600, an unknown method and LSP features too, naming the method', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    const c = await client(ws);
    const doc = { textDocument: { uri: pathToFileURL(join(ws, 'code', 'a.py')).href }, position: { line: 0, character: 0 } };
    // Before shutdown an unknown method is -32601; after it, like every other request, -32600.
    expect(await c.connection.sendRequest('dws/no-such-method', {}).catch((e: ResponseError<unknown>) => e)).toMatchObject({ code: -32601 });
    expect(await c.connection.sendRequest('shutdown')).toBeNull();
    const refused = (method: string) => `${method} refused: the server was asked to shut down and serves no more requests`;
    for (const [method, params] of [
      ['dws/no-such-method', {}],
      ['textDocument/hover', doc],
      ['textDocument/completion', doc],
      ['textDocument/codeLens', { textDocument: doc.textDocument }],
      ['workspace/executeCommand', { command: 'dws.status', arguments: [] }],
      ['dws/version', {}],
      ['shutdown', undefined],
    ] as const) {
      const e = await c.connection.sendRequest(method, params).catch((x: ResponseError<unknown>) => x);
      expect(e, method).toMatchObject({ code: -32600, message: refused(method) });
    }
  });

  it('refuses a workDoneToken that is not a string or an integer, naming it', async () => {
    const ws = await newWorkspace();
    const c = await client(ws);
    for (const workDoneToken of [{ a: 1 }, null, 1.5, [1]]) {
      const e = await c.request('dws/status', { workDoneToken } as never).catch((x: unknown) => x);
      expect(e, JSON.stringify(workDoneToken)).toBeInstanceOf(DwsError);
      expect((e as DwsError).rpcCode).toBe(-32602);
      expect((e as DwsError).message).toBe('Invalid params for dws/status: workDoneToken must be a string or an integer');
      expect((e as DwsError).data).toEqual({ param: 'workDoneToken' });
    }
    expect((await c.request('dws/status', { workDoneToken: 7 } as never)).workspaceDir).toBe(ws);
  });

  it('refuses executeCommand arguments that are not an object, and a uri that is not a file: URI, before changing anything', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    writeFileSync(join(ws, 'code', 'a.py'), 'b\n');
    const c = await client(ws);
    const refused = (args: unknown[]) => c.connection.sendRequest('workspace/executeCommand', { command: 'dws.restore', arguments: args }).catch((e: ResponseError<unknown>) => e);
    expect(await refused(['v1'])).toMatchObject({ code: -32602, message: 'dws.restore: arguments[0] must be an object (the params of dws/restore and uri), not string' });
    // A uri that names no workspace used to fall back to the default one: this restore ran there.
    for (const uri of [5, 'untitled:Untitled-1', 'file://otherhost/x']) {
      expect(await refused([{ uri, tagOrHash: 'v1' }]), String(uri)).toMatchObject({ code: -32602, message: 'dws.restore: uri must be a file: URI of a document or folder in a workspace' });
    }
    const outside = join(ws, '..', 'notes.txt');
    expect(await refused([{ uri: pathToFileURL(outside).href, tagOrHash: 'v1' }])).toMatchObject({ code: -32602, message: `dws.restore: ${outside} is in no workspace` });
    // The workspace's own folder picks it, as a document in it does.
    expect(await c.connection.sendRequest('workspace/executeCommand', { command: 'dws.snapshot', arguments: [{ uri: pathToFileURL(ws).href, tag: 'v2' }] })).toMatchObject({ tag: 'v2' });
    expect(readFileSync(join(ws, 'code', 'a.py'), 'utf8')).toBe('b\n');
  });

  it('refuses a tag too long for the results directory name as InvalidParams, like other bad tags, before changing anything', async () => {
    const ws = await newWorkspace(['--create-resources=code,intermediate-data,results']);
    writeFileSync(join(ws, 'results', 'r.txt'), 'r');
    const before = git(ws, ['status', '--porcelain']);
    const c = await client(ws);
    // 251 bytes: with the default template the results directory is `test-<tag>`, at most 255 bytes.
    const tag = Array.from({ length: 251 }, (_, i) => (i % 50 === 25 ? '.' : 'x')).join('');
    const message = `Tag '${tag.slice(0, 80)}...' is 251 bytes long; the limit here is 250 bytes: the tag goes into the results directory name 'test-{TAG}' (results.dir_template 'snapshots/{HOSTNAME}-{TAG}'), and a file name may have at most 255 bytes`;
    // dws/snapshot used to answer ConfigurationError (1000): "Snapshot failed ... ENAMETOOLONG", after hashing.
    const calls: Array<[string, Record<string, unknown>]> = [
      ['dws/snapshot', { tag }],
      ['dws/run', { command: { name: 'mark', outputs: ['intermediate-data:/out.txt'], argv: ['sh', '-c', 'echo x > intermediate-data/out.txt'] }, tag }],
    ];
    for (const [method, params] of calls) {
      const e = await c.request(method as 'dws/snapshot', params as never).catch((x: unknown) => x);
      expect(e, method).toBeInstanceOf(DwsError);
      expect((e as DwsError).rpcCode, method).toBe(-32602);
      expect((e as DwsError).code, method).toBe('InvalidParams');
      expect((e as DwsError).message, method).toBe(message);
      expect((e as DwsError).data, method).toEqual({ tag, bytes: 251, limit: 250 });
    }
    expect(existsSync(join(ws, 'intermediate-data', 'out.txt'))).toBe(false);
    expect(existsSync(join(ws, 'results', 'snapshots'))).toBe(false);
    expect(git(ws, ['status', '--porcelain'])).toBe(before);
  });

  it('refuses a hostname over 64 characters (dws/config) and a snapshot its results directory name has no room for, as ConfigurationError (1000), before changing anything', async () => {
    const ws = await newWorkspace(['--create-resources=code,results']);
    writeFileSync(join(ws, 'results', 'r.txt'), 'r');
    const c = await client(ws);
    const long = Array.from({ length: 5 }, () => 'h'.repeat(63)).join('.');
    const e1 = (await c.request('dws/config', { name: 'hostname', value: long }).catch((x: unknown) => x)) as DwsError;
    expect(e1).toBeInstanceOf(DwsError);
    expect(e1.rpcCode).toBe(1000);
    expect(e1.message).toBe(
      "Error in validation of configuration parameter 'hostname': it is 319 characters long; the limit is 64, so that the results directory names it goes into (results.dir_template) leave room for a tag",
    );
    // Edited by hand: the snapshot is refused before it hashes or moves anything.
    writeFileSync(join(ws, '.dataworkspace', 'local_params.json'), JSON.stringify({ hostname: long }));
    const before = git(ws, ['status', '--porcelain']);
    const e2 = (await c.request('dws/snapshot', {}).catch((x: unknown) => x)) as DwsError;
    expect(e2).toBeInstanceOf(DwsError);
    expect(e2.rpcCode).toBe(1000);
    expect(e2.message).toBe(
      `Results directory name '${`${long}-{TAG}`.slice(0, 80)}...' (results.dir_template 'snapshots/{HOSTNAME}-{TAG}' with hostname '${long.slice(0, 80)}...') has 320 bytes without {TAG}, which leaves no room for the snapshot number that stands for the tag of an untagged snapshot: a file name may have at most 255 bytes. No snapshot was taken. Choose a shorter hostname ('dws/config with {"name": "hostname", "value": "NAME"}') or fix results.dir_template ('dws/config with {"name": "results.dir_template", "value": "TEMPLATE"}').`,
    );
    expect(e2.data).toEqual({ hostname: `${long.slice(0, 80)}...`, template: 'snapshots/{HOSTNAME}-{TAG}', name: `${`${long}-{TAG}`.slice(0, 80)}...`, bytes: 320 });
    expect(existsSync(join(ws, 'results', 'snapshots'))).toBe(false);
    expect(git(ws, ['status', '--porcelain'])).toBe(before);
  });

  it('moves a used tag only from the snapshots named in moveTagFrom (no one to ask), else refuses it as a Conflict', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    const used = /hash is ([0-9a-f]{40})/.exec(await dwsOk(ws, ['--batch', 'snapshot', 'used']))![1]!;
    writeFileSync(join(ws, 'code', 'a.py'), 'b\n');
    const c = await client(ws);
    for (const moveTagFrom of [[], ['0'.repeat(40)]]) {
      const e = await c.request('dws/snapshot', { tag: 'used', moveTagFrom }).catch((x: unknown) => x);
      expect((e as DwsError).rpcCode, JSON.stringify(moveTagFrom)).toBe(1002);
      expect((e as DwsError).data).toMatchObject({ tag: 'used', snapshots: [used] });
    }
    const r = await c.request('dws/snapshot', { tag: 'used', moveTagFrom: [used] });
    const md = (h: string) => JSON.parse(readFileSync(join(ws, '.dataworkspace', 'snapshot_metadata', `${h}_md.json`), 'utf8')) as { tags: string[] };
    expect(md(r.hash).tags).toEqual(['used']);
    expect(md(used).tags).toEqual([]);
  });

  it('refuses a NUL character in any string param as InvalidParams naming the param, not an internal error', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    const before = git(ws, ['log', '--oneline', '--all']);
    const c = await client(ws);
    // clone, publish, add rclone and lineage export answered these with InternalError (1099).
    const calls: Array<[string, Record<string, unknown>, string]> = [
      ['dws/clone', { repository: 'a\0b' }, 'repository'],
      ['dws/publish', { remoteUrl: 'a\0b' }, 'remoteUrl'],
      ['dws/add/rclone', { remote: 'x:y', localPath: 'a\0b', role: 'source-data' }, 'localPath'],
      ['dws/lineage/export', { output: 'a\0b' }, 'output'],
      ['dws/restore', { tagOrHash: 'v1', only: ['code', 'a\0b'] }, 'only[1]'],
      ['dws/run', { command: { name: 'x', argv: ['echo', 'a\0b'] }, dryRun: true }, 'command.argv[1]'],
    ];
    for (const [method, params, param] of calls) {
      const e = await c.request(method as 'dws/clone', params as never).catch((x: unknown) => x);
      expect(e, method).toBeInstanceOf(DwsError);
      expect((e as DwsError).rpcCode, method).toBe(-32602);
      expect((e as DwsError).message, method).toBe(`Invalid params for ${method}: ${param} contains a NUL character (\\0), which no path, name or argument may hold`);
      expect((e as DwsError).data, method).toEqual({ param });
    }
    expect(git(ws, ['log', '--oneline', '--all'])).toBe(before);
    expect(git(ws, ['remote'])).toBe('');
  });

  it("names the protocol's params in its messages, not the CLI's options", async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    mkdirSync(join(ws, 'data'));
    const c = await client(join(ws, '..'));
    const message = (p: Promise<unknown>) => p.then(() => 'no error', (e: DwsError) => e.message);
    expect(await message(c.request('dws/status', {}))).toMatch(/Run 'dws\/init' to create one, or pass workspaceDir\.$/);
    expect(await message(c.request('dws/status', { workspaceDir: join(ws, 'data') }))).toMatch(/Run 'dws\/init' there, or pass workspaceDir\.$/);
    expect(await message(c.request('dws/restore', { workspaceDir: ws, tagOrHash: 'v1', only: ['code'], leave: ['code'] }))).toBe('Please specify either only or leave, but not both');
    expect(await message(c.request('dws/push', { workspaceDir: ws, only: ['code'], onlyWorkspace: true }))).toBe('Please specify at most one of only, skip, or onlyWorkspace');
    // Before it fetches: this workspace has no origin, whose error came first.
    expect(await message(c.request('dws/pull', { workspaceDir: ws, only: ['code'], skip: ['code'] }))).toBe('Please specify at most one of only, skip, or onlyWorkspace');
    expect(await message(c.request('dws/add/local-files', { workspaceDir: ws, path: 'data' }))).toBe('Running in batch mode, but user input required for role');
    expect(await message(c.request('dws/add/local-files', { workspaceDir: ws, path: 'data', role: 'results', export: true, imported: true }))).toBe('Cannot specify both export and imported');
    expect(await message(c.request('dws/run', { workspaceDir: ws, snapshot: false, tag: 't' }))).toBe('snapshot: false takes no snapshot: drop message/tag');
    expect(await message(c.request('dws/run', { workspaceDir: ws, param: ['x'] }))).toBe("param 'x' is not of the form NAME=VALUE (e.g. param scale=3)");
    expect(await message(c.request('dws/lineage/export', { workspaceDir: ws, url: 'ftp://x.invalid/' }))).toMatch(/^Invalid url 'ftp:/);
    writeFileSync(join(ws, 'code', 'a.py'), 'changed\n');
    expect(await message(c.request('dws/lineage/forget', { workspaceDir: ws, step: 'nope' }))).not.toContain('--');
    expect(git(ws, ['status', '--porcelain'])).toBe(' M code/a.py\n');
  });
});

describe('dws server: messages that say what to run name the method and its params', () => {
  /** A workspace whose local-files resource 'data' changed since snapshot v1. */
  async function changedSinceV1(): Promise<string> {
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'a.csv'), '1\n');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    writeFileSync(join(ws, 'data', 'a.csv'), '2\n');
    return ws;
  }

  it('says dws/config with {...}, dws/snapshot, dws/publish, not CLI command lines, where the CLI says dws config ..., dws snapshot, dws publish', async () => {
    const ws = await changedSinceV1();
    const c = await client(ws);
    const message = (p: Promise<unknown>) => p.then(() => 'no error', (e: DwsError) => e.message);
    const cliError = async (args: string[]) => (await dws(ws, ['--batch', ...args])).stderr;

    const noRemote = "but this workspace has no store remote. Set one with 'dws/config with {\"name\": \"store.remote\", \"value\": \"REMOTE\"}' (an rclone remote such as 's3:bucket/path', or a directory).";
    expect(await message(c.request('dws/fsck', { remote: true }))).toBe(`fsck remote was asked for, ${noRemote}`);
    expect(await cliError(['fsck', '--remote'])).toBe(
      "Configuration error: fsck --remote was asked for, but this workspace has no store remote. Set one with 'dws config store.remote REMOTE' (an rclone remote such as 's3:bucket/path', or a directory).\n",
    );
    expect(await message(c.request('dws/restore', { tagOrHash: 'v1' }))).toContain("Take a snapshot first ('dws/snapshot'), or run again with force, which keeps");
    expect(await cliError(['restore', 'v1'])).toContain("Take a snapshot first ('dws snapshot'), or run again with --force, which keeps");
    expect(await message(c.request('dws/push', {}))).toContain("Check that its origin exists and can be reached (set one with 'dws/publish with {\"remoteUrl\": \"URL\"}').");
    expect(await cliError(['push'])).toContain("Check that its origin exists and can be reached (set one with 'dws publish URL').");
    // A hostname that would move results out of their resource (local_params.json edited by hand).
    writeFileSync(join(ws, '.dataworkspace', 'local_params.json'), JSON.stringify({ hostname: '../../../esc' }));
    expect(await message(c.request('dws/snapshot', {}))).toMatch(
      /Fix results\.dir_template with 'dws\/config', or the hostname in \.dataworkspace\/local_params\.json \('dws\/config with \{"name": "hostname", "value": "NAME"\}'\)\.$/,
    );
    // gc with remote fetches the origin first: this workspace has none.
    await c.request('dws/config', { name: 'store.remote', value: tempDir('dws-remote-') });
    expect(await message(c.request('dws/gc', { remote: true }))).toMatch(/^gc remote must first fetch .* \(set one with 'dws\/publish with \{"remoteUrl": "URL"\}'\)\.$/s);
    expect(await cliError(['gc', '--remote'])).toMatch(/^Configuration error: gc --remote must first fetch .* \(set one with 'dws publish URL'\)\.\n$/s);
    expect(await cliError(['snapshot'])).toMatch(/Fix results\.dir_template with 'dws config', or the hostname in \.dataworkspace\/local_params\.json \('dws config hostname NAME'\)\.\n$/);
  });

  it('says how to get back what restore with force kept as dws/store/checkout with {...}, where the CLI says dws store checkout TREE DIR', async () => {
    const ws = await changedSinceV1();
    const c = await client(ws);
    const keptMessage = new Promise<string>((resolve) =>
      c.connection.onNotification('window/logMessage', (m: { message: string }) => {
        if (m.message.startsWith('Kept the unsnapshotted content')) resolve(m.message);
      }),
    );
    await c.request('dws/restore', { tagOrHash: 'v1', force: true });
    const kept = await keptMessage;
    const tree = /as tree ([0-9a-f]{40})\./.exec(kept ?? '')?.[1];
    expect(kept).toBe(`Kept the unsnapshotted content of 1 file(s) of 'data' in the store, as tree ${tree}. To get it back: dws/store/checkout with {"tree": "${tree}", "directory": "DIR"}`);
    writeFileSync(join(ws, 'data', 'a.csv'), '3\n');
    const cli = await dws(ws, ['--batch', 'restore', '--force', 'v1']);
    expect(cli.stderr).toMatch(/as tree [0-9a-f]{40}\. To get it back: dws store checkout [0-9a-f]{40} DIR\n/);
  });

  it("names a bad store tree id's source for every client (the protocol schema is shared): dws/restore with force, and the CLI's command", async () => {
    const ws = await newWorkspace();
    const c = await client(ws);
    const said = "'nothex' is not a store tree id: give its 40 lowercase hex digits, as dws/restore with force (the CLI's 'dws restore --force') reported them";
    const e = await c.request('dws/store/checkout', { tree: 'nothex', directory: join(ws, 'out') }).catch((x: DwsError) => x);
    expect((e as DwsError).rpcCode).toBe(-32602);
    expect((e as DwsError).message).toContain(said);
    expect((await dws(ws, ['--batch', 'store', 'checkout', 'nothex', join(ws, 'out')])).stderr).toContain(said);
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

  it("names the workspace's root in dws/run/progress for a server started in a subdirectory of it", async () => {
    const ws = await stepWorkspace({ 'double.step.ts': DOUBLE });
    const c = await client(join(ws, 'code'));
    const dirs = new Set<string>();
    c.connection.onNotification('dws/run/progress', (p: { workspaceDir: string }) => dirs.add(p.workspaceDir));
    await c.request('dws/run', { files: ['double.step.ts'], snapshot: false });
    // It used to be the server's directory (ws/code), which no client knows as a workspace.
    expect(dirs).toEqual(new Set([ws]));
  });
});
