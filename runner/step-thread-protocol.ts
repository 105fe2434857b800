/**
 * What the main thread and a step worker (runner/step-worker.ts) say to each other, and the
 * failure text both sides give a thrown error, so a step fails with the same message in either.
 */

/** The plain data of a step's run() that crosses to the worker (functions stay on the main thread). */
export interface StepRunData {
  stepName: string;
  params: unknown;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  workspaceDir: string;
  /** The step declares an output in a results resource (else results.write is refused). */
  hasResults: boolean;
}

/** Main thread → worker. */
export type ToWorker =
  | ({
      type: 'run';
      id: number;
      /** file: URL of the step's bundled module (runner/step-threads.ts writes it for the run). */
      moduleUrl: string;
      exportName: string;
    } & StepRunData)
  | { type: 'abort'; id: number }
  | { type: 'results-done'; call: number; file: string }
  | { type: 'results-failed'; call: number; message: string };

/** Worker → main thread. */
export type FromWorker =
  | { type: 'log'; id: number; message: string }
  /** What the step wrote to process.stdout / process.stderr (console.log included), as written. */
  | { type: 'output'; id: number; text: string }
  | { type: 'results'; id: number; call: number; metrics: Record<string, unknown> }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; message: string; stack: string | undefined };

/**
 * A step's failure as reported: the message, prefixed by the error's name unless it is a plain
 * Error. Its `name` first: dws's own classes set it, and their class names are minified away.
 */
export function errorText(e: unknown): string {
  if (e instanceof StepFailure) return e.message;
  if (e instanceof Error) {
    const name = e.name !== 'Error' ? e.name : e.constructor.name;
    return `${name === 'Error' ? '' : `${name}: `}${e.message}`;
  }
  return String(e);
}

/** A failure whose message is already what the report says. */
export class StepFailure extends Error {}
