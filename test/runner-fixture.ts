/** Shared by the observe, watch and reproduce tests: a workspace with step files, and a live `dws` process read line by line. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordStep } from '../lineage/step.js';
import { DWS, dwsOk, newWorkspace, TEST_ENV } from './helpers.js';

/** A step file: `defineStep({ name, inputs, outputs, run })` with `body` as the run function's body. */
export function stepSource(o: { name: string; inputs: Record<string, string>; outputs: Record<string, string>; body: string }): string {
  return `import { defineStep } from 'dataworkspaces';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default defineStep({
  name: ${JSON.stringify(o.name)},
  inputs: ${JSON.stringify(o.inputs)},
  outputs: ${JSON.stringify(o.outputs)},
  async run({ inputs, outputs, workspaceDir, signal }) {
${o.body}
  },
});
`;
}

/**
 * A workspace whose `data` resource (data/a.csv, --compute-hash) a recorded step `prepare` read
 * into intermediate-data, snapshotted as S1: a change of data/a.csv makes the step stale.
 */
export async function preparedDataWorkspace(): Promise<{ ws: string; data: string }> {
  const ws = await newWorkspace(['--create-resources=intermediate-data']);
  const data = join(ws, 'data');
  mkdirSync(data);
  writeFileSync(join(data, 'a.csv'), '1,2\n');
  await dwsOk(ws, ['--batch', 'add', 'local-files', '--role', 'source-data', '--compute-hash', '--name', 'data', data]);
  await recordStep({ workspaceDir: ws, name: 'prepare', inputs: ['data'], outputs: ['intermediate-data'], commandLine: null }, async () => {});
  await dwsOk(ws, ['--batch', 'snapshot', 'S1']); // the step's input certificate becomes the data's hash
  return { ws, data };
}

/** `double` reads source-data/in.txt and writes its number doubled into intermediate-data:/doubled/out.txt. */
export const DOUBLE = stepSource({
  name: 'double',
  inputs: { raw: 'source-data:/in.txt' },
  outputs: { out: 'intermediate-data:/doubled' },
  body: `    mkdirSync(outputs.out, { recursive: true });
    writeFileSync(join(outputs.out, 'out.txt'), String(Number(readFileSync(inputs.raw, 'utf8')) * 2) + '\\n');`,
});

/** A workspace with source-data, code, intermediate-data and results resources; source-data/in.txt = "21". */
export async function stepWorkspace(files: Record<string, string>): Promise<string> {
  const dir = await newWorkspace(['--create-resources', 'source-data,code,intermediate-data,results']);
  writeFileSync(join(dir, 'source-data', 'in.txt'), '21');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'code', name), text);
  return dir;
}

/** Step records of a resource's current lineage. */
export function currentSteps(dir: string, resource: string): Array<{ step_name: string; output_resources: unknown[] }> {
  const file = join(dir, '.dataworkspace', 'current_lineage', `${resource}.json`);
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as { lineages: Array<{ type: string }> }).lineages.filter((l) => l.type === 'step') as never;
}

/** A running `dws` whose stdout and stderr are read as lines; `waitFor` resolves on the first matching line. */
export class LiveDws {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  private buffered = { stdout: '', stderr: '' };
  private waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  readonly exited: Promise<number | null>;

  constructor(cwd: string, args: string[], env: NodeJS.ProcessEnv = TEST_ENV) {
    this.child = spawn(process.execPath, [DWS, ...args], { cwd, env });
    for (const stream of ['stdout', 'stderr'] as const) {
      this.child[stream].on('data', (d: Buffer) => {
        const parts = (this.buffered[stream] + d.toString()).split('\n');
        this.buffered[stream] = parts.pop()!;
        for (const l of parts) this.line(l);
      });
    }
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  private line(l: string): void {
    this.lines.push(l);
    this.waiters = this.waiters.filter((w) => (w.re.test(l) ? (w.resolve(l), false) : true));
  }

  /** The first line (already seen or to come) matching `re`; fails after `ms` with everything printed so far. */
  waitFor(re: RegExp, ms = 20_000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms; output:\n${this.lines.join('\n')}`)), ms);
      this.waiters.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
    });
  }
}
