/**
 * git-fat is not supported: push and pull refuse a workspace repository or git resource that
 * uses it (a `.gitfat` file, as 1.6's `init --git-fat-remote` writes) before anything moves,
 * and clone warns. Real processes, bare origins in temporary directories.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, fingerprint, git, newWorkspace, tempDir } from '../helpers.js';

afterAll(cleanup);

/** What 1.6's `dws init --git-fat-remote host:/fat --git-fat-attributes .bin` commits. */
function makeGitFat(repo: string): void {
  writeFileSync(join(repo, '.gitfat'), '[rsync]\nremote = host:/fat\n');
  writeFileSync(join(repo, '.gitattributes'), '*.bin filter=fat -crlf\n');
  git(repo, ['add', '.gitfat', '.gitattributes']);
  git(repo, ['commit', '--quiet', '-m', 'initialized git-fat with remote host:/fat']);
}

const refusal = (op: string, repo: string) =>
  `Configuration error: Cannot ${op}: ${repo} uses git-fat (a .gitfat file), which dws does not support; ` +
  `dws would ${op} the commits but not the files git-fat manages. Use git and git-fat directly there (git fat ${op}, then git ${op}).\n`;

describe('a workspace repository that uses git-fat', () => {
  it('push refuses, pushing nothing; clone warns; pull refuses, changing nothing', async () => {
    const base = tempDir();
    const origin = join(base, 'ws.git');
    git(base, ['init', '--quiet', '--bare', origin]);
    const ws = await newWorkspace(['--create-resources', 'code']);
    await dwsOk(ws, ['--batch', 'publish', origin]);
    const published = git(origin, ['rev-parse', 'master']);

    // A collaborator cloned before git-fat came in.
    const other = join(base, 'other');
    await dwsOk(base, ['--batch', 'clone', '--hostname', 'other', origin, other]);

    makeGitFat(ws);
    const before = fingerprint(ws);
    let r = await dws(ws, ['--batch', 'push']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Pushing workspace and resources: code\n${refusal('push', ws)}`);
    expect(git(origin, ['rev-parse', 'master'])).toBe(published);
    expect(fingerprint(ws)).toBe(before);

    // Pushed with git itself (as the message says), the collaborator's pull refuses, and a clone warns.
    git(ws, ['push', '--quiet', 'origin', 'master']);
    const otherBefore = fingerprint(other);
    r = await dws(other, ['--batch', 'pull']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(refusal('pull', other));
    expect(fingerprint(other)).toBe(otherBefore);

    const copy = join(base, 'copy');
    r = await dws(base, ['--batch', 'clone', '--hostname', 'third', origin, copy]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `${copy} uses git-fat (a .gitfat file), which dws does not support: the files git-fat manages are placeholders in this clone. Run 'git fat init && git fat pull' there to fetch them.\n`,
    );
  });
});

describe('a git resource that uses git-fat', () => {
  it('push and pull refuse, naming the resource repository', async () => {
    const base = tempDir();
    const origin = join(base, 'ws.git');
    const libOrigin = join(base, 'lib.git');
    git(base, ['init', '--quiet', '--bare', origin]);
    git(base, ['init', '--quiet', '--bare', libOrigin]);
    const ws = await newWorkspace();
    const lib = join(ws, 'lib');
    git(ws, ['init', '--quiet', 'lib']);
    git(lib, ['remote', 'add', 'origin', libOrigin]);
    makeGitFat(lib);
    git(lib, ['push', '--quiet', 'origin', 'master']);
    await dwsOk(ws, ['--batch', 'add', 'git', '--role', 'source-data', 'lib']);
    git(ws, ['remote', 'add', 'origin', origin]);
    const before = fingerprint(ws);
    let r = await dws(ws, ['--batch', 'push']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(refusal('push', lib));
    expect(git(origin, ['branch', '--list'])).toBe('');
    expect(fingerprint(ws)).toBe(before);
    r = await dws(ws, ['--batch', 'push', '--only-workspace']);
    expect(r.code, r.stderr).toBe(0);
    r = await dws(ws, ['--batch', 'pull']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(refusal('pull', lib));
  });
});
