/**
 * The VS Code extension (issue 7 item 6): a thin language client of `dws server --stdio`. The
 * server does all the work; this file starts it as a language client and commands.ts shows its
 * answers (a tree, messages, an output channel, a webview) and turns commands into protocol
 * requests. It is bundled to dist/extension.js (CommonJS, `vscode` external).
 */
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node.js';
import { registerCommands } from './commands.js';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) return;
  const command = vscode.workspace.getConfiguration('dataworkspaces').get<string>('serverCommand', 'dws');
  // TransportKind.stdio adds `--stdio`: the server is `dws server --stdio` in the workspace folder.
  const serverOptions: ServerOptions = { command, args: ['server'], transport: TransportKind.stdio, options: { cwd: folder.uri.fsPath } };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'typescript' },
      { scheme: 'file', language: 'javascript' },
      { scheme: 'file', pattern: '**/.dataworkspace/*.json' },
    ],
  };
  const lc = new LanguageClient('dataworkspaces', 'Data Workspaces', serverOptions, clientOptions);
  client = lc;
  await lc.start();

  registerCommands(context, lc);
  // The server follows the workspace's files from its first dws/status on (and then notifies changes).
  await lc.sendRequest('dws/status', {}).catch(() => undefined);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
