/** `dws server --stdio | --socket PORT | --pipe PATH`: serve every protocol method over JSON-RPC (loaded only when used). */
import { InvalidArgumentError, type Command } from 'commander';
import { InvalidParamsError } from '../../../protocol/errors.js';
import { globalOptions } from '../cli.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`'${value}' is not a port number (0-65535)`);
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`'${value}' is not a positive whole number`);
  return n;
}

/** V8's --interrupt-budget for a server process: an eighth of Node 20's default (67584). */
export const SERVER_INTERRUPT_BUDGET = 8448;

export function register(program: Command): void {
  program
    .command('server')
    .description('Serve every dws method over JSON-RPC (LSP framing) for editors and scripts')
    .option('--stdio', 'talk on standard input and output')
    .option('--socket <port>', 'listen on 127.0.0.1:PORT (0: any free port); clients need the token', port)
    .option('--pipe <path>', 'listen on a unix socket at PATH, created with mode 0600')
    .option('--token-file <path>', 'with --socket: where to write the token (default: in $XDG_RUNTIME_DIR or the temp directory)')
    .option('--max-message-bytes <n>', 'largest JSON-RPC message accepted; a larger one is answered with an error and skipped (default: 67108864, 64 MiB)', positive)
    .option('--auth-timeout <ms>', 'with --socket: close a connection that has not sent its token within MS milliseconds (default: 10000)', positive)
    .action(async (o: { stdio?: boolean; socket?: number; pipe?: string; tokenFile?: string; maxMessageBytes?: number; authTimeout?: number }, cmd: Command) => {
      const chosen = [o.stdio && '--stdio', o.socket !== undefined && '--socket', o.pipe !== undefined && '--pipe'].filter(Boolean);
      if (chosen.length > 1) throw new InvalidParamsError(`Choose one transport, not ${chosen.join(' and ')}`);
      if (o.authTimeout !== undefined && o.socket === undefined) throw new InvalidParamsError('--auth-timeout goes with --socket (only TCP connections send a token)');
      if (o.tokenFile !== undefined && o.socket === undefined) throw new InvalidParamsError('--token-file goes with --socket (a --pipe needs no token: its file mode admits only you)');
      // A server runs the same few handlers thousands of times. V8 optimizes a function once it
      // has run a budget of bytecode; at an eighth of the default budget that happens within a
      // client's first few hundred requests, not spread over its first 10,000 (under load, the
      // compiler threads took a core from the server and the client then, and each request
      // cost 24 instead of 17 us of CPU; bench/README.md, Server). This process only.
      (await import('node:v8')).setFlagsFromString(`--interrupt-budget=${SERVER_INTERRUPT_BUDGET}`);
      if (o.socket !== undefined || o.pipe !== undefined) {
        const { runSocketServer } = await import('../../../server/rpc/socket.js');
        const { resolve } = await import('node:path');
        await runSocketServer({
          cwd: process.cwd(),
          verbose: globalOptions(cmd).verbose === true,
          port: o.socket,
          pipe: o.pipe === undefined ? undefined : resolve(o.pipe),
          tokenFile: o.tokenFile === undefined ? undefined : resolve(o.tokenFile),
          maxMessageBytes: o.maxMessageBytes,
          authTimeoutMs: o.authTimeout,
        });
        return;
      }
      if (!o.stdio) throw new InvalidParamsError('Choose a transport: --stdio, --socket PORT or --pipe PATH');
      const { runStdioServer } = await import('../../../server/rpc/stdio.js');
      await runStdioServer({ cwd: process.cwd(), verbose: globalOptions(cmd).verbose === true, maxMessageBytes: o.maxMessageBytes });
    });
}
