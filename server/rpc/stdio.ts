/** `dws server --stdio`: a language server (LSP framing) on stdin/stdout; logs go to stderr only. */
import { createConnection, ProposedFeatures, StreamMessageReader, StreamMessageWriter } from 'vscode-languageserver/node.js';
import { workspaceChanged } from '../../protocol/server-events.js';
import type { Logger } from '../context.js';
import { serve } from './serve.js';
import { WorkspaceWatcher } from './watch.js';

export async function runStdioServer(options: { cwd: string; verbose: boolean }): Promise<void> {
  const err = (m: string) => process.stderr.write(`${m}\n`);
  const log: Logger = { info: options.verbose ? err : () => {}, warn: err, debug: options.verbose ? err : () => {} };
  // Streams given explicitly: vscode-languageserver then leaves console.* alone. It ends the
  // process when stdin closes (exit code 0 after `shutdown`, else 1), as LSP asks.
  // stdout carries JSON-RPC only: console output of anything running in this process (a step
  // file's top level while it loads, a library) goes to stderr instead.
  for (const m of ['log', 'info', 'debug', 'dir', 'table'] as const) console[m] = console.error;
  const connection = createConnection(ProposedFeatures.all, new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
  const watcher = new WorkspaceWatcher(log); // follows a workspace from its first dws/status on
  serve(connection, { cwd: options.cwd, log, watched: watcher });
  watcher.onChanged((p) => void connection.sendNotification(workspaceChanged.method, p));
  connection.listen();
  await new Promise<void>((resolve) => connection.onExit(() => resolve()));
}
