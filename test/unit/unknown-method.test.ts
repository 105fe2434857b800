/** The nearest-method suggestion for an unknown JSON-RPC method (server/rpc/unknown-method.ts): commander's, as the CLI's. */
import { describe, expect, it } from 'vitest';
import { similar, unknownMethod } from '../../server/rpc/unknown-method.js';

describe('unknown methods', () => {
  it('suggests what commander suggests for an unknown command: the nearest within 3 edits, all of them when equally near, none when far', () => {
    expect(similar('dws/snapshoot', ['dws/snapshot', 'dws/status'])).toEqual(['dws/snapshot']);
    expect(similar('dws/pusl', ['dws/push', 'dws/pull'])).toEqual(['dws/pull', 'dws/push']);
    expect(similar('textDocument/definition', ['dws/snapshot', 'dws/status'])).toEqual([]);
    expect(similar('-x', ['dws/status'])).toEqual([]);
  });

  it('answers -32601 naming the method, the suggestions and dws/methods', () => {
    const e = unknownMethod('dws/pusl');
    expect(e.code).toBe(-32601);
    expect(e.message).toBe("Unknown method 'dws/pusl': did you mean one of 'dws/pull', 'dws/push'? dws/methods lists every dws method.");
    expect(e.data).toEqual({ method: 'dws/pusl', suggestions: ['dws/pull', 'dws/push'] });
    expect(unknownMethod('report/history').data!.suggestions).toEqual(['dws/report/history']);
  });
});
