/**
 * The docs tell the truth: their generated parts match the code, their links lead somewhere, and
 * the README's tour prints what it shows (the rest of the examples: npm run docs:check).
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setupCommands } from '../../docs/tools/cli.js';
import { describe as describeFailure, matches, normalize, parseExamples, runSession } from '../../docs/tools/examples.js';
import { generateDocs } from '../../docs/tools/generate.js';
import { brokenLinks } from '../../docs/tools/links.js';
import { cleanup, REPO, tempDir } from '../helpers.js';

afterAll(cleanup);

describe('generated parts of the docs', () => {
  it('are up to date with protocol/ and the CLI', () => {
    const stale = generateDocs(REPO, false);
    if (stale.length > 0) throw new Error(`The generated parts of ${stale.join(', ')} do not match the code: run npm run docs:gen`);
  });

  it('are found stale when a method row is missing, and rewritten by the generator', () => {
    const copy = tempDir();
    cpSync(join(REPO, 'docs'), join(copy, 'docs'), { recursive: true });
    const file = join(copy, 'docs', 'protocol.md');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^\| `dws\/snapshot` .*\n/m, ''));
    expect(generateDocs(copy, false)).toEqual(['docs/protocol.md']);
    expect(generateDocs(copy, true)).toEqual(['docs/protocol.md']);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(join(REPO, 'docs', 'protocol.md'), 'utf8'));
  });
});

describe('links in README.md and docs/', () => {
  it('all lead to an existing file and heading', () => {
    expect(brokenLinks(REPO)).toEqual([]);
  });

  it('are reported when a file or a heading is missing', () => {
    const copy = tempDir();
    mkdirSync(join(copy, 'docs'));
    writeFileSync(join(copy, 'docs', 'a.md'), '# A\n\n## The `x` part\n\n```\n[in code](nowhere.md)\n```\n');
    writeFileSync(join(copy, 'README.md'), '[ok](docs/a.md#the-x-part) [gone](docs/b.md) [no heading](docs/a.md#nope) [web](https://example.org/x)\n');
    expect(brokenLinks(copy)).toEqual([
      'README.md:1: link to docs/b.md: docs/b.md does not exist',
      "README.md:1: link to docs/a.md#nope: docs/a.md has no heading or <a id> 'nope'",
    ]);
  });
});

describe('examples', () => {
  it("README's set-up block holds the two commands docs:newcomer runs in a fresh clone", () => {
    expect(setupCommands(readFileSync(join(REPO, 'README.md'), 'utf8'))).toEqual(['npm install && npx dws demo', 'npm test']);
  });

  it("README's tour prints what the README shows", async () => {
    const session = parseExamples('README.md', readFileSync(join(REPO, 'README.md'), 'utf8'));
    expect(session.commands.length).toBeGreaterThan(10);
    const outcomes = await runSession(session, REPO);
    const failures = outcomes.filter((o) => !o.ok).map((o) => describeFailure('README.md', o));
    expect(failures.join('\n\n')).toBe('');
    // Sixteen commands, two of them pipeline runs: ~30 s alone on this busy two-core machine, more beside other test files.
  }, 180_000);

  it('a wrong output, or a failing command that hides its status, is reported', async () => {
    const md = ['```console', '$ echo hello', 'goodbye', '$ false', '$ false; echo "exit $?"', 'exit 1', '$ printf "a\\nb\\nc\\n"', 'a', '...', 'c', '```'].join('\n');
    const outcomes = await runSession(parseExamples('t.md', md), REPO);
    expect(outcomes.map((o) => [o.command.text, o.ok, o.why ?? null])).toEqual([
      ['echo hello', false, 'output differs'],
      ['false', false, 'exited 1 (show a failing command\'s status with `; echo "exit $?"`)'],
      ['false; echo "exit $?"', true, null],
      ['printf "a\\nb\\nc\\n"', true, null],
    ]);
  });

  it('normalizes only what varies: home, hashes, times, durations, alignment', () => {
    const home = '/tmp/dd-Ab12Cd';
    const printed = `Took snapshot 40674ae00c0f4fd78aff0ecea8b3b3babc832bba at 2026-12-06T02:40:55.123 in ${home}/tour\n| c375179 |   3 |\n|_________|_____|\n[fit] done in 2.6 s\n`;
    expect(normalize(printed, home)).toEqual(['Took snapshot <hash> at <time> in ~/tour', '| <hash> | 3 |', '|_|_|', '[fit] done in <duration>']);
    expect(matches(['a', '...', 'd'], ['a', 'b', 'c', 'd'])).toBe(true);
    expect(matches(['a', '...', 'd'], ['a', 'b', 'c'])).toBe(false);
    expect(matches(['x 3'], ['x 4'])).toBe(false);
  });
});
