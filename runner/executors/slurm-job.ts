/**
 * The job side of the slurm executor (runner/executors/slurm.ts): `dws run-step SPEC` runs one
 * step file's step in-process, on a cluster node, from the spec the executor wrote: the step
 * file as the run bundled it (so the job runs the code the run fingerprinted, and needs no
 * bundler), the step's export, its params and paths. The step's
 * log() and console output go to the job's output file (the executor tails it); its
 * results.write calls are appended to a file the executor reads back after the job, where the
 * step's lineage lives. Exits non-zero, with the reason on stderr, when the step fails.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigurationError } from '../../protocol/errors.js';
import { isStep } from '../step.js';
import { errorText, type StepRunData } from '../step-thread-protocol.js';

/** What the executor writes for a step file's job (JSON): what a worker thread gets, and where the job finds the code and puts its results. */
export interface StepSpec extends StepRunData {
  /** The step file's bundle (runner/load.ts), written next to the spec, and the export that is the step. */
  module: string;
  exportName: string;
  /** Where results.write calls go (one JSON line each), and the results.json the runner will write from them. */
  resultsCalls: string;
  resultsFile: string | null;
}

/** Run the step of `specFile`; resolves to the process's exit code (0: the step succeeded). */
export async function runStepJob(specFile: string): Promise<number> {
  let spec: StepSpec;
  try {
    spec = JSON.parse(readFileSync(specFile, 'utf8')) as StepSpec;
  } catch (e) {
    // The job's node does not see the file the executor wrote (or it was removed): say which.
    process.stderr.write(`dws: cannot read the step spec ${specFile}: ${errorText(e)}\n`);
    return 1;
  }
  try {
    // Stacks point into the step's own source (the bundle carries an inline source map).
    process.setSourceMapsEnabled(true);
    const step = ((await import(pathToFileURL(spec.module).href)) as Record<string, unknown>)[spec.exportName];
    if (!isStep(step)) throw new ConfigurationError(`${spec.module} has no step ${spec.exportName} (${spec.stepName})`, { module: spec.module });
    await step.run({
      params: spec.params,
      inputs: spec.inputs,
      outputs: spec.outputs,
      results: {
        write: async (metrics: Record<string, unknown>) => {
          if (!spec.hasResults || spec.resultsFile === null) {
            throw new ConfigurationError(`Step ${spec.stepName} wrote results but declares no output in a results resource: add one, e.g. outputs: { results: 'results' }`, { step: spec.stepName });
          }
          appendFileSync(spec.resultsCalls, `${JSON.stringify(metrics)}\n`);
          return spec.resultsFile;
        },
      },
      log: (m: string) => process.stdout.write(`${m}\n`),
      signal: new AbortController().signal,
      workspaceDir: spec.workspaceDir,
    });
    return 0;
  } catch (e) {
    process.stderr.write(`dws: step ${spec.stepName} failed: ${errorText(e)}\n`);
    if (e instanceof Error && e.stack && !(e instanceof ConfigurationError)) process.stderr.write(`${e.stack.split('\n').slice(1, 6).join('\n')}\n`);
    return 1;
  }
}

/** The results.write calls a finished job made, in order. */
export function resultsCalls(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
