/** Shared test helpers: temporary directories, running the built `dws` as a real process, and disk fingerprints. */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type DwsClient } from '../clients/node/index.js';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const DWS = join(REPO, 'dist', 'dws.js');
/** The workspace made by Python dws 1.6 and its recorded outputs (its README says how it was made). */
export const FIXTURE = join(REPO, 'test', 'fixtures', 'python-dws-1.6');

/**
 * Extract the fixture's `workspace.tar.gz` into `dir` (giving `dir/python-workspace`). A missing
 * tarball or `tar` binary is reported as such, not as a bare ENOENT from child_process.
 */
export function extractFixture(dir: string): string {
  const tarball = join(FIXTURE, 'workspace.tar.gz');
  if (!existsSync(tarball)) throw new Error(`The Python dws 1.6 fixture is missing: ${tarball} does not exist (it is part of the repository; is the checkout complete?)`);
  try {
    execFileSync('tar', ['-xzf', tarball, '-C', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw new Error('The tests need `tar` on PATH to extract the Python dws 1.6 fixture (install it: apt-get install tar)');
    throw new Error(`Could not extract ${tarball} into ${dir}: ${err.stderr?.toString().trim() || err.message}`);
  }
  return join(dir, 'python-workspace');
}

/**
 * The absolute path of an executable found on PATH, or a clear error naming the package to
 * install (tests that need Chromium, Neovim or rclone call this rather than assume a fixed path).
 */
export function requireOnPath(names: string[], install: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not here, or not executable: keep looking
      }
    }
  }
  throw new Error(`This test needs ${names.join(' or ')} on PATH; none was found. Install it (${install}; .ci/run does it).`);
}

/** The data a `dws report plots` page carries in its `plots-data` script element. */
export function plotsPageData(html: string): unknown {
  const m = /<script type="application\/json" id="plots-data">(.*?)<\/script>/s.exec(html);
  if (!m) throw new Error('The page has no plots-data element');
  return JSON.parse(m[1]!);
}

