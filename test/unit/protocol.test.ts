/** The protocol's tables stay complete: every method has a handler, every error code a number. */
import { describe, expect, it } from 'vitest';
import { DwsError, ERROR_CODES, METHODS, errorFromJSON, type ErrorCode } from '../../protocol/index.js';
import { callMethod, HANDLERS } from '../../server/commands/index.js';
import { createContext } from '../../server/context.js';

describe('protocol', () => {
  it('binds every method to exactly one handler, named by the CLI path', () => {
    expect(Object.keys(HANDLERS).sort()).toEqual(Object.keys(METHODS).sort());
    for (const [name, def] of Object.entries(METHODS)) {
      expect(def.method).toBe(name);
      expect(name).toMatch(/^dws\/[a-z-]+(\/[a-z-]+)*$/);
      expect(def.doc.length).toBeGreaterThan(10);
    }
  });

  it('gives every error code a distinct JSON-RPC number outside the reserved range, and an exit code', () => {
    const numbers = Object.values(ERROR_CODES).map((c) => c.rpc);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const [code, { rpc, exit }] of Object.entries(ERROR_CODES)) {
      if (code !== 'InvalidParams') expect(rpc < -32768 || rpc > -32000).toBe(true);
      expect(exit).toBeGreaterThan(0);
    }
  });

  it('round-trips errors through their JSON form', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const e = errorFromJSON(new DwsError(code, 'msg', { path: '/x' }).toJSON());
      expect(e.code).toBe(code);
      expect(e.message).toBe('msg');
      expect(e.data).toEqual({ path: '/x' });
    }
  });

  it('answers invalid params with InvalidParams listing the zod issues', async () => {
    const err = await callMethod(createContext(), 'dws/report/history', { limit: -1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DwsError);
    expect((err as DwsError).code).toBe('InvalidParams');
    expect((err as DwsError).exitCode).toBe(2);
    expect(((err as DwsError).data.issues as Array<{ path: string[] }>)[0]!.path).toEqual(['limit']);
  });

  it('answers version without a workspace', async () => {
    const v = await callMethod(createContext({ cwd: '/' }), 'dws/version', {});
    expect(v.formatVersion).toBe('1.6.0');
    expect(v.apiVersion).toBe('0.2');
    expect(METHODS['dws/version'].result.parse(v)).toEqual(v);
  });
});
