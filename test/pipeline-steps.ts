/**
 * Step files shared by tests that need a small two-step pipeline with params and metrics:
 * prepare (param scale) reads source-data and writes intermediate-data:/prepared.txt; train
 * (params threshold, model) reads it and writes its metrics to results.
 */
export const PREPARE = `import { defineStep, z } from 'dataworkspaces';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default defineStep({
  name: 'prepare',
  params: z.object({ scale: z.number().default(2) }),
  inputs: { raw: 'source-data' },
  outputs: { prepared: 'intermediate-data:/prepared.txt' },
  async run({ params, inputs, outputs }) {
    const values = readFileSync(join(inputs.raw, 'values.txt'), 'utf8').trim().split('\\n').map(Number);
    writeFileSync(outputs.prepared, values.map((v) => v * params.scale).join('\\n') + '\\n');
  },
});
`;

export const TRAIN = `import { defineStep, z } from 'dataworkspaces';
import { readFileSync } from 'node:fs';
export default defineStep({
  name: 'train',
  params: z.object({ threshold: z.number(), model: z.string().default('linear') }),
  inputs: { prepared: 'intermediate-data:/prepared.txt' },
  outputs: { results: 'results' },
  async run({ params, inputs, results }) {
    const values = readFileSync(inputs.prepared, 'utf8').trim().split('\\n').map(Number);
    const above = values.filter((v) => v >= params.threshold).length;
    await results.write({ accuracy: above / values.length, above, total: values.length });
  },
});
`;
