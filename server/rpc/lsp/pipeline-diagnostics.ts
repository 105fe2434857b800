/**
 * Diagnostics on the pipeline file dws.yaml: its YAML and schema problems and duplicate step
 * names at their nodes (runner/pipeline-file.ts, as `dws run` reports them), missing step files,
 * the checks every step gets (refs, overlapping outputs, stale steps: step-diagnostics.ts), and
 * what planning the run would refuse (a cycle, two writers of one output) on the steps involved.
 */
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver/node.js';
import { ConflictError } from '../../../protocol/errors.js';
import type { Resource } from '../../resources/types.js';
import type { LoadedWorkspace } from './loaded-workspace.js';
import { declDiagnostics } from './step-diagnostics.js';
import { rangeOf } from './text.js';

export async function pipelineDiagnostics(text: string, file: string, lw: LoadedWorkspace | null): Promise<Diagnostic[]> {
  const { readPipelineText, missingStepFiles, commandStepOf } = await import('../../../runner/pipeline-file.js');
  const read = readPipelineText(text);
  const error = (r: { start: number; end: number }, message: string): Diagnostic => ({ range: rangeOf(text, r.start, r.end), severity: DiagnosticSeverity.Error, source: 'dws', message });
  const out = read.problems.map((p) => error(p, p.message));
  if (!lw || read.problems.some((p) => p.message.startsWith('YAML:'))) return out;
  out.push(...missingStepFiles(lw.ws, read).map((p) => error(p, p.message)));
  const refs = await declDiagnostics(text, read.steps, lw);
  out.push(...refs);
  // Plan the file's steps as the run would (only when their refs resolve): cycles and shared outputs.
  if (read.content !== null && !refs.some((d) => d.severity === DiagnosticSeverity.Error)) {
    const resources = [...lw.resources.values()].filter((r): r is Resource => r !== null);
    const { planSteps } = await import('../../../runner/plan.js');
    try {
      planSteps(read.content.steps.map((s) => commandStepOf(lw.ws, resources, file, s, {})), resources, lw.ws.dir);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      const involved = Array.isArray(e.data.cycle) ? (e.data.cycle as string[]) : [String(e.data.step)];
      for (const s of read.steps.filter((x) => x.name !== null && involved.includes(x.name))) out.push(error(s.nameRange ?? s, e.message));
    }
  }
  return out;
}
