/** The runner's pure parts: params parsing, DAG planning, defineStep, run-cache reasons. */
import { describe, expect, it } from 'vitest';
import { parseParams, planSteps } from '../../runner/plan.js';
import { defineStep, isStep } from '../../runner/step.js';
import { fingerprintOf, staleReason, type FingerprintParts } from '../../runner/cache.js';
import type { Resource } from '../../server/resources/types.js';
import type { LoadedStep } from '../../runner/types.js';

const resources = [
  { name: 'source-data', role: 'source-data', localPath: '/ws/source-data' },
  { name: 'intermediate-data', role: 'intermediate-data', localPath: '/ws/intermediate-data' },
  { name: 'results', role: 'results', localPath: '/ws/results' },
] as unknown as Resource[];

const step = (name: string, inputs: Record<string, string>, outputs: Record<string, string>): LoadedStep => ({
  name,
  file: `/ws/code/${name}.step.ts`,
  codeFiles: [],
  inputs,
  outputs,
  paramsSchema: null,
  work: { type: 'module', run: () => {} },
});

describe('runner: params', () => {
  it('reads JSON when it parses, else the string', () => {
    expect(parseParams(['scale=3', 'name=abc', 'flag=true', 'list=[1,2]', 'q="3"', 'eq=a=b'], (p: string) => p)).toEqual({ scale: 3, name: 'abc', flag: true, list: [1, 2], q: '3', eq: 'a=b' });
    expect(() => parseParams(['novalue'], (p: string) => `--${p}`)).toThrow(/--param 'novalue' is not of the form NAME=VALUE/);
  });
});

describe('runner: plan', () => {
  it('orders steps by matching outputs to inputs, covering refs included', () => {
    const plan = planSteps(
      [step('c', { a: 'intermediate-data', r: 'source-data' }, { o: 'results' }), step('a', { s: 'source-data:/a' }, { o: 'intermediate-data:/a' }), step('b', {}, { o: 'intermediate-data:/b/x' })],
      resources,
      '/ws',
    );
    expect(plan.steps.map((p) => p.step.name)).toEqual(['a', 'b', 'c']);
    expect(plan.steps[2]!.upstream).toEqual(['a', 'b']);
    expect(plan.steps[0]!.inputs[0]!.path).toBe('/ws/source-data/a');
  });

  it('refuses cycles, double writers, overlapping outputs and duplicate names', () => {
    expect(() => planSteps([step('p', { i: 'intermediate-data:/q' }, { o: 'intermediate-data:/p' }), step('q', { i: 'intermediate-data:/p' }, { o: 'intermediate-data:/q' })], resources, '/ws')).toThrow(
      /The steps form a cycle: p -> q -> p/,
    );
    expect(() => planSteps([step('w1', {}, { o: 'results' }), step('w2', {}, { o: 'results' })], resources, '/ws')).toThrow(/Steps w1 and w2 both write results/);
    expect(() => planSteps([step('w', {}, { o: 'results', p: 'results:/x' })], resources, '/ws')).toThrow(/declares overlapping outputs results and results:\/x/);
    expect(() => planSteps([step('w', {}, {}), step('w', {}, {})], resources, '/ws')).toThrow(/Two steps are named 'w'/);
    expect(() => planSteps([step('u', { x: 'nope' }, {})], resources, '/ws')).toThrow(/does not correspond to a resource|No resource named/);
  });
});

describe('runner: defineStep', () => {
  it('tags a step and checks its shape', () => {
    const s = defineStep({ name: 'x', inputs: { a: 'source-data' }, run() {} });
    expect(isStep(s)).toBe(true);
    expect(isStep({ name: 'x', run() {} })).toBe(false);
    expect(() => defineStep({ name: '', run() {} })).toThrow(/'name' must be a non-empty string/);
    expect(() => defineStep({ name: 'y', inputs: { a: 3 as unknown as string }, run() {} })).toThrow(/inputs\.a must be a string/);
  });
});

describe('runner: run cache', () => {
  const parts: FingerprintParts = { code: 'c1', params: { a: 1, b: 2 }, inputs: { 'source-data': 'h1' }, upstream: { up: 'f1' } };
  const record = { fingerprint: fingerprintOf(parts), parts, outputs: { results: 'o1' } };
  it('is current only when everything is equal (key order of params does not matter)', () => {
    expect(staleReason(record, { ...parts, params: { b: 2, a: 1 } }, { results: 'o1' })).toBeNull();
    expect(staleReason(undefined, parts, {})).toBe('no successful run recorded');
    expect(staleReason(record, { ...parts, code: 'c2' }, { results: 'o1' })).toBe('code changed');
    expect(staleReason(record, { ...parts, params: { a: 2, b: 2 } }, { results: 'o1' })).toBe('params changed');
    expect(staleReason(record, { ...parts, inputs: { 'source-data': 'h2' } }, { results: 'o1' })).toBe('input source-data changed');
    expect(staleReason(record, { ...parts, upstream: { up: 'f2' } }, { results: 'o1' })).toBe('upstream step up changed');
    expect(staleReason(record, parts, { results: 'o2' })).toBe('output results changed since the last run');
  });
});
