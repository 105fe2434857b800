/**
 * Lineage methods: the 1.6 table, the graph, and queries on the recorded steps (lineage.md).
 * A "ref" is a resource name or `resource:/subpath`; queries also take a local path inside a
 * resource. `snapshot` is a tag, a hash, or a hash prefix; absent means the current lineage.
 */
import { z } from 'zod';
import { defineMethod } from './method.js';

const WorkspaceParams = z.object({
  /** Workspace root; default: the nearest enclosing directory that has `.dataworkspace/`. */
  workspaceDir: z.string().optional(),
});

/** A certificate as shown to people: the ref and `Hash:<8 hex>` or `Placeholder:version=<v>`. */
export const CertInfo = z.object({ ref: z.string(), certificate: z.string() });
export type CertInfo = z.infer<typeof CertInfo>;

/** A lineage record (imported records appear as the records they hold). */
export const LineageRecord = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('step'),
    stepName: z.string(),
    startTime: z.string(),
    executionTimeSeconds: z.number().nullable(),
    /** As recorded (Python number forms are plain numbers in JSON). */
    parameters: z.record(z.string(), z.unknown()),
    inputs: z.array(CertInfo),
    code: z.array(CertInfo),
    outputs: z.array(CertInfo),
    commandLine: z.array(z.string()).nullable(),
    /**
     * Writes seen while it ran outside its declared outputs, or through a symlink out of their
     * resource (`outside`: where they went); `runningWith`: other steps running then. Absent when none.
     */
    observedWrites: z.array(z.object({ path: z.string(), outside: z.string().nullable(), runningWith: z.array(z.string()) })).optional(),
  }),
  z.object({ type: z.literal('source_data'), ...CertInfo.shape }),
  z.object({ type: z.literal('code'), ...CertInfo.shape }),
]);
export type LineageRecord = z.infer<typeof LineageRecord>;

export const reportLineage = defineMethod({
  method: 'dws/report/lineage',
  doc: 'CLI `dws report lineage` and `dws lineage table`: the 1.6 lineage table (one row per ref with lineage), current or as of a snapshot.',
  mutates: false,
  params: WorkspaceParams.extend({ snapshot: z.string().optional() }),
  result: z.object({
    /** "Lineage for current state" or "Lineage for <snapshot as given>". */
    title: z.string(),
    rows: z.array(
      z.object({
        resource: z.string(),
        type: z.enum(['Step', 'Source Data', 'Code']),
        details: z.string(),
        /** Steps: each input as `<ref> (current)` or `<ref> (<certificate>)`; others null. */
        inputs: z.array(z.string()).nullable(),
      }),
    ),
  }),
});

export const lineageUpstream = defineMethod({
  method: 'dws/lineage/upstream',
  doc: 'CLI `dws lineage upstream`, editors: what produced a resource or path — its step, the steps that produced their inputs, back to source data and code.',
  mutates: false,
  params: WorkspaceParams.extend({ ref: z.string(), snapshot: z.string().optional() }),
  result: z.object({
    ref: z.string(),
    /** Breadth first: the ref's own record first. Empty: nothing recorded for it. */
    records: z.array(LineageRecord),
    /** Inputs without lineage, refs met in two versions (then the chain is incomplete). */
    warnings: z.array(z.string()),
  }),
});

export const lineageDownstream = defineMethod({
  method: 'dws/lineage/downstream',
  doc: 'CLI `dws lineage downstream`, editors: every recorded step that read a resource or path (directly or through other steps), and what they wrote.',
  mutates: false,
  params: WorkspaceParams.extend({ ref: z.string(), snapshot: z.string().optional() }),
  result: z.object({ ref: z.string(), steps: z.array(LineageRecord), outputs: z.array(z.string()) }),
});

export const lineageShow = defineMethod({
  method: 'dws/lineage/show',
  doc: 'CLI `dws lineage show`: every lineage record of a snapshot (or the current state), steps with parameters, inputs, code and outputs.',
  mutates: false,
  params: WorkspaceParams.extend({ snapshot: z.string().optional() }),
  result: z.object({
    /** Full hash, or null for the current state. */
    snapshot: z.string().nullable(),
    records: z.array(LineageRecord),
  }),
});

export const lineageDiff = defineMethod({
  method: 'dws/lineage/diff',
  doc: 'CLI `dws lineage diff`: how the steps recorded in two snapshots differ (steps matched by name): added, removed, or changed parameters, inputs or code.',
  mutates: false,
  params: WorkspaceParams.extend({ from: z.string(), to: z.string() }),
  result: z.object({
    from: z.string(),
    to: z.string(),
    steps: z.array(
      z.object({
        step: z.string(),
        status: z.enum(['added', 'removed', 'changed']),
        /** name → [before, after]; null where absent. */
        parameters: z.record(z.string(), z.tuple([z.unknown(), z.unknown()])),
        /** ref → [certificate before, after]; null where absent. */
        inputs: z.record(z.string(), z.tuple([z.string().nullable(), z.string().nullable()])),
        code: z.record(z.string(), z.tuple([z.string().nullable(), z.string().nullable()])),
        outputs: z.array(z.string()),
      }),
    ),
  }),
});

