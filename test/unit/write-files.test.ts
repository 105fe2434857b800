/**
 * applyChanges makes a restore's changes: several through libuv's threads, a single one on the
 * calling thread, many set-aside ones as jobs of the hashing threads (runChangeJob). Each kind of
 * change gives the same tree every way.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runChangeJob, type Change } from '../../server/store/change-job.js';
import { applyChanges } from '../../server/store/write-files.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A folder with one thing of each kind a change acts on, and what is staged beside it. */
function setUp(): { root: string; changes: Change[] } {
  const root = mkdtempSync(join(tmpdir(), 'dws-apply-'));
  dirs.push(root);
  writeFileSync(join(root, 'gone.txt'), 'x');
  mkdirSync(join(root, 'gone-dir', 'sub'), { recursive: true });
  writeFileSync(join(root, 'gone-dir', 'sub', 'f'), 'y');
  mkdirSync(join(root, '.staged-dir'));
  writeFileSync(join(root, '.staged-dir', 'inside'), 'new dir');
  writeFileSync(join(root, 'was-file'), 'a file where a folder goes');
  writeFileSync(join(root, 'to-exec'), '#!/bin/sh\n', { mode: 0o640 });
  writeFileSync(join(root, 'to-plain'), 'z', { mode: 0o755 });
  chmodSync(join(root, 'to-plain'), 0o755);
  writeFileSync(join(root, 'replaced'), 'old');
  writeFileSync(join(root, '.staged-1'), 'new content');
  mkdirSync(join(root, 'was-dir', 'deep'), { recursive: true });
  writeFileSync(join(root, 'was-dir', 'deep', 'f'), 'old');
  writeFileSync(join(root, '.staged-2'), 'a file where a folder was');
  const at = (p: string) => join(root, p);
  return {
    root,
    changes: [
      { op: 'remove', abs: at('gone.txt'), staged: '' },
      { op: 'remove', abs: at('never-there'), staged: '' },
      { op: 'removeDir', abs: at('gone-dir'), staged: '' },
      { op: 'mkdir', abs: at('was-file'), staged: at('.staged-dir') },
      { op: 'chmodExec', abs: at('to-exec'), staged: '' },
      { op: 'chmodPlain', abs: at('to-plain'), staged: '' },
      { op: 'write', abs: at('replaced'), staged: at('.staged-1') },
      { op: 'write', abs: at('was-dir'), staged: at('.staged-2') },
    ],
  };
}

/** Every path below `root` with its kind, mode and content. */
function describeTree(root: string): string[] {
  return readdirSync(root, { recursive: true })
    .map(String)
    .sort()
    .map((p) => {
      const st = lstatSync(join(root, p));
      return `${p} ${(st.mode & 0o777).toString(8)} ${st.isDirectory() ? '(dir)' : readFileSync(join(root, p), 'utf8')}`;
    });
}

describe('applyChanges', () => {
  it('gives the same tree for every kind of change, made one at a time on this thread or all together in threads', async () => {
    const one = setUp();
    for (const c of one.changes) await applyChanges([c]);
    const all = setUp();
    await applyChanges(all.changes);
    expect(describeTree(one.root)).toEqual(describeTree(all.root));
    expect(describeTree(one.root).map((l) => l.replace(/ [0-7]+ /, ' '))).toEqual([
      'replaced new content',
      'to-exec #!/bin/sh\n',
      'to-plain z',
      'was-dir a file where a folder was',
      'was-file (dir)',
      'was-file/inside new dir',
    ]);
    expect(lstatSync(join(one.root, 'to-exec')).mode & 0o777).toBe(0o750);
    expect(lstatSync(join(one.root, 'to-plain')).mode & 0o777).toBe(0o644);
    const job = setUp();
    expect(await runChangeJob({ kind: 'change', id: 7, changes: job.changes })).toEqual({ kind: 'change', id: 7 });
    expect(describeTree(job.root)).toEqual(describeTree(one.root));
  });

  it('sets what it removes or replaces aside where told (moved, or linked: the path never lacks a file), and frees it in place where it cannot', async () => {
    const results: string[][] = [];
    for (const replace of ['link', 'move'] as const) {
      const { root, changes } = setUp();
      const trash = join(root, '.trash');
      mkdirSync(trash);
      let n = 0;
      const aside = changes.map((c) => (c.op === 'remove' || c.op === 'removeDir' || c.abs.endsWith('replaced') ? { ...c, aside: { path: join(trash, String(n++)), replace } } : c));
      aside[1] = { ...aside[1]!, aside: { path: join(root, 'no-such-dir', 'x'), replace } }; // never-there: nothing to set aside, and nowhere to
      await applyChanges(aside, true);
      const kept = readdirSync(trash, { recursive: true }).map(String).sort().map((p) => `${p} ${lstatSync(join(trash, p)).isDirectory() ? '(dir)' : readFileSync(join(trash, p), 'utf8')}`);
      expect(kept).toEqual(['0 x', '2 (dir)', '2/sub (dir)', '2/sub/f y', '3 old']);
      rmSync(trash, { recursive: true });
      results.push(describeTree(root));
    }
    const plain = setUp();
    await applyChanges(plain.changes);
    expect(results).toEqual([describeTree(plain.root), describeTree(plain.root)]);
  });
});
