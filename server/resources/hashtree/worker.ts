/**
 * Entry of a hashing worker thread (bundled to dist/hash-worker.js). It receives HashJobs from
 * index.ts and answers each with its HashJobResult; the work itself is hash-files.ts, which the
 * calling thread also uses when there are no workers.
 */
import { parentPort } from 'node:worker_threads';
import { runHashJob } from './hash-files.js';
import type { HashJob } from './hash-files.js';

const port = parentPort;
if (port === null) throw new Error('hash-worker.js must run as a worker thread');

port.on('message', (job: HashJob) => {
  const result = runHashJob(job);
  port.postMessage(result, [result.status.buffer as ArrayBuffer, result.stats.buffer as ArrayBuffer]);
});
