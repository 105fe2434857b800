/**
 * `dws watch` (issue 6 item 6) as a real process: the initial run, a rerun when an input changes
 * ("ran <step> because <input> changed", lineage recorded, no snapshot), and Ctrl-C (SIGINT)
 * during a running step: exit 0 and no lineage for the interrupted step. Lines are awaited, never slept for.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, gitLog } from '../helpers.js';
import { currentSteps, DOUBLE, LiveDws, stepSource, stepWorkspace } from '../runner-fixture.js';

afterAll(cleanup);

describe('dws watch', () => {
  it('reruns a step when its input changes, records its lineage, takes no snapshot, stops on SIGINT', async () => {
    const dir = await stepWorkspace({ 'double.step.mjs': DOUBLE });
    const commits = gitLog(dir);
    const w = new LiveDws(dir, ['watch', 'code/double.step.mjs', '--debounce', '50']);
    await w.waitFor(/^Watching 1 step \(double\)/);
    await w.waitFor(/^ran double because it was not current when watching started$/);
    expect(readFileSync(join(dir, 'intermediate-data', 'doubled', 'out.txt'), 'utf8')).toBe('42\n');

    writeFileSync(join(dir, 'source-data', 'in.txt'), '50');
    await w.waitFor(/^ran double because source-data:\/in.txt changed$/);
    expect(readFileSync(join(dir, 'intermediate-data', 'doubled', 'out.txt'), 'utf8')).toBe('100\n');
    expect(currentSteps(dir, 'intermediate-data').map((s) => s.step_name)).toEqual(['double']);

    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
    expect(w.lines).toContain('Stopped watching.');
    expect(gitLog(dir)).toEqual(commits);
  });

  it('Ctrl-C while a step runs aborts it: exit 0, no lineage for it', async () => {
    const block = stepSource({
      name: 'block',
      inputs: { raw: 'source-data:/in.txt' },
      outputs: { out: 'intermediate-data:/blocked' },
      body: `    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'partial.txt'), 'half');
    await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));`,
    });
    const dir = await stepWorkspace({ 'block.step.mjs': block });
    const w = new LiveDws(dir, ['--verbose', 'watch', 'code/block.step.mjs']);
    await w.waitFor(/^\[block\] running$/);
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(0);
    await w.waitFor(/^interrupted: unfinished steps recorded no lineage$/);
    expect(currentSteps(dir, 'intermediate-data')).toEqual([]);
  });
});
