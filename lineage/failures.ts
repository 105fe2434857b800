/**
 * Failed step runs. A failed step records no lineage (lineage.md §4: its outputs' lineage is
 * forgotten), and the lineage files keep 1.6's format, so the last failed run of each step is kept
 * apart: `<git dir>/dws/lineage/failed-steps.json`, machine-local like the current lineage. A later
 * successful run of the step removes its entry. Only `lineage export` reads it (an OpenLineage FAIL
 * or ABORT event); a snapshot never holds failures.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { atomicWriteFile } from '../server/workspace/files.js';
import { localCacheDir, type Workspace } from '../server/workspace/workspace.js';
import { certToJson, parseCertificate, type Certificate, type ResourceRef } from './model.js';

/** The last failed run of a step. */
export interface FailedStep {
  stepName: string;
  /** `YYYY-MM-DDTHH:MM:SS.ffffff`, naive local time, as a step record's. */
  startTime: string;
  executionTimeSeconds: number;
  parameters: Record<string, unknown>;
  inputs: Certificate[];
  code: Certificate[];
  /** What the step declared it would write (it recorded no certificates for them). */
  outputs: ResourceRef[];
  commandLine: string[] | null;
  /** Why it failed, as the runner reported it. */
  error: string;
  /** Stopped from outside (Ctrl-C, a cancelled request) rather than failed by itself. */
  interrupted: boolean;
}

function file(ws: Pick<Workspace, 'dir'>): string | null {
  const dir = localCacheDir(ws);
  return dir === null ? null : join(dir, 'lineage', 'failed-steps.json');
}

type Stored = Omit<FailedStep, 'inputs' | 'code'> & { inputs: unknown[]; code: unknown[] };

/** Step name → its last failed run. An unreadable file counts as empty (it only informs exports). */
export function readFailedSteps(ws: Pick<Workspace, 'dir'>): Map<string, FailedStep> {
  const f = file(ws);
  const out = new Map<string, FailedStep>();
  if (f === null || !existsSync(f)) return out;
  try {
    const stored = JSON.parse(readFileSync(f, 'utf8')) as Record<string, Stored>;
    for (const [name, s] of Object.entries(stored)) {
      out.set(name, { ...s, inputs: s.inputs.map((c, i) => parseCertificate(c, f, `${name}.inputs[${i}]`)), code: s.code.map((c, i) => parseCertificate(c, f, `${name}.code[${i}]`)) });
    }
  } catch {
    return new Map();
  }
  return out;
}

function write(ws: Pick<Workspace, 'dir'>, failed: Map<string, FailedStep>): void {
  const f = file(ws);
  if (f === null) return;
  const stored: Record<string, Stored> = {};
  for (const [name, s] of failed) stored[name] = { ...s, inputs: s.inputs.map(certToJson), code: s.code.map(certToJson) };
  mkdirSync(dirname(f), { recursive: true });
  atomicWriteFile(f, `${JSON.stringify(stored, null, 1)}\n`);
}

/** Remember `s` as its step's last failed run. */
export function recordFailedStep(ws: Pick<Workspace, 'dir'>, s: FailedStep): void {
  const failed = readFailedSteps(ws);
  failed.set(s.stepName, s);
  write(ws, failed);
}

/** The step ran successfully: forget its failure. */
export function clearFailedStep(ws: Pick<Workspace, 'dir'>, stepName: string): void {
  const failed = readFailedSteps(ws);
  if (failed.delete(stepName)) write(ws, failed);
}
