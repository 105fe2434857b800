// Builds dist/: type declarations (tsc, which also type-checks the whole project) and the
// bundled ESM files (esbuild). The CLI is one small entry that loads the rest on demand, so
// `dws --version` pays for almost nothing (STYLE.md 10).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, chmodSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const skipTypes = process.argv.includes('--no-types');

rmSync('dist', { recursive: true, force: true });
if (!skipTypes) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--emitDeclarationOnly'], {
    stdio: 'inherit',
  });
}

await build({
  entryPoints: {
    dws: 'clients/cli/bin.ts',
    index: 'index.ts',
    protocol: 'protocol/index.ts',
    'hash-worker': 'server/resources/hashtree/worker.ts',
  },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  minify: true,
  chunkNames: 'chunks/[name]-[hash]',
  define: { __DWS_VERSION__: JSON.stringify(pkg.version) },
  // Bundled CommonJS dependencies (simple-git, vscode-jsonrpc) call require() for Node built-ins.
  banner: { js: "import { createRequire as __dwsCreateRequire } from 'node:module'; const require = __dwsCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
chmodSync('dist/dws.js', 0o755);
