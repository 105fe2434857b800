/**
 * `dws publish`, `push`, `pull`, `clone` and `add api-resource` as real processes, with bare git
 * repositories in temporary directories as origins and a second clone as a collaborator.
 */
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, commitIn, type RunResult, dws, dwsOk, fingerprint, git, gitLog, newWorkspace, readJson, repoWithOrigin, tempDir } from '../helpers.js';

afterAll(cleanup);

const head = (repo: string, ref = 'HEAD') => git(repo, ['rev-parse', ref]).trim();
const originHead = (bare: string) => (existsSync(bare) ? git(bare, ['rev-parse', 'refs/heads/master']).trim() : '(moved away)');


/** The paths of a published workspace and its collaborator's clone; see `publishedWorkspace`. */
interface Published {
  /** What `dws --batch clone --hostname other <ws.git>` said when it made `other`. */
  clone: RunResult;
  base: string;
  ws: string;
  wsOrigin: string;
  lib: string;
  libOrigin: string;
  data: string;
  other: string;
}

/**
 * Builds, in one directory `base`, a published workspace `ws`: git-subdirectory resources code
 * and results, a separate git repository `lib` (inside the workspace, with its own bare origin
 * `lib.git`) and a local-files resource `data` outside it, published to `ws.git`; then a
 * collaborator's clone of it in batch mode, `other`: `clones/<workspace name>`.
 */
async function buildPublished(): Promise<Published> {
  const ws = await newWorkspace(['--create-resources', 'code,results']);
  const base = dirname(ws);
  const wsOrigin = join(base, 'ws.git');
  const libOrigin = join(base, 'lib.git');
  git(base, ['init', '--quiet', '--bare', wsOrigin]);
  const lib = repoWithOrigin(ws, 'lib', libOrigin, 'model.py', 'print(1)\n');
  const data = join(base, 'data');
  mkdirSync(data);
  writeFileSync(join(data, 'rows.csv'), 'a,b\n1,2\n');
  await dwsOk(ws, ['--batch', 'add', 'git', '--role', 'source-data', 'lib']);
  await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'intermediate-data', data]);
  const r = await dws(ws, ['--batch', 'publish', wsOrigin]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe(`Published workspace to ${wsOrigin}.\n`);
  expect(r.stderr).toContain(`Set remote origin to ${wsOrigin}\nPushing workspace and resources: code, results, lib, data\n`);
  const clones = join(base, 'clones');
  mkdirSync(clones);
  const clone = await dws(clones, ['--batch', 'clone', '--hostname', 'other', wsOrigin]);
  expect(clone.code, clone.stderr).toBe(0);
  const other = join(clones, readJson(join(ws, '.dataworkspace', 'config.json')).name as string);
  return { clone, base, ws, wsOrigin, lib, libOrigin, data, other };
}

/** buildPublished's result, built once per test file (per process), with a copy of its directory. */
let prepared: Promise<{ template: string; paths: Published }> | undefined;

/**
 * A fresh published workspace for one test: `base` as buildPublished left it. Remotes and dws
 * metadata hold absolute paths, so each test gets its copy at the same place, replacing the
 * previous test's (tests in a file run one at a time); a copy costs 4 git processes, a build
 * 4 dws and dozens of git processes.
 */
