/**
 * The lineage store on files (lineage.md §3): current lineage in
 * `.dataworkspace/current_lineage/<resource>.json` (git-ignored, per machine), frozen per snapshot
 * in `snapshot_lineage/<HASH>/<resource>.json` (committed). This module holds the operations the
 * workspace commands need; the lineage model and its queries build on it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFile, readJsonFile, writeJsonFile } from '../server/workspace/files.js';
import type { JsonObject, Workspace } from '../server/workspace/workspace.js';

function currentFile(ws: Workspace, resource: string): string {
  return ws.meta('current_lineage', `${resource}.json`);
}

/**
 * Replace placeholder certificates of the given resources by hash certificates with the
 * resource's compare hash (keeping ref and comment), in every current lineage file.
 */
export function replacePlaceholders(ws: Workspace, hashes: Map<string, string>): void {
  const dir = ws.meta('current_lineage');
  if (!existsSync(dir)) return;
  for (const file of listJson(dir)) {
    const path = join(dir, file);
    const data = readJsonFile(path);
    let changed = false;
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(visit);
      if (typeof v !== 'object' || v === null) return;
      const o = v as JsonObject;
      const cert = o.certificate as JsonObject | undefined;
      if (typeof o.resource_name === 'string' && cert && cert.cert_type === 'placeholder' && hashes.has(o.resource_name)) {
        o.certificate = { cert_type: 'hash', hashval: hashes.get(o.resource_name), comment: cert.comment };
        changed = true;
      }
      Object.values(o).forEach(visit);
    };
    visit(data);
    if (changed) writeJsonFile(path, data);
  }
}

/** Copy the current lineage of each resource into `snapshot_lineage/<hash>/`; returns the files written. */
export function snapshotLineage(ws: Workspace, hash: string, resourceNames: string[]): string[] {
  const dir = ws.meta('snapshot_lineage', hash);
  mkdirSync(dir, { recursive: true });
  if (resourceNames.length === 0) {
    const p = join(dir, 'placeholder.txt');
    atomicWriteFile(p, `No resources for lineage snapshot ${hash}\n`);
    return [p];
  }
  return resourceNames.map((name) => {
    const target = join(dir, `${name}.json`);
    const current = currentFile(ws, name);
    if (existsSync(current)) atomicWriteFile(target, readFileSync(current));
    else writeJsonFile(target, { resource_name: name, lineages: [] });
    return target;
  });
}

/** Forget how a resource's current state came to be (its files were moved or replaced). */
export function clearCurrentLineage(ws: Workspace, resource: string): void {
  rmSync(currentFile(ws, resource), { force: true });
}

/** Record lineage exported by another workspace as this resource's (resources.md §1.6). */
export function importLineage(ws: Workspace, resource: string, lineages: unknown[]): void {
  mkdirSync(ws.meta('current_lineage'), { recursive: true });
  writeJsonFile(currentFile(ws, resource), {
    resource_name: resource,
    lineages: [{ type: 'imported', resource_name: resource, nested_lineage: lineages }],
  });
}

function listJson(dir: string): string[] {
  // Sorted, so every run visits files in the same order (1.6 used file-system order).
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
}
