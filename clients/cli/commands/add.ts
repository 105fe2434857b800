/** `dws add git|local-files|rclone|api-resource ...`: one sub-command per resource type. */
import { Option, type Command } from 'commander';
import { RCLONE_MASTERS, RCLONE_SYNC_MODES, type Role } from '../../../protocol/index.js';
import { invoke, roleOption, withJson, workspaceDirOption } from '../cli.js';

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
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption);
}

/** `--workspace-dir` may be given to `add` or to the sub-command. */
function workspaceDir(cmd: Command, o: Common): string | undefined {
  return o.workspaceDir ?? (cmd.parent?.opts() as Common).workspaceDir;
}

export function register(program: Command): void {
  const add = program
    .command('add')
    .description('Add a resource to the workspace')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption);

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

  common(add.command('rclone'))
    .description('Add a local copy of an rclone remote (the copy is hashed at each snapshot; pull/push transfer it)')
    .argument('<REMOTE>', 'remotename:path, a remote of the rclone configuration')
    .argument('<LOCAL_PATH>', 'directory for the local copy (created if missing)')
    .option('--config <FILE>', "rclone configuration file (default: the one 'rclone config file' names)")
    .option('--compute-hash', 'hash file contents (SHA-1); default: record file sizes only')
    .option('-e, --export', "export this resource's lineage for other workspaces")
    .option('--imported', 'the resource was exported by another workspace: import its lineage')
    .addOption(new Option('--master <SIDE>', 'remote: pull copies remote to local; local: push copies local to remote; none: copied once').choices(RCLONE_MASTERS).default('none'))
    .addOption(new Option('--sync-mode <MODE>', 'copy (never deletes) or sync (deletes what the master side lacks)').choices(RCLONE_SYNC_MODES).default('copy'))
    .option('--size-only', 'compare files by size only when transferring')
    .action(
      async (
        remote: string,
        localPath: string,
        o: Common & { config?: string; computeHash?: boolean; master: (typeof RCLONE_MASTERS)[number]; syncMode: (typeof RCLONE_SYNC_MODES)[number]; sizeOnly?: boolean },
        cmd: Command,
      ) => {
        await invoke(
          cmd,
          'dws/add/rclone',
          {
            remote,
            localPath,
            role: o.role,
            name: o.name,
            config: o.config,
            computeHash: o.computeHash ?? false,
            master: o.master,
            syncMode: o.syncMode,
            sizeOnly: o.sizeOnly ?? false,
            export: o.export ?? false,
            imported: o.imported ?? false,
            workspaceDir: workspaceDir(cmd, o),
          },
          added,
        );
      },
    );

  common(add.command('api-resource'))
    .description('Add data obtained through an API (a kit records its hash in the resource scratch directory)')
    .action(async (o: Common, cmd: Command) => {
      await invoke(cmd, 'dws/add/api-resource', { role: o.role, name: o.name, export: false, imported: false, workspaceDir: workspaceDir(cmd, o) }, added);
    });
}
