/**
 * Hover on a resource ref string of a step (in a step file or the pipeline file): the resource's
 * type and role, the path, its hash now, the step of these declarations that writes it, and the
 * step whose recorded run produced it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MarkupKind, type Hover } from 'vscode-languageserver/node.js';
import { currentCompareHash } from '../../../lineage/current-hash.js';
import { covers, refEquals, refName } from '../../../lineage/model.js';
import { LineageStore } from '../../../lineage/store.js';
import type { LoadedWorkspace } from './loaded-workspace.js';
import { leavesResource, parseRef, refAt, type StepDecl } from './step-scan.js';
import { rangeOf } from './text.js';

export async function hover(steps: StepDecl[], text: string, offset: number, lw: LoadedWorkspace): Promise<Hover | null> {
  const hit = refAt(steps, offset);
  if (!hit) return null;
  const ref = parseRef(hit.value);
  const params = lw.ws.resources.find((p) => p.name === ref.name);
  const lines: string[] = [];
  if (!params) {
    lines.push(`**${ref.name}**: no such resource in workspace ${lw.ws.name}`);
  } else {
    const r = lw.resources.get(ref.name) ?? null;
    const hash = r ? await currentCompareHash(r) : null;
    lines.push(`**${refName(ref)}**: ${params.resource_type} resource, role ${params.role}`);
    if (leavesResource(ref.subpath)) lines.push(`path: '${ref.subpath}' leaves the resource ('..' is not allowed in a ref)`);
    else if (ref.subpath !== null && r?.localPath) lines.push(`path: ${join(r.localPath, ref.subpath)}${existsSync(join(r.localPath, ref.subpath)) ? '' : ' (does not exist yet)'}`);
    lines.push(`current hash: ${hash === null ? 'unknown' : hash.includes('+') ? `${hash.slice(0, 8)} + uncommitted changes` : hash.slice(0, 8)}`);
    // The step declared here that writes what this input reads (the run orders them so).
    const writer = hit.kind === 'input' ? steps.find((s) => s.refs.some((o) => o.kind === 'output' && (refEquals(parseRef(o.value), ref) || covers(parseRef(o.value), ref) || covers(ref, parseRef(o.value))))) : undefined;
    lines.push(hit.kind === 'output' ? `${hit.key}: output of this step` : `${hit.key}: input of this step${writer?.name ? `, written by step ${writer.name}` : ''}`);
    const produced = LineageStore.withFallback(lw.ws).lookup(ref)?.lineage;
    lines.push(
      produced?.type === 'step'
        ? `produced by: step ${produced.stepName} at ${produced.startTime.replace('T', ' ')}`
        : produced?.type === 'source_data'
          ? 'produced by: source data (no step)'
          : 'produced by: no lineage recorded',
    );
  }
  return { contents: { kind: MarkupKind.Markdown, value: lines.join('\n\n') }, range: rangeOf(text, hit.start, hit.end) };
}
