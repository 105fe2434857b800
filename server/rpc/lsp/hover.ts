/** Hover on a resource ref string in a step file: the resource's type and role, its hash now, and the step that produced it. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MarkupKind, type Hover } from 'vscode-languageserver/node.js';
import { currentCompareHash } from '../../../lineage/current-hash.js';
import { refName } from '../../../lineage/model.js';
import { LineageStore } from '../../../lineage/store.js';
import type { LoadedWorkspace } from './loaded-workspace.js';
import { leavesResource, parseRef, refAt, scanSteps } from './step-scan.js';
import { rangeOf } from './text.js';

export async function hover(text: string, offset: number, lw: LoadedWorkspace): Promise<Hover | null> {
  const hit = refAt(scanSteps(text), offset);
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
