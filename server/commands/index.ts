/**
 * The method table: each protocol method bound to its one handler (DESIGN.md's one rule).
 * Handlers are loaded on first use, so a command pays only for its own code. Every front end
 * (CLI, server, runner, API) calls `callMethod`, which validates params against the protocol.
 */
import { z } from 'zod';
import { InvalidParamsError, METHODS, type MethodName, type ResultOf, type ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';

type Handler<M extends MethodName> = (ctx: Context, params: ValidParamsOf<(typeof METHODS)[M]>) => Promise<ResultOf<(typeof METHODS)[M]>>;

export const HANDLERS: { [M in MethodName]: () => Promise<Handler<M>> } = {
  'dws/methods': async () => (await import('./methods.js')).methods,
  'dws/version': async () => (await import('./version.js')).version,
  'dws/init': async () => (await import('./init.js')).init,
  'dws/add/git': async () => (await import('./add-git.js')).addGit,
  'dws/add/local-files': async () => (await import('./add-local-files.js')).addLocalFiles,
  'dws/snapshot': async () => (await import('./snapshot.js')).snapshot,
  'dws/status': async () => (await import('./status.js')).status,
  'dws/report/status': async () => (await import('./report-status.js')).reportStatus,
  'dws/report/history': async () => (await import('./report-history.js')).reportHistory,
  'dws/resources': async () => (await import('./resources.js')).resources,
};

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(METHODS, name);
}

/** Validate `params` against the method's schema, then run its handler. */
export async function callMethod<M extends MethodName>(ctx: Context, method: M, params: unknown): Promise<ResultOf<(typeof METHODS)[M]>> {
  const def = METHODS[method];
  const parsed = def.params.safeParse(params ?? {});
  if (!parsed.success) {
    throw new InvalidParamsError(`Invalid params for ${method}: ${z.prettifyError(parsed.error)}`, { issues: parsed.error.issues });
  }
  const handler = (await HANDLERS[method]()) as Handler<M>;
  return handler(ctx, parsed.data as ValidParamsOf<(typeof METHODS)[M]>);
}
