/**
 * A fake `vscode` module for the extension's tests: just the APIs clients/vscode/src uses, with
 * what the user would see recorded (messages, prompts, output channel lines) and the user's
 * answers given in advance. VS Code itself cannot run in tests; the extension's server can.
 */
import { relative } from 'node:path';

/** Something the user saw: a message, a prompt, or a webview. */
export interface Shown {
  kind: 'info' | 'warning' | 'error' | 'input' | 'quickPick' | 'webview';
  text: string;
  modal?: boolean;
  detail?: string;
  /** Buttons of a message, labels of a quick pick. */
  items?: string[];
}

type Disposable = { dispose(): void };

/** A webview panel: its page, how often it was brought to the front, and `dispose()` to close it as the user would. */
export interface FakeWebview {
  id: string;
  title: string;
  options: { enableScripts?: boolean };
  webview: { html: string };
  revealed: number;
  reveal(): void;
  onDidDispose(listener: () => void): Disposable;
  dispose(): void;
}
const disposable = (): Disposable => ({ dispose() {} });

export class FakeVscode {
  readonly shown: Shown[] = [];
  /** Output channels by name: the text appended, and whether it was shown. */
  readonly channels = new Map<string, { text: string; shown: boolean }>();
  readonly commandHandlers = new Map<string, (...args: unknown[]) => unknown>();
  /** Webview panels opened, with the page the extension gave each. */
  readonly webviews: FakeWebview[] = [];
  /** The user's answers to prompts (input boxes, quick picks, modal messages), in order; a function picks from the items. */
  private answers: unknown[] = [];
  /** The file of the active editor (none: no editor open). */
  activeFile: string | undefined;

  /** The workspace folder open in the fake VS Code. */
  folder = '';

  answer(...values: unknown[]): void {
    this.answers.push(...values);
  }

  private next(items: unknown[] = []): unknown {
    if (this.answers.length === 0) throw new Error('The test gave no answer for this prompt');
    const a = this.answers.shift();
    return typeof a === 'function' ? (a as (items: unknown[]) => unknown)(items) : a;
  }

  private message(kind: 'info' | 'warning' | 'error', text: string, rest: unknown[]): Promise<string | undefined> {
    const options = typeof rest[0] === 'object' && rest[0] !== null ? (rest.shift() as { modal?: boolean; detail?: string }) : {};
    const items = rest as string[];
    this.shown.push({ kind, text, ...(options.modal ? { modal: true } : {}), ...(options.detail ? { detail: options.detail } : {}), ...(items.length ? { items } : {}) });
    // A modal message waits for the user; a toast's buttons are left unclicked.
    return Promise.resolve(options.modal ? (this.next(items) as string | undefined) : undefined);
  }

  /** The module the extension imports as `vscode`. */
  module(): Record<string, unknown> {
    const fake = this;
    return {
      window: {
        get activeTextEditor() {
          return fake.activeFile === undefined ? undefined : { document: { uri: { scheme: 'file', fsPath: fake.activeFile } } };
        },
        showInformationMessage: (text: string, ...rest: unknown[]) => fake.message('info', text, rest),
        showWarningMessage: (text: string, ...rest: unknown[]) => fake.message('warning', text, rest),
        showErrorMessage: (text: string, ...rest: unknown[]) => fake.message('error', text, rest),
        showInputBox: async (o: { prompt: string }) => (fake.shown.push({ kind: 'input', text: o.prompt }), fake.next()),
        showQuickPick: async (items: Array<{ label: string }>, o: { placeHolder: string }) => {
          fake.shown.push({ kind: 'quickPick', text: o.placeHolder, items: items.map((i) => i.label) });
          return fake.next(items);
        },
        createOutputChannel: (name: string) => {
          const c = { text: '', shown: false };
          fake.channels.set(name, c);
          return {
            name,
            append: (s: string) => void (c.text += s),
            appendLine: (s: string) => void (c.text += `${s}\n`),
            show: () => void (c.shown = true),
            dispose() {},
          };
        },
        registerTreeDataProvider: disposable,
        createWebviewPanel: (id: string, title: string, _column: unknown, options: { enableScripts?: boolean } = {}) => {
          fake.shown.push({ kind: 'webview', text: title });
          const closed: Array<() => void> = [];
          const panel: FakeWebview = {
            id,
            title,
            options,
            webview: { html: '' },
            revealed: 0,
            reveal: () => void panel.revealed++,
            onDidDispose: (listener: () => void) => (closed.push(listener), disposable()),
            // The user closes the panel.
            dispose: () => closed.splice(0).forEach((l) => l()),
          };
          fake.webviews.push(panel);
          return panel;
        },
      },
      commands: {
        registerCommand: (name: string, handler: (...args: unknown[]) => unknown) => {
          fake.commandHandlers.set(name, handler);
          return { dispose: () => fake.commandHandlers.delete(name) };
        },
        executeCommand: async (name: string, ...args: unknown[]) => {
          const h = fake.commandHandlers.get(name);
          if (!h) throw new Error(`command '${name}' not found`);
          return h(...args);
        },
      },
      workspace: {
        get workspaceFolders() {
          return [{ uri: { scheme: 'file', fsPath: fake.folder }, name: 'ws', index: 0 }];
        },
        asRelativePath: (p: string) => relative(fake.folder, p),
      },
      EventEmitter: class {
        event = () => disposable();
        fire() {}
        dispose() {}
      },
      TreeItem: class {
        constructor(
          public label: string,
          public collapsibleState?: number,
        ) {}
      },
      TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
      ThemeIcon: class {
        constructor(public id: string) {}
      },
      ViewColumn: { Active: -1 },
    };
  }
}

/** The one fake a test file's `vi.mock('vscode', ...)` hands out (each test file has its own module instance). */
export const fake = new FakeVscode();
