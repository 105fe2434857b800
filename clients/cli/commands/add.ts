/** `dws add git|local-files ...`: one sub-command per resource type. */
import type { Command } from 'commander';
import type { Role } from '../../../protocol/index.js';
import { invoke, roleOption, withJson } from '../cli.js';

interface Common {
  role?: Role;
  name?: string;
  export?: boolean;
  imported?: boolean;
  workspaceDir?: string;
}

const added = (r: { name: string }) => `Successfully added resource '${r.name}' to workspace.\n`;

function common(cmd: Command): Command {
  return withJson(cmd)
    .option('--role <ROLE>', 'source-data, intermediate-data, code or results (s, i, c, r)', roleOption)
    .option('--name <NAME>', 'short unique name (default: from the path)')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)');
}

/** `--workspace-dir` may be given to `add` or to the sub-command. */
function workspaceDir(cmd: Command, o: Common): string | undefined {
  return o.workspaceDir ?? (cmd.parent?.opts() as Common).workspaceDir;
}

export function register(program: Command): void {
  const add = program
    .command('add')
    .description('Add a resource to the workspace')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)');

  common(add.command('git'))
    .description('Add a local git repository, or a directory of the workspace repository (git-subdirectory)')
    .argument('<PATH>', 'local path of the repository or directory')
    .option('--branch <BRANCH>', 'branch to use (default: the current one)')
    .option('-r, --read-only', 'never push this repository')
    .option('-e, --export', "export this resource's lineage for other workspaces")
    .option('--imported', 'the resource was exported by another workspace: import its lineage (implies --read-only)')
    .action(async (path: string, o: Common & { branch?: string; readOnly?: boolean }, cmd: Command) => {
      await invoke(
        cmd,
        'dws/add/git',
        { path, role: o.role, name: o.name, branch: o.branch, readOnly: o.readOnly ?? false, export: o.export ?? false, imported: o.imported ?? false, workspaceDir: workspaceDir(cmd, o) },
        added,
      );
    });

  common(add.command('local-files'))
    .description('Add a local directory, recorded by a hash tree at each snapshot')
    .argument('<PATH>', 'the directory')
    .option('--compute-hash', 'hash file contents (SHA-1); default: record file sizes only')
    .option('-e, --export', "export this resource's lineage for other workspaces")
    .option('--imported', 'the resource was exported by another workspace: import its lineage')
    .action(async (path: string, o: Common & { computeHash?: boolean }, cmd: Command) => {
      await invoke(
        cmd,
        'dws/add/local-files',
        { path, role: o.role, name: o.name, computeHash: o.computeHash ?? false, export: o.export ?? false, imported: o.imported ?? false, workspaceDir: workspaceDir(cmd, o) },
        added,
      );
    });
}
