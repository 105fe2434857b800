/** `dws/lineage/graph`: draw a resource's lineage (lineage.md §10) into a file: html, dot, mermaid or json. */
import { resolve } from 'node:path';
import { ConfigurationError } from '../../protocol/errors.js';
import type { lineageGraph as Graph, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import { renderDot, renderHtml, renderJson, renderMermaid } from '../../lineage/graph-render.js';
import { buildGraph } from '../../lineage/queries.js';
import type { Context } from '../context.js';
import { atomicWriteFile } from '../workspace/files.js';
import { Workspace } from '../workspace/workspace.js';
import { openLineage } from './lineage-common.js';

const RENDERERS = { html: renderHtml, dot: renderDot, mermaid: renderMermaid, json: renderJson } as const;

export async function lineageGraph(ctx: Context, p: ValidParamsOf<typeof Graph>): Promise<ResultOf<typeof Graph>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  let resource = p.resource;
  if (resource === undefined) {
    resource = ws.resources.find((r) => r.role === 'results')?.name;
    if (resource === undefined) {
      throw new ConfigurationError(`Did not find a results resource in workspace. If you want to graph the lineage of a non-results resource, use the ${ctx.option('resource')} option.`);
    }
  } else if (!ws.resources.some((r) => r.name === resource)) {
    throw new ConfigurationError(`No resource named '${resource}'`, { resource });
  }
  const { store, hash } = openLineage(ws, p.snapshot);
  const title = p.snapshot === undefined ? `Lineage of ${resource}` : `Lineage of ${resource} as of snapshot ${p.snapshot}`;
  const { graph, warnings } = buildGraph(store, resource, new Map(ws.resources.map((r) => [r.name, r.role])), title);
  for (const w of warnings) ctx.log.warn(w);
  const file = resolve(ctx.cwd, p.output);
  atomicWriteFile(file, RENDERERS[p.format](graph));
  return {
    resource,
    snapshot: hash,
    format: p.format,
    file,
    steps: graph.nodes.filter((n) => n.kind === 'step').length,
    resources: graph.nodes.filter((n) => n.kind === 'resource').length,
    warnings,
  };
}
