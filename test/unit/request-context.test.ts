/**
 * A server request's AbortSignal (server/rpc/progress.ts): made only when a method asks for it,
 * and then fed by the request's cancellation tokens, whether they fire before or after.
 */
import { describe, expect, it } from 'vitest';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import { createContext } from '../../server/context.js';
import { requestContext } from '../../server/rpc/progress.js';

function request() {
  const source = new CancellationTokenSource();
  let subscriptions = 0;
  const token = source.token;
  const counted = {
    get isCancellationRequested() {
      return token.isCancellationRequested;
    },
    onCancellationRequested: ((listener: () => void) => {
      subscriptions++;
      return token.onCancellationRequested(listener);
    }) as typeof token.onCancellationRequested,
  };
  const r = requestContext(createContext({ cwd: '/' }), { title: 'dws/status', cwd: '/', tokens: [counted] });
  return { ...r, source, subscriptions: () => subscriptions };
}

describe('requestContext', () => {
  it('does not listen to the tokens of a request that never asks for its signal', () => {
    const r = request();
    r.done();
    expect(r.subscriptions()).toBe(0);
  });

  it('aborts the signal when the request is cancelled after the method took it', () => {
    const r = request();
    const signal = r.ctx.signal!;
    expect(signal.aborted).toBe(false);
    expect(r.subscriptions()).toBe(1);
    r.source.cancel();
    expect(signal.aborted).toBe(true);
    expect(r.ctx.signal).toBe(signal); // one signal per request
    r.done();
  });

  it('gives an aborted signal when the request was cancelled before the method took it', () => {
    const r = request();
    r.source.cancel();
    expect(r.ctx.signal!.aborted).toBe(true);
    r.done();
  });
});
