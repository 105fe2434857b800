/**
 * server/backends/git/pack.ts: packs written by dws are read by the real git — every object id,
 * every byte, the index checksums (`git verify-pack`, `git fsck --strict`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobPackWriter, blobId, packDirOf } from '../../server/backends/git/pack.js';
import { cleanup, tempDir, TEST_ENV } from '../helpers.js';

afterAll(cleanup);

const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, env: TEST_ENV, encoding: 'utf8', stdio: 'pipe' });
const gitBytes = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, env: TEST_ENV });

function newRepo(): string {
  const dir = tempDir('dws-pack-');
  git(dir, ['init', '--quiet']);
  return dir;
}

describe('BlobPackWriter', () => {
  it('writes blobs that git reads back byte for byte, with the ids git computes', () => {
    const repo = newRepo();
    const contents = [
      Buffer.alloc(0),
      Buffer.from('a\n'),
      Buffer.from('x'.repeat(15)), // size fits the first header byte
      Buffer.from('y'.repeat(16)), // needs a second size byte
      randomBytes(300_000), // incompressible, three size bytes
      Buffer.from(`${'0'.repeat(40)}\tblob\tname with spaces\n`.repeat(100)),
    ];
    const writer = new BlobPackWriter(packDirOf(repo, TEST_ENV)!);
    const ids = contents.map((c) => writer.add(c));
    expect(writer.add(contents[1]!)).toBe(ids[1]); // the same content once
    writer.flush();

    for (let i = 0; i < contents.length; i++) {
      const expected = execFileSync('git', ['hash-object', '--stdin'], { input: contents[i], env: TEST_ENV, encoding: 'utf8' }).trim();
      expect(ids[i]).toBe(expected);
      expect(blobId(contents[i]!)).toBe(expected);
      expect(gitBytes(repo, ['cat-file', 'blob', ids[i]!]).equals(contents[i]!)).toBe(true);
    }
    expect(writer.written).toHaveLength(1);
    const verify = git(repo, ['verify-pack', '-v', `${writer.written[0]}.idx`]);
    expect(verify).toContain(`non delta: ${contents.length} objects`);
    expect(git(repo, ['fsck', '--strict', '--no-progress', '--no-dangling'])).toBe('');
    // Named after its checksum, like git's own packs; no temporary files left.
    const files = readdirSync(join(repo, '.git', 'objects', 'pack')).sort();
    const sum = /pack-([0-9a-f]{40})$/.exec(writer.written[0]!)![1]!;
    expect(files).toEqual([`pack-${sum}.idx`, `pack-${sum}.pack`]);
  });

  it('writes nothing when nothing was added, and a second pack for later blobs', () => {
    const repo = newRepo();
    const writer = new BlobPackWriter(packDirOf(repo, TEST_ENV)!);
    writer.flush();
    expect(readdirSync(join(repo, '.git', 'objects', 'pack'))).toEqual([]);
    const a = writer.add(Buffer.from('first'));
    writer.flush();
    const b = writer.add(Buffer.from('second'));
    writer.flush();
    expect(writer.written).toHaveLength(2);
    expect(git(repo, ['cat-file', '-p', a])).toBe('first');
    expect(git(repo, ['cat-file', '-p', b])).toBe('second');
    // Each pack ends with the SHA-1 of everything before it, which is also its name.
    for (const base of writer.written) {
      const bytes = readFileSync(`${base}.pack`);
      const sum = createHash('sha1').update(bytes.subarray(0, -20)).digest();
      expect(sum.equals(bytes.subarray(-20))).toBe(true);
      expect(base.endsWith(`pack-${sum.toString('hex')}`)).toBe(true);
    }
  });

  it('is not used where git keeps objects elsewhere', () => {
    const repo = newRepo();
    expect(packDirOf(repo, { ...TEST_ENV, GIT_DIR: join(repo, '.git') })).toBeNull();
    expect(packDirOf(repo, { ...TEST_ENV, GIT_OBJECT_DIRECTORY: join(repo, 'elsewhere') })).toBeNull();
    const plain = tempDir('dws-pack-');
    mkdirSync(join(plain, 'sub'));
    expect(packDirOf(plain, TEST_ENV)).toBeNull();
    expect(packDirOf(repo, TEST_ENV)).toBe(join(repo, '.git', 'objects', 'pack'));
    const sha256 = tempDir('dws-pack-');
    git(sha256, ['init', '--quiet', '--object-format=sha256']);
    expect(packDirOf(sha256, TEST_ENV)).toBeNull();
  });
});
