/**
 * `dws/init`: turn a directory into a workspace (cli.md `init`, workspace-format §3-4, §11-12).
 * Everything that can be refused is checked before the first file is written.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigurationError, ConflictError, InvalidParamsError, NotFoundError } from '../../protocol/errors.js';
import type { init as Init, ValidParamsOf, ResultOf, Role } from '../../protocol/index.js';
import { needPrompter, type Context } from '../context.js';
import { ensureGitignoreEntry } from '../backends/git/gitignore.js';
import { atomicWriteFile, writeJsonFile } from '../workspace/files.js';
import { Git } from '../workspace/git.js';
import { linkStepTypes, writeStepTsconfig } from '../workspace/step-types.js';
import { hostnameLengthProblem, isValidHostname, NAME_RULE, printable, shortHostname } from '../workspace/names.js';
import { isWithin, relativePosix } from '../workspace/paths.js';
import { DEFAULT_DIR_TEMPLATE, DEFAULT_MOVE_EXCLUDE_FILES, META_DIR, Workspace } from '../workspace/workspace.js';
import { FORMAT_VERSION } from './version.js';
import { createSubdirectory, registerGitSubdirectory } from './add-git.js';

export async function init(ctx: Context, p: ValidParamsOf<typeof Init>): Promise<ResultOf<typeof Init>> {
  const dir = resolve(ctx.cwd, p.directory ?? '.');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new NotFoundError(`Directory '${dir}' does not exist`, { path: dir });
  if (existsSync(join(dir, META_DIR))) {
    throw new ConflictError(`Found ${META_DIR} directory under ${dir}. Has this workspace already been initialized?`, { path: dir });
  }
  const name = p.name ?? basename(dir);
  const git = new Git(dir, ctx);
  await checkGitIdentity(ctx, git);
  const hostname = await chooseHostname(ctx, p.hostname);
  const scratch = scratchSettings(dir, resolve(ctx.cwd, p.scratchDirectory ?? join(dir, 'scratch')));
  if (p.gitLfsAttributes?.length && !(await new Git(dir, ctx).succeeds(['lfs', 'version']))) {
    throw new ConfigurationError('--git-lfs-attributes needs git-lfs, which was not found. Install it (Debian: apt-get install git-lfs) and try again.');
  }

  // Checks are done: from here on we write.
  const meta = join(dir, META_DIR);
  mkdirSync(join(meta, 'snapshots'), { recursive: true });
  mkdirSync(join(meta, 'snapshot_metadata'), { recursive: true });
  mkdirSync(join(meta, 'current_lineage'), { recursive: true });
  const alreadyGitRepo = existsSync(join(dir, '.git'));
  if (alreadyGitRepo) ctx.log.info(`${dir} is already a git repository, will just add to it`);
  else await git.run(['init', '--quiet']);
  writeJsonFile(join(meta, 'resources.json'), []);
  writeJsonFile(join(meta, 'local_params.json'), {
    hostname,
    ...(scratch.localScratchDirectory !== undefined ? { local_scratch_directory: scratch.localScratchDirectory } : {}),
  });
  writeJsonFile(join(meta, 'resource_local_params.json'), {});
  atomicWriteFile(join(meta, '.gitignore'), 'local_params.json\nresource_local_params.json\ncurrent_lineage/\n');
  const rootIgnore = join(dir, '.gitignore');
  if (scratch.scratchDirectory !== undefined) ensureGitignoreEntry(rootIgnore, `/${scratch.scratchDirectory}`);
  ensureGitignoreEntry(rootIgnore, '.ipynb_checkpoints/');
  ensureGitignoreEntry(rootIgnore, '.~*');
  // Not in 1.6: step files import the dws package; installing it (or the link below) must not
  // get node_modules/ committed by the next snapshot. A tsconfig.json makes them type-check.
  ensureGitignoreEntry(rootIgnore, 'node_modules/');
  writeStepTsconfig(dir);
  // Only what dws made (1.6 staged the whole directory, data included: spec workspace-format §15).
  await git.commitAll('dws init', [META_DIR, '.gitignore', 'tsconfig.json']);
  await linkStepTypes(ctx, git, dir);

  const branch = await git.currentBranch();
  writeJsonFile(join(meta, 'config.json'), {
    name,
    'dws-version': FORMAT_VERSION,
    global_params: {
      'results.dir_template': DEFAULT_DIR_TEMPLATE,
      'results.move_exclude_files': DEFAULT_MOVE_EXCLUDE_FILES,
      ...(scratch.scratchDirectory !== undefined ? { scratch_directory: scratch.scratchDirectory } : {}),
      dws_git_branch: branch,
    },
  });
  await git.commitAll('dws init (config.json)', [META_DIR, '.gitignore']);
  mkdirSync(scratch.path, { recursive: true });

  if (p.gitLfsAttributes?.length) {
    await git.run(['lfs', 'install', '--local']);
    for (const pattern of p.gitLfsAttributes) await git.run(['lfs', 'track', pattern]);
    await git.commitAll('added git-lfs attributes', '.gitattributes');
  }

  const createdResources: ResultOf<typeof Init>['createdResources'] = [];
  if (p.createResources.length > 0) {
    ctx.log.info(`Will now create sub-directory resources for ${p.createResources.join(', ')}`);
    const ws = Workspace.load(ctx, dir);
    for (const role of p.createResources as Role[]) {
      const createdDirectory = !existsSync(join(dir, role));
      if (createdDirectory) await createSubdirectory(ws, role, role);
      registerGitSubdirectory(ws, { name: role, role, relativePath: role, export: false });
      createdResources.push({ name: role, relativePath: role, createdDirectory });
    }
    ctx.log.info('Finished initializing resources:');
    for (const r of createdResources) ctx.log.info(`  ${r.name}: ./${r.relativePath}`);
    await ws.commit('workspace initialization');
  }
  await noteUntracked(ctx, git);
  return { workspaceDir: dir, name, hostname, alreadyGitRepo, createdResources };
}

/** Files dws did not commit at init: say so once, with what to do (1.6 committed them all). */
async function noteUntracked(ctx: Context, git: Git): Promise<void> {
  const left = (await git.status(undefined, 'normal')).filter((e) => e.index === '?').map((e) => e.path);
  if (left.length === 0) return;
  const shown = left.slice(0, 5).join(', ') + (left.length > 5 ? `, ... (${left.length} in all)` : '');
  ctx.log.info(
    `Not committed to git: ${shown}. dws commits only its own metadata and git-subdirectory resources; add data folders as resources ('${ctx.command('dws/add/local-files', { path: 'DIR' })}') and commit code yourself ('git add'), or add them to .gitignore.`,
  );
}

