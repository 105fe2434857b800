/**
 * How a protocol method is declared: a literal name (the CLI command path), zod schemas for its
 * params and result, and a vscode-jsonrpc RequestType, so the server, the CLI and every client
 * share one definition (STYLE.md 1).
 */
import type { z } from 'zod';
import { NotificationType, RequestType } from 'vscode-jsonrpc/lib/common/messages.js';
import type { DwsErrorData } from './errors.js';

export interface MethodDef<
  M extends string = string,
  P extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  readonly method: M;
  readonly params: P;
  readonly result: R;
  /** Who sends it and why (shown by `dws/methods` and in docs/protocol.md). */
  readonly doc: string;
  /** Whether it changes the workspace (such calls are serialized by the workspace lock). */
  readonly mutates: boolean;
  readonly type: RequestType<z.input<P>, z.output<R>, DwsErrorData>;
}

export function defineMethod<M extends string, P extends z.ZodType, R extends z.ZodType>(def: {
  method: M;
  params: P;
  result: R;
  doc: string;
  mutates: boolean;
}): MethodDef<M, P, R> {
  return { ...def, type: new RequestType<z.input<P>, z.output<R>, DwsErrorData>(def.method) };
}

export type ParamsOf<D extends MethodDef> = z.input<D['params']>;
export type ResultOf<D extends MethodDef> = z.output<D['result']>;
/** Params after schema validation (defaults filled in): what a handler receives. */
export type ValidParamsOf<D extends MethodDef> = z.output<D['params']>;

/** A notification the server sends: its name, the zod schema of its params, and who gets it and why. */
export interface NotificationDef<M extends string = string, P extends z.ZodType = z.ZodType> {
  readonly method: M;
  readonly params: P;
  /** Who receives it and why (shown in docs/protocol.md). */
  readonly doc: string;
  readonly type: NotificationType<z.output<P>>;
}

export function defineNotification<M extends string, P extends z.ZodType>(def: { method: M; params: P; doc: string }): NotificationDef<M, P> {
  return { ...def, type: new NotificationType<z.output<P>>(def.method) };
}
