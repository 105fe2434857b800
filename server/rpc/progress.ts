/**
 * What one server request gets besides the shared context: an AbortSignal fed by its
 * cancellation tokens, and `$/progress` (LSP work done progress) for its log lines and its
 * progress tasks (e.g. "Hashing data 40%"), so an editor shows what a long snapshot is doing.
 */
import type { CancellationToken, WorkDoneProgressReporter } from 'vscode-languageserver/node.js';
import type { Context, ProgressReporter } from '../context.js';

export function requestContext(
  base: Context,
  o: { title: string; cwd: string; tokens: CancellationToken[]; progress?: WorkDoneProgressReporter; onRunEvent?: Context['onRunEvent'] },
): { ctx: Context; done(): void } {
  const wd = o.progress && untilGone(o.progress);
  wd?.begin(o.title, 0, undefined, false);
  let lastPercent = -1;
  const progress: ProgressReporter = wd
    ? {
        begin(title) {
          return {
            report(done, total, detail) {
              const percent = total ? Math.floor((done / total) * 100) : undefined;
              if (percent !== undefined && percent === lastPercent) return; // one message per percent, not per file
              lastPercent = percent ?? -1;
              const message = detail ? `${title}: ${detail}` : title;
              if (percent === undefined) wd.report(message);
              else wd.report(percent, message);
            },
            end() {
              lastPercent = -1;
            },
          };
        },
      }
    : base.progress;
  const log = wd
    ? {
        ...base.log,
        info(m: string) {
          base.log.info(m);
          wd.report(m);
        },
      }
    : base.log;
  const signal = new LazySignal(o.tokens);
  // (base has no signal of its own: the server's shared context, made without one.)
  const ctx: Context = Object.assign(signal, base, { cwd: o.cwd, progress, log, onRunEvent: o.onRunEvent ?? base.onRunEvent });
  return {
    ctx,
    done() {
      signal.dispose();
      wd?.done();
    },
  };
}

/** Send something to the client; once it has closed its connection, sending throws: nobody to tell, and the work goes on. */
export function unlessGone(send: () => void): void {
  try {
    send();
  } catch {
    // the client is gone
  }
}

/**
 * Progress for a client that may close its connection mid-way: a notification on a disposed
 * connection throws, which stopped the restore (or run) it was reporting on half way.
 */
function untilGone(wd: WorkDoneProgressReporter): WorkDoneProgressReporter {
  const report = (...args: [number] | [string] | [number, string | undefined]) => unlessGone(() => (wd.report as (...a: unknown[]) => void)(...args));
  return {
    begin: (...args: Parameters<WorkDoneProgressReporter['begin']>) => unlessGone(() => wd.begin(...args)),
    report: report as WorkDoneProgressReporter['report'],
    done: () => unlessGone(() => wd.done()),
  };
}

/**
 * A request's context starts as one of these, so that its `signal` is made when a method first
 * asks for it: most requests (a kept status answer) never do, and an AbortController with a
 * listener on each token was most of what a request allocated. The getter is the class's, not
 * each context's: a getter in an object literal gave every request a hidden class of its own,
 * made in old space, which kept the request's closures alive through every scavenge until a
 * full collection (~1 MB promoted per scavenge under load; garbage collection pauses are the
 * server's latency tail). A copy made with `{ ...ctx }` would lose the signal: add to a
 * request's context through requestContext() instead.
 */
class LazySignal {
  readonly #tokens: CancellationToken[];
  #abort: AbortController | undefined;
  #listeners: Array<{ dispose(): void }> = [];

  constructor(tokens: CancellationToken[]) {
    this.#tokens = tokens;
  }

  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      const made = (this.#abort = new AbortController());
      // A token cancelled before the request started is CancellationToken.Cancelled, whose event never fires.
      if (this.#tokens.some((t) => t.isCancellationRequested)) made.abort();
      this.#listeners = this.#tokens.map((t) => t.onCancellationRequested(() => made.abort()));
    }
    return this.#abort.signal;
  }

  dispose(): void {
    this.#listeners.forEach((l) => l.dispose());
  }
}
