/**
 * The one error hierarchy of dws (STYLE.md 6). Every error a handler raises is a DwsError with a
 * stable string `code`; ERROR_CODES maps each code to its JSON-RPC error number and CLI exit code.
 * Messages name the culprit (file, field, value) and, where possible, say how to fix it.
 */

/** code -> JSON-RPC error number (outside -32768..-32000, except InvalidParams) and CLI exit code. */
export const ERROR_CODES = {
  /** Bad arguments: a zod schema failure, or options that cannot go together. Exit 2 like a usage error. */
  InvalidParams: { rpc: -32602, exit: 2 },
  /** The workspace or a resource is not configured as the operation needs (dws 1.6 ConfigurationError). */
  ConfigurationError: { rpc: 1000, exit: 1 },
  /** A named thing (workspace, resource, snapshot, tag) does not exist. */
  NotFound: { rpc: 1001, exit: 1 },
  /** The operation would clash with existing state (a tag or resource name in use, overlapping paths). */
  Conflict: { rpc: 1002, exit: 1 },
  /** A metadata file is unreadable or does not match its format. */
  CorruptMetadata: { rpc: 1003, exit: 1 },
  /** --batch (or a server without a user) but the operation needs an answer from a person. */
  BatchModeInput: { rpc: 1004, exit: 1 },
  /** The user answered "no" to a confirmation. */
  UserAbort: { rpc: 1005, exit: 1 },
  /** An external program (git, rclone) failed. */
  SubprocessFailed: { rpc: 1006, exit: 1 },
  /** A request to a remote service (an OpenLineage endpoint) failed or was refused. */
  RequestFailed: { rpc: 1007, exit: 1 },
  /** A bug or an impossible state: please report it. */
  InternalError: { rpc: 1099, exit: 1 },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** What travels in a JSON-RPC error's `data` and in `--json` error output. */
export interface DwsErrorData {
  code: ErrorCode;
  [key: string]: unknown;
}

export class DwsError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }
  get rpcCode(): number {
    return ERROR_CODES[this.code].rpc;
  }
  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
  toJSON(): { code: ErrorCode; message: string; data: DwsErrorData } {
    return { code: this.code, message: this.message, data: { ...this.data, code: this.code } };
  }
}

export class InvalidParamsError extends DwsError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('InvalidParams', message, data);
  }
}
export class ConfigurationError extends DwsError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('ConfigurationError', message, data);
  }
}
export class NotFoundError extends DwsError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('NotFound', message, data);
  }
}
export class ConflictError extends DwsError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('Conflict', message, data);
  }
}
export class CorruptMetadataError extends DwsError {
  constructor(message: string, data: { file: string } & Record<string, unknown>) {
    super('CorruptMetadata', message, data);
  }
}
export class BatchModeError extends DwsError {
  /** `what` is the option a person would have been asked for, e.g. `--role`; `batch` names batch mode as the front end does. */
  constructor(
    readonly what: string,
    batch = '--batch',
  ) {
    super('BatchModeInput', `Running in ${batch} mode, but user input required for ${what}`, { what });
  }
}
export class UserAbortError extends DwsError {
  constructor(message = 'Not a positive response, exiting without doing anything') {
    super('UserAbort', message);
  }
}
export class SubprocessError extends DwsError {
  constructor(message: string, data: { command: string[]; cwd?: string; stderr?: string; exitCode?: number | null }) {
    super('SubprocessFailed', message, data);
  }
}
export class RequestFailedError extends DwsError {
  constructor(message: string, data: { url: string } & Record<string, unknown>) {
    super('RequestFailed', message, data);
  }
}
export class InternalError extends DwsError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('InternalError', message, data);
  }
}

/** Rebuild a DwsError from its JSON form (a JSON-RPC error), e.g. in clients. */
export function errorFromJSON(e: { code?: unknown; message?: unknown; data?: unknown }): DwsError {
  const data = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Record<string, unknown>;
  const code = typeof data.code === 'string' && data.code in ERROR_CODES ? (data.code as ErrorCode) : 'InternalError';
  const { code: _drop, ...rest } = data;
  return new DwsError(code, String(e.message ?? 'unknown error'), rest);
}
