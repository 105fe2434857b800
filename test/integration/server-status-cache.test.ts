/**
 * The server keeps `dws/status` answers (server/rpc/watch.ts): a kept answer must never outlive
 * what it was computed from — a resource file changed outside the server (watcher event), a
 * command run through the server, or a file the watcher does not follow (a stat check).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { WorkspaceChangedParams } from '../../protocol/index.js';
import { cleanup, newWorkspace, stdioServer } from '../helpers.js';
import { preparedDataWorkspace } from '../runner-fixture.js';

afterAll(cleanup);
const client = stdioServer;

/**
 * Answers computed within 50 ms of a file's mtime are not kept (the racy-mtime guard): wait
 * that out, so that the first answer of each test is really kept and the next one is a reuse.
 */
const pastRacyWindow = () => sleep(100);

// `changes: false`: answers listing content-store changes are never kept.
describe('dws/status answers kept by the server', () => {
  it('change when a resource file changes outside the server (a watcher event)', async () => {
    const { ws, data } = await preparedDataWorkspace();
    await pastRacyWindow();
    const c = await client(ws);
    expect((await c.request('dws/status', { changes: false })).stale.steps).toEqual([]);
    expect((await c.request('dws/status', { changes: false })).stale.steps).toEqual([]);

    const changed = new Promise<WorkspaceChangedParams>((resolve) => c.onWorkspaceChanged(resolve));
    writeFileSync(join(data, 'a.csv'), '3,4\n'); // same size, same directory entries: only the watcher sees it
    await changed;
    const status = await c.request('dws/status', { changes: false });
    expect(status.stale.steps.map((s) => [s.step, s.changed.map((x) => x.ref)])).toEqual([['prepare', ['data']]]);
  });

  it('change after a command run through the server (a snapshot)', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    await pastRacyWindow();
    const c = await client(ws);
    const tags = async () => (await c.request('dws/status', { changes: false, history: true })).history!.snapshots.map((h) => h.tags);
    expect(await tags()).toEqual([]);
    expect(await tags()).toEqual([]);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    await c.request('dws/snapshot', { tag: 'S1' });
    expect(await tags()).toEqual([['S1']]);
  });

  it('change when a file the watcher does not follow changes (workspace metadata, by hand)', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    await pastRacyWindow();
    const c = await client(ws);
    const name = async () => (await c.request('dws/status', { changes: false })).workspaceName;
    const before = await name();
    expect(await name()).toBe(before);
    const configFile = join(ws, '.dataworkspace', 'config.json');
    writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), name: 'renamed-by-hand' }, null, 2));
    expect(await name()).toBe('renamed-by-hand');
  });
});
