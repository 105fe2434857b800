import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

// Some machines set NODE_EXTRA_CA_CERTS, which makes every Node process parse a CA bundle as it
// starts (~35 ms of CPU): the test workers, and whatever they spawn, make no TLS connection.
delete process.env.NODE_EXTRA_CA_CERTS;

export default defineConfig({
  define: { __DWS_VERSION__: JSON.stringify(pkg.version) },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests spawn real git and dws processes; two cores.
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
