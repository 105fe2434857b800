/**
 * The editor side of `dws server` (LSP): initialize/shutdown, workspace folders as workspaces,
 * documents the editor has open, and one module per feature: step-file, pipeline-file and
 * metadata diagnostics, code lenses, hover, completion, commands. Step files and the pipeline
 * file (dws.yaml) get the same features on their steps' refs. The `dws/*` methods are bound by
 * serve.ts on the same connection.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DiagnosticSeverity, ExecuteCommandRequest, TextDocumentSyncKind,
  type Connection, type Diagnostic, type TextDocumentPositionParams,
} from 'vscode-languageserver/node.js';
import type { Logger } from '../../context.js';
import type { Call } from '../serve.js';
import { codeLenses } from './code-lens.js';
import { commandNames, executeCommand } from './commands.js';
import { completion } from './completion.js';
import { hover } from './hover.js';
import { loadWorkspace, type LoadedWorkspace } from './loaded-workspace.js';
import { isMetadataFile, metadataDiagnostics } from './metadata-diagnostics.js';
import { pipelineDiagnostics } from './pipeline-diagnostics.js';
import { stepDiagnostics } from './step-diagnostics.js';
import { PIPELINE_FILE, scanSteps, STEP_FILE, type StepDecl } from './step-scan.js';
import { offsetAt } from './text.js';
import type { Workspaces } from './workspaces.js';

export function serveLsp(connection: Connection, o: { workspaces: Workspaces; call: Call; log: Logger }): void {
  const { workspaces, log } = o;
  /** Open documents: uri → text (full sync). */
  const docs = new Map<string, string>();

  connection.onInitialize((params) => {
    workspaces.add(params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []));
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Full, save: true },
        hoverProvider: true,
        completionProvider: { triggerCharacters: ["'", '"', '`', '/'] },
        codeLensProvider: { resolveProvider: false },
        executeCommandProvider: { commands: commandNames() },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: 'dws', version: __DWS_VERSION__ },
    };
  });
  connection.onInitialized(() => {
    try {
      connection.workspace.onDidChangeWorkspaceFolders((e) => {
        workspaces.remove(e.removed.map((f) => f.uri));
        workspaces.add(e.added.map((f) => f.uri));
        revalidateAll();
      });
    } catch {
      // the client cannot change folders after initialize
    }
  });

  const workspaceOf = async (uri: string): Promise<LoadedWorkspace | null> => {
    const dir = workspaces.forFile(fileURLToPath(uri));
    return dir === null ? null : loadWorkspace(dir, log);
  };
  const textOf = (uri: string): string | null => {
    try {
      return docs.get(uri) ?? readFileSync(fileURLToPath(uri), 'utf8');
    } catch {
      return null;
    }
  };

  const validate = async (uri: string): Promise<void> => {
    const text = docs.get(uri);
    if (text === undefined || !uri.startsWith('file:')) return;
    const file = fileURLToPath(uri);
    let diagnostics: Diagnostic[];
    try {
      if (isMetadataFile(file)) diagnostics = metadataDiagnostics(text, file);
      else if (isPipelineFile(file)) diagnostics = await pipelineDiagnostics(text, file, await workspaceOf(uri).catch(() => null));
      else if (STEP_FILE.test(file)) {
        let lw: LoadedWorkspace | null = null;
        let problem: Diagnostic[] = [];
        try {
          lw = await workspaceOf(uri);
        } catch (e) {
          const message = `Cannot check this step against its workspace: ${e instanceof Error ? e.message : String(e)}`;
          problem = [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, severity: DiagnosticSeverity.Warning, source: 'dws', message }];
        }
        diagnostics = [...problem, ...(await stepDiagnostics(text, file, lw))];
      } else return;
    } catch (e) {
      log.warn(`diagnostics for ${file} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      return;
    }
    if (docs.get(uri) === text) void connection.sendDiagnostics({ uri, diagnostics });
  };
  // A change to metadata or data can change every open step file's diagnostics.
  const revalidateAll = () => {
    for (const uri of docs.keys()) void validate(uri);
  };

  connection.onDidOpenTextDocument((p) => {
    docs.set(p.textDocument.uri, p.textDocument.text);
    void validate(p.textDocument.uri);
  });
  connection.onDidChangeTextDocument((p) => {
    const last = p.contentChanges.at(-1);
    if (last && !('range' in last)) docs.set(p.textDocument.uri, last.text);
    void validate(p.textDocument.uri);
  });
  connection.onDidSaveTextDocument(() => revalidateAll());
  connection.onDidCloseTextDocument((p) => {
    docs.delete(p.textDocument.uri);
    void connection.sendDiagnostics({ uri: p.textDocument.uri, diagnostics: [] });
  });

  /** The pipeline file: dws.yaml at the root of a workspace (not any file of that name). */
  const isPipelineFile = (file: string): boolean => basename(file) === PIPELINE_FILE && workspaces.forFile(file) === dirname(file);
  /** The steps declared in a step file or the pipeline file; null for any other file. */
  const stepsOf = async (uri: string, text: string): Promise<StepDecl[] | null> => {
    if (!uri.startsWith('file:')) return null;
    if (isPipelineFile(fileURLToPath(uri))) return (await import('../../../runner/pipeline-file.js')).readPipelineText(text).steps;
    return STEP_FILE.test(uri) ? scanSteps(text) : null;
  };
  /** Run a feature on the steps of a file at a position, or answer `empty` (no steps, no workspace). */
  const atPosition = async <T>(p: TextDocumentPositionParams, empty: T, f: (steps: StepDecl[], text: string, offset: number, lw: LoadedWorkspace) => T | Promise<T>): Promise<T> => {
    const text = textOf(p.textDocument.uri);
    const steps = text === null ? null : await stepsOf(p.textDocument.uri, text);
    if (text === null || steps === null) return empty;
    const lw = await workspaceOf(p.textDocument.uri).catch(() => null);
    return lw ? f(steps, text, offsetAt(text, p.position), lw) : empty;
  };
  connection.onHover((p) => atPosition(p, null, hover));
  connection.onCompletion((p) => atPosition(p, [], completion));
  connection.onCodeLens(async (p) => {
    const uri = p.textDocument.uri;
    const text = textOf(uri);
    const steps = text === null ? null : await stepsOf(uri, text);
    if (text === null || steps === null) return [];
    const lw = await workspaceOf(uri).catch(() => null);
    // In the pipeline file, Run runs that step (and its upstream), not the whole pipeline.
    return lw ? codeLenses(steps, text, uri, lw, { selectStep: !STEP_FILE.test(uri) }) : [];
  });
  connection.onRequest(ExecuteCommandRequest.type, async (params, token) => {
    try {
      return await executeCommand(params, token, { connection, workspaces, call: o.call });
    } finally {
      revalidateAll();
    }
  });
}
