/**
 * The worker threads' entry files the build puts next to the bundled code (dist/hash-worker.js,
 * dist/step-worker.js): found from dist/ or dist/chunks/, and absent when running from the
 * TypeScript source (tests under vitest), where callers work in the calling thread instead. No
 * other imports: the CLI's entry loads this before anything else.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const found = new Map<string, URL | null>();

/** The URL of a bundled file such as `hash-worker.js`, or null when there is no bundle. */
export function bundledFile(name: string): URL | null {
  let url = found.get(name);
  if (url === undefined) {
    url = null;
    for (const rel of [`./${name}`, `../${name}`]) {
      const candidate = new URL(rel, import.meta.url);
      if (candidate.protocol === 'file:' && existsSync(fileURLToPath(candidate))) {
        url = candidate;
        break;
      }
    }
    found.set(name, url);
  }
  return url;
}

/**
 * Node options for a worker thread. Left out (undefined), a worker inherits the parent's as they
 * are, V8's included (`node --max-old-space-size=8192 dws ...`), which it would refuse if they were
 * named here. Only --input-type (of `node -e`) breaks inheriting: then the parent's, without it.
 */
export const WORKER_EXEC_ARGV: string[] | undefined = process.execArgv.some((a) => a.startsWith('--input-type'))
  ? process.execArgv.filter((a) => !a.startsWith('--input-type'))
  : undefined;
