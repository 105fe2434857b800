/** `dws gc [--dry-run] [--remote]`, `dws fsck [--remote] [--repair]`, `dws store checkout TREE DIR`: the content store. */
import type { Command } from 'commander';
import { DwsError } from '../../../protocol/errors.js';
import { StoreTreeId } from '../../../protocol/store.js';
import { bySchema, invoke, withJson } from '../cli.js';

const WS_DIR = ['--workspace-dir <DIR>', 'workspace root (default: found from the current directory)'] as const;

/** 1,234,567 bytes as "1.2 MB". */
export function bytesText(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[u]}`;
}

export function register(program: Command): void {
  withJson(program.command('gc'))
    .description('Remove content-store objects that no snapshot, kept tree or current file reaches')
    .option('--dry-run', 'only say what would be removed')
    .option('--remote', 'also remove unreachable objects from the store remote')
    .option('--forget-workspace <PATH>', 'a workspace sharing the store (store.dir) that was deleted for good: forget it (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option(...WS_DIR)
    .action(async (o: { dryRun?: boolean; remote?: boolean; forgetWorkspace: string[]; workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/gc', { dryRun: o.dryRun ?? false, remote: o.remote ?? false, forgetWorkspaces: o.forgetWorkspace, workspaceDir: o.workspaceDir }, (r) => {
        const verb = r.dryRun ? 'Would remove' : 'Removed';
        let out = `${verb} ${r.removed.objects} object(s), ${bytesText(r.removed.bytes)}; kept ${r.kept.objects} object(s), ${bytesText(r.kept.bytes)}`;
        if (r.packsRewritten > 0) out += `; ${r.dryRun ? 'would rewrite' : 'rewrote'} ${r.packsRewritten} pack(s)`;
        out += '.\n';
        if (r.remoteRemoved) out += `Store remote: ${verb.toLowerCase()} ${r.remoteRemoved.objects} object(s), ${bytesText(r.remoteRemoved.bytes)}.\n`;
        return out;
      }, { stopping: 'stopping gc', stopped: "gc stopped before it finished; it removed only objects that nothing reaches. Run 'dws gc' again to finish." });
    });

  withJson(program.command('fsck'))
    .description("Check that every object in the content store is intact and every snapshot's objects can be had")
    .option('--remote', 'look on the store remote for objects missing here')
    .option('--repair', "replace corrupt objects with the store remote's intact copies")
    .option(...WS_DIR)
    .action(async (o: { remote?: boolean; repair?: boolean; workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/fsck', { remote: o.remote ?? false, repair: o.repair ?? false, workspaceDir: o.workspaceDir }, (r) => {
        let out = `Checked ${r.objects} object(s), ${bytesText(r.bytes)}.\n`;
        for (const c of r.corrupt) out += `corrupt: ${c.id} in ${c.where}\n`;
        if (r.corrupt.length > 0) out += o.repair ? 'The corrupt object(s) above could not be replaced from the store remote.\n' : "Run 'dws fsck --repair' to replace corrupt objects with the store remote's copies.\n";
        if (r.missingLocally > 0) {
          out += `${r.missingLocally} object(s) of snapshots are not in the local store`;
          if (r.missingEverywhere !== null) out += `; ${r.missingEverywhere} of them are not on the store remote either`;
          else if (r.storeRemote !== null) out += `: a restore downloads them from the store remote ${r.storeRemote} ('dws fsck --remote' checks that it has them)`;
          else out += ', and this workspace has no store remote to get them from';
          out += '.\n';
        }
        for (const h of r.incompleteSnapshots) out += `incomplete snapshot: ${h}\n`;
        for (const f of r.wrongSizeOnRemote) out += `wrong size on the store remote: ${f} (cut short; 'dws push' sends it again)\n`;
        if (!r.ok) throw new DwsError('ConfigurationError', out + 'The content store has problems (above).');
        return out + 'No problems found.\n';
      }, {
        stopping: 'stopping fsck',
        stopped: o.repair
          ? "fsck stopped before it finished; objects it replaced so far stay replaced, the others are as they were. Run 'dws fsck --repair' again to finish."
          : "fsck stopped before it finished; it changed nothing. Run 'dws fsck' again to check everything.",
      });
    });

  const store = program.command('store').description('The content store of local-files and rclone resources');
  withJson(store.command('checkout'))
    .description('Write a stored tree (e.g. the one kept by restore --force) into a new or empty directory')
    .argument('<TREE>', 'store tree id (40 hex digits)', bySchema(StoreTreeId))
    .argument('<DIR>', 'target directory (new or empty)')
    .option(...WS_DIR)
    .action(async (tree: string, directory: string, o: { workspaceDir?: string }, cmd: Command) => {
      await invoke(cmd, 'dws/store/checkout', { tree, directory, workspaceDir: o.workspaceDir }, (r) => `Wrote ${r.files} file(s) into ${r.directory}.\n`, {
        stopping: 'stopping the checkout',
        stopped: `the checkout stopped; it removed what it had written into ${directory}. Run 'dws store checkout' again to write the tree.`,
      });
    });
}
