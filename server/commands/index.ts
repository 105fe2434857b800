/**
 * The method table: each protocol method bound to its one handler (DESIGN.md's one rule).
 * Handlers are loaded on first use, so a command pays only for its own code. Every front end
 * (CLI, server, runner, API) calls `callMethod`, which validates params against the protocol.
 */
import { z } from 'zod';
import { InvalidParamsError, METHODS, type MethodName, type ResultOf, type ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { asAnswer } from '../store/advice.js';
import { withLock, workspaceLockFile } from '../workspace/lock.js';

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
  'dws/push': async () => (await import('./push.js')).push,
  'dws/pull': async () => (await import('./pull.js')).pull,
  'dws/publish': async () => (await import('./publish.js')).publish,
  'dws/clone': async () => (await import('./clone.js')).clone,
  'dws/add/rclone': async () => (await import('./add-rclone.js')).addRclone,
  'dws/add/api-resource': async () => (await import('./add-api-resource.js')).addApiResource,
  'dws/report/lineage': async () => (await import('./report-lineage.js')).reportLineage,
  'dws/lineage/upstream': async () => (await import('./lineage-upstream.js')).lineageUpstream,
  'dws/lineage/downstream': async () => (await import('./lineage-downstream.js')).lineageDownstream,
  'dws/lineage/show': async () => (await import('./lineage-show.js')).lineageShow,
  'dws/lineage/diff': async () => (await import('./lineage-diff.js')).lineageDiff,
  'dws/lineage/graph': async () => (await import('./lineage-graph.js')).lineageGraph,
  'dws/lineage/forget': async () => (await import('./lineage-forget.js')).lineageForget,
  'dws/lineage/export': async () => (await import('./lineage-export.js')).lineageExport,
  'dws/restore': async () => (await import('./restore.js')).restore,
  'dws/delete-snapshot': async () => (await import('./delete-snapshot.js')).deleteSnapshot,
  'dws/gc': async () => (await import('./gc.js')).gc,
  'dws/fsck': async () => (await import('./fsck.js')).fsck,
  'dws/store/checkout': async () => (await import('./store-checkout.js')).storeCheckout,
  'dws/diff': async () => (await import('./diff.js')).diff,
  'dws/config': async () => (await import('./config.js')).config,
  'dws/report/results': async () => (await import('./report-results.js')).reportResults,
  'dws/report/experiments': async () => (await import('./report-experiments.js')).reportExperiments,
  'dws/report/plots': async () => (await import('./report-plots.js')).reportPlots,
  'dws/reproduce': async () => (await import('./reproduce.js')).reproduce,
  'dws/run': async () => (await import('./run.js')).run,
};

/** Handlers already loaded: a second `import()` of a loaded module still costs a module-map lookup per request. */
const loaded = new Map<MethodName, Promise<Handler<MethodName>>>();

function handlerOf<M extends MethodName>(method: M): Promise<Handler<M>> {
  let h = loaded.get(method);
  if (h === undefined) {
    h = HANDLERS[method]() as Promise<Handler<MethodName>>;
    loaded.set(method, h);
    h.catch(() => loaded.delete(method)); // a failed load is tried again next time
  }
  return h as Promise<Handler<M>>;
}

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(METHODS, name);
}

/** Validate `params` against the method's schema, then run its handler. */
export async function callMethod<M extends MethodName>(ctx: Context, method: M, params: unknown): Promise<ResultOf<(typeof METHODS)[M]>> {
  const def = METHODS[method];
  checkKnownParams(method, def.params, params);
  const parsed = def.params.safeParse(params ?? {});
  if (!parsed.success) {
    throw new InvalidParamsError(`Invalid params for ${method}: ${z.prettifyError(parsed.error)}`, { issues: parsed.error.issues });
  }
  checkNoNul(method, parsed.data); // after the schema: what is walked has its bounded shape
  const handler = await handlerOf(method);
  // The content store words no command it names (advice.ts): its errors are worded here for this front end.
  const run = () => handler(ctx, parsed.data as ValidParamsOf<(typeof METHODS)[M]>).catch((e: unknown) => Promise.reject(asAnswer(ctx, e)));
  // Changes are serialized by the workspace lock, across this process and any other dws.
  const lockFile = def.mutates ? workspaceLockFile(ctx.cwd, (parsed.data as { workspaceDir?: unknown }).workspaceDir) : null;
  if (lockFile === null) return run();
  // A change cancelled (server) while it waited for the lock, held by another connection or process, changes nothing.
  return withLock(lockFile, { log: ctx.log, timeoutMs: ctx.lockTimeoutMs, command: method.replaceAll('/', ' '), signal: () => ctx.signal }, () => (ctx.signal?.throwIfAborted(), run()));
}

/**
 * zod drops keys a schema does not name, so a misspelt option (`onyl` for `only`) was ignored
 * and the method did its widest work (a restore of every resource): name it instead.
 */
function checkKnownParams(method: MethodName, schema: z.ZodType, params: unknown): void {
  if (!(schema instanceof z.ZodObject) || typeof params !== 'object' || params === null || Array.isArray(params)) return;
  const known = Object.keys(schema.shape);
  const unknown = Object.keys(params).filter((k) => !known.includes(k));
  if (unknown.length === 0) return;
  const names = unknown.map((k) => `'${k}'`).join(', ');
  throw new InvalidParamsError(`Invalid params for ${method}: unknown param${unknown.length > 1 ? 's' : ''} ${names}; its params are ${known.join(', ') || '(none)'}`, {
    unknown,
    known,
  });
}

/**
 * No path, name, git argument or message can hold a NUL character: Node refuses it in file and
 * process calls, so one that reached them was answered as an internal error (a clone, a publish)
 * or printed raw in a message. Refused here, for every method, naming the param.
 */
function checkNoNul(method: MethodName, params: unknown): void {
  const where = (v: unknown, path: string): string | null => {
    if (typeof v === 'string') return v.includes('\0') ? path : null;
    if (typeof v !== 'object' || v === null) return null;
    for (const [k, x] of Object.entries(v)) {
      const found = where(x, Array.isArray(v) ? `${path}[${k}]` : path ? `${path}.${k}` : k);
      if (found !== null) return found;
    }
    return null;
  };
  const param = where(params, '');
  if (param !== null) throw new InvalidParamsError(`Invalid params for ${method}: ${param} contains a NUL character (\\0), which no path, name or argument may hold`, { param });
}
