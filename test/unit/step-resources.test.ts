/** A step's `resources` (what it asks of a cluster: runner/step.ts) are checked when the step is defined, naming the field. */
import { describe, expect, it } from 'vitest';
import { defineStep } from '../../runner/step.js';

const withResources = (resources: unknown) => () => defineStep({ name: 'train', resources: resources as never, run() {} });

describe('defineStep resources', () => {
  it('keeps well-formed resources on the step', () => {
    const r = { cpus: 4, memory: '8G', time: '01:00:00', partition: 'gpu', sbatch: ['--gres=gpu:1'] };
    expect(withResources(r)().resources).toEqual(r);
    expect(withResources({ time: '2-00:00:00', memory: '500m' })().resources).toEqual({ time: '2-00:00:00', memory: '500m' });
  });

  it.each([
    [{ cpus: 0 }, "step 'train': resources.cpus must be a whole number >= 1"],
    [{ cpus: 1.5 }, "step 'train': resources.cpus must be a whole number >= 1"],
    [{ memory: 8 }, "step 'train': resources.memory must be a size as sbatch --mem takes it, e.g. '4G' or '500M'"],
    [{ time: 'an hour' }, "step 'train': resources.time must be a time limit as sbatch --time takes it"],
    [{ partition: 'gpu; rm -rf /' }, "step 'train': resources.partition must be a partition name"],
    [{ sbatch: '--gres=gpu:1' }, "step 'train': resources.sbatch must be a list of sbatch options"],
    [{ gpus: 1 }, "step 'train': resources has no field gpus (known: cpus, memory, time, partition, sbatch)"],
    ['4 cpus', "step 'train': 'resources' must be an object { cpus, memory, time, partition, sbatch }"],
  ])('refuses %j', (resources, message) => {
    expect(withResources(resources)).toThrow(message);
  });
});
