/**
 * The pipeline file dws.yaml (issue 12 item 8), with the built dws as real processes: a Python
 * step, a shell step and an argv step run by `dws run`, their lineage, skips, param changes,
 * `dws run STEP`, bad files (each problem at dws.yaml:LINE:COL, nothing changed), step files it
 * names, removed steps; and the language server on dws.yaml (diagnostics, hover, completion,
 * code lenses, Run).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dws, dwsOk, fingerprint, git, newWorkspace, readJson, requireOnPath } from '../helpers.js';
import { LspClient } from '../lsp-client.js';

afterAll(cleanup);

/** Counts the rows of its input, times --scale (substituted) and DWS_PARAMS' scale: both must agree. */
const COUNT_PY = `import json, os, sys
params = json.loads(os.environ['DWS_PARAMS'])
inputs = json.loads(os.environ['DWS_INPUTS'])
outputs = json.loads(os.environ['DWS_OUTPUTS'])
scale = int(sys.argv[sys.argv.index('--scale') + 1])
assert scale == params['scale'], (scale, params)
rows = open(inputs['raw']).read().strip().split('\\n')[1:]
open(outputs['counted'], 'w').write(str(len(rows) * scale) + '\\n')
print('counted', len(rows), 'rows')
`;

const REPORT_PY = `import json, os, sys
outputs = json.loads(os.environ['DWS_OUTPUTS'])
n = int(open('intermediate-data/doubled.txt').read())
json.dump({'n': n, 'label': sys.argv[1]}, open(os.path.join(outputs['res'], 'results.json'), 'w'))
`;

const PIPELINE = `# The example pipeline: count -> double -> report
steps:
  - name: count
    description: Count the rows of the raw data
    command: python3 code/count.py --scale \${scale}
    params:
      scale: { type: integer, default: 2, description: what the count is multiplied by }
    inputs:
      raw: source-data:/rows.csv
    outputs:
      counted: intermediate-data:/counted.txt
    resources: { cpus: 1, memory: 1G }

  - name: double
    command: echo $(( $(cat intermediate-data/counted.txt) * \${factor} )) > intermediate-data/doubled.txt
    params:
      factor: 2
    inputs: [intermediate-data:/counted.txt]
    outputs: [intermediate-data:/doubled.txt]

  - name: report
    command: [python3, code/report.py, "\${label}"]
    params:
      label: { type: string, default: first }
    inputs: { doubled: "intermediate-data:/doubled.txt" }
    outputs: { res: results }
`;

async function pipelineWorkspace(pipeline = PIPELINE): Promise<string> {
  requireOnPath(['python3'], 'apt-get install python3');
  const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
  writeFileSync(join(dir, 'source-data', 'rows.csv'), 'x\n1\n2\n3\n');
  writeFileSync(join(dir, 'code', 'count.py'), COUNT_PY);
  writeFileSync(join(dir, 'code', 'report.py'), REPORT_PY);
  writeFileSync(join(dir, 'dws.yaml'), pipeline);
  return dir;
}

type Outcome = { step: string; status: string; reason: string | null };
async function runJson(dir: string, args: string[]): Promise<{ ok: boolean; steps: Outcome[]; snapshot: { hash: string } | null }> {
  return JSON.parse(await dwsOk(dir, ['--json', 'run', ...args]));
}
const statuses = (r: { steps: Outcome[] }) => r.steps.map((s) => `${s.step} ${s.status}`);

function stepLineage(dir: string, resource: string): Array<{ step_name: string; parameters: Record<string, unknown>; command_line: string[] }> {
  const file = join(dir, '.dataworkspace', 'current_lineage', `${resource}.json`);
  return (readJson(file) as { lineages: Array<{ type: string }> }).lineages.filter((l) => l.type === 'step') as never;
}

