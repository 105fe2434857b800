/** The integration API (index.ts), in-process: the TypeScript counterpart of dws 1.6's api.py tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findWorkspace, getApiVersion, getLocalPathForResource, getResourceInfo, getSnapshotHistory, getVersion, takeSnapshot } from '../../index.js';
import { DwsError } from '../../protocol/index.js';
import { cleanup, newWorkspace, tempDir } from '../helpers.js';

afterAll(cleanup);

describe('integration API', () => {
  it('lists resources, takes snapshots and reads the history', async () => {
    const ws = await newWorkspace(['--create-resources=source-data,code,results']);
    const workspaceDir = join(ws, 'code'); // any directory inside the workspace will do
    expect(findWorkspace(workspaceDir)).toBe(ws);
    expect(getVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(getApiVersion()).toBe('0.2');

    const info = await getResourceInfo({ workspaceDir });
    expect(info.map((r) => [r.name, r.role, r.resourceType, r.localPath])).toEqual([
      ['source-data', 'source-data', 'git-subdirectory', join(ws, 'source-data')],
      ['code', 'code', 'git-subdirectory', join(ws, 'code')],
      ['results', 'results', 'git-subdirectory', join(ws, 'results')],
    ]);
    expect(await getLocalPathForResource('code', { workspaceDir })).toBe(join(ws, 'code'));
    await expect(getLocalPathForResource('nope', { workspaceDir })).rejects.toThrow("A resource by the name 'nope' does not exist in this workspace");

    writeFileSync(join(ws, 'results', 'results.json'), '{"metrics": {"accuracy": 4.0}}');
    const h1 = await takeSnapshot({ workspaceDir, tag: 'V1', message: 'first' });
    writeFileSync(join(ws, 'code', 'x.py'), 'x\n');
    const h2 = await takeSnapshot({ workspaceDir, message: 'second' });
    expect(h1).toMatch(/^[0-9a-f]{40}$/);
    expect(h2).not.toBe(h1);

    const history = await getSnapshotHistory({ workspaceDir });
    expect(history.map((s) => [s.snapshotNumber, s.hash, s.tags, s.message])).toEqual([
      [1, h1, ['V1'], 'first'],
      [2, h2, [], 'second'],
    ]);
    // Python's 4.0 arrives as a plain number.
    expect(history[0]!.metrics).toEqual({ accuracy: 4 });
    const newest = await getSnapshotHistory({ workspaceDir, reverse: true, maxCount: 1 });
    expect(newest.map((s) => [s.snapshotNumber, s.hash])).toEqual([[2, h2]]);
  });

  it('raises the same errors as the CLI, as DwsError with a code', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    const err = await getResourceInfo({ workspaceDir: join(dir, 'sub') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DwsError);
    expect((err as DwsError).code).toBe('NotFound');
    expect((err as DwsError).message).toContain('Did not find a data workspace enclosing the directory');
  });
});
