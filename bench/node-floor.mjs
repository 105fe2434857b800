// Node's own floor for hashing a tree: walk it (readdirSync) and SHA-1 every file in two worker
// threads, with the same sync calls dws uses (open, fstat, read into a reused buffer, close) —
// and nothing else: no tree files, no stat cache, no git. bench/run.mjs times it as a process,
// so that the distance from `sha1sum` to dws splits into "Node" and "dws".
//
//   node bench/node-floor.mjs DIR
import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const THREADS = 2;

if (isMainThread) {
  const files = [];
  (function walk(dir) {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  })(process.argv[2]);
  let left = THREADS;
  for (let t = 0; t < THREADS; t++) {
    // Interleaved, so both threads get the same mix of sizes.
    const worker = new Worker(new URL(import.meta.url), { workerData: files.filter((_, i) => i % THREADS === t) });
    worker.on('message', () => {
      if (--left === 0) process.exit(0);
    });
  }
} else {
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const path of workerData) {
    const fd = openSync(path, 'r');
    fstatSync(fd);
    const hash = createHash('sha1');
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
    hash.digest('hex');
    closeSync(fd);
  }
  parentPort.postMessage('done');
}