describe('dws run with a pipeline file', () => {
  it('runs a Python, a shell and an argv step, records lineage, skips when current, reruns on a param or declaration change', async () => {
    const dir = await pipelineWorkspace();
    const first = await runJson(dir, []);
    expect(statuses(first)).toEqual(['count succeeded', 'double succeeded', 'report succeeded']);
    expect(readFileSync(join(dir, 'intermediate-data', 'counted.txt'), 'utf8')).toBe('6\n');
    expect(readFileSync(join(dir, 'intermediate-data', 'doubled.txt'), 'utf8')).toBe('12\n');
    // The results step's file was moved into the snapshot's results folder.
    expect(git(dir, ['ls-files', 'results']).split('\n').some((f) => /results\.json$/.test(f))).toBe(true);
    // The snapshot commits the pipeline file with the metadata: it travels with the workspace.
    expect(git(dir, ['ls-files', 'dws.yaml']).trim()).toBe('dws.yaml');
    const count = stepLineage(dir, 'intermediate-data').find((l) => l.step_name === 'count')!;
    expect(count.parameters).toEqual({ scale: 2 });
    expect(count.command_line).toEqual(['sh', '-c', 'python3 code/count.py --scale 2']);

    expect(statuses(await runJson(dir, []))).toEqual(['count skipped', 'double skipped', 'report skipped']);

    const factor3 = await runJson(dir, ['--param', 'factor=3']);
    expect(factor3.steps.map((s) => `${s.step} ${s.status} ${s.reason ?? ''}`.trim())).toEqual(['count skipped unchanged since its last successful run', 'double succeeded', 'report succeeded']);
    expect(readFileSync(join(dir, 'intermediate-data', 'doubled.txt'), 'utf8')).toBe('18\n');
    expect(stepLineage(dir, 'intermediate-data').find((l) => l.step_name === 'double')!.parameters).toEqual({ factor: 3 });

    // A description is not part of a step; its command is, and only that step reruns.
    writeFileSync(join(dir, 'dws.yaml'), PIPELINE.replace('Count the rows of the raw data', 'Count rows').replace('default: first', 'default: second'));
    const edited = await runJson(dir, ['--param', 'factor=3', '--dry-run']);
    expect(edited.steps.map((s) => `${s.step} ${s.status} ${s.reason}`)).toEqual(['count skipped unchanged since its last successful run', 'double skipped unchanged since its last successful run', 'report would-run code changed']);
    const status = await dwsOk(dir, ['status']);
    expect(status).toMatch(/Stale steps \(dws run would rerun them\):\n {2}report \(run at [^)]+\): code dws\.yaml changed/);
    expect(statuses(await runJson(dir, ['--param', 'factor=3']))).toEqual(['count skipped', 'double skipped', 'report succeeded']);
  });

  it('dws run STEP runs that step and what upstream of it is not current; an unknown step is refused with the known ones', async () => {
    const dir = await pipelineWorkspace();
    const plan = await dwsOk(dir, ['run', 'double', '--dry-run']);
    expect(plan).toBe('Plan (dry run, nothing changed):\n  run   count: no successful run recorded\n  run   double: upstream step count would run\n');
    const ran = await runJson(dir, ['double']);
    expect(statuses(ran)).toEqual(['count succeeded', 'double succeeded']);
    expect(existsSync(join(dir, 'intermediate-data', 'doubled.txt'))).toBe(true);
    // Reproduced from the snapshot's dws.yaml (its own input keys and params), not from the bare command line.
    const again = await dws(dir, ['reproduce', ran.snapshot!.hash, '--check']);
    expect(again.stdout).toContain('  ran count (step count of dws.yaml)\n  ran double (step double of dws.yaml)\n');
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(git(dir, ['ls-files', 'results']).includes('results.json')).toBe(false);
    expect(statuses(await runJson(dir, ['report']))).toEqual(['count skipped', 'double skipped', 'report succeeded']);

    const before = fingerprint(dir);
    const unknown = await dws(dir, ['run', 'dubble']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No step named 'dubble' in this pipeline (nor a file of that name): its steps are count, double, report");
    const badParam = await dws(dir, ['run', '--param', 'scale=1.5']);
    expect(badParam.code).toBe(2);
    expect(badParam.stderr).toContain('step count: param scale: ');
    expect(fingerprint(dir)).toBe(before);
  });

  it('a string param takes a --param value that parses as a JSON number as its text, not as the number printed back', async () => {
    const dir = await newWorkspace(['--create-resources', 'intermediate-data']);
    writeFileSync(
      join(dir, 'dws.yaml'),
      `steps:\n  - name: label\n    command: >-\n      printf '%s|%s' "\${version}" "$DWS_PARAMS" > intermediate-data/label.txt\n    params:\n      version: { type: string, default: v }\n    outputs: [intermediate-data:/label.txt]\n`,
    );
    for (const text of ['1.0', '1e400', '0.10', '-0', '3']) {
      await dwsOk(dir, ['run', '--no-snapshot', '--param', `version=${text}`]);
      expect(readFileSync(join(dir, 'intermediate-data', 'label.txt'), 'utf8')).toBe(`${text}|${JSON.stringify({ version: text })}`);
      expect(stepLineage(dir, 'intermediate-data').find((l) => l.step_name === 'label')!.parameters).toEqual({ version: text });
    }
  });

  it('refuses a bad pipeline file with each problem at dws.yaml:LINE:COL, changing nothing', async () => {
    const dir = await pipelineWorkspace();
    const before = fingerprint(dir);
    const bad = async (text: string) => {
      writeFileSync(join(dir, 'dws.yaml'), text);
      const r = await dws(dir, ['run']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^Configuration error: Invalid pipeline file dws\.yaml, nothing was run:\n/);
      return r.stderr;
    };
    const schema = await bad(
      [
        'steps:', //                                    1
        '  - name: count', //                           2
        '    command: python3 code/count.py', //        3
        '    params:', //                               4
        '      scale: { type: integer, default: x }', // 5
        '    inputs:', //                               6
        '      raw: source-dat:/rows.csv', //           7
        '    colour: red', //                           8
        '  - name: count', //                           9
        '    command: 3', //                            10
        '  - command: echo', //                         11
        '',
      ].join('\n'),
    );
    expect(schema).toContain('dws.yaml:5:40: steps[0] (count).params.scale.default: "x" is not of type integer');
    expect(schema).toContain("dws.yaml:7:12: step count: input 'raw': no resource named 'source-dat' (this workspace has source-data, code, intermediate-data, results)");
    expect(schema).toContain("dws.yaml:8:5: steps[0] (count).colour: unknown field 'colour' (known: name, description, command, inputs, outputs, params, resources)");
    expect(schema).toContain("dws.yaml:9:11: steps[1].name: a second step named 'count' (the first is steps[0]): step names must be unique");
    expect(schema).toContain('dws.yaml:10:14: steps[1] (count).command: command is a string (run by sh -c) or a list of arguments');
    expect(schema).toContain('dws.yaml:11:5: steps[2].name: every step needs a name');

    expect(await bad('steps:\n  - name: a\n    command: echo\n  - name: a\n    command: echo\n')).toContain("dws.yaml:4:11: steps[1].name: a second step named 'a' (the first is steps[0]): step names must be unique");
    expect(await bad('steps:\n  - name: a\n    command: [echo\n')).toMatch(/dws\.yaml:4:1: YAML: /);
    expect(await bad('stepFiles: [code/nope]\nsteps: []\n')).toContain('dws.yaml:1:13: stepFiles: code/nope does not exist');
    expect(await bad('steps:\n  - name: a\n    command: echo\n    outputs: [results:/../x]\n')).toContain("dws.yaml:4:15: step a: output 'results:/../x': subpath '../x' leaves resource results");
    writeFileSync(join(dir, 'dws.yaml'), PIPELINE);
    expect(fingerprint(dir)).toBe(before);
  });

  it('runs the step files it names with its command steps; a step it drops is removed, and can be forgotten', async () => {
    const dir = await pipelineWorkspace(`stepFiles: [code/steps]\n${PIPELINE.split('\n  - name: report')[0]}`);
    mkdirSync(join(dir, 'code', 'steps'));
    writeFileSync(
      join(dir, 'code', 'steps', 'summary.step.ts'),
      `import { defineStep } from 'dataworkspaces';
import { readFileSync, writeFileSync } from 'node:fs';
export default defineStep({
  name: 'summary',
  inputs: { doubled: 'intermediate-data:/doubled.txt' },
  outputs: { summary: 'intermediate-data:/summary.txt' },
  run({ inputs, outputs }) { writeFileSync(outputs.summary, 'doubled: ' + readFileSync(inputs.doubled, 'utf8')); },
});
`,
    );
    expect(statuses(await runJson(dir, []))).toEqual(['count succeeded', 'double succeeded', 'summary succeeded']);
    expect(readFileSync(join(dir, 'intermediate-data', 'summary.txt'), 'utf8')).toBe('doubled: 12\n');
    // --pipeline is what no argument means.
    expect(statuses(await runJson(dir, ['--pipeline']))).toEqual(['count skipped', 'double skipped', 'summary skipped']);

    writeFileSync(join(dir, 'dws.yaml'), `stepFiles: [code/steps]\n${PIPELINE.split('\n  - name: double')[0]}`);
    expect(await dwsOk(dir, ['status'])).toContain('Removed steps');
    expect(await dwsOk(dir, ['status'])).toMatch(/ {2}double \(dws\.yaml\)/);
    await dwsOk(dir, ['lineage', 'forget', 'double']);
    expect(await dwsOk(dir, ['status'])).not.toContain('double');
    const kept = await dws(dir, ['lineage', 'forget', 'count']);
    expect(kept.code).toBe(1);
    expect(kept.stderr).toContain('Step count is not removed: its step file dws.yaml still declares it');
  });
});

