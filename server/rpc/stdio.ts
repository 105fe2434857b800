/** `dws server --stdio`: a language server (LSP framing) on stdin/stdout; logs go to stderr only. */
import { createConnection, ProposedFeatures, type Message } from 'vscode-languageserver/node.js';
import { workspaceChanged } from '../../protocol/server-events.js';
import type { Logger } from '../context.js';
import { DEFAULT_MAX_MESSAGE_BYTES, FramedMessageReader } from './framing.js';
import { connectionChecks } from './lsp/lifecycle.js';
import { serve } from './serve.js';
import { BatchingMessageWriter } from './writer.js';
import { WorkspaceWatcher } from './watch.js';

export async function runStdioServer(options: { cwd: string; verbose: boolean; maxMessageBytes?: number | undefined }): Promise<void> {
  const err = (m: string) => process.stderr.write(`${m}\n`);
  const log: Logger = { info: options.verbose ? err : () => {}, warn: err, debug: options.verbose ? err : () => {} };
  // stdout carries JSON-RPC only: console output of anything running in this process (a step
  // file's top level while it loads, a library) goes to stderr instead.
  for (const m of ['log', 'info', 'debug', 'dir', 'table'] as const) console[m] = console.error;
  const writer = new BatchingMessageWriter(process.stdout);
  let shutdownRequested = false;
  const check = connectionChecks();
  // A bad frame is answered and skipped (framing.ts): one client owns this stream, so recovering
  // is better than closing it.
  const reader = new FramedMessageReader(
    process.stdin,
    { maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, strict: false },
    (r) => {
      log.warn(`dws server: refused a message: ${r.message}`);
      if (r.reply !== false) void writer.write({ jsonrpc: '2.0', id: r.id, error: { code: r.code, message: r.message } } as Message);
    },
    (m) => {
      if ((m as { method?: unknown }).method === 'shutdown') shutdownRequested = true;
      return check(m);
    },
  );
  // Given a reader (not a stream), vscode-languageserver leaves console.* alone but does not
  // watch stdin: the process ends here when stdin closes (0 after `shutdown`, else 1), as LSP asks.
  reader.onClose(() => {
    if (!shutdownRequested) log.warn('dws server: standard input closed without shutdown; exiting');
    process.exit(shutdownRequested ? 0 : 1);
  });
  const connection = createConnection(ProposedFeatures.all, reader, writer);
  const watcher = new WorkspaceWatcher(log); // follows a workspace from its first dws/status on
  serve(connection, { cwd: options.cwd, log, watched: watcher });
  watcher.onChanged((p) => void connection.sendNotification(workspaceChanged.method, p));
  connection.listen();
  await new Promise<void>((resolve) => connection.onExit(() => resolve()));
}
