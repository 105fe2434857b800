/** `dws server --stdio`: serve every protocol method over JSON-RPC (loaded only when used). */
import type { Command } from 'commander';
import { InvalidParamsError } from '../../../protocol/errors.js';
import { globalOptions } from '../cli.js';

export function register(program: Command): void {
  program
    .command('server')
    .description('Serve every dws method over JSON-RPC (LSP framing) for editors and scripts')
    .option('--stdio', 'talk on standard input and output')
    .action(async (o: { stdio?: boolean }, cmd: Command) => {
      if (!o.stdio) throw new InvalidParamsError('Choose a transport: --stdio');
      const { runStdioServer } = await import('../../../server/rpc/stdio.js');
      await runStdioServer({ cwd: process.cwd(), verbose: globalOptions(cmd).verbose === true });
    });
}
