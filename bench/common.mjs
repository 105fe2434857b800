// What every benchmark shares: the built dws, a git identity that is not the user's, and a
// temporary directory removed at exit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DWS = fileURLToPath(new URL('../dist/dws.js', import.meta.url));

// This machine sets NODE_EXTRA_CA_CERTS, which makes every node process read a CA bundle as it
// starts (+35 ms here, PERF-NOTES). dws makes no TLS connection and most machines do not set it,
// so measured processes run without it; BENCH_KEEP_CA_CERTS=1 keeps it.
const { NODE_EXTRA_CA_CERTS, ...inherited } = process.env;
export const caCertsRemoved = NODE_EXTRA_CA_CERTS !== undefined && !process.env.BENCH_KEEP_CA_CERTS;

export const env = {
  ...(caCertsRemoved ? inherited : process.env),
  GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid',
  GIT_CONFIG_GLOBAL: fileURLToPath(new URL('../test/gitconfig', import.meta.url)),
};

/** A temporary directory for one benchmark's data, removed when the process exits. */
export function benchRoot(name) {
  const root = mkdtempSync(join(tmpdir(), `dws-bench-${name}-`));
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  return root;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
