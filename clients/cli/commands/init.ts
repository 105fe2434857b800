/** `dws init [NAME]` */
import type { Command } from 'commander';
import { ROLES, type Role } from '../../../protocol/index.js';
import { parseRole } from '../../../server/workspace/names.js';
import { InvalidArgumentError } from 'commander';
import { invoke, withJson } from '../cli.js';

function rolesList(value: string): Role[] {
  if (value.toLowerCase() === 'all') return [...ROLES];
  return value.split(',').map((v) => {
    const r = parseRole(v);
    if (!r) throw new InvalidArgumentError(`Invalid resource role '${v}'. Must be one of: ${ROLES.join(', ')}, all`);
    return r;
  });
}

export function register(program: Command): void {
  withJson(program.command('init'))
    .description('Make the current directory a data workspace (runs git init if needed)')
    .argument('[NAME]', 'workspace name (default: the directory name)')
    .option('--hostname <NAME>', "this machine's name in snapshot directory paths (default: short hostname)")
    .option('--create-resources <ROLES>', 'create a git-subdirectory resource for each role: comma list of source-data, intermediate-data, code, results (or s,i,c,r), or all', rolesList)
    .option('--scratch-directory <DIR>', 'local work directory, git-ignored (default: ./scratch)')
    .option('--git-lfs-attributes <PATTERNS>', 'comma list of patterns to store with git-lfs', (v: string) => v.split(','))
    .action(async (name: string | undefined, o: { hostname?: string; createResources?: Role[]; scratchDirectory?: string; gitLfsAttributes?: string[] }, cmd: Command) => {
      await invoke(cmd, 'dws/init', { name, hostname: o.hostname, createResources: o.createResources ?? [], scratchDirectory: o.scratchDirectory, gitLfsAttributes: o.gitLfsAttributes }, (r) => `Workspace ${r.name} initialized successfully.\n`);
    });
}
