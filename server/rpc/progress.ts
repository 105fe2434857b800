/**
 * What one server request gets besides the shared context: an AbortSignal fed by its
 * cancellation tokens, and `$/progress` (LSP work done progress) for its log lines and its
 * progress tasks (e.g. "Hashing data 40%"), so an editor shows what a long snapshot is doing.
 */
import type { CancellationToken, WorkDoneProgressReporter } from 'vscode-languageserver/node.js';
import type { Context, ProgressReporter } from '../context.js';

export function requestContext(
  base: Context,
  o: { title: string; cwd: string; tokens: CancellationToken[]; progress?: WorkDoneProgressReporter },
): { ctx: Context; done(): void } {
  // The signal is made when a method first asks for it: most requests (a kept status answer)
  // never do, and an AbortController with a listener on each token is most of what a request
  // would otherwise allocate (garbage collection pauses are the server's latency tail).
  let abort: AbortController | undefined;
  let listeners: Array<{ dispose(): void }> = [];
  const signal = (): AbortSignal => {
    if (abort === undefined) {
      const made = (abort = new AbortController());
      // A token cancelled before the request started is CancellationToken.Cancelled, whose event never fires.
      if (o.tokens.some((t) => t.isCancellationRequested)) made.abort();
      listeners = o.tokens.map((t) => t.onCancellationRequested(() => made.abort()));
    }
    return abort.signal;
  };
  const wd = o.progress;
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
  const ctx: Context = {
    ...base,
    cwd: o.cwd,
    get signal() {
      return signal();
    },
    progress,
    log: wd
      ? {
          ...base.log,
          info(m) {
            base.log.info(m);
            wd.report(m);
          },
        }
      : base.log,
  };
  return {
    ctx,
    done() {
      listeners.forEach((l) => l.dispose());
      wd?.done();
    },
  };
}
