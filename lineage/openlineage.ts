/**
 * Lineage as OpenLineage RunEvents (https://openlineage.io/spec/2-0-2/OpenLineage.json): each
 * recorded step is one run of a job named after the step, with a START event at its start time
 * and a COMPLETE event at its end; a step's last failed run (lineage/failures.ts) gives START and
 * FAIL (ABORT when it was interrupted). Inputs and outputs are datasets named by their dws ref
 * (`intermediate-data:/prepared`) in the workspace's namespace, with the certificate's hash as
 * the dataset version. Facets: the spec's jobType, sourceCodeLocation (git code resources: the
 * code hash as version), executionParameters, processing_engine, errorMessage and
 * datasetVersion; and two of dws's own, `dws_step` (params as typed values, code certificates,
 * command line) and `dws_metrics` (what the step wrote to results.json). Pure: the caller
 * gathers records, metrics and code locations.
 */
import { createHash } from 'node:crypto';
import { toPlainJson } from '../server/workspace/pyjson.js';
import type { FailedStep } from './failures.js';
import { certName, refName, type Certificate, type ResourceRef, type StepLineage } from './model.js';

export const OPENLINEAGE_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
const FACETS = 'https://openlineage.io/spec/facets';
/** The spec's facets this module writes, with the schema version each follows. */
const SCHEMA = {
  jobType: `${FACETS}/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet`,
  sourceCodeLocation: `${FACETS}/1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet`,
  executionParameters: `${FACETS}/1-0-0/ExecutionParametersRunFacet.json#/$defs/ExecutionParametersRunFacet`,
  processingEngine: `${FACETS}/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet`,
  errorMessage: `${FACETS}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet`,
  datasetVersion: `${FACETS}/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet`,
  /** dws's own facets: BaseFacets with no published schema of their own. */
  base: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet',
} as const;

export type OpenLineageEventType = 'START' | 'COMPLETE' | 'FAIL' | 'ABORT';
export type Json = Record<string, unknown>;

/** Where a code resource lives, for the sourceCodeLocation facet (git resources only). */
export interface CodeLocation {
  /** A URL of the code's directory (a file: URL on this machine). */
  url: string;
  repoUrl?: string;
  /** The code's directory inside its repository (git-subdirectory resources). */
  path?: string;
}

export interface ExportInput {
  /** Namespace of the jobs and datasets (default `dws://<workspace name>`). */
  namespace: string;
  /** The dws version (producer URI, processing_engine facet). */
  dwsVersion: string;
  /** The snapshot exported (full hash), or null for the current state. */
  snapshot: string | null;
  steps: StepLineage[];
  failed: FailedStep[];
  /** Metrics the step wrote (results.json), if any. */
  metricsOf: (s: StepLineage) => Record<string, unknown> | null;
  /** Location of a git-backed code resource, else null. */
  codeLocation: (r: ResourceRef) => CodeLocation | null;
}

/** A run: one step record or one failed run, before it becomes events. */
interface Run {
  stepName: string;
  startTime: string;
  seconds: number;
  parameters: Record<string, unknown>;
  inputs: Certificate[];
  code: Certificate[];
  outputs: Array<Certificate | ResourceRef>;
  commandLine: string[] | null;
  end: 'COMPLETE' | 'FAIL' | 'ABORT';
  error: string | null;
  metrics: Record<string, unknown> | null;
}

/** The events of every run, ordered by time (a run's START before its end; ties keep step order). */
export function openLineageEvents(x: ExportInput): Json[] {
  const producer = `urn:dataworkspaces:dws:${x.dwsVersion}`;
  const runs: Run[] = [
    ...x.steps.map(
      (s): Run => ({
        stepName: s.stepName,
        startTime: s.startTime,
        seconds: s.executionTimeSeconds === null ? 0 : Number(toPlainJson(s.executionTimeSeconds)),
        parameters: s.parameters,
        inputs: s.inputs,
        code: s.code,
        outputs: s.outputs,
        commandLine: s.commandLine,
        end: 'COMPLETE',
        error: null,
        metrics: x.metricsOf(s),
      }),
    ),
    ...x.failed.map(
      (f): Run => ({ ...f, seconds: f.executionTimeSeconds, end: f.interrupted ? 'ABORT' : 'FAIL', metrics: null }),
    ),
  ];
  const events: Array<{ at: number; order: number; event: Json }> = [];
  runs.forEach((run, i) => {
    const start = localTime(run.startTime);
    const end = new Date(start.getTime() + Math.round(run.seconds * 1000));
    const ids = { runId: runId(x.namespace, run), producer, namespace: x.namespace };
    events.push({ at: start.getTime(), order: 2 * i, event: runEvent(x, ids, run, 'START', start) });
    events.push({ at: end.getTime(), order: 2 * i + 1, event: runEvent(x, ids, run, run.end, end) });
  });
  return events.sort((a, b) => a.at - b.at || a.order - b.order).map((e) => e.event);
}

