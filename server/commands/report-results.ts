/**
 * `dws/report/results`: find and read a `results.json` (cli.md `report results`): with a
 * snapshot, in its results directory; without, at the root of the results resources, else in
 * the newest snapshot's directory.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, NotFoundError } from '../../protocol/errors.js';
import type { reportResults as ReportResults, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { SnapshotStore } from '../backends/git/snapshots.js';
import { openResources } from '../resources/registry.js';
import type { Resource } from '../resources/types.js';
import { readJsonFile } from '../workspace/files.js';
import { Workspace } from '../workspace/workspace.js';

export async function reportResults(ctx: Context, p: ValidParamsOf<typeof ReportResults>): Promise<ResultOf<typeof ReportResults>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  if (p.resource !== undefined) ws.resourceParams(p.resource); // unknown name: NotFound
  const store = new SnapshotStore(ws);
  const snapshot = p.snapshot === undefined ? null : store.resolve(p.snapshot);
  // Resources with local files: the named one (any role), else every results resource.
  const candidates = (await openResources(ws)).filter(
    (r) => r.localPath !== null && (p.resource !== undefined ? r.name === p.resource : r.role === 'results'),
  );
  let fromLatestSnapshot = false;
  let found: { r: Resource; subpath: string } | null;
  if (snapshot) {
    found = find(candidates, `${snapshot.relative_destination_path}/results.json`);
  } else {
    found = find(candidates, 'results.json');
    if (!found) {
      ctx.log.info('Did not find a results.json file in current workspace, checking most recent snapshot...');
      const newest = store.history()[0];
      if (newest) found = find(candidates, `${newest.relative_destination_path}/results.json`);
      fromLatestSnapshot = found !== null;
    }
  }
  if (!found) {
    const s = p.snapshot !== undefined ? ` for snapshot ${p.snapshot}` : '';
    const r = p.resource !== undefined ? ` for resource ${p.resource}` : '';
    throw new NotFoundError(`Could not find results file${s}${r}`, { reason: 'no-results-file' });
  }
  const file = join(found.r.localPath!, found.subpath);
  let results: unknown;
  try {
    results = readJsonFile(file);
  } catch {
    throw new ConfigurationError(`Parse error when reading ${found.subpath} in resource ${found.r.name}`, { resource: found.r.name, file });
  }
  if (typeof results !== 'object' || results === null || Array.isArray(results)) {
    throw new ConfigurationError(`${found.subpath} in resource ${found.r.name} is not a JSON object`, { resource: found.r.name, file });
  }
  return { resource: found.r.name, subpath: found.subpath, fromLatestSnapshot, results: results as Record<string, unknown> };
}

function find(resources: Resource[], subpath: string): { r: Resource; subpath: string } | null {
  for (const r of resources) {
    const f = join(r.localPath!, subpath);
    if (existsSync(f) && statSync(f).isFile()) return { r, subpath };
  }
  return null;
}
