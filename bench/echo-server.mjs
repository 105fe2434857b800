// The floor for bench/server.mjs: a vscode-jsonrpc server on stdio whose one method returns its params.
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node.js';

const connection = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
connection.onRequest('echo', (params) => params);
connection.onClose(() => process.exit(0));
connection.listen();
