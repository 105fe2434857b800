/**
 * What the user sees of the extension: the commands, the Data Workspace view and the output
 * channel, over any connection to `dws server --stdio`. extension.ts gives them a LanguageClient;
 * tests give them a plain JSON-RPC connection to a real server and a recording fake `vscode`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ReportPlots, ResourceInfo, RunProgressParams, RunResult, SnapshotInfo } from '../../../protocol/index.js';
import { STEP_FILE } from '../../../protocol/step-file.js';
import { formatMs, progressLine } from '../../../runner/progress-line.js';

/** The part of a connection the commands use (a LanguageClient is one). */
export interface DwsServer {
  sendRequest<R>(method: string, params: unknown): Promise<R>;
  onNotification(method: string, handler: (params: any) => void): vscode.Disposable;
}

/** Register the commands, the view and the output channel; everything goes into `context.subscriptions`. */
export function registerCommands(context: Pick<vscode.ExtensionContext, 'subscriptions'>, server: DwsServer): void {
  const tree = new WorkspaceTree(server);
  const plots = new PlotsView(server);
  const output = vscode.window.createOutputChannel('Data Workspaces: Steps');
  context.subscriptions.push(
    output,
    vscode.window.registerTreeDataProvider('dataworkspaces.tree', tree),
    server.onNotification('dws/workspaceChanged', () => tree.refresh()),
    // Step logs and progress (the same lines `dws run` prints on the terminal).
    server.onNotification('dws/run/progress', (p: RunProgressParams) => {
      if (p.event.type !== 'queued') output.append(progressLine(p.event));
    }),
    vscode.commands.registerCommand('dataworkspaces.refresh', () => tree.refresh()),
    // Snapshots (taken directly or by a run) are what the plots show: an open plots view is redrawn after them.
    vscode.commands.registerCommand('dataworkspaces.snapshot', () => report(tree, snapshot(server)).then(() => plots.refresh())),
    vscode.commands.registerCommand('dataworkspaces.restore', (node?: Node) => report(tree, restore(server, node))),
    vscode.commands.registerCommand('dataworkspaces.run', () => report(tree, run(server, output)).then(() => plots.refresh())),
    vscode.commands.registerCommand('dataworkspaces.lineage', () => report(tree, showLineage(server))),
    vscode.commands.registerCommand('dataworkspaces.plots', () => report(tree, plots.show())),
  );
}

/** A command's outcome: a message of its level (null: nothing to say, e.g. the user cancelled). */
type Outcome = { level: 'info' | 'error'; text: string; showOutput?: vscode.OutputChannel } | null;

/** Run a command's work; show its outcome (or the server's error) and refresh the tree. */
async function report(tree: WorkspaceTree, work: Promise<Outcome>): Promise<void> {
  try {
    const o = await work;
    if (o?.level === 'info') void vscode.window.showInformationMessage(o.text);
    else if (o?.level === 'error') {
      const SHOW = 'Show Output';
      void Promise.resolve(o.showOutput ? vscode.window.showErrorMessage(o.text, SHOW) : vscode.window.showErrorMessage(o.text)).then((pick) => {
        if (pick === SHOW) o.showOutput?.show();
      });
    }
  } catch (e) {
    void vscode.window.showErrorMessage(`dws: ${e instanceof Error ? e.message : String(e)}`);
  }
  tree.refresh();
}

async function snapshot(server: DwsServer): Promise<Outcome> {
  const tag = await vscode.window.showInputBox({ prompt: 'Tag for the snapshot (optional)' });
  if (tag === undefined) return null;
  const message = (await vscode.window.showInputBox({ prompt: 'Message (optional)' })) ?? '';
  const r = await server.sendRequest<{ hash: string; tag: string | null }>('dws/snapshot', { message, ...(tag ? { tag } : {}) });
  return { level: 'info', text: `Snapshot ${r.hash.slice(0, 8)}${r.tag ? ` (${r.tag})` : ''} taken` };
}

/** How a snapshot is named to the user: its tags and short hash. */
function snapshotName(s: SnapshotInfo): string {
  return s.tags.length > 0 ? `${s.tags.join(', ')} (${s.hash.slice(0, 8)})` : s.hash.slice(0, 8);
}

async function restore(server: DwsServer, node?: Node): Promise<Outcome> {
  let target = node?.kind === 'snapshot' ? node.snapshot : undefined;
  if (!target) {
    const { snapshots } = await server.sendRequest<{ snapshots: SnapshotInfo[] }>('dws/report/history', {});
    const pick = await vscode.window.showQuickPick(
      snapshots.map((s) => ({ label: s.tags.join(', ') || s.hash.slice(0, 8), description: `${s.timestamp} ${s.message}`, snapshot: s })),
      { placeHolder: 'Snapshot to restore' },
    );
    target = pick?.snapshot;
  }
  if (!target) return null;
  // Restore replaces the resources' files: the user says so first.
  const RESTORE = 'Restore';
  const answer = await vscode.window.showWarningMessage(
    `Restore snapshot ${snapshotName(target)}?`,
    { modal: true, detail: `Every resource except results goes back to its state in this snapshot${target.message ? ` ("${target.message}")` : ''}, taken ${target.timestamp}.` },
    RESTORE,
  );
  if (answer !== RESTORE) return null;
  const r = await server.sendRequest<{ restored: string[] }>('dws/restore', { tagOrHash: target.hash });
  return { level: 'info', text: `Restored snapshot ${snapshotName(target)}${r.restored.length ? `: ${r.restored.join(', ')}` : ': nothing to restore'}` };
}

