/**
 * Loading step files with no build step: each file is bundled with its local imports by esbuild
 * into a temporary .mjs (TypeScript or JavaScript alike), then imported. Packages stay external
 * (resolved from the step file's own directory, as Node would), and `dataworkspaces` (and its
 * subpaths: `dataworkspaces/step` ...) resolves to the running dws's own dist/, however dws was
 * installed. The bundle's list of inputs is
 * the step's code: the step file and the local modules it imports. The bundled code is kept with
 * each step: the run imports it again in a worker thread (runner/step-threads.ts).
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { ConfigurationError, NotFoundError } from '../protocol/errors.js';
import { PIPELINE_FILE, STEP_FILE } from '../protocol/step-file.js';
import type { Context } from '../server/context.js';
import { openResources } from '../server/resources/registry.js';
import { isWithin } from '../server/workspace/paths.js';
import type { Workspace } from '../server/workspace/workspace.js';
import { isStep, type Step } from './step.js';
import type { LoadedStep } from './types.js';
import type { GivenParams } from './plan.js';


/** A step that declares no params takes none (so other steps' params do not change its fingerprint). */
const NO_PARAMS = { shape: {}, safeParse: () => ({ success: true as const, data: {} }) };

/**
 * Load every step of the given files; a folder stands for all its `*.step.ts` / `*.step.js` files,
 * a pipeline file (dws.yaml) for its command steps and step files (`params`: the given ones, for
 * its `${param}`s).
 */
export async function loadStepFiles(ctx: Context, ws: Workspace, files: string[], params: GivenParams = {}): Promise<LoadedStep[]> {
  const paths: string[] = [];
  const declared: LoadedStep[] = [];
  for (const f of files) {
    const abs = resolve(ctx.cwd, f);
    if (!existsSync(abs)) throw new NotFoundError(`Step file ${f} does not exist (looked at ${abs})`, { path: f });
    if (basename(abs) === PIPELINE_FILE) {
      const { loadPipelineFile } = await import('./pipeline-file.js');
      const pipeline = loadPipelineFile(ws, await openResources(ws), abs, params);
      declared.push(...pipeline.steps);
      if (pipeline.stepFiles.length > 0) declared.push(...(await loadStepFiles(ctx, ws, pipeline.stepFiles)));
    } else if (statSync(abs).isDirectory()) {
      const found = readdirSync(abs).filter((n) => STEP_FILE.test(n)).sort();
      if (found.length === 0) throw new NotFoundError(`Folder ${f} has no step files (*.step.ts, *.step.js): name step files like prepare.step.ts`, { path: f });
      paths.push(...found.map((n) => join(abs, n)));
    } else paths.push(abs);
  }
  const out: LoadedStep[] = [...declared];
  for (const p of [...new Set(paths)]) out.push(...(await loadStepFile(ws, p)));
  return out;
}

/**
 * The workspace's pipeline (`dws run` with no step files, an editor's Run Steps with no step file
 * open): its pipeline file dws.yaml when it has one (its command steps and the step files it
 * names); else every step file in its code resources.
 */
export async function loadWorkspacePipeline(ctx: Context, ws: Workspace, params: GivenParams): Promise<LoadedStep[]> {
  const file = join(ws.dir, PIPELINE_FILE);
  return loadStepFiles(ctx, ws, existsSync(file) ? [file] : await pipelineStepFiles(ws), params);
}

/** The step files of a workspace without a pipeline file: every one in its code resources, at any depth, skipping node_modules and dot folders. */
export async function pipelineStepFiles(ws: Workspace): Promise<string[]> {
  const code = (await openResources(ws)).filter((r) => r.role === 'code' && r.localPath !== null && existsSync(r.localPath));
  if (code.length === 0) throw new NotFoundError(`This workspace has no pipeline file (${PIPELINE_FILE}) and no code resource to find step files in: write a ${PIPELINE_FILE}, add a code resource (dws add ... --role code), or give the step files to run`);
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (STEP_FILE.test(e.name)) found.push(join(dir, e.name));
    }
  };
  for (const r of code) walk(r.localPath!);
  if (found.length === 0) {
    throw new NotFoundError(`No step files (*.step.ts, *.step.js) in the code resource${code.length > 1 ? 's' : ''} ${code.map((r) => r.name).join(', ')}: name step files like prepare.step.ts`, { resources: code.map((r) => r.name) });
  }
  return found;
}

