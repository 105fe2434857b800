/**
 * `dataworkspaces/step`: the step API alone (defineStep, z), for step files (docs/runner.md).
 * The same API as the package's index without the integration API behind it, so a process that
 * runs a single step (a Slurm job: runner/executors/slurm-job.ts) starts without loading the
 * whole of dws.
 */
export { defineStep, isStep, type Step, type StepDefinition, type StepRunContext } from './runner/step.js';
export type { StepResources } from './runner/types.js';
export { z } from 'zod';
