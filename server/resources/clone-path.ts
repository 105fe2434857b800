/**
 * Where a local-files or rclone resource goes in a clone (resources.md §4, workspace-format §12).
 *
 * resources.json records such a resource by the absolute `global_local_path` of the machine
 * that added it, and 1.6 reads it that way, so it stays as it is. But a folder that lay inside
 * the original workspace must land inside the clone: kept at the original's path, a clone on
 * the same machine would read and write the original's files. The clone's own place is then a
 * machine-local `local_path` in resource_local_params.json (1.6 reads it as `my_local_path`).
 *
 * Which folders lay inside is not recorded as such, but adding one (by 1.6 or by us) writes
 * `/<path relative to the workspace>/` into the root .gitignore: the original workspace is the
 * nearest ancestor A of `global_local_path` whose relative path is an ignore entry. An ancestor
 * that exists here but is not a workspace cannot have been it (an outside folder whose tail
 * happens to equal an entry, e.g. /srv/data beside an in-workspace `data`).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { isWithin, relativePosix } from '../workspace/paths.js';
import { META_DIR, type JsonObject, type ResourceParams, type Workspace } from '../workspace/workspace.js';

/** The resource's path inside this workspace when it lay inside the original one, else null. */
export function pathInsideClone(ws: Workspace, recorded: string): string | null {
  if (!isAbsolute(recorded)) return null;
  const entries = ignoreEntries(join(ws.dir, '.gitignore'));
  if (entries.size === 0) return null;
  for (let ancestor = dirname(recorded); ; ancestor = dirname(ancestor)) {
    const rel = relativePosix(ancestor, recorded);
    if (entries.has(rel) && (ancestor === ws.dir || !existsSync(ancestor) || existsSync(join(ancestor, META_DIR)))) {
      return join(ws.dir, ...rel.split('/'));
    }
    if (ancestor === dirname(ancestor)) return null;
  }
}

/**
 * Where a local-files or rclone resource (with no machine-local path) is in this workspace. A
 * workspace moved (`mv`) or copied (`cp -a`) to another folder still records its in-workspace
 * folders at the old place: they are the same folders inside this one, as for a clone (a copy
 * must never act on the original's files; a moved one's old place is gone). Not when another
 * resource of this workspace is recorded there: then the recorded path was an outside folder
 * whose tail happens to equal an entry.
 */
export function placeInWorkspace(ws: Workspace, params: ResourceParams): string {
  const recorded = recordedPath(params);
  if (isWithin(recorded, ws.dir)) return recorded; // where it was added: nothing moved
  const inside = pathInsideClone(ws, recorded);
  if (inside === null) return recorded;
  const taken = ws.resources.some((r) => r.name !== params.name && recordedPath(r) === inside);
  return taken ? recorded : inside;
}

/** The path recorded when a local-files or rclone resource was added (older files call it `local_path`). */
export function recordedPath(params: ResourceParams): string {
  return String(params.global_local_path ?? params.local_path);
}

/** The root .gitignore's lines, each without one leading and one trailing `/` (the ensure-entry match of §12). */
function ignoreEntries(file: string): Set<string> {
  if (!existsSync(file)) return new Set();
  const strip = (l: string) => l.trimEnd().replace(/^\//, '').replace(/\/$/, '');
  return new Set(
    readFileSync(file, 'utf8')
      .split('\n')
      .map(strip)
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
}

/**
 * The local params of a local-files resource placed inside the clone: its folder, made empty
 * if missing (its files are not in git), and `local_path` unless it is the recorded path itself.
 */
export function cloneInside(ws: Workspace, name: string, recorded: string, inside: string): JsonObject {
  if (!existsSync(inside)) {
    mkdirSync(inside, { recursive: true });
    ws.ctx.log.info(`Local files resource '${name}' lay inside the original workspace (${recorded}): created ${inside} for it in this one.`);
  }
  return { local_path: inside === recorded ? null : inside };
}