describe('dws server on dws.yaml', () => {
  let dir: string;
  let lsp: LspClient;
  const uri = () => pathToFileURL(join(dir, 'dws.yaml')).href;
  /** LSP position of the `n`th character of `needle` in `text`. */
  const pos = (text: string, needle: string, n = 0) => {
    const at = text.indexOf(needle) + n;
    const before = text.slice(0, at);
    return { line: before.split('\n').length - 1, character: at - before.lastIndexOf('\n') - 1 };
  };
  const change = (text: string, version: number) => lsp.notify('textDocument/didChange', { textDocument: { uri: uri(), version }, contentChanges: [{ text }] });

  beforeAll(async () => {
    dir = await pipelineWorkspace();
    await dwsOk(dir, ['run']);
    lsp = new LspClient(dir);
    await lsp.request('initialize', { processId: null, rootUri: pathToFileURL(dir).href, capabilities: {} });
    lsp.notify('initialized', {});
  });
  afterAll(() => lsp?.close());

  it('reports schema problems, unknown resources, missing inputs and cycles at their nodes', async () => {
    const text = PIPELINE.replace('raw: source-data:/rows.csv', 'raw: source-data:/nope.csv').replace('outputs: { res: results }', 'outputs: { res: reslts }\n    colour: red');
    lsp.notify('textDocument/didOpen', { textDocument: { uri: uri(), languageId: 'yaml', version: 1, text } });
    const ds = await lsp.diagnostics(uri(), (x) => x.length > 0, 'diagnostics for dws.yaml');
    const at = (re: RegExp) => ds.find((d: { message: string }) => re.test(d.message))?.range.start;
    expect(at(/^steps\[2\] \(report\)\.colour: unknown field 'colour'/)).toEqual(pos(text, 'colour'));
    // The refs are checked against the workspace too.
    expect(at(/^'nope\.csv' does not exist in resource source-data/)).toEqual(pos(text, 'source-data:/nope.csv'));
    expect(at(/^Unknown resource 'reslts' in output 'res'/)).toEqual(pos(text, 'reslts'));
    expect(ds).toHaveLength(3);
    // count reads what double writes: a cycle, shown on both steps.
    const cycle = PIPELINE.replace('raw: source-data:/rows.csv', 'raw: intermediate-data:/doubled.txt');
    change(cycle, 2);
    const cs = await lsp.diagnostics(uri(), (x) => x.some((d) => /cycle/.test(d.message)), 'a cycle diagnostic');
    expect(cs.filter((d: { message: string }) => /^The steps form a cycle: /.test(d.message)).map((d: { range: { start: unknown } }) => d.range.start)).toEqual([pos(cycle, 'name: count', 6), pos(cycle, 'name: double', 6)]);
    change(PIPELINE, 3);
    await lsp.diagnostics(uri(), (x) => x.length === 0, 'no diagnostics for the good dws.yaml');
  });

  it('hovers a ref with its role, path and the step that writes it', async () => {
    const r = await lsp.request('textDocument/hover', { textDocument: { uri: uri() }, position: pos(PIPELINE, 'intermediate-data:/doubled.txt"', 5) });
    const text: string = r.result.contents.value;
    expect(text).toContain('**intermediate-data:/doubled.txt**: git-subdirectory resource, role intermediate-data');
    expect(text).toContain(`path: ${join(dir, 'intermediate-data', 'doubled.txt')}`);
    expect(text).toContain('doubled: input of this step, written by step double');
    expect(text).toMatch(/produced by: step double at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(r.result.range.start).toEqual(pos(PIPELINE, 'intermediate-data:/doubled.txt"'));
  });

  it('completes resource names and paths inside refs', async () => {
    const text = PIPELINE.replace('raw: source-data:/rows.csv', 'raw: sou');
    change(text, 5);
    const names = await lsp.request('textDocument/completion', { textDocument: { uri: uri() }, position: pos(text, 'raw: sou', 8) });
    expect(names.result.map((i: { label: string }) => i.label)).toEqual(['source-data', 'code', 'intermediate-data', 'results']);
    const sub = PIPELINE.replace('raw: source-data:/rows.csv', 'raw: source-data:/r');
    change(sub, 6);
    const files = await lsp.request('textDocument/completion', { textDocument: { uri: uri() }, position: pos(sub, 'source-data:/r', 14) });
    expect(files.result.map((i: { label: string }) => i.label)).toContain('rows.csv');
    change(PIPELINE, 7);
  });

  it('shows a Run lens and a current/stale lens per step; Run runs that step with its upstream', async () => {
    const lenses = async () => ((await lsp.request('textDocument/codeLens', { textDocument: { uri: uri() } })).result as Array<{ range: { start: unknown }; command: { title: string; command: string; arguments?: unknown[] } }>);
    const current = await lenses();
    expect(current.filter((l) => l.command.command === 'dws.run').map((l) => [l.command.title, l.command.arguments])).toEqual(
      ['count', 'double', 'report'].map((s) => [`Run ${s}`, [{ uri: uri(), steps: [s] }]]),
    );
    expect(current.filter((l) => l.command.command === '').map((l) => l.command.title.split(',')[0])).toEqual(['last run: current', 'last run: current', 'last run: current']);
    expect(current[0]!.range.start).toEqual(pos(PIPELINE, 'name: count'));

    writeFileSync(join(dir, 'source-data', 'rows.csv'), 'x\n1\n2\n3\n4\n');
    const stale = await lenses();
    expect(stale.filter((l) => l.command.command === '').map((l) => l.command.title.split(',')[0])).toEqual(['last run: stale', 'last run: stale', 'last run: stale']);

    const r = await lsp.request('workspace/executeCommand', { command: 'dws.run', arguments: [{ uri: uri(), steps: ['double'] }] });
    expect(r.error).toBeUndefined();
    expect(statuses(r.result)).toEqual(['count succeeded', 'double succeeded']);
    expect(readFileSync(join(dir, 'intermediate-data', 'doubled.txt'), 'utf8')).toBe('16\n');
    expect((await lenses()).filter((l) => l.command.command === '').map((l) => l.command.title.split(',')[0])).toEqual(['last run: current', 'last run: current', 'last run: stale']);
  });
});
