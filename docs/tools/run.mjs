// Runs docs/tools/cli.ts (npm run docs:gen / docs:check / docs:newcomer): esbuild bundles it, with
// the protocol and the CLI it reads, into node_modules/.cache (so its packages resolve), then Node runs it.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const repo = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', repo), 'utf8'));
const outfile = new URL(`node_modules/.cache/dws-docs/cli-${process.pid}.mjs`, repo).pathname;
await build({
  entryPoints: [new URL('docs/tools/cli.ts', repo).pathname],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  define: { __DWS_VERSION__: JSON.stringify(pkg.version) },
  logLevel: 'warning',
});
try {
  const { main } = await import(pathToFileURL(outfile).href);
  process.exitCode = await main(process.argv.slice(2));
} finally {
  (await import('node:fs')).rmSync(outfile, { force: true });
}
