/**
 * Diagnostics on `.dataworkspace/*.json` and snapshot metadata: JSON syntax errors (pyjson's
 * parser, which reads what Python writes), and the same content checks `dws` applies when it
 * loads the file (workspace.ts, snapshots.ts), underlined at the bad value (json-positions.ts).
 */
import { basename, dirname } from 'node:path';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver/node.js';
import { CorruptMetadataError } from '../../../protocol/errors.js';
import { checkMetadata } from '../../backends/git/snapshots.js';
import { RESOURCE_TYPE_NAMES } from '../../resources/registry.js';
import { JsonSyntaxError, parsePyJson } from '../../workspace/pyjson.js';
import { checkConfig, checkLocalParams, checkObject, checkResources, META_DIR } from '../../workspace/workspace.js';
import { locate } from './json-positions.js';
import { rangeOf } from './text.js';

const CHECKS: Record<string, (file: string, v: unknown) => unknown> = {
  'resources.json': checkResources,
  'config.json': checkConfig,
  'local_params.json': checkLocalParams,
  'resource_local_params.json': checkObject,
};

/** The content check for a metadata file, or undefined when `file` is not one. */
function checkFor(file: string): ((file: string, v: unknown) => unknown) | undefined {
  const name = basename(file);
  if (basename(dirname(file)) === META_DIR) return CHECKS[name];
  const md = /^([0-9a-f]{40})_md\.json$/.exec(name);
  if (md && basename(dirname(file)) === 'snapshot_metadata') return (f, v) => checkMetadata(f, v, md[1]!);
  return undefined;
}

export function isMetadataFile(file: string): boolean {
  return checkFor(file) !== undefined;
}

export function metadataDiagnostics(text: string, file: string): Diagnostic[] {
  const check = checkFor(file);
  if (!check) return [];
  let value: unknown;
  try {
    value = parsePyJson(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    const start = { line: e.line - 1, character: e.column - 1 };
    return [{ range: { start, end: { line: start.line, character: start.character + 1 } }, severity: DiagnosticSeverity.Error, source: 'dws', message: `Invalid JSON: ${e.message}` }];
  }
  const diagnostic = (path: Array<string | number>, severity: DiagnosticSeverity, message: string): Diagnostic => {
    const r = locate(text, path);
    return { range: rangeOf(text, r.start, r.end), severity, source: 'dws', message };
  };
  try {
    check(file, value);
  } catch (e) {
    if (!(e instanceof CorruptMetadataError)) throw e;
    const path = Array.isArray(e.data.jsonPath) ? (e.data.jsonPath as Array<string | number>) : [];
    return [diagnostic(path, DiagnosticSeverity.Error, e.message)];
  }
  // Loading accepts any type (status lists unknown ones), but nothing else can use them.
  if (basename(file) === 'resources.json' && Array.isArray(value)) {
    return value.flatMap((r: { resource_type: string; name: string }, i) =>
      RESOURCE_TYPE_NAMES.includes(r.resource_type)
        ? []
        : [diagnostic([i, 'resource_type'], DiagnosticSeverity.Warning, `Resource ${r.name} has unknown resource_type '${r.resource_type}': dws knows ${RESOURCE_TYPE_NAMES.join(', ')}`)],
    );
  }
  return [];
}
