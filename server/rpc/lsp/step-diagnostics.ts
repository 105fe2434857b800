/**
 * Diagnostics on step files (and, but for the syntax, the pipeline file's steps): a syntax error (esbuild's parser, on the editor's text, so unsaved
 * changes count and no user code runs), unknown resources or input subpaths in ref strings,
 * outputs that overlap each other or the step's inputs (the runner refuses those), and steps
 * whose recorded run is stale because an input or its code changed (lineage/staleness.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver/node.js';
import { covers, refEquals } from '../../../lineage/model.js';
import { LineageStore } from '../../../lineage/store.js';
import type { Resource } from '../../resources/types.js';
import type { LoadedWorkspace } from './loaded-workspace.js';
import { leavesResource, parseRef, scanSteps, type RefString, type StepDecl } from './step-scan.js';
import { positionAt, rangeOf } from './text.js';

export async function stepDiagnostics(text: string, file: string, lw: LoadedWorkspace | null): Promise<Diagnostic[]> {
  const syntax = await syntaxError(text, file);
  if (syntax) return [syntax];
  if (!lw) return [];
  return declDiagnostics(text, scanSteps(text), lw);
}

/**
 * The checks of declared steps against their workspace (a step file's, or the pipeline file's):
 * refs, overlapping outputs, stale steps.
 */
export async function declDiagnostics(text: string, steps: StepDecl[], lw: LoadedWorkspace): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const at = (r: { start: number; end: number }, severity: DiagnosticSeverity, message: string) =>
    out.push({ range: rangeOf(text, r.start, r.end), severity, source: 'dws', message });
  const names = [...lw.resources.keys()];
  const outputs: Array<{ ref: RefString; step: string }> = [];
  for (const step of steps) {
    const stepName = step.name ?? '(unnamed)';
    for (const r of step.refs) {
      const ref = parseRef(r.value);
      if (!lw.resources.has(ref.name)) {
        at(r, DiagnosticSeverity.Error, `Unknown resource '${ref.name}' in ${r.kind} '${r.key}': this workspace has ${names.join(', ') || 'no resources'} (add it with 'dws add')`);
        continue;
      }
      if (leavesResource(ref.subpath)) {
        at(r, DiagnosticSeverity.Error, `Subpath '${ref.subpath}' of ${r.kind} '${r.value}' leaves resource ${ref.name} ('..' is not allowed): name a path inside the resource`);
        continue;
      }
      // Outputs may not exist yet: the step makes them.
      const local = (lw.resources.get(ref.name) as Resource | null)?.localPath ?? null;
      if (r.kind === 'input' && ref.subpath !== null && local !== null && !existsSync(join(local, ref.subpath))) {
        at(r, DiagnosticSeverity.Error, `'${ref.subpath}' does not exist in resource ${ref.name} (${join(local, ref.subpath)})`);
      }
      if (r.kind === 'output') {
        for (const i of step.refs.filter((x) => x.kind === 'input')) {
          const ir = parseRef(i.value);
          if (refEquals(ir, ref) || covers(ir, ref) || covers(ref, ir)) at(r, DiagnosticSeverity.Error, `Output '${r.value}' overlaps input '${i.value}' of step ${stepName}: a step may not write what it reads`);
        }
        for (const o of outputs) {
          const or = parseRef(o.ref.value);
          if (refEquals(or, ref) || covers(or, ref) || covers(ref, or)) {
            at(r, DiagnosticSeverity.Error, `Output '${r.value}' overlaps output '${o.ref.value}' of step ${o.step}: two outputs may not be the same or nested paths`);
          }
        }
        outputs.push({ ref: r, step: stepName });
      }
    }
  }
  const named = steps.filter((s) => s.name !== null);
  if (named.length > 0) {
    const resources = [...lw.resources.values()].filter((r): r is Resource => r !== null);
    const { workspaceStaleness } = await import('../../../runner/freshness.js');
    const stale = await workspaceStaleness(lw.ws, LineageStore.withFallback(lw.ws), resources);
    for (const s of named) {
      const st = stale.steps.find((x) => x.step === s.name);
      if (!st) continue;
      const why = [
        ...(st.changed.length > 0 ? st.changed.map((c) => `${c.kind} ${c.ref} changed (recorded ${c.recorded}, now ${c.current})`) : [st.reason]),
        ...(st.upstream.length > 0 ? [`it read outputs of stale step ${st.upstream.join(', ')}`] : []),
      ];
      at(s.nameRange ?? s, DiagnosticSeverity.Warning, `Step ${s.name} is stale since its run at ${st.startTime.replace('T', ' ')}: ${[...new Set(why)].join('; ')}. Run it again.`);
    }
  }
  return out;
}

/** The first syntax error esbuild finds, at its line and column. */
async function syntaxError(text: string, file: string): Promise<Diagnostic | null> {
  const { transform } = await import('esbuild');
  try {
    await transform(text, { loader: /\.m?ts$/.test(file) ? 'ts' : 'js', sourcefile: file, logLevel: 'silent' });
    return null;
  } catch (e) {
    const first = (e as { errors?: Array<{ text: string; location: { line: number; column: number; length: number } | null }> }).errors?.[0];
    if (!first) throw e;
    const loc = first.location ?? { line: 1, column: 0, length: 0 };
    // esbuild's column counts UTF-8 bytes; convert on the line's text.
    const lineStart = text.split('\n').slice(0, loc.line - 1).reduce((n, l) => n + l.length + 1, 0);
    const lineText = text.slice(lineStart).split('\n')[0] ?? '';
    const column = Buffer.from(lineText, 'utf8').subarray(0, loc.column).toString('utf8').length;
    const start = positionAt(text, lineStart + column);
    return {
      range: { start, end: { line: start.line, character: start.character + Math.max(loc.length, 1) } },
      severity: DiagnosticSeverity.Error,
      source: 'dws',
      message: `Syntax error: ${first.text} (the runner cannot load this step file)`,
    };
  }
}
