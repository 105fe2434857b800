/**
 * `dws watch [FILE...] [--param K=V]... [--jobs N] [--snapshot]`: rerun steps when their inputs or
 * code change, printing what ran and why (stdout), with the runner's progress lines on stderr
 * under --verbose. Ctrl-C stops cleanly: a running step is aborted and records no lineage; exit 0.
 * Watch mode is a front-end loop over the runner (runner/watch.ts), not a protocol method.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { InvalidParamsError } from '../../../protocol/errors.js';
import { Workspace } from '../../../server/workspace/workspace.js';
import { globalOptions, onInterrupt, positiveInt, repeatable, workspaceDirOption } from '../cli.js';
import { terminalContext } from '../terminal.js';
import type { RunEvent } from '../../../protocol/index.js';
import { stderrReporter } from './run.js';

export function register(program: Command): void {
  program
    .command('watch')
    .description('Rerun steps when their inputs or code change (debounced, downstream steps follow); Ctrl-C to stop')
    .argument('[FILE...]', 'step files or folders (default: the step files of the steps in the current lineage)')
    .option('--param <NAME=VALUE>', 'a step parameter, as for dws run (repeatable)', repeatable, [])
    .option('-j, --jobs <N>', 'steps run at once (default: the number of CPU cores)', positiveInt)
    .option('--snapshot', 'take a snapshot after each run that ran something (default: none)')
    .option('--debounce <MS>', 'quiet time after the last change before rerunning (default 200)', positiveInt)
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption)
    .action(async (files: string[], o: { param: string[]; jobs?: number; snapshot?: boolean; debounce?: number; workspaceDir?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const ctx = terminalContext({ batch: g.batch === true, verbose: g.verbose === true, json: false });
      const ws = Workspace.open(ctx, o.workspaceDir);
      const { watchPipeline, recordedStepFiles } = await import('../../../runner/watch.js');
      const { parseParams } = await import('../../../runner/plan.js');
      const given = files.length > 0 ? files : recordedStepFiles(ws);
      if (given.length === 0) throw new InvalidParamsError('Nothing to watch: give step files or folders (dws watch code/), or run them once with dws run');
      const interrupt = onInterrupt('Stopping');
      const show = stderrReporter(false);
      try {
        await watchPipeline(ctx, ws, {
          files: given,
          params: parseParams(o.param, ctx.option),
          jobs: o.jobs ?? availableParallelism(),
          snapshot: o.snapshot === true,
          signal: interrupt.signal,
          ...(o.debounce !== undefined ? { debounceMs: o.debounce } : {}),
          // Steps' own output always; the other progress lines under --verbose.
          onEvent: (e: RunEvent) => {
            if (g.verbose || e.type === 'log') show(e);
          },
          onLine: (line) => process.stdout.write(`${line}\n`),
        });
      } finally {
        interrupt.dispose();
      }
      process.stdout.write('Stopped watching.\n');
    });
}
