/** Methods of the server itself (not of a workspace). */
import { z } from 'zod';
import { defineMethod } from './method.js';

export const methods = defineMethod({
  method: 'dws/methods',
  doc: 'Clients and tools: every method the server serves, with the JSON Schema of its params and result.',
  mutates: false,
  params: z.object({}),
  result: z.array(
    z.object({
      method: z.string(),
      doc: z.string(),
      mutates: z.boolean(),
      params: z.record(z.string(), z.unknown()),
      result: z.record(z.string(), z.unknown()),
    }),
  ),
});
