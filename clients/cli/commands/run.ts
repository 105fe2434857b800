/**
 * `dws run [STEP | FILE]... | --name N --in R --out R -- CMD ARGS`: flags, live per-step progress lines
 * (from the runner's events) on stderr, and the run's summary on stdout. Ctrl-C stops the run
 * cleanly (no lineage for unfinished steps, no snapshot, exit 130).
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { ResultOf, RunEvent, run as Run } from '../../../protocol/index.js';
import { PIPELINE_FILE, STEP_FILE } from '../../../protocol/step-file.js';
import { callMethod } from '../../../server/commands/index.js';
import { globalOptions, lockTimeoutMs, onInterrupt, positiveInt, repeatable, toJson, withJson, workspaceDirOption } from '../cli.js';
import { formatMs, progressLine } from '../../../runner/progress-line.js';
import { terminalContext } from '../terminal.js';

export { formatMs, progressLine };

interface RunFlags {
  param: string[];
  snapshot: boolean;
  message?: string;
  tag?: string;
  jobs?: number;
  force?: boolean;
  pipeline?: boolean;
  dryRun?: boolean;
  name?: string;
  in: string[];
  out: string[];
  workspaceDir?: string;
  observe: boolean;
  strict?: boolean;
  executor?: 'local' | 'slurm';
}

export function register(program: Command): void {
  withJson(program.command('run'))
    .description("Run the workspace's pipeline (dws.yaml, else the step files of its code resources), some of its steps, step files, or one command after --: lineage, run cache, parallel, one snapshot")
    .usage('[options] [STEP | FILE]...  |  --name NAME [--in REF]... [--out REF]... -- COMMAND [ARGS...]')
    .argument('[STEP|FILE...]', 'steps to run with whatever upstream of them is not current, and/or step files, folders of them, or a pipeline file (none: the whole pipeline; with --name: the command and its arguments, after --)')
    .option('--param <NAME=VALUE>', 'a step parameter; VALUE is read as JSON when it parses (3, true, "x"), else as a string (repeatable)', repeatable, [])
    .option('-j, --jobs <N>', 'steps run at once (default: the number of CPU cores)', positiveInt)
    .option('--pipeline', "run the workspace's pipeline (what no STEP or FILE means): dws.yaml and the step files it names, else every step file in its code resources")
    .option('--force', 'rerun steps the run cache would skip')
    .option('--dry-run', 'print what would run and what would be skipped, and why; change nothing')
    .option('--no-snapshot', 'do not take a snapshot at the end')
    .option('-m, --message <TEXT>', 'message of the snapshot (default: the steps that ran and the params)')
    .option('--tag <TAG>', 'tag of the snapshot')
    .option('--name <NAME>', 'run a command as a step with this name')
    .option('--in <REF>', "the command step's input: 'resource' or 'resource:/subpath' (repeatable)", repeatable, [])
    .option('--out <REF>', "the command step's output (repeatable)", repeatable, [])
    // Observed writes (runner/observe.ts).
    .option('--strict', 'fail the run (no snapshot) when a step writes outside the declared outputs or through a symlink out of its resource')
    .option('--no-observe', 'do not watch for writes outside the declared outputs')
    .option('--executor <NAME>', "where steps run: local (this machine) or slurm (each step an sbatch job; docs/slurm.md); default: the workspace's runner.executor setting, else local", executorName)
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption)
    .action(async (files: string[], o: RunFlags, cmd: Command) => {
      const g = globalOptions(cmd);
      const json = g.json === true;
      const interrupt = onInterrupt('Interrupted: stopping the run');
      const ctx = {
        ...terminalContext({ batch: g.batch === true, verbose: g.verbose === true, json }),
        lockTimeoutMs: lockTimeoutMs(g),
        signal: interrupt.signal,
        // Step output always goes to stderr as `[step] line`, also with --json (stdout holds only the result).
        onRunEvent: stderrReporter(json),
      };
      const command = o.name !== undefined ? { name: o.name, inputs: o.in, outputs: o.out, argv: files } : undefined;
      // A word that is a path (or looks like one: a missing file is then reported as such) is a file to run; any other word names a step.
      const isPath = (a: string) => existsSync(resolve(a)) || a.includes('/') || STEP_FILE.test(a) || basename(a) === PIPELINE_FILE;
      let r: ResultOf<typeof Run>;
      try {
        r = await callMethod(ctx, 'dws/run', {
          files: command ? [] : files.filter(isPath),
          steps: command ? [] : files.filter((a) => !isPath(a)),
          pipeline: o.pipeline === true,
          param: o.param,
          jobs: o.jobs,
          force: o.force === true,
          dryRun: o.dryRun === true,
          snapshot: o.snapshot,
          message: o.message,
          tag: o.tag,
          command,
          workspaceDir: o.workspaceDir,
          observe: o.observe,
          strict: o.strict === true,
          executor: o.executor,
        });
      } finally {
        interrupt.dispose();
      }
      process.stdout.write(json ? `${toJson(r)}\n` : o.dryRun ? renderPlan(r) : renderSummary(r));
      if (r.interrupted) {
        // A step that ignores its abort signal may still hold the event loop: the run is over.
        process.exit(interrupt.exitCode);
      }
      if (!r.ok) process.exitCode = 1;
    });
}

/**
 * The run's events on stderr: every event as a line (only the steps' own output with --json); a
 * progress bar's partial lines redrawn in place on a terminal, dropped elsewhere (its final text
 * follows as a line).
 */
