/**
 * The checks one connection's reader makes before a message reaches vscode-languageserver: the
 * LSP params schemas (params.ts), and `initialize` accepted once. LSP sends initialize once per
 * connection; vscode-languageserver answers every one, and each re-ran its setup: a new
 * workspace-folders emitter (dropping the listener lsp/index.ts registered in `initialized`) and
 * the client's capabilities replaced. Refused here, a second one changes nothing. Its code is
 * InvalidRequest (-32600), as for a request after `shutdown`: the LSP spec's code for a request
 * the lifecycle does not allow at that point.
 */
import type { Message } from 'vscode-jsonrpc/node.js';
import { INVALID_REQUEST, type MessageCheck } from '../framing.js';
import { checkLspParams } from './params.js';

export const SECOND_INITIALIZE =
  "initialize refused: this connection was initialized already, and LSP sends initialize once per connection; the first initialize's settings stay. To start over, end the connection ('shutdown', then 'exit') and open a new one.";

/** A check for one connection's messages (it remembers that connection's `initialize`). */
export function connectionChecks(): MessageCheck {
  let initialized = false;
  return (m: Message) => {
    const { method, id } = m as { method?: unknown; id?: unknown };
    const isInitialize = method === 'initialize' && id !== undefined;
    if (isInitialize && initialized) return { code: INVALID_REQUEST, message: SECOND_INITIALIZE };
    const invalid = checkLspParams(m);
    // An initialize refused for its params was not accepted: the client may send a good one.
    if (isInitialize && invalid === null) initialized = true;
    return invalid;
  };
}
