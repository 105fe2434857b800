/**
 * Entry of a hashing worker thread (bundled to dist/hash-worker.js). It receives HashJobs from
 * index.ts and answers each with its HashJobResult; the work itself is hash-files.ts, which the
 * calling thread also uses when there are no workers. The same threads write the files of large
 * restores and make their changes (WriteJobs and ChangeJobs from store/write-files.ts, done by
 * store/write-job.ts and store/change-job.ts), and list directories ahead of the walk of large
 * trees (ListJobs, list-dirs.ts).
 */
import { parentPort } from 'node:worker_threads';
import { runHashJob } from './hash-files.js';
import type { HashJob } from './hash-files.js';
import { runWriteJob, type WriteJob } from '../../store/write-job.js';
import { runChangeJob, type ChangeJob } from '../../store/change-job.js';
import { runListJob, type ListJob } from './list-dirs.js';

const port = parentPort;
if (port === null) throw new Error('hash-worker.js must run as a worker thread');

port.on('message', (job: HashJob | WriteJob | ChangeJob | ListJob) => {
  if ('kind' in job) {
    if (job.kind === 'write') port.postMessage(runWriteJob(job));
    else if (job.kind === 'change') void runChangeJob(job).then((r) => port.postMessage(r));
    else {
      const result = runListJob(job);
      port.postMessage(result, [result.kinds.buffer as ArrayBuffer, result.stats.buffer as ArrayBuffer]);
    }
    return;
  }
  const result = runHashJob(job);
  port.postMessage(result, [result.status.buffer as ArrayBuffer, result.stats.buffer as ArrayBuffer]);
});
