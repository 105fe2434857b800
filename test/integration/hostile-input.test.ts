/**
 * Hostile input (issue 13 items 1-4), with the real `dws`: each is refused with a message naming
 * the culprit, a non-zero exit, and the workspace byte-for-byte unchanged (files, HEAD, status).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, fingerprint, newWorkspace } from '../helpers.js';

afterAll(cleanup);

let tried = 0;
let clean = 0;
let unchanged = 0;
afterAll(() => console.log(`hostile inputs: ${tried} tried, ${clean} clean errors, ${unchanged} unchanged workspaces`));

/** Run dws in `ws`; expect exit `code`, stderr containing `message`, and no change at all. */
async function refused(ws: string, args: string[], code: number, message: string): Promise<void> {
  const before = fingerprint(ws);
  const r = await dws(ws, ['--batch', ...args]);
  tried++;
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toContain(message);
  expect(r.stderr).not.toContain('internal error');
  clean++;
  expect(fingerprint(ws)).toBe(before);
  unchanged++;
}

describe('resources at or around metadata (item 1)', () => {
  it('refuses .dataworkspace, .git, a directory inside them, and a directory containing the workspace', async () => {
    const ws = await newWorkspace();
    // .git/dws/ (the workspace lock's directory) is dws's own and may appear.
    const gitFiles = () => readdirSync(join(ws, '.git'), { recursive: true }).map(String).filter((f) => !f.startsWith('dws')).sort();
    const inGit = gitFiles();
    await refused(ws, ['add', 'local-files', '--role', 'source-data', '.dataworkspace'], 2, "it is dws's metadata directory (.dataworkspace) or inside it");
    await refused(ws, ['add', 'local-files', '--role', 'source-data', '.git'], 2, "it is git's own directory (.git) or inside it");
    await refused(ws, ['add', 'local-files', '--role', 'source-data', '.git/objects'], 2, "git's own directory");
    await refused(ws, ['add', 'local-files', '--role', 'source-data', '.dataworkspace/snapshots'], 2, "dws's metadata directory");
    await refused(ws, ['add', 'git', '--role', 'code', '.dataworkspace'], 2, "dws's metadata directory");
    await refused(ws, ['add', 'local-files', '--role', 'source-data', '..'], 2, `it contains the workspace ${ws}`);
    expect(gitFiles()).toEqual(inGit); // no stray file inside .git either
  });
});

describe('paths made from settings stay inside (item 2)', () => {
  it('refuses templates and scratch directories that leave, on set', async () => {
    const ws = await newWorkspace(['--create-resources', 'results']);
    await refused(ws, ['config', 'results.dir_template', 'snapshots/../../code/x'], 1, "Results directory template 'snapshots/../../code/x' may not contain '..': results must stay inside their resource");
    await refused(ws, ['config', 'results.dir_template', 'snapshots/../../../escape'], 1, "may not contain '..'");
    await refused(ws, ['config', 'results.dir_template', 'snapshots//{TAG}'], 1, "may not contain '.' or empty path components");
    await refused(ws, ['config', 'scratch_directory', '../../../x'], 1, "Error in validation of configuration parameter 'scratch_directory': must stay inside the workspace");
    await refused(ws, ['config', 'scratch_directory', '.git/x'], 1, 'may not be in .dataworkspace or .git');
  });

  it('refuses a hand-edited hostname or template at snapshot time, before moving anything', async () => {
    const ws = await newWorkspace(['--create-resources', 'results']);
    writeFileSync(join(ws, 'results', 'results.json'), '{"metrics": {"a": 1}}');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    writeFileSync(join(ws, 'results', 'results.json'), '{"metrics": {"a": 2}}');
    const local = join(ws, '.dataworkspace', 'local_params.json');
    const saved = readFileSync(local, 'utf8');
    writeFileSync(local, saved.replace('"test"', '"../../../esc"'));
    await refused(ws, ['snapshot', 'v2'], 1, "Results directory 'snapshots/../../../esc-v2' (template 'snapshots/{HOSTNAME}-{TAG}' with hostname '../../../esc'");
    writeFileSync(local, saved);
    const config = join(ws, '.dataworkspace', 'config.json');
    const c = JSON.parse(readFileSync(config, 'utf8'));
    c.global_params['results.dir_template'] = 'snapshots/../../code/{TAG}';
    writeFileSync(config, JSON.stringify(c, null, 2));
    await refused(ws, ['snapshot', 'v3'], 1, "Results directory template 'snapshots/../../code/{TAG}' may not contain '..'");
  });
});

