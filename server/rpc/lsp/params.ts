/**
 * The params of the LSP messages this server handles, as zod schemas (issue 13 item 10): the
 * framing reader checks them before dispatch, so a hover without `textDocument` is answered
 * -32602 naming the field, and the feature modules can rely on the shapes they read. The
 * `dws/*` methods are checked by their own protocol schemas in callMethod.
 *
 * Only what this server reads is required; everything else a client sends passes through.
 */
import { z } from 'zod';
import type { Message } from 'vscode-jsonrpc/node.js';

const uri = z.string();
const textDocument = z.object({ uri });
const position = z.object({ line: z.number().int().nonnegative(), character: z.number().int().nonnegative() });
const positionParams = z.object({ textDocument, position });
const folders = z.array(z.object({ uri, name: z.string().optional() }));
const requestId = z.union([z.string(), z.number()]);

const SCHEMAS: Record<string, z.ZodType> = {
  initialize: z.object({
    processId: z.number().int().nullable().optional(),
    rootUri: uri.nullable().optional(),
    workspaceFolders: folders.nullable().optional(),
    capabilities: z.object({}).loose().optional(),
  }),
  'textDocument/hover': positionParams,
  'textDocument/completion': positionParams,
  'textDocument/codeLens': z.object({ textDocument }),
  'textDocument/didOpen': z.object({ textDocument: z.object({ uri, text: z.string() }) }),
  'textDocument/didChange': z.object({ textDocument, contentChanges: z.array(z.object({ text: z.string() }).loose()) }),
  'textDocument/didSave': z.object({ textDocument }),
  'textDocument/didClose': z.object({ textDocument }),
  'workspace/executeCommand': z.object({ command: z.string(), arguments: z.array(z.unknown()).optional(), workDoneToken: requestId.optional() }),
  'workspace/didChangeWorkspaceFolders': z.object({ event: z.object({ added: folders, removed: folders }) }),
  '$/cancelRequest': z.object({ id: requestId }),
  'window/workDoneProgress/cancel': z.object({ token: requestId }),
};

/** Why the params of `m` do not fit its method (a message naming each wrong field), or null. */
export function checkLspParams(m: Message): string | null {
  const method = (m as { method?: unknown }).method;
  if (typeof method !== 'string' || !Object.hasOwn(SCHEMAS, method)) return null;
  const r = SCHEMAS[method]!.safeParse((m as { params?: unknown }).params);
  if (r.success) return null;
  const fields = r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'params'}: ${i.message}`);
  return `Invalid params for ${method}: ${fields.join('; ')}`;
}
