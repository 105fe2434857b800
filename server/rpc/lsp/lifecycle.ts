/**
 * The checks one connection's reader makes before a message reaches vscode-languageserver: the
 * LSP params schemas (params.ts), and `initialize` accepted once. LSP sends initialize once per
 * connection; vscode-languageserver answers every one, and each re-ran its setup: a new
 * workspace-folders emitter (dropping the listener lsp/index.ts registered in `initialized`) and
 * the client's capabilities replaced. Refused here, a second one changes nothing. And every
 * request after `shutdown` (LSP: "the server errors with InvalidRequest"), whatever its method: a
 * dws method (a change made then would surprise a client that is closing), an LSP feature, an
 * unknown method, a second `shutdown`; `exit` is a notification and still ends the server. Both
 * are InvalidRequest (-32600): the LSP spec's code for a request the lifecycle does not allow at
 * that point.
 */
import type { Message } from 'vscode-jsonrpc/node.js';
import { INVALID_REQUEST, shown, type MessageCheck } from '../framing.js';
import { checkLspParams } from './params.js';

export const SECOND_INITIALIZE =
  "initialize refused: this connection was initialized already, and LSP sends initialize once per connection; the first initialize's settings stay. To start over, end the connection ('shutdown', then 'exit') and open a new one.";

/** A check for one connection's messages (it remembers that connection's `initialize`). */
export function connectionChecks(): MessageCheck {
  let initialized = false;
  let shutDown = false;
  return (m: Message) => {
    const { method, id } = m as { method?: unknown; id?: unknown };
    const isRequest = typeof method === 'string' && id !== undefined;
    if (isRequest && shutDown) return { code: INVALID_REQUEST, message: afterShutdown(method) };
    const isInitialize = method === 'initialize' && id !== undefined;
    if (isInitialize && initialized) return { code: INVALID_REQUEST, message: SECOND_INITIALIZE };
    const invalid = checkLspParams(m);
    // An initialize refused for its params was not accepted: the client may send a good one.
    if (isInitialize && invalid === null) initialized = true;
    if (isRequest && method === 'shutdown' && invalid === null) shutDown = true;
    return invalid;
  };
}

/** The refusal of a request for `method` after `shutdown`. */
export function afterShutdown(method: string): string {
  return `${shown(method, 80)} refused: the server was asked to shut down and serves no more requests`;
}