export async function checkGitIdentity(ctx: Context, git: Git): Promise<void> {
  const missing: string[] = [];
  for (const key of ['user.name', 'user.email']) {
    if (!(await git.succeeds(['config', key]))) missing.push(key);
  }
  if (missing.length === 0) return;
  if (!ctx.prompter) {
    throw new ConfigurationError(
      `Git is not fully configured, need to set the Git config parameter${missing.length > 1 ? 's' : ''} ${missing.join(' and ')} before running (git config --global ${missing[0]} VALUE).`,
      { missing },
    );
  }
  for (const key of missing) {
    const value = await ctx.prompter.text(`Please enter your git ${key}`, { validate: (a) => (a.trim() ? null : 'A value is required') });
    await git.run(['config', '--global', key, value]);
  }
}

export async function chooseHostname(ctx: Context, given: string | undefined): Promise<string> {
  const check = (h: string) => {
    // Shown as printable() shows it (cut at 80 characters), as every long name in a message.
    if (!isValidHostname(h)) return `Hostname '${printable(h)}' is not valid: it ${NAME_RULE}`;
    const tooLong = hostnameLengthProblem(h);
    return tooLong === null ? null : `Hostname '${printable(h)}' is not valid: ${tooLong}`;
  };
  if (given !== undefined) {
    const problem = check(given);
    if (problem) throw new InvalidParamsError(problem, { hostname: given });
    return given;
  }
  const fallback = shortHostname(osHostname());
  if (!ctx.prompter) return fallback;
  return needPrompter(ctx, ctx.option('hostname')).text('What name do you want to use for this machine in snapshot directory paths?', {
    default: fallback,
    validate: check,
  });
}

/** Where the scratch directory goes: inside the workspace (committed setting) or outside (local setting). */
function scratchSettings(ws: string, scratch: string): { path: string; scratchDirectory?: string; localScratchDirectory?: string } {
  if (scratch === ws) {
    throw new ConfigurationError(
      'Scratch directory cannot be equal to workspace directory. It should either be a subdirectory or completely outside it.',
      { scratchDirectory: scratch },
    );
  }
  // It may not exist yet; its first existing ancestor must be a writable directory.
  let ancestor = scratch;
  while (!existsSync(ancestor)) ancestor = dirname(ancestor);
  try {
    if (!statSync(ancestor).isDirectory()) throw new Error('not a directory');
    accessSync(ancestor, constants.W_OK);
  } catch {
    throw new InvalidParamsError(`Scratch directory ${scratch} cannot be created: ${ancestor} is not a writable directory`, { scratchDirectory: scratch });
  }
  return isWithin(scratch, ws) ? { path: scratch, scratchDirectory: relativePosix(ws, scratch) } : { path: scratch, localScratchDirectory: scratch };
}
