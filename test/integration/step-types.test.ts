/**
 * Step files are typed in a user's workspace: after `dws init` (or `dws clone`), a real `tsc`
 * run on the workspace resolves `import { defineStep, z } from 'dataworkspaces'` (and from
 * 'dataworkspaces/step') and Node's
 * modules, and reports a step's type errors; installing packages there never gets
 * node_modules/ committed by a snapshot.
 */
import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, git, newWorkspace, REPO, TEST_ENV, tempDir } from '../helpers.js';

afterAll(cleanup);

const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

/** `tsc -p dir` as an editor's project check would do it: exit code and output. */
function tsc(dir: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, '-p', dir, '--pretty', 'false'], { cwd: dir, env: TEST_ENV }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, out: stdout + stderr });
    });
  });
}

const GOOD = `import { defineStep, z } from 'dataworkspaces';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const header = await Promise.resolve('n');

export default defineStep({
  name: 'count',
  params: z.object({ scale: z.number().default(2) }),
  inputs: { raw: 'source-data' },
  outputs: { counted: 'intermediate-data:/counted.txt' },
  async run({ params, inputs, outputs, log }) {
    const rows = (await readFile(join(inputs.raw, 'data.csv'), 'utf8')).trim().split('\\n').length;
    const scaled: number = rows * params.scale;
    await writeFile(outputs.counted, \`\${header}=\${scaled}\\n\`);
    log(\`counted \${rows}\`);
  },
});
`;

/** A step whose output path is used as a number, and an undeclared output: two type errors. */
const BAD = `import { defineStep } from 'dataworkspaces';

export default defineStep({
  name: 'bad',
  outputs: { out: 'results' },
  async run({ outputs }) {
    const n: number = outputs.out;
    void outputs.missing;
    void n;
  },
});
`;

describe('step files in a workspace made by dws init', () => {
  it('type-check with a real tsc: the package and Node resolve, and a wrong step is reported', async () => {
    const ws = await newWorkspace(['--create-resources', 'source-data,intermediate-data,code,results']);
    expect(readFileSync(join(ws, 'tsconfig.json'), 'utf8')).toContain('"moduleResolution": "bundler"');
    expect(git(ws, ['ls-files', 'tsconfig.json'])).toBe('tsconfig.json\n');
    expect(realpathSync(join(ws, 'node_modules', 'dataworkspaces'))).toBe(realpathSync(REPO));

    writeFileSync(join(ws, 'code', 'count.step.ts'), GOOD);
    const good = await tsc(ws);
    expect(good.out).toBe('');
    expect(good.code).toBe(0);
    // The same step importing the step API alone (the package's dataworkspaces/step) is typed the same.
    const lean = join(ws, 'code', 'count-lean.step.ts');
    writeFileSync(lean, GOOD.replace("from 'dataworkspaces'", "from 'dataworkspaces/step'"));
    expect(await tsc(ws)).toEqual({ code: 0, out: '' });
    rmSync(lean);

    writeFileSync(join(ws, 'code', 'bad.step.ts'), BAD);
    const bad = await tsc(ws);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe(
      "code/bad.step.ts(7,11): error TS2322: Type 'string' is not assignable to type 'number'.\n" +
        "code/bad.step.ts(8,18): error TS2339: Property 'missing' does not exist on type 'Record<\"out\", string>'.\n",
    );
  });

  it('the step that type-checks also runs', async () => {
    const ws = await newWorkspace(['--create-resources', 'source-data,intermediate-data,code']);
    writeFileSync(join(ws, 'source-data', 'data.csv'), 'a\n1\n2\n');
    writeFileSync(join(ws, 'code', 'count.step.ts'), GOOD);
    await dwsOk(ws, ['--batch', 'run', 'code/count.step.ts', '--no-snapshot']);
    expect(readFileSync(join(ws, 'intermediate-data', 'counted.txt'), 'utf8')).toBe('n=6\n');
  });

  it('ignores node_modules/: packages installed in the workspace are not committed by a snapshot', async () => {
    const ws = await newWorkspace(['--create-resources', 'code']);
    expect(readFileSync(join(ws, '.gitignore'), 'utf8').split('\n')).toContain('node_modules/');
    // What `npm install some-package` leaves, at the root and inside the code resource.
    for (const base of [ws, join(ws, 'code')]) {
      mkdirSync(join(base, 'node_modules', 'some-package'), { recursive: true });
      writeFileSync(join(base, 'node_modules', 'some-package', 'index.js'), 'export default 1;\n');
      writeFileSync(join(base, 'node_modules', '.package-lock.json'), '{}\n');
    }
    writeFileSync(join(ws, 'code', 'step.ts'), 'export {};\n');
    await dwsOk(ws, ['--batch', 'snapshot', 'v1']);
    const tracked = git(ws, ['ls-files']).split('\n');
    expect(tracked).toContain('code/step.ts');
    expect(tracked.filter((f) => f.includes('node_modules'))).toEqual([]);
    expect(git(ws, ['status', '--porcelain', '--ignored=no'])).toBe('');
  });

  it('keeps a tsconfig.json and an installed package that are already there', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'tsconfig.json'), '{ "compilerOptions": { "strict": false } }\n');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync('/nonexistent/dataworkspaces', join(dir, 'node_modules', 'dataworkspaces'));
    await dwsOk(dir, ['--batch', 'init', '--hostname', 'test']);
    expect(readFileSync(join(dir, 'tsconfig.json'), 'utf8')).toBe('{ "compilerOptions": { "strict": false } }\n');
    expect(readlinkSync(join(dir, 'node_modules', 'dataworkspaces'))).toBe('/nonexistent/dataworkspaces');
    expect(git(dir, ['status', '--porcelain'])).toBe('');
  });
});

describe('step files in a cloned workspace', () => {
  it('the clone gets the link; a workspace that does not ignore node_modules/ gets none, and says why', async () => {
    const ws = await newWorkspace(['--create-resources', 'code']);
    const base = tempDir();
    const origin = join(base, 'ws.git');
    git(base, ['init', '--quiet', '--bare', origin]);
    await dwsOk(ws, ['--batch', 'publish', origin]);
    const copy = join(base, 'copy');
    await dwsOk(base, ['--batch', 'clone', '--hostname', 'other', origin, copy]);
    expect(realpathSync(join(copy, 'node_modules', 'dataworkspaces'))).toBe(realpathSync(REPO));
    writeFileSync(join(copy, 'code', 'count.step.ts'), GOOD);
    expect(await tsc(copy)).toEqual({ code: 0, out: '' });

    // As a workspace made by dws 1.6 would be: its .gitignore has no node_modules/ (nor the link).
    rmSync(join(ws, 'node_modules'), { recursive: true });
    writeFileSync(join(ws, '.gitignore'), '/scratch\n.ipynb_checkpoints/\n.~*\n');
    git(ws, ['commit', '--quiet', '-am', 'as 1.6 writes it']);
    await dwsOk(ws, ['--batch', 'push']);
    const old = join(base, 'old');
    const r = await dws(base, ['--batch', 'clone', '--hostname', 'other', origin, old]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'Not linking node_modules/dataworkspaces (types for step files): git does not ignore node_modules/ here; add node_modules/ to .gitignore first',
    );
    expect(() => lstatSync(join(old, 'node_modules'))).toThrow();
    expect(git(old, ['status', '--porcelain'])).toBe('');
  });
});