export const GRAPH_FORMATS = ['html', 'dot', 'mermaid', 'json'] as const;

export const lineageGraph = defineMethod({
  method: 'dws/lineage/graph',
  doc: 'CLI `dws lineage graph`: write the lineage graph of a resource (default: the first results resource) as a self-contained HTML page, dot, mermaid or JSON.',
  mutates: false,
  params: WorkspaceParams.extend({
    resource: z.string().optional(),
    snapshot: z.string().optional(),
    format: z.enum(GRAPH_FORMATS).default('html'),
    /** File to write (relative paths: from the current directory). */
    output: z.string(),
  }),
  result: z.object({
    resource: z.string(),
    snapshot: z.string().nullable(),
    format: z.enum(GRAPH_FORMATS),
    /** Absolute path written. */
    file: z.string(),
    steps: z.number().int(),
    resources: z.number().int(),
    warnings: z.array(z.string()),
  }),
});

export const lineageForget = defineMethod({
  method: 'dws/lineage/forget',
  doc:
    'CLI `dws lineage forget STEP`: drop a step `dws status` lists as removed (its step file is gone): its run-cache record and its records in the current lineage; ' +
    'a results step seen in the latest snapshot is hidden from the current view. Snapshots are never rewritten.',
  mutates: true,
  params: WorkspaceParams.extend({
    step: z.string().min(1),
    /** Forget it although its step file still exists (the next `dws run` reruns it and records it afresh). */
    force: z.boolean().default(false),
  }),
  result: z.object({
    step: z.string(),
    /** Whether a run-cache record was dropped. */
    runCache: z.boolean(),
    /** Step records removed from the current lineage. */
    records: z.number().int(),
    /** Current lineage files rewritten (resource names). */
    resources: z.array(z.string()),
    /** Step records of the latest snapshot's lineage (results moved by it) now hidden from the current view. */
    hidden: z.number().int(),
  }),
});

export const EXPORT_FORMATS = ['openlineage'] as const;

/** An OpenLineage RunEvent as dws writes it (the spec's JSON Schema has every field; this names the ones people look at). */
export const OpenLineageRunEvent = z.looseObject({
  eventType: z.enum(['START', 'COMPLETE', 'FAIL', 'ABORT']),
  eventTime: z.string(),
  producer: z.string(),
  schemaURL: z.string(),
  run: z.looseObject({ runId: z.string(), facets: z.record(z.string(), z.unknown()) }),
  job: z.looseObject({ namespace: z.string(), name: z.string(), facets: z.record(z.string(), z.unknown()) }),
  inputs: z.array(z.looseObject({ namespace: z.string(), name: z.string() })),
  outputs: z.array(z.looseObject({ namespace: z.string(), name: z.string() })),
});
export type OpenLineageRunEvent = z.infer<typeof OpenLineageRunEvent>;

export const lineageExport = defineMethod({
  method: 'dws/lineage/export',
  doc:
    'CLI `dws lineage export`: the steps of a snapshot (or of the current state, with the last failed run of each step) as OpenLineage RunEvents ' +
    '(START, then COMPLETE, FAIL or ABORT), optionally written to a file and POSTed to an OpenLineage HTTP endpoint.',
  mutates: false,
  params: WorkspaceParams.extend({
    snapshot: z.string().optional(),
    format: z.enum(EXPORT_FORMATS).default('openlineage'),
    /** File to write, one event per line (relative paths: from the current directory). */
    output: z.string().optional(),
    /** OpenLineage HTTP endpoint, e.g. `http://localhost:5000/api/v1/lineage`: each event is POSTed to it as JSON. */
    url: z.string().optional(),
    /** Namespace of the jobs and datasets; default `dws://<workspace name>`. */
    namespace: z.string().min(1).optional(),
  }),
  result: z.object({
    /** Full hash, or null for the current state. */
    snapshot: z.string().nullable(),
    format: z.enum(EXPORT_FORMATS),
    namespace: z.string(),
    /** In time order: a run's START before its end. */
    events: z.array(OpenLineageRunEvent),
    /** Absolute path written, if `output` was given. */
    file: z.string().nullable(),
    /** Where the events were POSTed, if `url` was given. */
    posted: z.object({ url: z.string(), events: z.number().int() }).nullable(),
  }),
});
