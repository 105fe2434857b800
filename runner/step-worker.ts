/**
 * A step worker thread (bundled as dist/step-worker.js; runner/step-threads.ts runs it): imports
 * a step's bundled module and calls its run() with the context the engine gives in-process.
 * log and results.write go to the main thread (lineage and events live there); the main
 * thread's abort arrives as a message and aborts the step's signal. One step at a time.
 */
import { parentPort } from 'node:worker_threads';
import { ConfigurationError } from '../protocol/errors.js';
import { errorText, StepFailure, type FromWorker, type ToWorker } from './step-thread-protocol.js';

const port = parentPort!;
// The step's console output travels on the same port as its `done`, so none of it arrives late
// or is lost when the thread ends; the main thread cuts it into the step's log lines.
for (const stream of [process.stdout, process.stderr]) {
  stream.write = ((chunk: string | Uint8Array, encoding?: unknown, cb?: unknown) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (current !== null) post({ type: 'output', id: current.id, text });
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  }) as typeof stream.write;
}
// Step files import `dataworkspaces`, i.e. dist/index.js next to this file (~60 ms to load):
// load it now, while the main thread is still checking and recording, not when a step starts.
// Then stacks point into the step's own source (the bundle carries an inline source map), so a
// failure says file:line:column of the code the user wrote. Enabled only once dist/ is loaded:
// with it on, Node reads and parses the source map of every module it loads (dist/'s 44 maps,
// ~1.7 MB: ~100 ms of CPU and garbage), and stacks inside dws's own bundle are no help to a user.
const library = import(new URL('./index.js', import.meta.url).href)
  .catch(() => {})
  .then(() => process.setSourceMapsEnabled(true));
const post = (m: FromWorker) => port.postMessage(m);
let current: { id: number; abort: AbortController } | null = null;
const pendingResults = new Map<number, { resolve: (file: string) => void; reject: (e: Error) => void }>();
let calls = 0;

port.on('message', (m: ToWorker) => {
  if (m.type === 'abort') {
    if (current?.id === m.id) current.abort.abort();
  } else if (m.type === 'results-done' || m.type === 'results-failed') {
    const p = pendingResults.get(m.call);
    pendingResults.delete(m.call);
    if (m.type === 'results-done') p?.resolve(m.file);
    else p?.reject(new StepFailure(m.message));
  } else void run(m);
});

async function run(m: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const abort = new AbortController();
  current = { id: m.id, abort };
  try {
    await library;
    const mod = (await import(m.moduleUrl)) as Record<string, { run: (ctx: unknown) => unknown } | undefined>;
    const step = mod[m.exportName]!;
    await step.run({
      params: m.params,
      inputs: m.inputs,
      outputs: m.outputs,
      results: {
        write: (metrics: Record<string, unknown>) => {
          if (!m.hasResults) {
            throw new ConfigurationError(`Step ${m.stepName} wrote results but declares no output in a results resource: add one, e.g. outputs: { results: 'results' }`, { step: m.stepName });
          }
          const call = ++calls;
          return new Promise<string>((resolve, reject) => {
            pendingResults.set(call, { resolve, reject });
            post({ type: 'results', id: m.id, call, metrics });
          });
        },
      },
      log: (message: string) => post({ type: 'log', id: m.id, message: String(message) }),
      signal: abort.signal,
      workspaceDir: m.workspaceDir,
    });
    post({ type: 'done', id: m.id });
  } catch (e) {
    post({ type: 'failed', id: m.id, message: errorText(e), stack: e instanceof Error ? e.stack : undefined });
  } finally {
    current = null;
  }
}
