/**
 * `dws lineage export --format openlineage` as real processes: a two-step pipeline run by
 * `dws run` and snapshotted, exported as OpenLineage RunEvents that validate against the spec's
 * JSON Schema (vendored in test/fixtures/openlineage) and carry the steps, datasets, params,
 * code version and metrics; a failed step gives FAIL; `--url` POSTs the same events to a local
 * receiver; an unreachable or refusing endpoint and an unknown snapshot are errors.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../clients/node/index.js';
import { cleanup, DWS, dws, dwsOk, extractFixture, newWorkspace, REPO, tempDir, TEST_ENV } from '../helpers.js';
import { PREPARE, TRAIN } from '../pipeline-steps.js';

afterAll(cleanup);

// ---------------------------------------------------------------------------------------------
// The spec's schemas
// ---------------------------------------------------------------------------------------------

const SCHEMAS = join(REPO, 'test', 'fixtures', 'openlineage');
const readSchema = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as { $id: string };
// ajv-formats is CommonJS: its default export arrives as the module object or the function.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv2020) => void;
const ajv = new Ajv2020({ allErrors: true });
ajv.addVocabulary(['example']); // an annotation the spec uses throughout
addFormats(ajv);
const core = readSchema(join(SCHEMAS, 'OpenLineage.json'));
ajv.addSchema(core);
const facetSchemas = new Map<string, ValidateFunction>();
for (const f of readdirSync(join(SCHEMAS, 'facets'))) {
  const s = readSchema(join(SCHEMAS, 'facets', f));
  ajv.addSchema(s);
  facetSchemas.set(f.replace(/\.json$/, ''), ajv.getSchema(s.$id)!);
}
const validateEvent = ajv.getSchema(core.$id)!;

type Facets = Record<string, Record<string, unknown>>;
interface Dataset {
  namespace: string;
  name: string;
  facets?: Facets;
}
interface Event {
  eventType: string;
  eventTime: string;
  producer: string;
  schemaURL: string;
  run: { runId: string; facets: Facets };
  job: { namespace: string; name: string; facets: Facets };
  inputs: Dataset[];
  outputs: Dataset[];
}

/** The event against the core schema, and each standard facet it carries against its facet's schema. */
function expectValid(e: Event): void {
  expect(validateEvent(e), JSON.stringify(validateEvent.errors)).toBe(true);
  const check = (schema: string, facets: Facets | undefined) => {
    const v = facetSchemas.get(schema)!;
    expect(v(facets ?? {}), `${schema}: ${JSON.stringify(v.errors)}`).toBe(true);
  };
  for (const s of ['ExecutionParametersRunFacet', 'ProcessingEngineRunFacet', 'ErrorMessageRunFacet']) check(s, e.run.facets);
  for (const s of ['JobTypeJobFacet', 'SourceCodeLocationJobFacet']) check(s, e.job.facets);
  for (const d of [...e.inputs, ...e.outputs]) check('DatasetVersionDatasetFacet', d.facets);
}

/** A facet whose schema must be checked is really there (so the check above is not vacuous). */
const facetNames = (e: Event) => ({ run: Object.keys(e.run.facets).sort(), job: Object.keys(e.job.facets).sort() });

// ---------------------------------------------------------------------------------------------
// The workspace: prepare (param scale) → train (params threshold, model; metrics), snapshot v1
// ---------------------------------------------------------------------------------------------

const BROKEN = `import { defineStep, z } from 'dataworkspaces';
export default defineStep({
  name: 'evaluate',
  params: z.object({ folds: z.number().default(3) }),
  inputs: { prepared: 'intermediate-data:/prepared.txt' },
  outputs: { report: 'intermediate-data:/report' },
  async run() {
    throw new Error('evaluation data is empty');
  },
});
`;

let ws: string;
/** Certificates as `dws lineage show --snapshot v1 --json` gives them: ref → `Hash:<8 hex>`. */
let shown: Record<string, string>;

const parseLines = (text: string): Event[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Event);

beforeAll(async () => {
  ws = await newWorkspace(['--create-resources', 'source-data,intermediate-data,code,results']);
  writeFileSync(join(ws, 'source-data', 'values.txt'), '1\n2\n3\n4\n');
  writeFileSync(join(ws, 'code', 'prepare.step.ts'), PREPARE);
  writeFileSync(join(ws, 'code', 'train.step.ts'), TRAIN);
  await dwsOk(ws, ['--batch', 'run', 'code/prepare.step.ts', 'code/train.step.ts', '--param', 'threshold=5', '--tag', 'v1']);
  const show = JSON.parse(await dwsOk(ws, ['lineage', 'show', '--snapshot', 'v1', '--json'])) as {
    records: Array<{ type: string; inputs?: Array<{ ref: string; certificate: string }>; outputs?: Array<{ ref: string; certificate: string }>; code?: Array<{ ref: string; certificate: string }> }>;
  };
  shown = {};
  for (const r of show.records) for (const c of [...(r.inputs ?? []), ...(r.outputs ?? []), ...(r.code ?? [])]) shown[c.ref] = c.certificate;
}, 120_000);

