/**
 * A server request's AbortSignal (server/rpc/progress.ts): made only when a method asks for it,
 * and then fed by the request's cancellation tokens, whether they fire before or after.
 */
import { setFlagsFromString } from 'node:v8';
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

  it('gives every request a context of the same shape (a getter per context made a hidden class per request)', () => {
    setFlagsFromString('--allow-natives-syntax');
    // Shared and fast: two objects in dictionary mode also count as having the same map.
    const sameShape = new Function('a', 'b', 'return %HaveSameMap(a, b) && %HasFastProperties(a)') as (a: object, b: object) => boolean;
    const a = request();
    const b = request();
    expect(sameShape(a.ctx, b.ctx)).toBe(true);
    a.done();
    b.done();
  });

  it('keeps the signal and the shared context when a run adds its event listener', () => {
    const events: unknown[] = [];
    const base = createContext({ cwd: '/', lockTimeoutMs: 5 });
    const r = requestContext(base, { title: 'dws/run', cwd: '/ws', tokens: [], onRunEvent: (e) => events.push(e) });
    expect(r.ctx.signal!.aborted).toBe(false);
    expect([r.ctx.cwd, r.ctx.lockTimeoutMs, r.ctx.env]).toEqual(['/ws', 5, base.env]);
    r.ctx.onRunEvent!({ type: 'queued', step: 's' } as never);
    expect(events).toHaveLength(1);
    r.done();
  });
});
