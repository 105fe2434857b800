/**
 * `dws/lineage/export`: the steps of a snapshot, or of the current state with each step's last
 * failed run, as OpenLineage RunEvents (lineage/openlineage.ts); written one per line to a file,
 * and POSTed one by one to an OpenLineage HTTP endpoint (its `api/v1/lineage` route) when asked.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidParamsError, RequestFailedError } from '../../protocol/errors.js';
import type { lineageExport as Export, OpenLineageRunEvent, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import { readFailedSteps } from '../../lineage/failures.js';
import type { Lineage, ResourceRef, StepLineage } from '../../lineage/model.js';
import { openLineageEvents, type CodeLocation } from '../../lineage/openlineage.js';
import { SnapshotStore, type SnapshotMetadata } from '../backends/git/snapshots.js';
import { openResources } from '../resources/registry.js';
import type { Resource } from '../resources/types.js';
import type { Context } from '../context.js';
import { atomicWriteFile, readJsonFile } from '../workspace/files.js';
import { Workspace } from '../workspace/workspace.js';
import { openLineage } from './lineage-common.js';

/** How long one POST may take before it counts as failed. */
const POST_TIMEOUT_MS = 30_000;

export async function lineageExport(ctx: Context, p: ValidParamsOf<typeof Export>): Promise<ResultOf<typeof Export>> {
  const url = p.url === undefined ? null : checkUrl(ctx, p.url);
  const ws = Workspace.open(ctx, p.workspaceDir);
  const { store, hash } = openLineage(ws, p.snapshot);
  const md = hash === null ? null : new SnapshotStore(ws).read(hash);
  const resources = await openResources(ws);
  // A step stored at several refs is one record.
  const seen = new Set<Lineage>();
  for (const { lineage } of store.iterate()) seen.add(lineage);
  const steps = [...seen].filter((l): l is StepLineage => l.type === 'step');
  const namespace = p.namespace ?? `dws://${ws.name}`;
  const events = openLineageEvents({
    namespace,
    dwsVersion: __DWS_VERSION__,
    snapshot: hash,
    steps,
    // Failures are machine-local and never part of a snapshot.
    failed: hash === null ? [...readFailedSteps(ws).values()] : [],
    metricsOf: (s) => metricsOf(resources, s, md),
    codeLocation: (r) => codeLocation(resources, r),
  }) as OpenLineageRunEvent[];

  let file: string | null = null;
  if (p.output !== undefined) {
    file = resolve(ctx.cwd, p.output);
    atomicWriteFile(file, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  }
  if (url !== null) await postEvents(ctx, url, events);
  return { snapshot: hash, format: p.format, namespace, events, file, posted: url === null ? null : { url, events: events.length } };
}

function checkUrl(ctx: Context, given: string): string {
  let u: URL;
  try {
    u = new URL(given);
  } catch {
    throw new InvalidParamsError(`Invalid ${ctx.option('url')} '${given}': give an OpenLineage HTTP endpoint, e.g. http://localhost:5000/api/v1/lineage`, { url: given });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new InvalidParamsError(`Invalid ${ctx.option('url')} '${given}': only http: and https: endpoints are supported, e.g. http://localhost:5000/api/v1/lineage`, { url: given });
  }
  return given;
}

/** POST each event, in order, as the OpenLineage HTTP transport does; stop at the first failure. */
async function postEvents(ctx: Context, url: string, events: OpenLineageRunEvent[]): Promise<void> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  // The OpenLineage clients' variable for an endpoint that wants a bearer token.
  const apiKey = ctx.env.OPENLINEAGE_API_KEY;
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  for (const [i, event] of events.entries()) {
    const which = `OpenLineage event ${i + 1} of ${events.length} (${event.eventType} ${event.job.name})`;
    const sent = i === 0 ? 'nothing was sent' : `${i} event${i === 1 ? ' was' : 's were'} sent before it`;
    const signals = [AbortSignal.timeout(POST_TIMEOUT_MS), ...(ctx.signal ? [ctx.signal] : [])];
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(event), signal: AbortSignal.any(signals) });
    } catch (e) {
      const cause = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
      throw new RequestFailedError(`Could not send ${which} to ${url}: ${cause} (${sent}). Check the URL and that the OpenLineage server is running.`, {
        url,
        sent: i,
      });
    }
    if (!res.ok) {
      const body = (await res.text().catch(() => '')).trim().slice(0, 300);
      throw new RequestFailedError(`${url} refused ${which}: HTTP ${res.status} ${res.statusText}${body ? `: ${body}` : ''} (${sent}).`, {
        url,
        status: res.status,
        sent: i,
      });
    }
    await res.body?.cancel();
  }
}

/**
 * The metrics a step wrote: the results.json in one of its outputs (where it wrote it, or, for a
 * snapshot, where the snapshot moved it) made by this run of the step; for a snapshot, else the
 * snapshot's metrics when the step wrote the root of a results resource (where they were read).
 */
function metricsOf(resources: Resource[], s: StepLineage, md: SnapshotMetadata | null): Record<string, unknown> | null {
  let wroteResultsRoot = false;
  for (const o of s.outputs) {
    const r = resources.find((x) => x.name === o.ref.name);
    if (!r || r.role !== 'results' || r.localPath === null) continue;
    if (o.ref.subpath === null) wroteResultsRoot = true;
    const sub = o.ref.subpath ?? '';
    const candidates = [join(r.localPath, sub, 'results.json')];
    if (md) candidates.unshift(join(r.localPath, md.relative_destination_path, sub, 'results.json'));
    for (const f of candidates) {
      if (!existsSync(f)) continue;
      let data: unknown;
      try {
        data = readJsonFile(f);
      } catch {
        continue; // an unreadable results file only loses the metrics facet
      }
      const d = data as { step?: unknown; start_time?: unknown; metrics?: unknown };
      if (d?.step === s.stepName && d.start_time === s.startTime && typeof d.metrics === 'object' && d.metrics !== null) {
        return d.metrics as Record<string, unknown>;
      }
    }
  }
  return md !== null && wroteResultsRoot && md.metrics !== null ? md.metrics : null;
}

/** Git-backed code resources: their directory and, if known, their repository's URL. */
function codeLocation(resources: Resource[], ref: ResourceRef): CodeLocation | null {
  const r = resources.find((x) => x.name === ref.name);
  const type = r?.params.resource_type;
  if (!r || r.localPath === null || (type !== 'git' && type !== 'git-subdirectory')) return null;
  const origin = r.params.remote_origin_url;
  const path = r.params.relative_path;
  return {
    url: pathToFileURL(r.localPath).href,
    ...(typeof origin === 'string' && origin !== '' ? { repoUrl: origin } : {}),
    ...(type === 'git-subdirectory' && typeof path === 'string' ? { path } : {}),
  };
}
