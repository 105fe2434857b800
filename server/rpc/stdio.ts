/** `dws server --stdio`: JSON-RPC (LSP framing) on stdin/stdout; logs go to stderr only. */
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';
import type { Logger } from '../context.js';
import { serve } from './serve.js';

export async function runStdioServer(options: { cwd: string; verbose: boolean }): Promise<void> {
  const err = (m: string) => process.stderr.write(`${m}\n`);
  const log: Logger = { info: options.verbose ? err : () => {}, warn: err, debug: options.verbose ? err : () => {} };
  const connection = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
  serve(connection, { cwd: options.cwd, log });
  const closed = new Promise<void>((resolve) => connection.onClose(() => resolve()));
  connection.listen();
  await closed;
}
