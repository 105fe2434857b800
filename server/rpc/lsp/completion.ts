/**
 * Completion inside a ref string of a step's inputs/outputs (a step file's or the pipeline
 * file's): resource names, then after `name:/` the entries of that directory of the resource
 * (folders end with `/`).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CompletionItemKind, type CompletionItem } from 'vscode-languageserver/node.js';
import type { LoadedWorkspace } from './loaded-workspace.js';
import { leavesResource, refAt, type StepDecl } from './step-scan.js';
import { rangeOf } from './text.js';

export function completion(steps: StepDecl[], text: string, offset: number, lw: LoadedWorkspace): CompletionItem[] {
  const hit = refAt(steps, offset);
  if (!hit) return [];
  const typed = text.slice(hit.start, offset);
  const colon = typed.indexOf(':/');
  if (colon === -1) {
    const range = rangeOf(text, hit.start, offset);
    return lw.ws.resources.map((p) => ({
      label: p.name,
      kind: CompletionItemKind.Module,
      detail: `${p.role} (${p.resource_type})`,
      textEdit: { range, newText: p.name },
    }));
  }
  const local = lw.resources.get(typed.slice(0, colon))?.localPath;
  if (!local) return [];
  const sub = typed.slice(colon + 2);
  const dir = sub.slice(0, sub.lastIndexOf('/') + 1);
  if (leavesResource(dir)) return []; // nothing outside the resource is offered
  const range = rangeOf(text, offset - (sub.length - dir.length), offset);
  let entries;
  try {
    entries = readdirSync(join(local, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => {
      const name = e.isDirectory() ? `${e.name}/` : e.name;
      return { label: name, kind: e.isDirectory() ? CompletionItemKind.Folder : CompletionItemKind.File, textEdit: { range, newText: name } };
    });
}
