/**
 * Step files type-check in a user's workspace (docs/runner.md "Step files in an editor"): `dws init`
 * writes a tsconfig.json that matches how the runner loads steps (esbuild bundles each step
 * file as an ES module, so: module "preserve", bundler resolution), and `init` and `clone` link
 * `node_modules/dataworkspaces` to the running dws, so `import { defineStep } from
 * 'dataworkspaces'` resolves in an editor (and in `tsc`) to the same package the runner uses.
 * The link is machine-local: it is made only where git ignores it, so no snapshot commits it.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from '../context.js';
import { atomicWriteFile } from './files.js';
import type { Git } from './git.js';

/** The package name step files import (package.json "name"). */
const PACKAGE = 'dataworkspaces';

/**
 * The tsconfig.json `dws init` writes when the directory has none. `skipLibCheck` because the
 * user's editor should report the user's code, not the libraries'.
 */
export const STEP_TSCONFIG = `{
  "compilerOptions": {
    "target": "ES2022",
    "module": "preserve",
    "moduleResolution": "bundler",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true
  }
}
`;

/** The root of the running dws package (the directory of its package.json), or null if not found. */
export function dwsPackageRoot(): string | null {
  // Bundled (dist/dws.js, dist/chunks/…) or from source (server/workspace/): walk up.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE) return dir;
      } catch {
        // an unreadable package.json on the way up is not ours
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** Write `tsconfig.json` into `dir` unless one is there. Returns true if written. */
export function writeStepTsconfig(dir: string): boolean {
  const file = join(dir, 'tsconfig.json');
  if (existsSync(file)) return false;
  atomicWriteFile(file, STEP_TSCONFIG);
  return true;
}

/**
 * Link `dir/node_modules/dataworkspaces` to the running dws, unless something is there already
 * (the user installed the package) or git would not ignore it. Returns what happened, for the log.
 */
export async function linkStepTypes(ctx: Pick<Context, 'log'>, git: Git, dir: string): Promise<'linked' | 'present' | 'not-ignored' | 'no-package'> {
  const link = join(dir, 'node_modules', PACKAGE);
  if (lstatSafe(link)) return 'present';
  // A workspace whose .gitignore lacks node_modules/ (made by 1.6, or edited) would commit the link.
  if (!(await git.succeeds(['check-ignore', '--quiet', '--no-index', `node_modules/${PACKAGE}`]))) {
    ctx.log.info(`Not linking node_modules/${PACKAGE} (types for step files): git does not ignore node_modules/ here; add node_modules/ to .gitignore first`);
    return 'not-ignored';
  }
  const root = dwsPackageRoot();
  if (root === null) return 'no-package';
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(root, link, 'dir');
  ctx.log.debug(`Linked node_modules/${PACKAGE} to ${root}, so step files type-check in an editor`);
  return 'linked';
}

function lstatSafe(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
