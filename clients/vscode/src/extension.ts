/**
 * The VS Code extension (issue 7 item 6): a thin language client of `dws server --stdio`. The
 * server does all the work; this file shows its answers (a tree, a webview) and turns commands
 * into protocol requests. It is bundled to dist/extension.js (CommonJS, `vscode` external).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node.js';
import type { ResourceInfo, SnapshotInfo } from '../../../protocol/index.js';

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

  const tree = new WorkspaceTree(lc);
  context.subscriptions.push(
    vscode.window.registerTreeDataProvider('dataworkspaces.tree', tree),
    lc.onNotification('dws/workspaceChanged', () => tree.refresh()),
    vscode.commands.registerCommand('dataworkspaces.refresh', () => tree.refresh()),
    vscode.commands.registerCommand('dataworkspaces.snapshot', () => report(tree, snapshot(lc))),
    vscode.commands.registerCommand('dataworkspaces.restore', (node?: Node) => report(tree, restore(lc, node))),
    vscode.commands.registerCommand('dataworkspaces.run', () => report(tree, run(lc))),
    vscode.commands.registerCommand('dataworkspaces.lineage', () => report(tree, showLineage(lc))),
  );
  // The server follows the workspace's files from its first dws/status on (and then notifies changes).
  await lc.sendRequest('dws/status', {}).catch(() => undefined);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}

/** Run a command's work; show its outcome (or error) and refresh the tree. */
async function report(tree: WorkspaceTree, work: Promise<string | null>): Promise<void> {
  try {
    const message = await work;
    if (message) void vscode.window.showInformationMessage(message);
  } catch (e) {
    void vscode.window.showErrorMessage(`dws: ${e instanceof Error ? e.message : String(e)}`);
  }
  tree.refresh();
}

async function snapshot(lc: LanguageClient): Promise<string | null> {
  const tag = await vscode.window.showInputBox({ prompt: 'Tag for the snapshot (optional)' });
  if (tag === undefined) return null;
  const message = (await vscode.window.showInputBox({ prompt: 'Message (optional)' })) ?? '';
  const r = await lc.sendRequest<{ hash: string; tag: string | null }>('dws/snapshot', { message, ...(tag ? { tag } : {}) });
  return `Snapshot ${r.hash.slice(0, 8)}${r.tag ? ` (${r.tag})` : ''} taken`;
}

async function restore(lc: LanguageClient, node?: Node): Promise<string | null> {
  let target = node?.kind === 'snapshot' ? node.snapshot.hash : undefined;
  if (!target) {
    const { snapshots } = await lc.sendRequest<{ snapshots: SnapshotInfo[] }>('dws/report/history', {});
    const pick = await vscode.window.showQuickPick(
      snapshots.map((s) => ({ label: s.tags.join(', ') || s.hash.slice(0, 8), description: `${s.timestamp} ${s.message}`, hash: s.hash })),
      { placeHolder: 'Snapshot to restore' },
    );
    target = pick?.hash;
  }
  if (!target) return null;
  await lc.sendRequest('dws/restore', { tagOrHash: target });
  return `Restored snapshot ${target.slice(0, 8)}`;
}

async function run(lc: LanguageClient): Promise<string | null> {
  const file = vscode.window.activeTextEditor?.document.uri;
  const files = file?.scheme === 'file' && /\.[cm]?[jt]s$/.test(file.fsPath) ? [file.fsPath] : [];
  await lc.sendRequest('dws/run', { files });
  return files.length ? `Ran ${vscode.workspace.asRelativePath(files[0]!)}` : 'Ran the steps';
}

async function showLineage(lc: LanguageClient): Promise<string | null> {
  const dir = mkdtempSync(join(tmpdir(), 'dws-lineage-'));
  try {
    const r = await lc.sendRequest<{ file: string; resource: string }>('dws/lineage/graph', { format: 'html', output: join(dir, 'lineage.html') });
    const panel = vscode.window.createWebviewPanel('dataworkspaces.lineage', `Lineage of ${r.resource}`, vscode.ViewColumn.Active, { enableScripts: true });
    panel.webview.html = readFileSync(r.file, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return null;
}

type Node =
  | { kind: 'group'; label: 'Resources' | 'Snapshots' }
  | { kind: 'resource'; resource: ResourceInfo }
  | { kind: 'snapshot'; snapshot: SnapshotInfo };

/** Resources (by role) and snapshots (newest first), from dws/report/status and dws/report/history. */
class WorkspaceTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly lc: LanguageClient) {}

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(n: Node): vscode.TreeItem {
    if (n.kind === 'group') return new vscode.TreeItem(n.label, vscode.TreeItemCollapsibleState.Expanded);
    if (n.kind === 'resource') {
      const item = new vscode.TreeItem(n.resource.name);
      item.description = `${n.resource.role} · ${n.resource.resourceType}`;
      item.tooltip = n.resource.localPath ?? undefined;
      item.iconPath = new vscode.ThemeIcon('database');
      return item;
    }
    const s = n.snapshot;
    const item = new vscode.TreeItem(s.tags.join(', ') || s.hash.slice(0, 8));
    item.description = `${s.timestamp}${s.message ? ` · ${s.message}` : ''}`;
    item.tooltip = s.hash;
    item.contextValue = 'snapshot';
    item.iconPath = new vscode.ThemeIcon('history');
    return item;
  }

  async getChildren(n?: Node): Promise<Node[]> {
    if (!n) return [{ kind: 'group', label: 'Resources' }, { kind: 'group', label: 'Snapshots' }];
    if (n.kind !== 'group') return [];
    if (n.label === 'Resources') {
      const { resources } = await this.lc.sendRequest<{ resources: ResourceInfo[] }>('dws/report/status', {});
      return resources.map((resource) => ({ kind: 'resource', resource }));
    }
    const { snapshots } = await this.lc.sendRequest<{ snapshots: SnapshotInfo[] }>('dws/report/history', {});
    return snapshots.map((snapshot) => ({ kind: 'snapshot', snapshot }));
  }
}
