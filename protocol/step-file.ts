/** How a step file is named (`prepare.step.ts`): what the runner finds in folders, the server scans and editors run. */
export const STEP_FILE = /\.step\.(ts|mts|js|mjs)$/;
