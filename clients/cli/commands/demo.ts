/**
 * `dws demo [DIR]`: a small workspace that shows the whole loop — source data, a two-step pipeline
 * (prepare, train) run by `dws run` into results with metrics, two tagged snapshots (the second
 * run skips the unchanged step), the history report and the lineage graph. Built only from
 * protocol methods, like every other front end.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConflictError } from '../../../protocol/errors.js';
import type { RunEvent } from '../../../protocol/index.js';
import { callMethod } from '../../../server/commands/index.js';
import { globalOptions } from '../cli.js';
import { terminalContext } from '../terminal.js';
import { renderHistory, renderStatus } from './report.js';
import { progressLine } from './run.js';

const DATA = 'sepal_length,sepal_width,species\n5.1,3.5,setosa\n4.9,3.0,setosa\n7.0,3.2,versicolor\n6.4,3.2,versicolor\n6.3,3.3,virginica\n5.8,2.7,virginica\n';

/** The demo's pipeline: two step files in the code resource, run by `dws run code/`. */
const PREPARE = `// Step 1: source data -> a cleaned table (one row per flower: length, large?).
import { defineStep } from 'dataworkspaces';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export default defineStep({
  name: 'prepare',
  inputs: { raw: 'source-data' },
  outputs: { prepared: 'intermediate-data:/prepared.csv' },
  async run({ inputs, outputs, log }) {
    const rows = readFileSync(join(inputs.raw, 'flowers.csv'), 'utf8').trim().split('\\n').slice(1).map((l) => l.split(','));
    writeFileSync(outputs.prepared, rows.map(([len, , species]) => \`\${len},\${species === 'setosa' ? 'small' : 'large'}\`).join('\\n') + '\\n');
    log(\`prepared \${rows.length} rows\`);
  },
});
`;

const TRAIN = `// Step 2: the prepared table -> results.json with metrics, for a given threshold.
import { defineStep, z } from 'dataworkspaces';
import { readFileSync } from 'node:fs';

export default defineStep({
  name: 'train',
  params: z.object({ threshold: z.number().default(6.0) }),
  inputs: { prepared: 'intermediate-data:/prepared.csv' },
  outputs: { results: 'results' },
  async run({ params, inputs, results, log }) {
    const rows = readFileSync(inputs.prepared, 'utf8').trim().split('\\n').map((l) => l.split(','));
    const correct = rows.filter(([len, size]) => (Number(len) >= params.threshold ? 'large' : 'small') === size).length;
    const accuracy = correct / rows.length;
    await results.write({ accuracy, rows: rows.length });
    log(\`threshold=\${params.threshold} accuracy=\${accuracy.toFixed(3)}\`);
  },
});
`;

export function register(program: Command): void {
  program
    .command('demo')
    .description('Create a demo workspace: data, a two-step pipeline run by dws run, two snapshots, history and lineage graph')
    .argument('[DIR]', 'where to create it', 'dws-demo')
    .action(async (dirArg: string, _o: object, cmd: Command) => {
      const g = globalOptions(cmd);
      const ctx = terminalContext({ batch: true, verbose: g.verbose === true, json: false });
      const dir = resolve(dirArg);
      if (existsSync(dir) && readdirSync(dir).length > 0) {
        throw new ConflictError(`Directory ${dir} already exists and is not empty: choose another with 'dws demo DIR'`, { path: dir });
      }
      mkdirSync(dir, { recursive: true });
      const say = (s: string) => process.stdout.write(`\n== ${s}\n`);
      const wsCtx = { ...ctx, cwd: dir };

      say(`dws init --hostname demo --create-resources code,intermediate-data,results   (in ${dir})`);
      await callMethod(wsCtx, 'dws/init', { createResources: ['code', 'intermediate-data', 'results'], hostname: 'demo' });
      mkdirSync(join(dir, 'source-data'));
      writeFileSync(join(dir, 'source-data', 'flowers.csv'), DATA);
      writeFileSync(join(dir, 'code', 'prepare.step.ts'), PREPARE);
      writeFileSync(join(dir, 'code', 'train.step.ts'), TRAIN);
      say('dws add local-files --role source-data --compute-hash source-data');
      await callMethod(wsCtx, 'dws/add/local-files', { path: 'source-data', role: 'source-data', computeHash: true });
      process.stdout.write(renderStatus(await callMethod(wsCtx, 'dws/report/status', {})));

      // The second run skips `prepare` (nothing it depends on changed) and reruns `train`.
      const runCtx = { ...wsCtx, onRunEvent: (e: RunEvent) => process.stdout.write(progressLine(e)) };
      for (const [tag, threshold] of [['v1', '6.0'], ['v2', '5.5']] as const) {
        say(`dws run code/ --param threshold=${threshold} --tag ${tag}`);
        const r = await callMethod(runCtx, 'dws/run', { files: ['code'], param: [`threshold=${threshold}`], tag, jobs: 2 });
        if (r.snapshot) process.stdout.write(`snapshot ${r.snapshot.hash}: ${r.snapshot.message}\n`);
      }
      say('dws report history');
      process.stdout.write(renderHistory(await callMethod(wsCtx, 'dws/report/history', {}), undefined));
      say('dws lineage graph --snapshot v2 --format mermaid -o lineage.mmd');
      const graph = await callMethod(wsCtx, 'dws/lineage/graph', { snapshot: 'v2', format: 'mermaid', output: join(dir, 'lineage.mmd') });
      process.stdout.write(readFileSync(graph.file, 'utf8'));
      process.stdout.write(`\nThe demo workspace is in ${dir}. Try: cd ${dirArg} && dws status --history  (npx dws ... inside the dws repository)\n`);
    });
}
