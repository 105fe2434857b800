/**
 * The content store's errors that tell the person what to run (dws fsck, dws config ...). The
 * store has no context (the CLI, the server, the runner and worker threads share it), so such an
 * error keeps the commands it names as method and params, and words them when it meets a context
 * (ctx.command): callMethod for one a handler throws, and the code that quotes one in a message of
 * its own (messageIn). Until then its message has the default wording, that of JSON-RPC and API
 * callers (`dws/fsck with {"repair": true}`).
 */
import { ConfigurationError } from '../../protocol/errors.js';
import { methodCall, type Context } from '../context.js';

/** How a front end says to run a method (Context['command']). */
export type CommandWording = Context['command'];

export class AdvisedError extends Error {
  /**
   * `say`: the message, given how to word a command to run (`say(command)` names them with
   * `command(method, params)`); `data`: what is damaged (the file, the object), for asAnswer.
   */
  constructor(
    private readonly say: (command: CommandWording) => string,
    readonly data: Record<string, unknown>,
  ) {
    super(say(methodCall));
  }

  /** The message with the commands worded by `command`. */
  wordedBy(command: CommandWording): string {
    return this.say(command);
  }
}

/** `e`, its message worded for `ctx` when it names commands to run; for an error on its way to the person. */
export function wordedFor<E>(ctx: Pick<Context, 'command'>, e: E): E {
  if (e instanceof AdvisedError) e.message = e.wordedBy(ctx.command);
  return e;
}

/** The message of `e` (an error met while doing something else) as `ctx` words it, to quote in a message of its own. */
export function messageIn(ctx: Pick<Context, 'command'>, e: unknown): string {
  if (e instanceof AdvisedError) return e.wordedBy(ctx.command);
  return e instanceof Error ? e.message : String(e);
}

/**
 * `e` as the answer to a request, for `ctx`: an AdvisedError a handler let through says the
 * content store is damaged, which is no bug of dws: a ConfigurationError (exit 1) with what to run,
 * not an internal error.
 */
export function asAnswer(ctx: Pick<Context, 'command'>, e: unknown): unknown {
  return e instanceof AdvisedError ? new ConfigurationError(e.wordedBy(ctx.command), e.data) : e;
}