export function stderrReporter(json: boolean, tty = process.stderr.isTTY === true): (e: RunEvent) => void {
  let partialShown = false;
  return (e) => {
    if (json && e.type !== 'log') return;
    if (e.type === 'log' && e.partial) {
      if (!tty) return;
      process.stderr.write(`\r\x1b[K[${e.step}] ${e.message}`);
      partialShown = true;
      return;
    }
    if (partialShown) process.stderr.write('\r\x1b[K');
    partialShown = false;
    process.stderr.write(progressLine(e));
  };
}

function executorName(v: string): 'local' | 'slurm' {
  if (v === 'local' || v === 'slurm') return v;
  throw new InvalidArgumentError(`unknown executor '${v}': use local or slurm`);
}

function renderPlan(r: ResultOf<typeof Run>): string {
  const lines = r.steps.map((s) => `  ${s.status === 'would-run' ? 'run ' : 'skip'}  ${s.step}: ${s.reason ?? ''}`);
  return `Plan (dry run, nothing changed):\n${lines.join('\n')}\n`;
}

function renderSummary(r: ResultOf<typeof Run>): string {
  const count = (st: string) => r.steps.filter((s) => s.status === st).length;
  const parts = [`${count('succeeded')} ran`, ...(count('restored') > 0 ? [`${count('restored')} restored from the run cache`] : []), `${count('skipped')} skipped`];
  if (count('failed') > 0) parts.push(`${count('failed')} failed`);
  if (count('not-run') > 0) parts.push(`${count('not-run')} not run`);
  let out = `${r.interrupted ? 'Run interrupted' : r.ok ? 'Run succeeded' : 'Run failed'}: ${parts.join(', ')}.\n`;
  for (const s of r.steps.filter((x) => x.status === 'failed')) {
    out += `  ${s.step} failed: ${s.reason}\n`;
    if (s.where[0]) out += `    at ${s.where[0].file}:${s.where[0].line}:${s.where[0].column}\n`;
    out += s.leftInOutputs.length > 0 ? `    it left in its outputs: ${s.leftInOutputs.join(', ')}\n` : '    it left nothing in its outputs\n';
  }
  if (r.observedWrites.length > 0) {
    out += `Written outside the declared outputs: ${r.observedWrites.map((w) => (w.outside ? `${w.path} (through a symlink to ${w.outside})` : w.path)).join(', ')}\n`;
  }
  if (r.snapshot) out += `Took snapshot ${r.snapshot.hash}${r.snapshot.tag ? ` tagged '${r.snapshot.tag}'` : ''}: ${r.snapshot.message}\n`;
  else if (r.sameAsSnapshot) out += `The outputs came out identical: the workspace is still snapshot ${r.sameAsSnapshot}, no new snapshot was needed.\n`;
  else if (r.ok && r.steps.every((s) => s.status === 'skipped')) out += 'Every step was current: nothing changed, no snapshot taken.\n';
  else if (!r.ok) out += 'No snapshot taken.\n';
  return out;
}