function runEvent(x: ExportInput, ids: { runId: string; producer: string; namespace: string }, run: Run, eventType: OpenLineageEventType, at: Date): Json {
  const facet = (schemaURL: string, body: Json): Json => ({ _producer: ids.producer, _schemaURL: schemaURL, ...body });
  const ending = eventType !== 'START';
  const runFacets: Json = {
    processing_engine: facet(SCHEMA.processingEngine, { name: 'dws', version: x.dwsVersion }),
    executionParameters: facet(SCHEMA.executionParameters, {
      parameters: Object.entries(run.parameters).map(([key, v]) => ({ key, value: paramText(v) })),
    }),
    dws_step: facet(SCHEMA.base, {
      stepName: run.stepName,
      startTime: run.startTime,
      executionTimeSeconds: run.seconds,
      parameters: toPlainJson(run.parameters),
      code: run.code.map((c) => ({ ref: refName(c.ref), certificate: certName(c), ...(c.type === 'hash' ? { hash: c.hashval } : {}) })),
      commandLine: run.commandLine,
      snapshot: x.snapshot,
    }),
  };
  if (ending && run.metrics !== null) runFacets.dws_metrics = facet(SCHEMA.base, { metrics: toPlainJson(run.metrics) });
  if (ending && run.error !== null) runFacets.errorMessage = facet(SCHEMA.errorMessage, { message: run.error, programmingLanguage: 'JavaScript' });

  const jobFacets: Json = { jobType: facet(SCHEMA.jobType, { processingType: 'BATCH', integration: 'DWS', jobType: 'STEP' }) };
  const code = run.code.map((c) => ({ c, where: x.codeLocation(c.ref) })).find((e) => e.where !== null);
  if (code?.where) {
    jobFacets.sourceCodeLocation = facet(SCHEMA.sourceCodeLocation, {
      type: 'git',
      ...code.where,
      ...(code.c.type === 'hash' ? { version: code.c.hashval } : {}),
    });
  }
  const dataset = (d: Certificate | ResourceRef): Json => {
    const cert = 'type' in d ? d : null;
    const r = cert ? cert.ref : (d as ResourceRef);
    return {
      namespace: ids.namespace,
      name: refName(r),
      ...(cert?.type === 'hash' ? { facets: { version: facet(SCHEMA.datasetVersion, { datasetVersion: cert.hashval }) } } : {}),
    };
  };
  return {
    eventType,
    eventTime: at.toISOString(),
    producer: ids.producer,
    schemaURL: OPENLINEAGE_SCHEMA_URL,
    run: { runId: ids.runId, facets: runFacets },
    job: { namespace: ids.namespace, name: run.stepName, facets: jobFacets },
    inputs: run.inputs.map(dataset),
    // An output's certificate is known once the run is over (a failed run wrote none).
    outputs: run.outputs.map((o) => (ending ? dataset(o) : dataset('type' in o ? o.ref : o))),
  };
}

/** A step's start time (naive local time, microseconds) read in this machine's time zone. */
function localTime(t: string): Date {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(t);
  if (!m) return new Date(t);
  const n = (i: number) => Number(m[i]);
  return new Date(n(1), n(2) - 1, n(3), n(4), n(5), n(6), Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3)));
}

/** The same run gets the same id in every export (a UUID made from namespace, step, start and outcome). */
function runId(namespace: string, run: Run): string {
  const h = createHash('sha1').update(`${namespace}\0${run.stepName}\0${run.startTime}\0${run.end}`).digest('hex');
  // Version 5 (name-based, SHA-1) layout: version nibble 5, variant bits 10.
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** executionParameters values are strings: strings as they are, anything else as JSON. */
function paramText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(toPlainJson(v));
}
