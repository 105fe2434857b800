/**
 * lineage.json files for people and other workspaces, written at snapshot time (lineage.md §5-7):
 * into each results resource's snapshot directory, and at the root of each exported resource.
 */
import type { Resource } from '../server/resources/types.js';
import type { Workspace } from '../server/workspace/workspace.js';
import { lineageToJson } from './model.js';
import { refsOfResource, upstream } from './queries.js';
import { addResultsFile } from './results-file.js';
import { LineageStore } from './store.js';

/** Write the lineage.json files of a snapshot whose results went to `relDest`. */
export async function writeLineageFiles(ws: Workspace, resources: Resource[], relDest: string): Promise<void> {
  const store = new LineageStore(ws);
  const content = (r: Resource) => {
    const refs = refsOfResource(store, r.name);
    if (refs.length === 0) {
      ws.ctx.log.warn(`WARNING: no lineage data found for resource '${r.name}'`);
      return null;
    }
    const { lineages, warnings } = upstream(store, refs, r.name);
    for (const w of warnings) ws.ctx.log.warn(w);
    return { resource_name: r.name, complete: warnings.length === 0, lineages: lineages.map(lineageToJson) };
  };
  for (const r of resources) {
    if (r.role !== 'results' || !r.results) continue;
    const data = content(r);
    if (data === null) ws.ctx.log.debug(`No lineage available for ${r.name}, not writing a lineage.json file`);
    else {
      await addResultsFile(r, `${relDest}/lineage.json`, data);
      ws.ctx.log.info(`Wrote lineage for ${r.name} to lineage.json`);
    }
  }
  for (const r of resources) {
    if (r.params.export !== true || r.localPath === null) continue;
    const data = content(r);
    if (data === null) continue;
    await addResultsFile(r, 'lineage.json', data);
    ws.ctx.log.info(`Exported lineage for ${r.name} to lineage.json`);
  }
}