async function publishedWorkspace(): Promise<Published> {
  // cleanup() removes the template with every other temp dir: build it again after that.
  if (!prepared || !existsSync((await prepared).template)) {
    prepared = (async () => {
      const paths = await buildPublished();
      const template = join(tempDir('dws-template-'), 'published');
      renameSync(paths.base, template);
      return { template, paths };
    })();
  }
  const { template, paths } = await prepared;
  rmSync(paths.base, { recursive: true, force: true });
  cpSync(template, paths.base, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  // The copies have new inodes and ctimes: refresh each index as git status would, or the first
  // status (in fingerprint) rewrites lib/.git/index, a file fingerprint(ws) sees.
  for (const repo of [paths.ws, paths.lib, paths.other, join(paths.other, 'lib')]) git(repo, ['update-index', '-q', '--refresh']);
  return paths;
}

describe('dws publish and clone', () => {
  it('publishes to an empty bare repository and clones every resource back in batch mode', async () => {
    const { base, ws, wsOrigin, libOrigin, lib, data, clone: r } = await publishedWorkspace();
    expect(originHead(wsOrigin)).toBe(head(ws));
    expect(git(ws, ['config', '--get', 'remote.origin.url']).trim()).toBe(wsOrigin);
    expect(originHead(libOrigin)).toBe(head(lib));

    // The shared set-up's clone (this test's copy of it): `dws --batch clone --hostname other <ws.git>` run in `parent`.
    const parent = join(base, 'clones');
    expect(r.code, r.stderr).toBe(0);
    const name = readJson(join(ws, '.dataworkspace', 'config.json')).name as string;
    const copy = join(parent, name);
    expect(r.stdout).toBe(`Successfully completed clone of workspace ${name}.\n`);
    expect(r.stderr).toContain(`Completed initial clone of workspace ${name}, will check for resources to clone...\nWill clone the following resources: code, results, lib, data\n`);
    // git-subdirectory from the workspace clone, the git resource from its own origin, local-files in place.
    expect(readFileSync(join(copy, 'code', 'README.txt'), 'utf8')).toContain('This directory is for code.');
    expect(readFileSync(join(copy, 'lib', 'model.py'), 'utf8')).toBe('print(1)\n');
    expect(git(join(copy, 'lib'), ['config', '--get', 'remote.origin.url']).trim()).toBe(libOrigin);
    expect(head(join(copy, 'lib'))).toBe(head(lib));
    expect(readJson(join(copy, '.dataworkspace', 'resource_local_params.json'))).toEqual({
      code: { local_path: join(copy, 'code') },
      results: { local_path: join(copy, 'results') },
      lib: { local_path: 'lib' },
      data: { local_path: null },
    });
    expect(readJson(join(copy, '.dataworkspace', 'local_params.json'))).toEqual({ hostname: 'other' });
    for (const d of ['snapshots', 'snapshot_metadata', 'current_lineage']) expect(existsSync(join(copy, '.dataworkspace', d))).toBe(true);
    expect(existsSync(join(copy, 'scratch'))).toBe(true);
    expect(git(copy, ['status', '--porcelain'])).toBe('');
    // The clone snapshots: every resource opens there.
    await dwsOk(copy, ['--batch', 'snapshot', 'in-clone']);
    expect(existsSync(data)).toBe(true);
  });

  it('asks where to put resources when not in batch mode', async () => {
    const { base, wsOrigin, data } = await publishedWorkspace();
    renameSync(data, join(base, 'moved-data'));
    const parent = tempDir();
    // lib: accept the default place; data: first a path that does not exist, then the right one.
    const r = await dws(parent, ['clone', '--hostname', 'other', wsOrigin, 'copy'], { input: `\n${join(base, 'nope')}\n${join(base, 'moved-data')}\n` });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Git resource 'lib' is being added to your workspace. Where do you want to clone it? [${join(parent, 'copy', 'lib')}]`);
    expect(r.stderr).toContain(`Local files resource 'data' was located at '${data}' on the original system. Where is it located on this system?`);
    expect(r.stderr).toContain(`${join(base, 'nope')} does not exist`);
    expect(readJson(join(parent, 'copy', '.dataworkspace', 'resource_local_params.json')).data).toEqual({ local_path: join(base, 'moved-data') });
    expect(existsSync(join(parent, 'copy', 'lib', 'model.py'))).toBe(true);
  });

  it('removes the new directory when a resource cannot be cloned, and refuses bad targets and origins', async () => {
    const { base, ws, wsOrigin, data } = await publishedWorkspace();
    renameSync(data, join(base, 'moved-data'));
    const parent = tempDir();
    let r = await dws(parent, ['--batch', 'clone', '--hostname', 'other', wsOrigin, 'copy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Configuration error: Local files resource data is missing from ${data}.`);
    expect(readdirSync(parent)).toEqual([]);

    r = await dws(parent, ['--batch', 'clone', join(base, 'deleted.git'), 'copy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Unable to access remote repository '${join(base, 'deleted.git')}'`);
    r = await dws(parent, ['--batch', 'clone', wsOrigin, ws]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Clone target directory '${ws}' already exists`);
    // Without a target directory the workspace's name is used: whatever is there already stays as it was.
    const named = basename(ws);
    for (const make of [(p: string) => (mkdirSync(p), writeFileSync(join(p, 'thesis.txt'), 'mine\n')), (p: string) => writeFileSync(p, 'mine\n'), (p: string) => symlinkSync('nowhere', p)]) {
      const at = join(parent, named);
      make(at);
      const kept = () => {
        const st = lstatSync(at);
        return st.isSymbolicLink() ? `link ${readlinkSync(at)}` : st.isDirectory() ? `dir ${readdirSync(at)} ${readFileSync(join(at, 'thesis.txt'), 'utf8')}` : `file ${readFileSync(at, 'utf8')}`;
      };
      const before = kept();
      r = await dws(parent, ['--batch', 'clone', wsOrigin]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Clone target directory '${at}' already exists`);
      expect(kept()).toBe(before);
      expect(readdirSync(parent)).toEqual([named]); // and no temporary clone left
      rmSync(at, { recursive: true });
    }
    r = await dws(parent, ['--batch', 'clone', wsOrigin, join(base, 'no', 'such', 'dir')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Parent directory '${join(base, 'no', 'such')}' does not exist`);
    expect(readdirSync(parent)).toEqual([]);

    // publish: the workspace already has an origin.
    const wsBefore = fingerprint(ws);
    r = await dws(ws, ['--batch', 'publish', join(base, 'other.git')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`already has the origin ${wsOrigin}`);
    expect(fingerprint(ws)).toBe(wsBefore);
  });

  it('publish to an unreachable origin changes nothing, not even the remote setting', async () => {
    const ws = await newWorkspace(['--create-resources', 'code,results']); // as the published one: no second init
    const before = fingerprint(ws);
    const r = await dws(ws, ['--batch', 'publish', join(tempDir(), 'missing.git')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Unable to access remote repository');
    expect(git(ws, ['remote'])).toBe('');
    expect(fingerprint(ws)).toBe(before);
  });
});

describe('dws push and pull between collaborators', () => {
  it('snapshot in one clone, push, pull in the other, restore there', async () => {
    const { ws, wsOrigin, lib, libOrigin, other } = await publishedWorkspace();

    writeFileSync(join(ws, 'code', 'train.py'), 'v1\n');
    commitIn(lib, 'model.py', 'print(2)\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'S1']);
    writeFileSync(join(ws, 'code', 'train.py'), 'v2\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'S2']);
    let r = await dws(ws, ['--batch', 'push']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('Pushed workspace and resources: code, results, lib, data\n');
    expect(r.stderr).toContain('[push] pushing resource lib\n');
    expect(r.stderr).toContain('[push] all resources pushed successfully.\n');
    expect(originHead(wsOrigin)).toBe(head(ws));
    expect(originHead(libOrigin)).toBe(head(lib));

    // Current lineage of pulled resources is forgotten.
    mkdirSync(join(other, '.dataworkspace', 'current_lineage'), { recursive: true });
    writeFileSync(join(other, '.dataworkspace', 'current_lineage', 'code.json'), '{"resource_name": "code", "lineages": []}');
    r = await dws(other, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Syncing workspace\nUpdating resources: code, results, lib, data\n[pull] pulling resource code\n');
    expect(r.stdout).toBe('Pulled workspace and resources: code, results, lib, data\n');
    expect(readFileSync(join(other, 'code', 'train.py'), 'utf8')).toBe('v2\n');
    expect(head(join(other, 'lib'))).toBe(head(lib));
    expect(existsSync(join(other, '.dataworkspace', 'current_lineage', 'code.json'))).toBe(false);
    expect(git(other, ['status', '--porcelain'])).toBe('');
    const history = JSON.parse((await dwsOk(other, ['--batch', 'report', 'history', '--json'])) as string) as { snapshots: { tags: string[] }[] };
    expect(history.snapshots.map((s) => s.tags)).toEqual([['S2'], ['S1']]);

    // Restore exists: the collaborator goes back to S1.
    await dwsOk(other, ['--batch', 'restore', 'S1']);
    expect(readFileSync(join(other, 'code', 'train.py'), 'utf8')).toBe('v1\n');
    expect(readFileSync(join(other, 'lib', 'model.py'), 'utf8')).toBe('print(2)\n');
  }, 120_000); // two workspaces and a dozen dws commands with git transfers: 12-13 s when quiet

  it("a results.dir_template changed by one collaborator leaves every earlier snapshot's results where they are, so both sides still merge", async () => {
    const { ws, other } = await publishedWorkspace();
    writeFileSync(join(ws, 'results', 'results.json'), '{"metrics": {"acc": 1}}');
    await dwsOk(ws, ['--batch', 'snapshot', 'A1']);
    await dwsOk(ws, ['--batch', 'push']);
    await dwsOk(other, ['--batch', 'pull']);
    writeFileSync(join(other, 'results', 'results.json'), '{"metrics": {"acc": 2}}');
    await dwsOk(other, ['--batch', 'snapshot', 'B1']);
    await dwsOk(other, ['--batch', 'config', 'results.dir_template', 'snapshots/{TAG}-by-{HOSTNAME}']);
    await dwsOk(other, ['--batch', 'push']);

    writeFileSync(join(ws, 'results', 'results.json'), '{"metrics": {"acc": 3}}');
    await dwsOk(ws, ['--batch', 'snapshot', 'A2']); // the old template, not yet pulled
    let r = await dws(ws, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    writeFileSync(join(ws, 'results', 'results.json'), '{"metrics": {"acc": 4}}');
    await dwsOk(ws, ['--batch', 'snapshot', 'A3']); // the new template
    const host = readJson(join(ws, '.dataworkspace', 'local_params.json')).hostname as string;
    const results = (dir: string) => readdirSync(join(dir, 'results', 'snapshots')).sort();
    expect(results(ws)).toEqual(['A3-by-' + host, `${host}-A1`, `${host}-A2`, 'other-B1'].sort());
    for (const [tag, acc] of [['A1', 1], ['B1', 2], ['A2', 3], ['A3', 4]] as const) {
      expect(await dwsOk(ws, ['report', 'results', '--snapshot', tag]), tag).toMatch(new RegExp(`\\| acc +\\| +${acc} \\|`));
    }
    await dwsOk(ws, ['--batch', 'push']);

    writeFileSync(join(other, 'results', 'results.json'), '{"metrics": {"acc": 5}}');
    await dwsOk(other, ['--batch', 'snapshot', 'B2']);
    r = await dws(other, ['--batch', 'pull']); // merged the two snapshots' moves: it conflicted when each had moved the other's directories
    expect(r.code, r.stderr).toBe(0);
    expect(results(other)).toEqual(['A3-by-' + host, 'B2-by-other', `${host}-A1`, `${host}-A2`, 'other-B1'].sort());
  }, 120_000);

  it('a tag that both collaborators gave a snapshot names neither after the merge: restore, delete-snapshot and diff refuse it and list both', async () => {
    const { ws, other } = await publishedWorkspace();
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'final']);
    await dwsOk(ws, ['--batch', 'push']);
    writeFileSync(join(other, 'code', 'b.py'), 'b\n');
    await dwsOk(other, ['--batch', 'snapshot', 'final']);
    let r = await dws(other, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    const history = JSON.parse((await dwsOk(other, ['report', 'history', '--json'])) as string) as { snapshots: { hash: string; tags: string[] }[] };
    const hashes = history.snapshots.filter((s) => s.tags.includes('final')).map((s) => s.hash).sort();
    expect(hashes).toHaveLength(2);
    const before = fingerprint(other);
    for (const args of [['restore', 'final'], ['delete-snapshot', 'final'], ['diff', 'final', hashes[0]!]]) {
      r = await dws(other, ['--batch', ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(`Configuration error: Tag final is carried by 2 snapshots: ${hashes.join(', ')}. Give the hash of the one you mean.`);
    }
    expect(fingerprint(other)).toBe(before);
    // Each is still reachable by its hash.
    await dwsOk(other, ['--batch', 'delete-snapshot', hashes[0]!]);
    r = await dws(other, ['--batch', 'restore', 'final']);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('moving a tag that both collaborators gave a snapshot takes it off both; --batch refuses and names both', async () => {
    const { ws, other } = await publishedWorkspace();
    for (const [dir, file] of [[ws, 'a.py'], [other, 'b.py']] as const) {
      writeFileSync(join(dir, 'code', file), 'x\n');
      await dwsOk(dir, ['--batch', 'snapshot', 'final']);
    }
    await dwsOk(ws, ['--batch', 'push']);
    const pulled = await dws(other, ['--batch', 'pull']);
    expect(pulled.code, pulled.stderr).toBe(0);
    const snapshots = async () => (JSON.parse(await dwsOk(other, ['report', 'history', '--json'])) as { snapshots: { hash: string; tags: string[]; timestamp: string }[] }).snapshots;
    const carriers = (await snapshots()).filter((s) => s.tags.includes('final')).sort((a, b) => (a.hash < b.hash ? -1 : 1));
    expect(carriers).toHaveLength(2);
    expect(pulled.stderr).toContain(
      `Tag 'final' is carried by 2 snapshots: ${carriers[0]!.hash}, ${carriers[1]!.hash}. Commands refuse it until one carries it: 'dws restore <hash>' the one you mean, then 'dws snapshot final' and agree to move the tag (or delete the others by their hash).\n`,
    );
    const before = fingerprint(other);
    let r = await dws(other, ['--batch', 'snapshot', 'final']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`Configuration error: Tag 'final' already exists for snapshot ${carriers[0]!.hash} taken ${carriers[0]!.timestamp} and for snapshot ${carriers[1]!.hash} taken ${carriers[1]!.timestamp}\n`);
    expect(fingerprint(other)).toBe(before);
    // Back to one of them and tag it again: the tag leaves the other one, even though this one has it already.
    const mine = carriers[0]!.hash;
    await dwsOk(other, ['--batch', 'restore', mine]);
    r = await dws(other, ['snapshot', 'final'], { input: 'y\n' });
    expect(r.code, r.stderr).toBe(0);
    expect((await snapshots()).filter((s) => s.tags.includes('final')).map((s) => s.hash)).toEqual([mine]);
    expect(git(other, ['status', '--porcelain'])).toBe('');
    r = await dws(other, ['--batch', 'delete-snapshot', 'final']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Successfully deleted snapshot ${mine.slice(0, 7)} (Tagged as: final).\n`);
  }, 120_000);

  it('both collaborators tagging the same snapshot is no conflict: the pull merges its metadata, keeping every tag', async () => {
    const { ws, other } = await publishedWorkspace();
    writeFileSync(join(ws, 'code', 'a.py'), 'a\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'base']);
    await dwsOk(ws, ['--batch', 'push']);
    await dwsOk(other, ['--batch', 'pull']);
    // The same state on both sides: each tag goes to the existing snapshot's metadata file.
    await dwsOk(other, ['--batch', 'snapshot', 'b-tag']);
    await dwsOk(ws, ['--batch', 'snapshot', 'a-tag']);
    await dwsOk(ws, ['--batch', 'push']);
    const r = await dws(other, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    expect(git(other, ['status', '--porcelain'])).toBe('');
    const history = JSON.parse((await dwsOk(other, ['report', 'history', '--json'])) as string) as { snapshots: { tags: string[] }[] };
    expect(history.snapshots.map((s) => s.tags)).toEqual([['base', 'b-tag', 'a-tag']]);
    await dwsOk(other, ['--batch', 'restore', 'a-tag']);
    await dwsOk(other, ['--batch', 'push']);
    await dwsOk(ws, ['--batch', 'pull']);
    const back = JSON.parse((await dwsOk(ws, ['report', 'history', '--json'])) as string) as { snapshots: { tags: string[] }[] };
    expect(back.snapshots.map((s) => s.tags)).toEqual([['base', 'b-tag', 'a-tag']]);
  }, 120_000);

  it('a pull whose merge conflicts in resource files names those files and how to resolve them, not resources.json', async () => {
    const { ws, other } = await publishedWorkspace();
    for (const [dir, n] of [[ws, 1], [other, 2]] as const) {
      writeFileSync(join(dir, 'code', 'train.py'), `x = ${n}\n`);
      writeFileSync(join(dir, 'results', 'README.md'), `run ${n}\n`); // not moved by the snapshot: both sides' change stays
      await dwsOk(dir, ['--batch', 'snapshot', `S${n}`]);
    }
    await dwsOk(ws, ['--batch', 'push']);
    const state = () => fingerprint(other).replace(/^. \S+ (\S+ )?lib\/\.git\/.*\n/gm, ''); // lib's trial merge fetches
    const before = state();
    const r = await dws(other, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      `Configuration error: The commits of the workspace's origin conflict with those of ${other} in code/train.py, results/README.md; nothing was changed. Merge by hand: in ${other} run 'git merge FETCH_HEAD', resolve the conflicts (in code/train.py, results/README.md, resource files both sides changed, keep the content you want (a snapshot after the pull records it)), 'git commit', then 'dws pull' again.`,
    );
    expect(r.stderr).not.toContain('resources.json');
    expect(state()).toBe(before);
  }, 120_000);

  it('a git resource whose origin has conflicting commits stops the pull before the workspace merges; merged by hand, the pull goes on', async () => {
    const { ws, other } = await publishedWorkspace();
    const otherLib = join(other, 'lib');
    commitIn(join(ws, 'lib'), 'model.py', 'print("ours")\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'A1']);
    await dwsOk(ws, ['--batch', 'push']);
    commitIn(otherLib, 'model.py', 'print("theirs")\n');
    await dwsOk(other, ['--batch', 'snapshot', 'B1']);
    // The trial merge fetches into lib's .git as git pull does: the rest must stay as it was.
    const state = () => [fingerprint(other).replace(/^. \S+ (\S+ )?lib\/\.git\/.*\n/gm, ''), fingerprint(otherLib)];
    const before = state();
    let r = await dws(other, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      `Configuration error: The commits of the origin of git resource 'lib' (branch master) conflict with those of ${otherLib}; nothing was changed. Merge by hand: in ${otherLib} run 'git pull --no-rebase origin master', resolve the conflicts, 'git commit', then 'dws pull' again.`,
    );
    expect(state()).toEqual(before); // it merged the workspace, then stopped with lib mid-merge
    expect(existsSync(join(otherLib, '.git', 'MERGE_HEAD'))).toBe(false);

    expect(() => git(otherLib, ['pull', '--quiet', '--no-rebase', 'origin', 'master'])).toThrow(); // the conflict, as the message says
    writeFileSync(join(otherLib, 'model.py'), 'print("both")\n');
    git(otherLib, ['commit', '--quiet', '-am', 'merged']);
    r = await dws(other, ['--batch', 'pull']);
    expect(r.code, r.stderr).toBe(0);
    const history = JSON.parse((await dwsOk(other, ['report', 'history', '--json'])) as string) as { snapshots: { tags: string[] }[] };
    expect(history.snapshots.map((s) => s.tags).sort()).toEqual([['A1'], ['B1']]);
  }, 120_000);

  it('pull clones a resource that came with it; --only, --skip and --only-workspace choose what moves', async () => {
    const { ws, wsOrigin, lib, libOrigin, other } = await publishedWorkspace();
    mkdirSync(join(other, 'docs'));
    writeFileSync(join(other, 'docs', 'notes.md'), 'hello\n');
    await dwsOk(other, ['--batch', 'add', 'git', '--role', 'code', 'docs']);
    await dwsOk(other, ['--batch', 'snapshot', 'with-docs']);
    let r = await dws(other, ['--batch', 'push', '--only-workspace']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Pushing workspace.\n');

    r = await dws(ws, ['--batch', 'pull', '--only', 'docs']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('Pulled workspace.\nCloned new resources: docs\n');
    expect(readFileSync(join(ws, 'docs', 'notes.md'), 'utf8')).toBe('hello\n');
    expect(readJson(join(ws, '.dataworkspace', 'resource_local_params.json')).docs).toEqual({ local_path: join(ws, 'docs') });
    expect(gitLog(ws)[0]).not.toBe('Pull command'); // nothing left to commit after the merge

    // --skip lib: the lib commit stays local, the workspace goes out.
    commitIn(lib, 'model.py', 'print(3)\n');
    const libOriginBefore = originHead(libOrigin);
    r = await dws(ws, ['--batch', 'push', '--skip', 'lib']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('Pushed workspace and resources: code, results, data, docs\n');
    expect(originHead(libOrigin)).toBe(libOriginBefore);
    r = await dws(ws, ['--batch', 'push', '--only', 'lib']);
    expect(r.code, r.stderr).toBe(0);
    expect(originHead(libOrigin)).toBe(head(lib));
  }, 120_000); // two workspaces and a dozen dws commands with git transfers: 12-13 s when quiet

  // Its real work: a published workspace and a clone, then ~25 dws commands (with their git
  // pushes, pulls and ls-remotes) each bracketed by fingerprints of four trees. 31 s on this
  // 2-core machine when it is quiet; it passed 60 s while other agents' suites ran, so it gets
  // room for that, not a weaker check.
  it('refuses bad selections, dirty repositories, unreachable origins and a needed pull, changing nothing', async () => {
    const { base, ws, wsOrigin, lib, libOrigin, other } = await publishedWorkspace();
    const unchanged = async (cwd: string, args: string[], exit: number, message: string) => {
      const before = [fingerprint(ws), fingerprint(lib), fingerprint(other), fingerprint(join(other, 'lib'))];
      const origins = [originHead(wsOrigin), originHead(libOrigin)];
      const r = await dws(cwd, ['--batch', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(exit);
      expect(r.stderr).toContain(message);
      expect([fingerprint(ws), fingerprint(lib), fingerprint(other), fingerprint(join(other, 'lib'))]).toEqual(before);
      expect([originHead(wsOrigin), originHead(libOrigin)]).toEqual(origins);
    };

    for (const cmd of ['push', 'pull']) {
      await unchanged(ws, [cmd, '--only', 'code', '--skip', 'lib'], 2, 'Please specify at most one of --only, --skip, or --only-workspace');
      await unchanged(ws, [cmd, '--skip', 'lib', '--only-workspace'], 2, 'Please specify at most one of --only, --skip, or --only-workspace');
      await unchanged(ws, [cmd, '--only', 'code,nope,zzz'], 1, 'Invalid resource names were included with --only: nope, zzz');
      await unchanged(ws, [cmd, '--skip', 'nope'], 1, 'Invalid resource names were included with --skip: nope');
    }

    // A dirty workspace.
    writeFileSync(join(ws, 'code', 'wip.py'), 'wip\n');
    await unchanged(ws, ['push'], 1, `Data workspace metadata repo at ${ws} has uncommitted changes. Please commit before pushing. Changed: code/wip.py\n`);
    await unchanged(ws, ['pull'], 1, `Data workspace metadata repo at ${ws} has uncommitted changes. Please commit before pulling. Changed: code/wip.py\n`);
    git(ws, ['add', '.']);
    git(ws, ['commit', '--quiet', '-m', 'wip']);

    // A dirty git resource; on pull with something new on the workspace origin that must not be merged.
    writeFileSync(join(lib, 'model.py'), 'dirty\n');
    await unchanged(ws, ['push', '--only', 'lib'], 1, `Git repo at ${lib} has uncommitted changes. Please commit your changes before pushing. Changed: model.py\n`);
    writeFileSync(join(other, 'code', 'theirs.py'), 'theirs\n');
    await dwsOk(other, ['--batch', 'snapshot', 'theirs']);
    await dwsOk(other, ['--batch', 'push']);
    await unchanged(ws, ['pull'], 1, `Git repo at ${lib} has uncommitted changes. Please commit your changes before pulling. Changed: model.py\n`);
    git(lib, ['checkout', '--', 'model.py']);

    // The collaborator pushed: our push needs a pull first.
    await unchanged(ws, ['push'], 1, `Data workspace at ${ws} requires a pull from remote origin`);
    // The resource's origin is ahead too.
    commitIn(join(other, 'lib'), 'other.py', 'x\n');
    git(join(other, 'lib'), ['push', '--quiet', 'origin', 'master']);
    await unchanged(ws, ['push', '--only-workspace'], 1, `Data workspace at ${ws} requires a pull from remote origin`);

    // Unreachable origins: the resource's, then the workspace's.
    renameSync(libOrigin, `${libOrigin}.away`);
    await unchanged(ws, ['pull'], 1, "Problem in accessing remote repository of resource 'lib'");
    renameSync(`${libOrigin}.away`, libOrigin);
    renameSync(wsOrigin, join(base, 'ws-away.git'));
    const before = [fingerprint(ws), fingerprint(lib)];
    for (const cmd of ['push', 'pull']) {
      const r = await dws(ws, ['--batch', cmd]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Configuration error: Problem in accessing remote repository associated with '${ws}'`);
    }
    expect([fingerprint(ws), fingerprint(lib)]).toEqual(before);
  }, 240_000);
});

describe('dws add api-resource', () => {
  it('adds a resource with a scratch directory; its hash is hashval.txt, or null with a warning', async () => {
    const ws = await newWorkspace();
    const r = await dws(ws, ['--batch', 'add', 'api-resource', '--role', 'source-data']);
    expect(r.code, r.stderr).toBe(0);
    expect(readJson(join(ws, '.dataworkspace', 'resources.json'))).toEqual([{ resource_type: 'api-resource', name: 'source-data-api', role: 'source-data' }]);
    expect(readJson(join(ws, '.dataworkspace', 'resource_local_params.json'))).toEqual({ 'source-data-api': {} });
    expect(readFileSync(join(ws, '.dataworkspace', '.gitignore'), 'utf8')).toContain('/scratch/source-data-api/\n');
    expect(gitLog(ws).slice(0, 2)).toEqual(['add of source-data-api', 'Add .gitignore entry for /scratch/source-data-api/']);
    const scratch = join(ws, '.dataworkspace', 'scratch', 'source-data-api');
    expect(existsSync(scratch)).toBe(true);

    let s = await dws(ws, ['--batch', 'snapshot', '--json', 'first']);
    expect(s.stderr).toContain('WARNING: no hash available for resource source-data-api');
    expect(JSON.parse(s.stdout).resources).toEqual([{ name: 'source-data-api', compareHash: null, restoreHash: null }]);
    writeFileSync(join(scratch, 'hashval.txt'), 'abc123\n');
    s = await dws(ws, ['--batch', 'snapshot', '--json', 'second']);
    expect(JSON.parse(s.stdout).resources).toEqual([{ name: 'source-data-api', compareHash: 'abc123', restoreHash: null }]);
    expect(git(ws, ['status', '--porcelain'])).toBe('');

    const before = fingerprint(ws);
    const bad = await dws(ws, ['--batch', 'add', 'api-resource', '--role', 'results']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Invalid resource role. Must be one of: source-data, intermediate-data');
    expect(fingerprint(ws)).toBe(before);

    // A clone recreates the scratch directory.
    const origin = join(tempDir(), 'ws.git');
    git(ws, ['init', '--quiet', '--bare', origin]);
    await dwsOk(ws, ['--batch', 'publish', origin]);
    const copy = join(tempDir(), 'copy');
    await dwsOk(tempDir(), ['--batch', 'clone', '--hostname', 'other', origin, copy]);
    expect(existsSync(join(copy, '.dataworkspace', 'scratch', 'source-data-api'))).toBe(true);
    expect(git(copy, ['status', '--porcelain'])).toBe('');
  });
});
