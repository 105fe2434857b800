/**
 * Replaying one recorded step (for `dws/reproduce`, server/commands/reproduce.ts): a step the
 * runner ran from a step file is run again from that file (found at the same place in the
 * scratch copy) with its recorded params; a step of the pipeline file from the copy's dws.yaml
 * (the snapshot's) with its recorded params; any other step by its recorded command line, from the
 * workspace root, with its recorded inputs and outputs. Both go through the runner (forced, no
 * snapshot), so the step sees what it saw the first time: the same paths and environment.
 */
import { existsSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { refName, type StepLineage } from '../lineage/model.js';
import type { Context } from '../server/context.js';
import { openResources } from '../server/resources/registry.js';
import { isWithin, shellQuote } from '../server/workspace/paths.js';
import type { Workspace } from '../server/workspace/workspace.js';
import { runPipeline } from './engine.js';
import { commandStep, loadStepFiles } from './load.js';
import { loadPipelineFile, PIPELINE_FILE } from './pipeline-file.js';
import type { LoadedStep, RunEvent } from './types.js';

/** How many of its last output lines a step that fails in the replay is reported with. */
const SHOWN_LINES = 3;

/** The step file of a step recorded by `dws run FILE` (the engine records `['dws', 'run', FILE]`), else null. */
export function recordedStepFile(s: StepLineage): string | null {
  const cl = s.commandLine;
  return cl !== null && cl.length === 3 && cl[0] === 'dws' && cl[1] === 'run' ? cl[2]! : null;
}

export async function replayStep(ctx: Context, ws: Workspace, s: StepLineage, originalDir: string): Promise<{ how: string; ok: boolean; error: string | null }> {
  const file = recordedStepFile(s);
  // The copy's file when the step file was inside the workspace (else the original: it is not restored).
  const scratchFile = file !== null && isWithin(file, originalDir) ? join(ws.dir, relative(originalDir, file)) : file;
  // A command step of the pipeline file: replayed from the copy's dws.yaml (the snapshot's), with its own input and output keys.
  const pipeline = join(ws.dir, PIPELINE_FILE);
  const declared = file === null && existsSync(pipeline) ? await pipelineStep(ws, pipeline, s) : undefined;
  const how = file !== null ? `step file ${relative(ws.dir, scratchFile!) || scratchFile}` : declared ? `step ${s.stepName} of ${PIPELINE_FILE}` : s.commandLine ? `command ${s.commandLine.map(shellQuote).join(' ')}` : 'nothing recorded';
  try {
    let step: LoadedStep;
    if (declared) {
      step = declared;
    } else if (scratchFile !== null) {
      const found = (await loadStepFiles(ctx, ws, [scratchFile])).find((x) => x.name === s.stepName);
      if (!found) return { how, ok: false, error: `${scratchFile} no longer defines a step named ${s.stepName}` };
      step = found;
    } else if (s.commandLine !== null && s.commandLine.length > 0) {
      step = commandStep(ws, ws.dir, { name: s.stepName, inputs: s.inputs.map((c) => refName(c.ref)), outputs: s.outputs.map((c) => refName(c.ref)), argv: s.commandLine });
    } else {
      return { how, ok: false, error: 'no command line was recorded for it' };
    }
    await clearOutputs(ws, s);
    // What the step printed last: a failure's reason alone ("command exited with code 2") does not say why.
    const printed: string[] = [];
    const onEvent = (e: RunEvent) => {
      if (e.type === 'log' && e.partial !== true && printed.push(e.message) > SHOWN_LINES) printed.shift();
    };
    const r = await runPipeline(ctx, ws, { steps: [step], params: s.parameters, jobs: 1, force: true, dryRun: false, snapshot: false, onEvent });
    const failed = r.steps.find((x) => x.status !== 'succeeded');
    const why = failed?.reason ?? 'it did not run';
    return { how, ok: r.ok, error: r.ok ? null : printed.length === 0 ? why : `${why}; its last output: ${printed.join(' / ')}` };
  } catch (e) {
    return { how, ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/** Step `s` as the pipeline file declares it, with its recorded params; undefined when the file does not declare it or is broken (then its command line is replayed). */
async function pipelineStep(ws: Workspace, file: string, s: StepLineage): Promise<LoadedStep | undefined> {
  try {
    return loadPipelineFile(ws, await openResources(ws), file, s.parameters).steps.find((x) => x.name === s.stepName);
  } catch {
    return undefined;
  }
}

/**
 * Remove what the snapshot holds at the step's outputs, so the replay recomputes them rather
 * than finding them there. A whole-resource output keeps its other files (README, earlier
 * snapshot directories): only its subpaths are the step's.
 */
async function clearOutputs(ws: Workspace, s: StepLineage): Promise<void> {
  const resources = await openResources(ws);
  for (const c of s.outputs) {
    const lp = resources.find((r) => r.name === c.ref.name)?.localPath ?? null;
    if (c.ref.subpath !== null && lp !== null) rmSync(join(lp, c.ref.subpath), { recursive: true, force: true });
  }
}
