/** `dws reproduce SNAPSHOT [--check] [--keep]` */
import type { Command } from 'commander';
import type { reproduce as Reproduce, ResultOf } from '../../../protocol/index.js';
import { callMethod } from '../../../server/commands/index.js';
import { globalOptions, toJson, withJson, workspaceDirOption } from '../cli.js';
import { terminalContext } from '../terminal.js';

/** One line per replayed step, one per output (equal / differs), then the notes. */
export function renderReproduce(r: ResultOf<typeof Reproduce>): string {
  let out = `Reproducing snapshot ${r.hash.slice(0, 7)}${r.tags.length > 0 ? ` (${r.tags.join(', ')})` : ''} in a scratch copy\n`;
  for (const s of r.steps) out += s.ok ? `  ran ${s.step} (${s.how})\n` : `  FAILED ${s.step} (${s.how}): ${s.error}\n`;
  for (const o of r.outputs) {
    out += o.equal ? `  ${o.ref}: equal (${o.recorded})\n` : `  ${o.ref}: differs (recorded ${o.recorded}, recomputed ${o.recomputed ?? 'nothing'})\n`;
  }
  for (const n of r.notes) out += `Note: ${n}\n`;
  if (r.scratchDir) out += `Scratch copy kept at ${r.scratchDir}\n`;
  return `${out}${r.allEqual ? 'Every output reproduced.' : 'Not reproduced.'}\n`;
}

export function register(program: Command): void {
  withJson(program.command('reproduce'))
    .description("Replay a snapshot's recorded steps in a scratch copy and compare every output with its recorded certificate")
    .argument('<SNAPSHOT>', 'a tag, a full hash, or a unique prefix of 6+ hex digits')
    .option('--check', 'exit 1 when an output differs or a step fails')
    .option('--keep', 'keep the scratch copy and print where it is')
    .option('--workspace-dir <DIR>', 'workspace root (default: found from the current directory)', workspaceDirOption)
    .action(async (snapshot: string, o: { check?: boolean; keep?: boolean; workspaceDir?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const ctx = terminalContext({ batch: g.batch === true, verbose: g.verbose === true, json: g.json === true });
      const r = await callMethod(ctx, 'dws/reproduce', { snapshot, keep: o.keep === true, workspaceDir: o.workspaceDir });
      process.stdout.write(g.json ? `${toJson(r)}\n` : renderReproduce(r));
      if (o.check && !r.allEqual) process.exitCode = 1;
    });
}
