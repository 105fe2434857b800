/**
 * `dws demo [DIR]`: a small workspace that shows the whole loop — source data, code, a step that
 * computes results with metrics, two tagged snapshots and the history report. Built only from
 * protocol methods, like every other front end.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConflictError } from '../../../protocol/errors.js';
import { callMethod } from '../../../server/commands/index.js';
import { globalOptions } from '../cli.js';
import { terminalContext } from '../terminal.js';
import { renderHistory, renderStatus } from './report.js';

const DATA = 'sepal_length,sepal_width,species\n5.1,3.5,setosa\n4.9,3.0,setosa\n7.0,3.2,versicolor\n6.4,3.2,versicolor\n6.3,3.3,virginica\n5.8,2.7,virginica\n';

/** The demo's "training" step: reads the data, writes results.json with metrics. */
const STEP = `// A pipeline step: reads source data, writes results/results.json with metrics.
import { readFileSync, writeFileSync } from 'node:fs';
const threshold = Number(process.argv[2] ?? '6.0');
const rows = readFileSync('source-data/flowers.csv', 'utf8').trim().split('\\n').slice(1).map((l) => l.split(','));
const predicted = rows.map(([len]) => (Number(len) >= threshold ? 'large' : 'small'));
const actual = rows.map(([, , species]) => (species === 'setosa' ? 'small' : 'large'));
const accuracy = predicted.filter((p, i) => p === actual[i]).length / rows.length;
writeFileSync('results/results.json', JSON.stringify({ step: 'train', parameters: { threshold }, metrics: { accuracy, rows: rows.length } }, null, 2));
console.log(\`train: threshold=\${threshold} accuracy=\${accuracy.toFixed(3)}\`);
`;

export function register(program: Command): void {
  program
    .command('demo')
    .description('Create a demo workspace with data, code, results, two snapshots and their history')
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

      say(`dws init --hostname demo --create-resources code,results   (in ${dir})`);
      await callMethod(wsCtx, 'dws/init', { createResources: ['code', 'results'], hostname: 'demo' });
      mkdirSync(join(dir, 'source-data'));
      writeFileSync(join(dir, 'source-data', 'flowers.csv'), DATA);
      writeFileSync(join(dir, 'code', 'train.mjs'), STEP);
      say('dws add local-files --role source-data --compute-hash source-data');
      await callMethod(wsCtx, 'dws/add/local-files', { path: 'source-data', role: 'source-data', computeHash: true });
      process.stdout.write(renderStatus(await callMethod(wsCtx, 'dws/report/status', {})));

      for (const [tag, threshold] of [['v1', '6.0'], ['v2', '5.5']] as const) {
        say(`node code/train.mjs ${threshold}`);
        process.stdout.write(execFileSync(process.execPath, ['code/train.mjs', threshold], { cwd: dir, encoding: 'utf8' }));
        say(`dws snapshot -m "threshold ${threshold}" ${tag}`);
        const s = await callMethod(wsCtx, 'dws/snapshot', { tag, message: `threshold ${threshold}` });
        process.stdout.write(`snapshot ${s.hash}; results moved to results/${s.relativeDestinationPath}\n`);
      }
      say('dws report history');
      process.stdout.write(renderHistory(await callMethod(wsCtx, 'dws/report/history', {}), undefined));
      process.stdout.write(`\nThe demo workspace is in ${dir}. Try: cd ${dirArg} && dws status --history  (npx dws ... inside the dws repository)\n`);
    });
}
