/** `dws version` (also `dws --version`, answered by bin.ts without loading anything). */
import type { Command } from 'commander';
import { invoke, withJson } from '../cli.js';

export const versionLine = (v: string, format: string) => `Data Workspaces version ${v} (TypeScript; workspace format of dws ${format})\n`;

export function register(program: Command): void {
  withJson(program.command('version'))
    .description('Print the dws version')
    .action(async (_o: object, cmd: Command) => {
      await invoke(cmd, 'dws/version', {}, (r) => versionLine(r.version, r.formatVersion));
    });
}