describe('dws lineage export --format openlineage', () => {
  let events: Event[];

  beforeAll(async () => {
    events = parseLines(await dwsOk(ws, ['lineage', 'export', '--format', 'openlineage', 'v1']));
  });

  it('writes START then COMPLETE for each step of the snapshot, one JSON event per line, each valid against the OpenLineage schema', () => {
    expect(events.map((e) => `${e.eventType} ${e.job.name}`)).toEqual(['START prepare', 'COMPLETE prepare', 'START train', 'COMPLETE train']);
    for (const e of events) expectValid(e);
    for (const e of events) {
      expect(facetNames(e).job).toEqual(['jobType', 'sourceCodeLocation']);
      expect(e.run.facets).toHaveProperty('executionParameters');
      expect(e.run.facets).toHaveProperty('processing_engine');
      expect(e.schemaURL).toBe('https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent');
    }
    // One run per step: START and COMPLETE share it, the two steps do not.
    expect(events[0]!.run.runId).toBe(events[1]!.run.runId);
    expect(events[2]!.run.runId).toBe(events[3]!.run.runId);
    expect(events[0]!.run.runId).not.toBe(events[2]!.run.runId);
    // Time order; a step's COMPLETE is not before its START.
    const times = events.map((e) => Date.parse(e.eventTime));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('names the inputs and outputs by their dws refs, with the snapshot certificate as the dataset version', () => {
    const [startPrepare, prepare, , train] = events;
    const ns = 'dws://' + ws.split('/').pop();
    expect(prepare!.job.namespace).toBe(ns);
    expect(prepare!.inputs.map((d) => [d.namespace, d.name])).toEqual([[ns, 'source-data']]);
    expect(prepare!.outputs.map((d) => d.name)).toEqual(['intermediate-data:/prepared.txt']);
    expect(train!.inputs.map((d) => d.name)).toEqual(['intermediate-data:/prepared.txt']);
    expect(train!.outputs.map((d) => d.name)).toEqual(['results']);
    const version = (d: Dataset) => d.facets!.version!.datasetVersion as string;
    for (const d of [...prepare!.inputs, ...prepare!.outputs, ...train!.inputs, ...train!.outputs]) {
      expect(version(d)).toMatch(/^[0-9a-f]{40}$/);
      expect(`Hash:${version(d).slice(0, 8)}`).toBe(shown[d.name]);
    }
    // What prepare wrote is the version train read.
    expect(version(train!.inputs[0]!)).toBe(version(prepare!.outputs[0]!));
    // A START event names the outputs; their version is known once the run is over.
    expect(startPrepare!.outputs.map((d) => d.name)).toEqual(['intermediate-data:/prepared.txt']);
    expect(startPrepare!.outputs[0]!.facets).toBeUndefined();
  });

  it('carries the params, the code version and the metrics', () => {
    const [, prepare, , train] = events;
    expect(prepare!.run.facets.executionParameters!.parameters).toEqual([{ key: 'scale', value: '2' }]);
    expect(train!.run.facets.executionParameters!.parameters).toEqual([
      { key: 'threshold', value: '5' },
      { key: 'model', value: 'linear' },
    ]);
    expect(train!.run.facets.dws_step).toMatchObject({ stepName: 'train', parameters: { threshold: 5, model: 'linear' } });
    expect(train!.run.facets.dws_metrics!.metrics).toEqual({ accuracy: 0.5, above: 2, total: 4 });
    expect(prepare!.run.facets.dws_metrics).toBeUndefined();
    const code = train!.job.facets.sourceCodeLocation!;
    expect(code).toMatchObject({ type: 'git', path: 'code' });
    expect(code.url).toBe(`file://${join(ws, 'code')}`);
    expect(`Hash:${(code.version as string).slice(0, 8)}`).toBe(shown.code);
    expect(train!.job.facets.jobType).toMatchObject({ processingType: 'BATCH', integration: 'DWS', jobType: 'STEP' });
  });

  it('writes the same lines with --output FILE, and the same events to a --url receiver', async () => {
    const file = join(ws, '..', 'v1-events.jsonl');
    const r = await dws(ws, ['lineage', 'export', 'v1', '--output', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Wrote 4 OpenLineage events (2 runs) to ${file}\n`);
    expect(parseLines(readFileSync(file, 'utf8'))).toEqual(events);

    const receiver = await listen((req, body) => (req.method === 'POST' && req.url === '/api/v1/lineage' ? 201 : 404));
    try {
      const url = `http://127.0.0.1:${receiver.port}/api/v1/lineage`;
      const sent = await dws(ws, ['lineage', 'export', '--snapshot', 'v1', '--url', url]);
      expect(sent.code, sent.stderr).toBe(0);
      expect(sent.stdout).toBe(`Sent 4 OpenLineage events (2 runs) to ${url}\n`);
      expect(receiver.requests.map((q) => q.contentType)).toEqual(Array(4).fill('application/json'));
      expect(receiver.requests.map((q) => JSON.parse(q.body) as Event)).toEqual(events);
    } finally {
      await receiver.close();
    }
  });

  it('is the same method over `dws server --stdio` (Node client)', async () => {
    const c = await connect({ cwd: ws, command: [process.execPath, DWS], env: TEST_ENV });
    try {
      const r = await c.request('dws/lineage/export', { snapshot: 'v1' });
      expect(r.events).toEqual(events);
      expect(r).toMatchObject({ format: 'openlineage', file: null, posted: null });
      expect(r.snapshot).toMatch(/^[0-9a-f]{40}$/);
    } finally {
      c.close();
    }
  });

  it('gives the same run ids on every export', async () => {
    const again = parseLines(await dwsOk(ws, ['lineage', 'export', 'v1']));
    expect(again.map((e) => e.run.runId)).toEqual(events.map((e) => e.run.runId));
  });
});

describe('the schema check', () => {
  it('is not vacuous: it rejects a run id that is no UUID, a time without zone, and a facet without its required field', async () => {
    const [e] = parseLines(await dwsOk(ws, ['lineage', 'export', 'v1']));
    expectValid(e!);
    expect(validateEvent({ ...e, run: { ...e!.run, runId: 'run-1' } })).toBe(false);
    expect(validateEvent({ ...e, eventTime: '2026-01-01T10:00:00' })).toBe(false);
    expect(validateEvent({ ...e, job: { name: 'x' } })).toBe(false);
    const { processingType: _drop, ...jobType } = e!.job.facets.jobType!;
    expect(facetSchemas.get('JobTypeJobFacet')!({ jobType })).toBe(false);
  });
});

describe('a workspace made by Python dws 1.6', () => {
  it('exports its v3 snapshot: valid events with its steps, params and metrics', async () => {
    const py = extractFixture(tempDir());
    const events = parseLines(await dwsOk(py, ['lineage', 'export', 'v3']));
    for (const e of events) expectValid(e);
    expect(events.map((e) => `${e.eventType} ${e.job.name}`)).toEqual(['START prepare', 'COMPLETE prepare', 'START train', 'COMPLETE train']);
    expect(events[1]!.run.facets.executionParameters!.parameters).toEqual([{ key: 'scale', value: '3' }]);
    expect(events[3]!.run.facets.executionParameters!.parameters).toEqual([{ key: 'alpha', value: '0.25' }]);
    expect(events[3]!.run.facets.dws_metrics!.metrics).toEqual({ sum: 30, mean: 7.5, alpha: 0.25 });
    expect(events[3]!.inputs.map((d) => d.name)).toEqual(['intermediate-data:/prepared']);
    // The recorded start time (naive local time; the tests run in UTC) and its duration.
    expect(events[2]!.eventTime).toBe('2026-11-25T16:35:33.219Z');
    expect(events[3]!.eventTime).toBe('2026-11-25T16:35:33.239Z');
  });
});

describe('a failed step', () => {
  it('gives START and FAIL with the error message, in the export of the current state', async () => {
    writeFileSync(join(ws, 'code', 'evaluate.step.ts'), BROKEN);
    const run = await dws(ws, ['--batch', 'run', 'code/evaluate.step.ts']);
    expect(run.code).not.toBe(0);
    const events = parseLines(await dwsOk(ws, ['lineage', 'export']));
    for (const e of events) expectValid(e);
    const evaluate = events.filter((e) => e.job.name === 'evaluate');
    expect(evaluate.map((e) => e.eventType)).toEqual(['START', 'FAIL']);
    const fail = evaluate[1]!;
    expect(fail.run.runId).toBe(evaluate[0]!.run.runId);
    expect(fail.run.facets.errorMessage).toMatchObject({ message: 'evaluation data is empty', programmingLanguage: 'JavaScript' });
    expect(fail.run.facets.executionParameters!.parameters).toEqual([{ key: 'folds', value: '3' }]);
    expect(fail.inputs.map((d) => d.name)).toEqual(['intermediate-data:/prepared.txt']);
    // It wrote nothing known: the output is named, without a version.
    expect(fail.outputs).toEqual([{ namespace: fail.job.namespace, name: 'intermediate-data:/report' }]);
    // prepare's lineage is still current; train's (a results step) was moved by the snapshot and
    // is read from it, as status and the editor do.
    expect(events.filter((e) => e.job.name === 'prepare').map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    expect(events.filter((e) => e.job.name === 'train').map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);

    // The snapshot's export is unchanged: failures are not part of a snapshot.
    const v1 = parseLines(await dwsOk(ws, ['lineage', 'export', 'v1']));
    expect(v1.map((e) => e.eventType)).toEqual(['START', 'COMPLETE', 'START', 'COMPLETE']);
  });

  it('is forgotten once the step succeeds', async () => {
    writeFileSync(join(ws, 'code', 'evaluate.step.ts'), BROKEN.replace("throw new Error('evaluation data is empty');", "const { mkdirSync } = await import('node:fs'); mkdirSync(outputs.report, { recursive: true }); (await import('node:fs')).writeFileSync(outputs.report + '/r.txt', 'ok');").replace('async run()', 'async run({ outputs })'));
    await dwsOk(ws, ['--batch', 'run', 'code/evaluate.step.ts', '--no-snapshot']);
    const events = parseLines(await dwsOk(ws, ['lineage', 'export']));
    expect(events.filter((e) => e.job.name === 'evaluate').map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
  });
});

describe('errors', () => {
  it('names the URL and exits non-zero when nothing listens there', async () => {
    const receiver = await listen(() => 201);
    const url = `http://127.0.0.1:${receiver.port}/api/v1/lineage`;
    await receiver.close(); // the port is now closed
    const r = await dws(ws, ['lineage', 'export', 'v1', '--url', url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Could not send OpenLineage event 1 of 4 (START prepare) to ${url}`);
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stdout).toBe('');
  });

  it('names the URL and the status when the endpoint refuses an event', async () => {
    let n = 0;
    const receiver = await listen(() => (++n === 2 ? 500 : 200), 'lineage store is down');
    try {
      const url = `http://127.0.0.1:${receiver.port}/api/v1/lineage`;
      const r = await dws(ws, ['lineage', 'export', 'v1', '--url', url, '--json']);
      expect(r.code).toBe(1);
      const err = JSON.parse(r.stdout) as { error: { code: string; message: string; data: Record<string, unknown> } };
      expect(err.error.code).toBe('RequestFailed');
      expect(err.error.message).toBe(`${url} refused OpenLineage event 2 of 4 (COMPLETE prepare): HTTP 500 Internal Server Error: lineage store is down (1 event was sent before it).`);
      expect(err.error.data).toMatchObject({ url, status: 500, sent: 1 });
      expect(receiver.requests).toHaveLength(2);
    } finally {
      await receiver.close();
    }
  });

  it('refuses an unknown snapshot, a URL that is not http(s), and an unknown format', async () => {
    const unknown = await dws(ws, ['lineage', 'export', 'nosuchtag']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Snapshot for tag nosuchtag not found');
    expect(unknown.stdout).toBe('');
    const ftp = await dws(ws, ['lineage', 'export', 'v1', '--url', 'ftp://example.invalid/x']);
    expect(ftp.code).toBe(2);
    expect(ftp.stderr).toContain("Invalid --url 'ftp://example.invalid/x': only http: and https: endpoints are supported");
    const fmt = await dws(ws, ['lineage', 'export', 'v1', '--format', 'marquez']);
    expect(fmt.code).toBe(2);
    expect(fmt.stderr).toContain("Unknown format 'marquez': use one of openlineage");
  });
});

// ---------------------------------------------------------------------------------------------
// A local OpenLineage receiver
// ---------------------------------------------------------------------------------------------

interface Receiver {
  port: number;
  requests: Array<{ body: string; contentType: string | undefined }>;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that keeps every request body and answers with `status(req)`. */
async function listen(status: (req: IncomingMessage, body: string) => number, answer = ''): Promise<Receiver> {
  const requests: Receiver['requests'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests.push({ body, contentType: req.headers['content-type'] });
      res.writeHead(status(req, body), { 'Content-Type': 'text/plain' });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
