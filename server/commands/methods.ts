/** `dws/methods`: the protocol described by itself, with JSON Schemas generated from the zod schemas. */
import { z } from 'zod';
import { METHODS, type methods as Methods, type ResultOf, type ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';

export async function methods(_ctx: Context, _p: ValidParamsOf<typeof Methods>): Promise<ResultOf<typeof Methods>> {
  // io 'input' for params: what a client may send (defaults optional); 'output' for results.
  const schema = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return Object.values(METHODS).map((d) => ({
    method: d.method,
    doc: d.doc,
    mutates: d.mutates,
    params: schema(d.params, 'input'),
    result: schema(d.result, 'output'),
  }));
}