/** Run the open step file, or with none open the workspace's pipeline; the outcome says whether the run failed. */
async function run(server: DwsServer, output: vscode.OutputChannel): Promise<Outcome> {
  const file = vscode.window.activeTextEditor?.document.uri;
  const step = file?.scheme === 'file' && STEP_FILE.test(file.fsPath) ? file.fsPath : undefined;
  const what = step ? vscode.workspace.asRelativePath(step) : "the workspace's pipeline";
  output.appendLine(`Running ${what}`);
  output.show(true);
  const r = await server.sendRequest<RunResult>('dws/run', step ? { files: [step] } : { pipeline: true });
  const count = (status: string) => r.steps.filter((s) => s.status === status).length;
  const counts = ['succeeded', 'restored', 'skipped', 'failed', 'not-run']
    .map((status) => [count(status), status === 'not-run' ? 'not run' : status] as const)
    .filter(([n]) => n > 0)
    .map(([n, status]) => `${n} ${status}`)
    .join(', ');
  if (r.interrupted) return { level: 'error', text: `Run of ${what} interrupted (${counts})`, showOutput: output };
  if (!r.ok) {
    const failed = r.steps.filter((s) => s.status === 'failed').map((s) => `${s.step}: ${s.reason ?? 'failed'}`);
    const writes = r.observedWrites.length > 0 && failed.length === 0 ? `; writes outside the declared outputs: ${r.observedWrites.map((w) => w.path).join(', ')}` : '';
    output.appendLine(`Run failed (${counts})`);
    return { level: 'error', text: `Run of ${what} failed (${counts})${failed.length ? `. ${failed.join('; ')}` : ''}${writes}`, showOutput: output };
  }
  const time = r.stepsMs !== null ? ` in ${formatMs(r.stepsMs)}` : '';
  const snap = r.snapshot ? `; snapshot ${r.snapshot.hash.slice(0, 8)}${r.snapshot.tag ? ` (${r.snapshot.tag})` : ''}` : '';
  output.appendLine(`Run succeeded (${counts})${time}${snap}`);
  return { level: 'info', text: `Ran ${what}: ${counts}${snap}` };
}

async function showLineage(server: DwsServer): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'dws-lineage-'));
  try {
    const r = await server.sendRequest<{ file: string; resource: string }>('dws/lineage/graph', { format: 'html', output: join(dir, 'lineage.html') });
    const panel = vscode.window.createWebviewPanel('dataworkspaces.lineage', `Lineage of ${r.resource}`, vscode.ViewColumn.Active, { enableScripts: true });
    panel.webview.html = readFileSync(r.file, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return null;
}

/**
 * The page of `dws report plots` in one webview, as the server renders it (the chart library is
 * inlined: a webview has no network). Showing it again redraws and reveals the open one.
 */
class PlotsView {
  private panel: vscode.WebviewPanel | undefined;

  constructor(private readonly server: DwsServer) {}

  async show(): Promise<Outcome> {
    const html = await this.page();
    if (this.panel) {
      this.panel.webview.html = html;
      this.panel.reveal();
      return null;
    }
    const panel = vscode.window.createWebviewPanel('dataworkspaces.plots', 'Metrics across snapshots', vscode.ViewColumn.Active, { enableScripts: true });
    panel.onDidDispose(() => (this.panel = undefined));
    panel.webview.html = html;
    this.panel = panel;
    return null;
  }

  /** Redraw the view if it is open, so it never shows fewer snapshots than there are. */
  async refresh(): Promise<void> {
    if (!this.panel) return;
    try {
      this.panel.webview.html = await this.page();
    } catch (e) {
      void vscode.window.showErrorMessage(`dws: cannot redraw the plots: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async page(): Promise<string> {
    return (await this.server.sendRequest<ReportPlots>('dws/report/plots', { html: true })).html ?? '';
  }
}

export type Node =
  | { kind: 'group'; label: 'Resources' | 'Snapshots' }
  | { kind: 'resource'; resource: ResourceInfo }
  | { kind: 'snapshot'; snapshot: SnapshotInfo };

/** Resources (by role) and snapshots (newest first), from dws/report/status and dws/report/history. */
class WorkspaceTree implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly server: DwsServer) {}

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
      const { resources } = await this.server.sendRequest<{ resources: ResourceInfo[] }>('dws/report/status', {});
      return resources.map((resource) => ({ kind: 'resource', resource }));
    }
    const { snapshots } = await this.server.sendRequest<{ snapshots: SnapshotInfo[] }>('dws/report/history', {});
    return snapshots.map((snapshot) => ({ kind: 'snapshot', snapshot }));
  }
}