/** A fresh temporary directory, removed by `cleanup()`. */
const made: string[] = [];
export function tempDir(prefix = 'dws-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
/**
 * Close the servers and remove the temp dirs. A file's dirs can hold gigabytes (store.test.ts
 * leaves ~2 GB in ~37,000 files): removing them took over a minute on CI's disk while the other
 * worker wrote, past the hook's timeout. So they are moved (a rename each) into one trash dir,
 * which a detached `rm -rf` removes while the next tests run.
 */
export function cleanup(): void {
  for (const c of servers.splice(0)) c.close();
  const dirs = made.splice(0);
  if (dirs.length === 0) return;
  const trash = mkdtempSync(join(tmpdir(), 'dws-test-trash-'));
  dirs.forEach((d, i) => {
    try {
      renameSync(d, join(trash, String(i)));
    } catch {
      rmSync(d, { recursive: true, force: true }); // a mount point (EBUSY) or gone already
    }
  });
  spawn('rm', ['-rf', trash], { detached: true, stdio: 'ignore' }).unref();
}

/** A real `dws server --stdio` for the workspace at (or above) `cwd`, connected; closed by `cleanup()`. */
const servers: DwsClient[] = [];
export async function stdioServer(cwd: string): Promise<DwsClient> {
  const c = await connect({ cwd, command: [process.execPath, DWS], env: TEST_ENV });
  servers.push(c);
  return c;
}

/**
 * Environment for git and dws in tests: a fixed identity, no user config, UTC (and no extra CA
 * bundle: vitest.config.ts removes NODE_EXTRA_CA_CERTS for every test process).
 */
export const TEST_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_GLOBAL: join(REPO, 'test', 'gitconfig'),
  GIT_CONFIG_NOSYSTEM: '1',
  TZ: 'UTC',
};

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the built dws in `cwd`; `input` is written to its stdin (which is then closed). `user`: as
 * that user, through runuser (the test must run as root; it sets HOME to the user's).
 */
export function dws(cwd: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; user?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, DWS, ...args];
    const [exe, ...rest] = options.user === undefined ? command : ['runuser', '-u', options.user, '--', ...command];
    const child = spawn(exe!, rest, { cwd, env: options.env ?? TEST_ENV });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Run dws and fail the test with its output unless it exits 0. */
export async function dwsOk(cwd: string, args: string[]): Promise<string> {
  const r = await dws(cwd, args);
  if (r.code !== 0) throw new Error(`dws ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

export function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, env: TEST_ENV, encoding: 'utf8' });
}

/** Write `file` in `repo` and commit it. */
export function commitIn(repo: string, file: string, content: string): void {
  writeFileSync(join(repo, file), content);
  git(repo, ['add', '.']);
  git(repo, ['commit', '--quiet', '-m', `edit ${file}`]);
}

/**
 * A new git repository `parent/name` with one commit (`file`), pushed to a new bare origin
 * `origin`. Returns the repository's path.
 */
export function repoWithOrigin(parent: string, name: string, origin: string, file: string, content: string): string {
  git(parent, ['init', '--quiet', '--bare', origin]);
  const repo = join(parent, name);
  git(parent, ['init', '--quiet', name]);
  git(repo, ['remote', 'add', 'origin', origin]);
  commitIn(repo, file, content);
  git(repo, ['push', '--quiet', 'origin', 'master']);
  return repo;
}

export const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

/** The relative paths of the files below `dir`, sorted. */
export const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();

/** Commit subjects, newest first. */
export function gitLog(cwd: string): string[] {
  return git(cwd, ['log', '--format=%s']).trim().split('\n');
}

/**
 * Everything a command could change: every file's path, mode and content hash (the `.git`
 * directory excluded), plus the HEAD commit and `git status`. Equal fingerprints = nothing changed.
 */
export function fingerprint(dir: string): string {
  const lines: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (r === '.git') continue;
      const st = lstatSync(join(dir, r));
      if (st.isDirectory()) {
        lines.push(`d ${(st.mode & 0o777).toString(8)} ${r}`);
        walk(r);
      } else if (st.isSymbolicLink()) {
        lines.push(`l ${r} -> ${readlinkSync(join(dir, r))}`);
      } else {
        lines.push(`f ${(st.mode & 0o777).toString(8)} ${createHash('sha1').update(readFileSync(join(dir, r))).digest('hex')} ${r}`);
      }
    }
  };
  walk('');
  let head = '(no commits)';
  try {
    head = git(dir, ['rev-parse', 'HEAD']).trim();
  } catch {
    // not a repository yet
  }
  return [`HEAD ${head}`, `status ${git(dir, ['status', '--porcelain', '--untracked-files=all'])}`, ...lines].join('\n');
}

/** The directory name of every workspace `newWorkspace` makes (and so its workspace name). */
const WORKSPACE_DIR = 'ws';

/**
 * Per init arguments, a workspace made by a real `dws init` once per test file (per process),
 * which `newWorkspace` copies: an init costs a dws and ~10 git processes, a copy none.
 */
const templates = new Map<string, Promise<string>>();

/**
 * A new workspace `<temp dir>/ws`, as `dws --batch init --hostname test ...args` makes it: a copy
 * of this process's template for these args, whose only path-dependent file (the absolute paths
 * in .dataworkspace/resource_local_params.json) is rewritten for its new place.
 */
export async function newWorkspace(args: string[] = []): Promise<string> {
  const initArgs = ['--batch', 'init', '--hostname', 'test', ...args];
  const key = JSON.stringify(initArgs);
  let template = templates.get(key);
  // cleanup() removes the templates with every other temp dir: make it again after that.
  if (!template || !existsSync(await template)) {
    template = (async () => {
      const dir = join(tempDir('dws-template-'), WORKSPACE_DIR);
      mkdirSync(dir);
      await dwsOk(dir, initArgs);
      return dir;
    })();
    templates.set(key, template);
  }
  const from = await template;
  const dir = join(tempDir(), WORKSPACE_DIR);
  cpSync(from, dir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  const local = join(dir, '.dataworkspace', 'resource_local_params.json');
  const escaped = (path: string) => JSON.stringify(path).slice(1, -1);
  writeFileSync(local, readFileSync(local, 'utf8').replaceAll(escaped(from), escaped(dir)));
  return dir;
}