async function loadStepFile(ws: Workspace, file: string): Promise<LoadedStep[]> {
  const { build } = await import('esbuild');
  const shown = relative(ws.dir, file) || file;
  let result;
  try {
    result = await build({
      entryPoints: [file],
      absWorkingDir: dirname(file),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      conditions: ['node'],
      mainFields: ['main'],
      metafile: true,
      sourcemap: 'inline',
      // Source paths in the map are relative to the step's folder; the bundle runs from a temporary
      // one, so the map says where they are: stacks then name the step's own files.
      sourceRoot: `${pathToFileURL(dirname(file)).href}/`,
      logLevel: 'silent',
      plugins: [externals()],
      banner: { js: "import { createRequire as __dwsCreateRequire } from 'node:module'; const require = __dwsCreateRequire(import.meta.url);" },
    });
  } catch (e) {
    const errors = (e as { errors?: Array<{ text: string; location: { file: string; line: number; column: number; lineText: string } | null }> }).errors;
    if (!errors) throw e;
    const lines = errors.map((m) => (m.location ? `${relative(ws.dir, resolve(dirname(file), m.location.file))}:${m.location.line}:${m.location.column + 1}: ${m.text}\n    ${m.location.lineText}` : m.text));
    throw new ConfigurationError(`Cannot load step file ${shown}:\n${lines.join('\n')}`, { file: shown });
  }
  const codeFiles = Object.keys(result.metafile.inputs)
    .map((i) => resolve(dirname(file), i.replace(/^[a-z-]+:/, '')))
    .filter((f) => !f.split(/[\\/]/).includes('node_modules') && existsSync(f))
    .sort();
  const dir = mkdtempSync(join(tmpdir(), 'dws-step-'));
  let mod: Record<string, unknown>;
  try {
    const bundled = join(dir, `${basename(file).replace(/\.[^.]+$/, '')}.mjs`);
    writeFileSync(bundled, result.outputFiles[0]!.contents);
    try {
      mod = (await withConsoleOnStderr(() => import(pathToFileURL(bundled).href))) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigurationError(`Step file ${shown} failed while loading: ${e instanceof Error ? e.message : String(e)}`, { file: shown });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const steps = Object.entries(mod).filter((entry): entry is [string, Step] => isStep(entry[1]));
  if (steps.length === 0) {
    throw new ConfigurationError(
      `Step file ${shown} exports no step: write \`export default defineStep({ name, inputs, outputs, run })\` (import { defineStep, z } from 'dataworkspaces')`,
      { file: shown },
    );
  }
  const code = result.outputFiles[0]!.contents;
  return steps.map(([exportName, s]) => ({
    name: s.name,
    file,
    codeFiles,
    inputs: { ...(s.inputs ?? {}) },
    outputs: { ...(s.outputs ?? {}) },
    paramsSchema: (s.params as LoadedStep['paramsSchema']) ?? NO_PARAMS,
    ...(s.description !== undefined ? { description: s.description } : {}),
    ...(s.resources !== undefined ? { resources: { ...s.resources } } : {}),
    work: { type: 'module', run: s.run as never, bundle: { file, code, exportName } },
  }));
}

/** A command step (`dws run --name N --in R --out R -- CMD ARGS`): its code is the command's arguments that are files in the workspace. */
export function commandStep(ws: Workspace, cwd: string, o: { name: string; inputs: string[]; outputs: string[]; argv: string[] }): LoadedStep {
  return {
    name: o.name,
    file: null,
    codeFiles: commandCodeFiles(ws, cwd, o.argv),
    inputs: Object.fromEntries(o.inputs.map((r) => [r, r])),
    outputs: Object.fromEntries(o.outputs.map((r) => [r, r])),
    paramsSchema: null,
    work: { type: 'command', argv: o.argv, cwd },
  };
}

/** The words of a command that are files in the workspace (its scripts): part of the step's code. Absolute, sorted. */
export function commandCodeFiles(ws: Workspace, cwd: string, words: string[]): string[] {
  const files = words
    .filter((w) => w !== '')
    .map((w) => resolve(cwd, w))
    .filter((f) => isWithin(f, ws.dir) && existsSync(f) && statSync(f).isFile());
  return [...new Set(files)].sort();
}

/** The running dws's entry files (dist/index.js ...), from wherever this module was loaded. */
function distFile(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const d of [here, join(here, '..'), join(here, '..', 'dist')]) {
    if (existsSync(join(d, 'index.js')) && existsSync(join(d, 'dws.js'))) return join(d, name);
  }
  throw new ConfigurationError(`Cannot find dws's own dist/ next to ${here}: build dws first (npm run build)`, {});
}

const ENTRY: Record<string, string> = { dataworkspaces: 'index.js', 'dataworkspaces/step': 'step.js', 'dataworkspaces/protocol': 'protocol.js', 'dataworkspaces/client': 'client.js' };

/** Keep packages out of the bundle: `dataworkspaces` → this dws; other packages → their resolved file; Node built-ins as they are. */
function externals(): Plugin {
  return {
    name: 'dws-externals',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'dws-inner' || args.kind === 'entry-point') return undefined;
        const entry = ENTRY[args.path];
        if (entry) return { path: distFile(entry), external: true };
        if (args.path.startsWith('node:') || builtinModules.includes(args.path.split('/')[0]!)) return { path: args.path, external: true };
        const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'dws-inner' });
        return { path: r.errors.length > 0 ? args.path : r.path, external: true };
      });
    },
  };
}

/**
 * Run `f` with console.log and friends writing to stderr: a step file's top-level output while it
 * loads must not reach stdout, which carries `--json` results or JSON-RPC.
 */
async function withConsoleOnStderr<T>(f: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, info: console.info, debug: console.debug };
  console.log = console.info = console.debug = console.error;
  try {
    return await f();
  } finally {
    Object.assign(console, saved);
  }
}
