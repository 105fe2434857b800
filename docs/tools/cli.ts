/**
 * The docs tools (run through docs/tools/run.mjs):
 *   gen                      rewrite the generated parts of the docs (npm run docs:gen)
 *   check [--raw] [FILE...]  generated parts fresh, links whole, every example's output as shown (npm run docs:check)
 *   newcomer [--npm-test]    what a newcomer does: a fresh clone, README's set-up, the tour (npm run docs:newcomer)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, parseExamples, runSession } from './examples.js';
import { generateDocs } from './generate.js';
import { brokenLinks, docFiles } from './links.js';

const REPO = process.cwd();

export async function main(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === 'gen') {
    const changed = generateDocs(REPO, true);
    console.log(changed.length === 0 ? 'The generated parts of the docs were up to date.' : `Rewrote the generated parts of ${changed.join(', ')}.`);
    return 0;
  }
  if (what === 'check') return check(rest.filter((a) => a !== '--raw'), rest.includes('--raw'));
  if (what === 'newcomer') return newcomer(rest.includes('--npm-test'));
  console.error('usage: node docs/tools/run.mjs gen | check [--raw] [FILE...] | newcomer [--npm-test]');
  return 2;
}

async function check(only: string[], raw: boolean): Promise<number> {
  if (!existsSync(join(REPO, 'dist', 'dws.js'))) {
    console.error('dist/dws.js is missing: run npm run build first');
    return 1;
  }
  let failed = 0;
  const stale = generateDocs(REPO, false);
  if (stale.length > 0) {
    console.error(`Generated parts are stale in ${stale.join(', ')}: run npm run docs:gen`);
    failed++;
  }
  const broken = brokenLinks(REPO);
  for (const b of broken) console.error(b);
  failed += broken.length;
  // Two files at a time (the machine has two cores); each file's report is printed whole.
  const files = only.length > 0 ? only : docFiles(REPO);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      const report = await checkExamples(REPO, file, raw);
      if (report.out.length > 0) console.log(report.out.join('\n'));
      if (report.err.length > 0) console.error(report.err.join('\n'));
      if (!report.ok) failed++;
    }
  };
  await Promise.all([worker(), worker()]);
  console.log(failed === 0 ? 'docs:check passed.' : `docs:check: ${failed} problem(s).`);
  return failed === 0 ? 0 : 1;
}

/** Run one file's examples against `repo`'s dws: a line per file and every failure. */
async function checkExamples(repo: string, file: string, raw: boolean): Promise<{ ok: boolean; out: string[]; err: string[] }> {
  const session = parseExamples(file, readFileSync(join(REPO, file), 'utf8'));
  const out = session.skipped.map((s) => `${file}:${s.line}: not run: ${s.reason}`);
  if (session.commands.length === 0) return { ok: true, out, err: [] };
  const started = Date.now();
  const outcomes = await runSession(session, repo);
  const bad = outcomes.filter((o) => !o.ok);
  const hidden = session.commands.filter((c) => c.expected === null).length;
  out.push(`${file}: ${outcomes.length - bad.length}/${outcomes.length} commands as shown (${hidden} of them hidden set-up), ${session.skipped.length} blocks not run, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { ok: bad.length === 0, out, err: bad.map((o) => describe(file, o, raw)) };
}

/**
 * The newcomer's path: clone this repository's HEAD into an empty directory, run the README's
 * set-up block (without `npm test` unless asked: it is the whole suite), then the README's
 * examples against the clone's own build.
 */
async function newcomer(npmTest: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'dws-newcomer-'));
  const clone = join(dir, 'dws');
  const started = Date.now();
  const step = (label: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${label}`);
  try {
    step(`git clone ${REPO} ${clone} (HEAD: committed work only)`);
    execFileSync('git', ['clone', '--quiet', REPO, clone], { stdio: 'inherit' });
    for (const command of setupCommands(readFileSync(join(clone, 'README.md'), 'utf8'))) {
      if (/^npm test\b/.test(command) && !npmTest) {
        step(`skipped: ${command} (the whole suite; --npm-test runs it)`);
        continue;
      }
      step(command);
      execFileSync('bash', ['-c', command], { cwd: clone, stdio: 'inherit', env: { ...process.env, GIT_CONFIG_GLOBAL: join(clone, 'test', 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1', TZ: 'UTC' } });
    }
    step('README.md examples, run by the clone\'s dws');
    const session = parseExamples('README.md', readFileSync(join(clone, 'README.md'), 'utf8'));
    const outcomes = await runSession(session, clone);
    const bad = outcomes.filter((o) => !o.ok);
    for (const o of bad) console.error(describe('README.md', o));
    const status = execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' });
    if (status !== '') console.error(`git status in the clone is not clean after the set-up:\n${status}`);
    step(`${outcomes.length - bad.length}/${outcomes.length} README commands as shown; git status ${status === '' ? 'clean' : 'NOT clean'}`);
    return bad.length === 0 && status === '' ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The commands of the README's set-up block (the `sh` block after `<!-- docs-check: setup -->`), comments dropped. */
export function setupCommands(readme: string): string[] {
  const at = readme.indexOf('<!-- docs-check: setup -->');
  if (at < 0) throw new Error("README.md has no '<!-- docs-check: setup -->' before its set-up block");
  const block = /```sh\n([\s\S]*?)\n```/.exec(readme.slice(at));
  if (!block) throw new Error("README.md: no ```sh block after '<!-- docs-check: setup -->'");
  return block[1]!
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '');
}
