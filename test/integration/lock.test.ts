/** The workspace lock: changes from separate dws processes run one at a time; a live holder makes the CLI wait, then refuse; a dead one's lock is taken over. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, DWS, fingerprint, git, newWorkspace, TEST_ENV } from '../helpers.js';

afterAll(cleanup);

function writeLock(ws: string, pid: number): string {
  const file = join(ws, '.git', 'dws', 'lock');
  mkdirSync(join(ws, '.git', 'dws'), { recursive: true });
  writeFileSync(file, JSON.stringify({ pid, hostname: hostname(), command: 'dws snapshot', started: '2024-01-02T03:04:05.000Z', token: 'x' }));
  return file;
}

describe('workspace lock', () => {
  it('runs two CLI snapshots started at once one after the other, with a consistent history', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    const [a, b] = await Promise.all([dws(ws, ['--batch', 'snapshot', '-m', 'first', 'A']), dws(ws, ['--batch', 'snapshot', '-m', 'second', 'B'])]);
    expect([a.code, b.code, a.stderr + b.stderr]).toEqual([0, 0, expect.not.stringContaining('rror')]);
    const history = JSON.parse((await dws(ws, ['report', 'history', '--json'])).stdout) as { snapshots: Array<{ tags: string[] }> };
    // Same state twice: one snapshot carrying both tags, in the order the lock let them in.
    expect(history.snapshots).toHaveLength(1);
    expect([...history.snapshots[0]!.tags].sort()).toEqual(['A', 'B']);
    expect(git(ws, ['status', '--porcelain'])).toBe('');
    expect(existsSync(join(ws, '.git', 'dws', 'lock'))).toBe(false);
  });

  it('makes the CLI wait for a lock held by a live process, then refuse with a Conflict', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      writeLock(ws, holder.pid!);
      const before = fingerprint(ws);
      const r = await dws(ws, ['--batch', 'snapshot', 'A'], { env: { ...TEST_ENV, DWS_LOCK_TIMEOUT_MS: '300' } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`waiting for the workspace lock held by pid ${holder.pid} (dws snapshot) since 2024-01-02T03:04:05.000Z`);
      expect(r.stderr).toMatch(new RegExp(`Configuration error: The workspace is locked by pid ${holder.pid} .*gave up after 300 ms`));
      expect(fingerprint(ws)).toBe(before);
      // The global option says the same.
      const o = await dws(ws, ['--batch', '--lock-timeout', '100', 'snapshot', 'A']);
      expect([o.code, o.stderr]).toEqual([1, expect.stringContaining('gave up after 100 ms')]);
      const bad = await dws(ws, ['--batch', '--lock-timeout', 'soon', 'snapshot', 'A']);
      expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining("Invalid lock timeout 'soon' (from --lock-timeout)")]);
      expect(fingerprint(ws)).toBe(before);
    } finally {
      holder.kill();
    }
  });

  it('stops waiting for the lock on SIGTERM, as on Ctrl-C: exit 143 at once, the holder\'s lock left as it was', async () => {
    const ws = await newWorkspace();
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const lock = writeLock(ws, holder.pid!);
      const child = spawn(process.execPath, [DWS, '--batch', 'gc'], { cwd: ws, env: { ...TEST_ENV, DWS_LOCK_TIMEOUT_MS: '600000' } });
      let stderr = '';
      const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      await new Promise<void>((resolve) =>
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes('waiting for the workspace lock')) resolve();
        }),
      );
      child.kill('SIGTERM');
      // A wait for the lock that went on would end at the 10-minute lock timeout: past the test's.
      expect(await closed, stderr).toBe(143);
      expect(stderr).toContain('Interrupted: gc stopped before it finished');
      // Nobody pressed Ctrl-C: the hint names the signal that was sent.
      expect(stderr).toContain('(SIGTERM again to quit at once)');
      expect(stderr).not.toContain('Ctrl-C');
      expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(holder.pid);
    } finally {
      holder.kill();
    }
  });

  it('lets the command of a running step call dws without waiting for its own run\'s lock', async () => {
    const ws = await newWorkspace(['--create-resources=code,intermediate-data']);
    const script = [
      `require('child_process').execFileSync(process.execPath, [${JSON.stringify(DWS)}, '--batch', 'config', 'results.move_exclude_files', '["README.md"]'], { stdio: 'inherit' });`,
      `require('fs').mkdirSync('intermediate-data/x', { recursive: true });`,
      `require('fs').writeFileSync('intermediate-data/x/out.txt', '1');`,
    ].join(' ');
    const env = { ...TEST_ENV, DWS_LOCK_TIMEOUT_MS: '3000' };
    const r = await dws(ws, ['--batch', 'run', '--name', 'configure', '--out', 'intermediate-data:/x', '--no-snapshot', '--', process.execPath, '-e', script], { env });
    expect(r.stderr).not.toContain('waiting for the workspace lock');
    expect(r.code).toBe(0);
    expect(git(ws, ['log', '-1', '--format=%s'])).toContain('Update of workspace parameter results.move_exclude_files');
    expect(existsSync(join(ws, '.git', 'dws', 'lock'))).toBe(false);
  });

  it('takes over a stale lock left by a dead process, with a warning', async () => {
    const ws = await newWorkspace(['--create-resources=code']);
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const pid = Number(dead.stdout.trim());
    const lock = writeLock(ws, pid);
    const r = await dws(ws, ['--batch', 'snapshot', 'A']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Taking over a stale workspace lock left by pid ${pid} (dws snapshot)`);
    expect(existsSync(lock)).toBe(false);
    expect(JSON.parse((await dws(ws, ['report', 'history', '--json'])).stdout).snapshots[0].tags).toEqual(['A']);
  });
});
