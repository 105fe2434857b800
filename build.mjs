// Builds dist/: type declarations (tsc, which also type-checks the whole project) and the
// bundled ESM files (esbuild). The CLI is one small entry that loads the rest on demand, so
// `dws --version` pays for almost nothing (STYLE.md 10).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createVSIX } from '@vscode/vsce';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const skipTypes = process.argv.includes('--no-types');

// Build beside dist/ and swap it in at the end, so a dws that is running (a test, a benchmark)
// never sees a half-written dist/.
const out = `dist.building-${process.pid}`;
rmSync(out, { recursive: true, force: true });
if (!skipTypes) {
  execFileSync(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--emitDeclarationOnly', '--outDir', `${out}/types`],
    { stdio: 'inherit' },
  );
}

// zod's `z` namespace re-exports every locale it has: ~260 KB of the ~1 MB every CLI command
// loads, parsed at each start. dws's messages are English; `z.locales` keeps `en` only.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)$/.test(args.resolveDir) ? { path: 'zod-locales', namespace: 'zod-english-only', pluginData: args.resolveDir } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(`${args.pluginData}/../locales/en.js`)};`,
      resolveDir: args.pluginData,
    }));
  },
};

await build({
  entryPoints: {
    dws: 'clients/cli/bin.ts',
    index: 'index.ts',
    step: 'step.ts',
    protocol: 'protocol/index.ts',
    client: 'clients/node/index.ts',
    'hash-worker': 'server/resources/hashtree/worker.ts',
    'step-worker': 'runner/step-worker.ts',
  },
  outdir: out,
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
  // esbuild runs at run time (step files, editor syntax checks) and ships a native binary: not bundleable.
  external: ['esbuild'],
  plugins: [zodEnglishOnly],
});
chmodSync(`${out}/dws.js`, 0o755);

// The VS Code extension: one CommonJS bundle (VS Code provides `vscode`), packed into a .vsix by
// @vscode/vsce from a staging folder that holds exactly what ships (package.json, README, bundle).
const vscodeBundle = await build({
  entryPoints: ['clients/vscode/src/extension.ts'],
  write: false,
  outfile: `${out}/vscode/dist/extension.js`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node18', // VS Code 1.82's Electron
  minify: true,
  external: ['vscode'],
  logLevel: 'warning',
});
const vscodePkg = JSON.parse(readFileSync('clients/vscode/package.json', 'utf8'));
const stage = `${out}/vscode-stage`;
mkdirSync(`${stage}/dist`, { recursive: true });
copyFileSync('clients/vscode/package.json', `${stage}/package.json`);
copyFileSync('clients/vscode/README.md', `${stage}/README.md`);
writeFileSync(`${stage}/dist/extension.js`, vscodeBundle.outputFiles[0].contents);
mkdirSync(`${out}/vscode`, { recursive: true });
// Packing needs no network: no dependencies to list (the bundle has them), no repository or licence prompt.
await createVSIX({
  cwd: stage,
  packagePath: `${out}/vscode/${vscodePkg.name}-${vscodePkg.version}.vsix`,
  dependencies: false,
  allowMissingRepository: true,
  skipLicense: true,
});
rmSync(stage, { recursive: true, force: true });
const old = `dist.old-${process.pid}`;
if (existsSync('dist')) renameSync('dist', old);
renameSync(out, 'dist');
rmSync(old, { recursive: true, force: true });
