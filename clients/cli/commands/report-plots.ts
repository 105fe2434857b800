/** `dws report plots [--output FILE] [--open]`: metrics across snapshots as an HTML page of charts. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { ReportPlots } from '../../../protocol/index.js';
import { invoke, withJson, workspaceDirOption } from '../cli.js';

export function renderPlots(r: ReportPlots): string {
  const plural = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;
  let out = `Wrote ${plural(r.charts.length, 'chart')} of metrics across ${plural(r.snapshots.length, 'snapshot')} to ${r.file}\n`;
  if (r.notPlotted.length > 0) out += `Not plotted (values that are not numbers, listed on the page): ${r.notPlotted.map((m) => m.metric).join(', ')}\n`;
  return out;
}

/**
 * Opens the page the way the desktop does: $BROWSER if set, else the platform's opener. The
 * opener is left running on its own (a browser may live longer than dws).
 */
function openPage(file: string): void {
  const [command, args] =
    process.env.BROWSER ? [process.env.BROWSER, [file]]
    : process.platform === 'darwin' ? ['open', [file]]
    : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', file]]
    : ['xdg-open', [file]];
  const child = spawn(command, args, { detached: true, stdio: 'ignore' });
  child.on('error', (e) => process.stderr.write(`Could not open the page with ${command} (${e.message}); open ${file} in a browser.\n`));
  child.unref();
}

export function registerPlots(report: Command, wsDir: (cmd: Command, o: { workspaceDir?: string }) => string | undefined): void {
  withJson(report.command('plots'))
    .description('An HTML page with one chart per metric across snapshots (hover a point for its snapshot and params)')
    .option('--output <FILE>', 'write the page here (default: a new file in the temporary directory)')
    .option('--open', 'open the page in a browser ($BROWSER, else the desktop\'s opener)')
    .option('--workspace-dir <DIR>', 'workspace root', workspaceDirOption)
    .action(async (o: { workspaceDir?: string; output?: string; open?: boolean }, cmd: Command) => {
      // The page is a view, not part of the workspace: by default it goes outside it.
      const temp = o.output === undefined ? mkdtempSync(join(tmpdir(), 'dws-plots-')) : null;
      const output = temp !== null ? join(temp, 'plots.html') : resolve(o.output!);
      try {
        await invoke(cmd, 'dws/report/plots', { workspaceDir: wsDir(cmd, o), output }, renderPlots);
      } catch (e) {
        if (temp !== null) rmSync(temp, { recursive: true, force: true });
        throw e;
      }
      if (o.open) openPage(output);
    });
}
