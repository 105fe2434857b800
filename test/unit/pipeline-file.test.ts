/** The pipeline file's pure parts (runner/pipeline-file.ts): reading with positions, params, substitution, declarations, the loaded step. */
import { describe, expect, it } from 'vitest';
import { commandStepOf, declarationOf, paramsSchema, readPipelineText, substituteParams } from '../../runner/pipeline-file.js';
import type { Resource } from '../../server/resources/types.js';
import type { Workspace } from '../../server/workspace/workspace.js';

const TEXT = `steps:
  - name: train
    description: fit
    command: python3 train.py --lr \${lr} --home \${HOME}
    params:
      lr: 0.1
      epochs: { type: integer, default: 3 }
      model: { type: string, default: linear, choices: [linear, tree] }
    inputs: { data: "source-data:/x.csv" }
    outputs: [results]
    resources: { cpus: 4, memory: 2048, time: 90, partition: gpu, sbatch: [--gres=gpu:1] }
`;

describe('pipeline file: reading', () => {
  it('checks the content and locates names and refs (inside quotes) by offset', () => {
    const read = readPipelineText(TEXT);
    expect(read.problems).toEqual([]);
    // Memory and time as numbers are what sbatch reads: passed on as text.
    expect(read.content!.steps[0]!.resources).toEqual({ cpus: 4, memory: '2048', time: '90', partition: 'gpu', sbatch: ['--gres=gpu:1'] });
    const [s] = read.steps;
    expect(TEXT.slice(s!.nameRange!.start, s!.nameRange!.end)).toBe('train');
    expect(s!.refs.map((r) => [r.kind, r.key, TEXT.slice(r.start, r.end)])).toEqual([
      ['input', 'data', 'source-data:/x.csv'],
      ['output', 'results', 'results'],
    ]);
  });

  it('reports each problem at its node, and still locates the steps', () => {
    const bad = 'steps:\n  - name: a\n    command: echo\n    resources: { cpus: 0, memory: lots }\n    inputs: [3]\n';
    const read = readPipelineText(bad);
    expect(read.content).toBeNull();
    expect(read.problems.map((p) => `${read.lineCol(p.start).line}:${read.lineCol(p.start).column} ${p.message}`)).toEqual([
      '4:24 steps[0] (a).resources.cpus: Too small: expected number to be >=1',
      '4:35 steps[0] (a).resources.memory: memory is like 4G, 512M or a number of megabytes',
      "5:14 steps[0] (a).inputs[0]: a ref is a string: 'resource' or 'resource:/subpath'",
    ]);
    expect(read.steps.map((s) => s.name)).toEqual(['a']);
    // A pipeline file naming itself would load itself forever.
    expect(readPipelineText('stepFiles: [code, ./dws.yaml]\n').problems.map((p) => p.message)).toEqual(['stepFiles[1]: stepFiles names step files and folders of them, not a pipeline file (dws.yaml)']);
  });
});

describe('pipeline file: params', () => {
  const schema = paramsSchema(readPipelineText(TEXT).content!.steps[0]!.params);
  it('fills defaults, checks types and choices, takes numbers as text for a string param', () => {
    expect(schema.parse({})).toEqual({ lr: 0.1, epochs: 3, model: 'linear' });
    expect(schema.safeParse({ epochs: 2.5 }).success).toBe(false);
    expect(schema.safeParse({ model: 'forest' }).success).toBe(false);
    expect(paramsSchema({ tag: { type: 'string' } }).parse({ tag: 3 })).toEqual({ tag: '3' });
    expect(paramsSchema({ seed: { type: 'integer' } }).safeParse({}).success).toBe(false);
  });

  it('substitutes declared params only, leaving shell variables', () => {
    expect(substituteParams('x ${lr} ${HOME} ${lr}', { lr: 0.5 })).toBe('x 0.5 ${HOME} 0.5');
  });

  it('a declaration changes with the command, params and refs, not with the description or resources', () => {
    const step = readPipelineText(TEXT).content!.steps[0]!;
    expect(declarationOf({ ...step, description: 'other', resources: { cpus: 1 } })).toBe(declarationOf(step));
    expect(declarationOf({ ...step, command: 'python3 train2.py' })).not.toBe(declarationOf(step));
    expect(declarationOf({ ...step, params: { lr: 0.2 } })).not.toBe(declarationOf(step));
  });
});

describe('pipeline file: the loaded step', () => {
  it('runs a string by sh -c with the params filled in; keys refs; passes resources on for executors', () => {
    const ws = { dir: '/ws', resources: [] } as unknown as Workspace;
    const resources = [{ name: 'source-data', role: 'source-data', localPath: '/ws/source-data' }, { name: 'results', role: 'results', localPath: '/ws/results' }] as unknown as Resource[];
    const s = commandStepOf(ws, resources, '/ws/dws.yaml', readPipelineText(TEXT).content!.steps[0]!, { lr: 0.3 });
    expect(s.work).toEqual({ type: 'command', argv: ['sh', '-c', 'python3 train.py --lr 0.3 --home ${HOME}'], cwd: '/ws' });
    expect(s.file).toBe('/ws/dws.yaml');
    expect(s.inputs).toEqual({ data: 'source-data:/x.csv' });
    expect(s.outputs).toEqual({ results: 'results' });
    expect(s.resources).toEqual({ cpus: 4, memory: '2048', time: '90', partition: 'gpu', sbatch: ['--gres=gpu:1'] });
    expect(s.description).toBe('fit');
    // Invalid params: left as written (the engine refuses the run, naming the param).
    const unfilled = commandStepOf(ws, resources, '/ws/dws.yaml', readPipelineText(TEXT).content!.steps[0]!, { lr: 'fast' });
    expect(unfilled.work).toMatchObject({ argv: ['sh', '-c', 'python3 train.py --lr ${lr} --home ${HOME}'] });
  });
});