describe('content store settings stay out of the workspace (items 1-2)', () => {
  it('refuses a store.dir or store.remote in the workspace, a file, or with control characters; on set and on use', async () => {
    const ws = await newWorkspace(['--create-resources', 'code']);
    writeFileSync(join(ws, 'code', 'f'), 'x');
    await refused(ws, ['config', 'store.dir', '.dataworkspace/store'], 1, `Error in validation of configuration parameter 'store.dir': ${join(ws, '.dataworkspace', 'store')} is inside the workspace ${ws}`);
    await refused(ws, ['config', 'store.dir', join(ws, 'code', 's')], 1, 'is inside the workspace');
    await refused(ws, ['config', 'store.dir', '..'], 1, 'contains the workspace');
    await refused(ws, ['config', 'store.dir', 'code/f'], 1, `${join(ws, 'code', 'f')} exists and is not a directory`);
    await refused(ws, ['config', 'store.dir', '/tmp/a\nb'], 1, 'may not contain control characters');
    await refused(ws, ['config', 'store.remote', 'code/remote'], 1, "Error in validation of configuration parameter 'store.remote': the directory");
    await refused(ws, ['config', 'store.remote', 'a\tb'], 1, 'may not contain control characters'); // '' takes it away (store.test.ts)
    // The default store is in the git directory: a store.dir there is fine, and so is an rclone remote.
    await dwsOk(ws, ['--batch', 'config', 'store.dir', '.git/dws/other-store']);
    await dwsOk(ws, ['--batch', 'config', 'store.remote', 'remote:bucket/x']);
    // Hand-edited: named with the file at the next command that uses the store.
    const local = join(ws, '.dataworkspace', 'local_params.json');
    const lp = JSON.parse(readFileSync(local, 'utf8'));
    writeFileSync(local, JSON.stringify({ ...lp, 'store.dir': '.dataworkspace' }));
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'x'), 'x');
    await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', 'data']);
    await refused(ws, ['snapshot', 'v1'], 1, `${local}: "store.dir" (".dataworkspace") ${join(ws, '.dataworkspace')} is inside the workspace`);
  });
});

describe('resource names (item 3)', () => {
  it('refuses bad names on add', async () => {
    const ws = await newWorkspace();
    mkdirSync(join(ws, 'data'));
    const add = (name: string) => ['add', 'local-files', '--role', 'source-data', '--name', name, 'data'];
    await refused(ws, add('..'), 2, "Resource name '..' is not valid: it may not be '..'");
    await refused(ws, add('.'), 2, "it may not be '.'");
    await refused(ws, add('a/b'), 2, "it may not contain '/' or '\\'");
    await refused(ws, add('x'.repeat(300)), 2, 'it is 300 bytes long; the limit is 100 bytes of UTF-8');
    await refused(ws, add('bad\nname'), 2, "Resource name 'bad\\x0aname' is not valid: it may not contain control characters");
    await refused(ws, add('\x1b[31mred'), 2, "Resource name '\\x1b[31mred' is not valid");
    // The directory's own name, when no --name is given.
    mkdirSync(join(ws, 'two\nlines'));
    await refused(ws, ['add', 'local-files', '--role', 'source-data', 'two\nlines'], 2, 'from the directory name (give --name)');
  });

  it('refuses a hand-edited resources.json with a bad name, naming the file and the resource', async () => {
    const ws = await newWorkspace(['--create-resources', 'code']);
    const file = join(ws, '.dataworkspace', 'resources.json');
    const good = readFileSync(file, 'utf8');
    for (const [bad, problem] of [
      ['..', "it may not be '..'"],
      ['a\u001b[2Jb', 'it may not contain control characters'],
      ['y'.repeat(300), 'it is 300 bytes long'],
    ]) {
      writeFileSync(file, good.replace('"name": "code"', `"name": ${JSON.stringify(bad)}`));
      await refused(ws, ['status'], 1, `${file}: resource 1 (name "`);
      const r = await dws(ws, ['status']);
      expect(r.stderr).toContain(`has an invalid name: ${problem}`);
      expect(r.stderr).not.toContain('\u001b');
    }
  });
});

describe('unreadable metadata (item 4)', () => {
  it('names a deeply nested metadata file instead of overflowing the stack', async () => {
    const ws = await newWorkspace(['--create-resources', 'code']);
    for (const name of ['resources.json', 'config.json', 'local_params.json', 'resource_local_params.json']) {
      const file = join(ws, '.dataworkspace', name);
      const saved = readFileSync(file, 'utf8');
      writeFileSync(file, `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
      await refused(ws, ['status'], 1, `${file} is not valid JSON: Nested deeper than 512 levels of lists and objects at line 1 column 513`);
      writeFileSync(file, saved);
    }
  });

  it('restore of a tag names the corrupted snapshot metadata file', async () => {
    const ws = await newWorkspace(['--create-resources', 'code']);
    const hash = JSON.parse(await dwsOk(ws, ['--batch', '--json', 'snapshot', 'v0'])).hash as string;
    const file = join(ws, '.dataworkspace', 'snapshot_metadata', `${hash}_md.json`);
    for (const text of ['garbage', `{"hash": ${'['.repeat(5000)}`]) {
      writeFileSync(file, text);
      await refused(ws, ['restore', 'v0'], 1, `Snapshot for tag v0 not found, but a snapshot metadata file is unreadable: ${file} is not valid JSON`);
    }
  });
});

describe('a lock left by a killed git (item 7)', () => {
  it('clears index.lock and HEAD.lock left by a killed git when no git runs there, naming the file', async () => {
    const ws = await newWorkspace(['--create-resources', 'code']);
    for (const [name, tag] of [['index.lock', 'v1'], ['HEAD.lock', 'v2']] as const) {
      const lock = join(ws, '.git', name);
      writeFileSync(lock, ''); // what a SIGKILLed git leaves
      writeFileSync(join(ws, 'code', `${tag}.txt`), tag);
      const r = await dws(ws, ['--batch', 'snapshot', tag]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`Removed ${lock}: a git lock file left by a git that was killed`);
      expect(existsSync(lock)).toBe(false);
    }
    expect(await dwsOk(ws, ['--batch', 'report', 'history'])).toMatch(/v2[\s\S]*v1|v1[\s\S]*v2/);
  });
});
