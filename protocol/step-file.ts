/** How a step file is named (`prepare.step.ts`): what the runner finds in folders, the server scans and editors run. */
export const STEP_FILE = /\.step\.(ts|mts|js|mjs)$/;

/** The workspace's pipeline file, at its root (the place and kind of name `dvc.yaml` users expect): runner/pipeline-file.ts. */
export const PIPELINE_FILE = 'dws.yaml';
