/**
 * The snapshot store of the git backend: manifests `snapshots/snapshot-<HASH>.json`, metadata
 * `snapshot_metadata/<HASH>_md.json`, history, and tag/hash lookup (workspace-format §6-8).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, CorruptMetadataError, DwsError, NotFoundError } from '../../../protocol/errors.js';
import type { SnapshotInfo } from '../../../protocol/workspace.js';
import { corrupt, readJsonFile, writeJsonFile, atomicWriteFile } from '../../workspace/files.js';
import { dumpPyJson } from '../../workspace/pyjson.js';
import { isHashPrefix, notAHashPrefix, printable } from '../../workspace/names.js';
import { templateExcludeRegex } from '../../workspace/results-template.js';
import type { JsonObject, ResourceParams, Workspace } from '../../workspace/workspace.js';

/** Metadata of one snapshot, keys in dws 1.6's order (workspace-format §7). */
export interface SnapshotMetadata extends JsonObject {
  hash: string;
  tags: string[];
  message: string;
  hostname: string;
  timestamp: string;
  relative_destination_path: string;
  restore_hashes: Record<string, string | null>;
  metrics: JsonObject | null;
  updated_timestamp?: string;
}

/** The git blob hash of `bytes`, as `git hash-object` prints it. */
export function gitBlobHash(bytes: Buffer): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/**
 * The manifest of workspace-format §6: each resource's params as loaded, plus its compare hash.
 * `contentTrees` adds `content_tree` (the store tree id) after `hash` for the resources named:
 * only for a state whose compare hashes equal an existing snapshot's while its content differs
 * (a size-mode resource, compute_hash false, whose files changed but kept their sizes), so that
 * it becomes a snapshot of its own. 1.6 compares manifests by name and hash and ignores the key.
 */
export function buildManifest(resources: ResourceParams[], compareHashes: Map<string, string | null>, contentTrees: Map<string, string> = new Map()): { bytes: Buffer; hash: string } {
  const entries = resources.map((r) => {
    const entry: ResourceParams = { ...r, hash: compareHashes.get(r.name) ?? null };
    const tree = contentTrees.get(r.name);
    if (tree !== undefined) entry.content_tree = tree;
    return entry;
  });
  const bytes = Buffer.from(dumpPyJson(entries), 'utf8');
  return { bytes, hash: gitBlobHash(bytes) };
}

export class SnapshotStore {
  constructor(private readonly ws: Workspace) {}

  private get mdDir(): string {
    return this.ws.meta('snapshot_metadata');
  }

  private mdFiles(): string[] {
    try {
      return readdirSync(this.mdDir).filter((f) => f.endsWith('_md.json'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  /** Snapshot number for the next snapshot: 1 + number of metadata files (1.6 semantics). */
  nextNumber(): number {
    return this.mdFiles().length + 1;
  }

  read(hash: string): SnapshotMetadata {
    const file = join(this.mdDir, `${hash}_md.json`);
    const md = readJsonFile(file, () => new NotFoundError(`No metadata entry for snapshot ${hash}`, { snapshot: hash }));
    return checkMetadata(file, md, hash);
  }

  exists(hash: string): boolean {
    return this.mdFiles().includes(`${hash}_md.json`);
  }

  /** All snapshots, newest first (sorted by timestamp string, like 1.6). */
  history(): SnapshotMetadata[] {
    const all = this.mdFiles().map((f) => this.read(f.slice(0, -'_md.json'.length)));
    return all.sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0));
  }

  /** Directories a results move leaves where they are: the template's and every snapshot's own. */
  resultsDirsKept(): RegExp {
    return templateExcludeRegex(this.ws.dirTemplate, this.history().map((md) => md.relative_destination_path));
  }

  /**
   * Every snapshot that carries `tag`: more than one when two clones each gave it a snapshot and
   * a pull merged them (a tag is checked only against the snapshots of the clone that takes it).
   * Ordered by hash.
   */
  tagged(tag: string): SnapshotMetadata[] {
    const found: SnapshotMetadata[] = [];
    for (const f of this.mdFiles()) {
      const text = readFileSync(join(this.mdDir, f), 'utf8');
      if (!text.includes(tag)) continue; // cheap pre-filter, as in 1.6
      const md = this.read(f.slice(0, -'_md.json'.length));
      if (md.tags.includes(tag)) found.push(md);
    }
    return found.sort((a, b) => (a.hash < b.hash ? -1 : 1));
  }

  /**
   * Resolve a tag, a full hash (any case) or a unique prefix of 6+ lowercase hex digits
   * (workspace-format §8). Unlike 1.6, an ambiguous prefix or tag is an error, not the first match.
   */
  resolve(tagOrHash: string): SnapshotMetadata {
    if (/^[0-9a-fA-F]{40}$/.test(tagOrHash)) return this.read(tagOrHash.toLowerCase());
    if (isHashPrefix(tagOrHash)) {
      const matches = this.mdFiles().filter((f) => f.startsWith(tagOrHash));
      if (matches.length === 0) throw new NotFoundError(`Snapshot match for partial hash ${printable(tagOrHash)} not found`, { snapshot: tagOrHash });
      if (matches.length > 1) {
        const hashes = matches.map((f) => f.slice(0, 40)).sort();
        throw new ConflictError(`Partial hash ${tagOrHash} is ambiguous: it matches ${hashes.join(', ')}. Give more digits.`, { snapshot: tagOrHash, matches: hashes });
      }
      return this.read(matches[0]!.slice(0, 40));
    }
    const carriers = this.tagged(tagOrHash);
    // Taking the first found (1.6) would restore or delete either one, by the directory's order.
    if (carriers.length > 1) {
      const hashes = carriers.map((c) => c.hash); // tagged() orders them by hash
      throw new ConflictError(`Tag ${printable(tagOrHash)} is carried by ${hashes.length} snapshots: ${hashes.join(', ')}. Give the hash of the one you mean.`, { snapshot: tagOrHash, matches: hashes });
    }
    const md = carriers[0];
    if (!md) {
      // The tag may be in a metadata file that cannot be read: name that file, not "not found".
      const broken = this.unreadable();
      if (broken !== null) throw new CorruptMetadataError(`Snapshot for tag ${printable(tagOrHash)} not found, but a snapshot metadata file is unreadable: ${broken.message}`, { ...broken.data, file: String(broken.data.file), snapshot: tagOrHash });
      // 1.6's text (workspace-format §8), and why hex given as a hash prefix was taken for a tag.
      const prefix = notAHashPrefix(tagOrHash);
      throw new NotFoundError(`Snapshot for tag ${printable(tagOrHash)} not found${prefix === null ? '' : `; ${prefix}`}`, { snapshot: tagOrHash });
    }
    return md;
  }

  /** The error of the first metadata file that cannot be read, or null when all can. */
  private unreadable(): DwsError | null {
    for (const f of this.mdFiles()) {
      try {
        this.read(f.slice(0, -'_md.json'.length));
      } catch (e) {
        if (e instanceof DwsError) return e;
        throw e;
      }
    }
    return null;
  }

  /** The metadata file of snapshot `hash`. */
  metadataFile(hash: string): string {
    return join(this.mdDir, `${hash}_md.json`);
  }

  writeMetadata(md: SnapshotMetadata): void {
    mkdirSync(this.mdDir, { recursive: true });
    writeJsonFile(join(this.mdDir, `${md.hash}_md.json`), md);
  }

  manifestFile(hash: string): string {
    return this.ws.meta('snapshots', `snapshot-${hash}.json`);
  }

  writeManifest(hash: string, bytes: Buffer): void {
    mkdirSync(this.ws.meta('snapshots'), { recursive: true });
    atomicWriteFile(this.manifestFile(hash), bytes);
  }

  readManifest(hash: string): ResourceParams[] {
    const file = this.manifestFile(hash);
    const m = readJsonFile(file, () => new NotFoundError(`No manifest for snapshot ${hash} (missing ${file})`, { snapshot: hash }));
    if (!Array.isArray(m)) throw corrupt(file, 'the top level', 'must be a JSON list');
    return m as ResourceParams[];
  }
}

export function checkMetadata(file: string, v: unknown, hash: string): SnapshotMetadata {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw corrupt(file, 'the top level', 'must be a JSON object');
  const md = v as JsonObject;
  if (typeof md.hash !== 'string' || md.hash.toLowerCase() !== hash) throw corrupt(file, '"hash"', `must be "${hash}", the hash in the file name`, ['hash']);
  md.hash = md.hash.toLowerCase();
  if (!Array.isArray(md.tags) || md.tags.some((t) => typeof t !== 'string')) throw corrupt(file, '"tags"', 'must be a list of strings', ['tags']);
  for (const key of ['message', 'hostname', 'timestamp', 'relative_destination_path']) {
    if (typeof md[key] !== 'string') throw corrupt(file, `"${key}"`, 'must be a string', [key]);
  }
  if (typeof md.restore_hashes !== 'object' || md.restore_hashes === null) throw corrupt(file, '"restore_hashes"', 'must be an object', ['restore_hashes']);
  if (md.metrics !== undefined && md.metrics !== null && (typeof md.metrics !== 'object' || Array.isArray(md.metrics))) {
    throw corrupt(file, '"metrics"', 'must be an object or null', ['metrics']);
  }
  return md as SnapshotMetadata;
}

/** The protocol's view of a snapshot's metadata. */
export function toSnapshotInfo(md: SnapshotMetadata): SnapshotInfo {
  return {
    hash: md.hash,
    tags: md.tags,
    message: md.message,
    hostname: md.hostname,
    timestamp: md.timestamp,
    relativeDestinationPath: md.relative_destination_path,
    restoreHashes: md.restore_hashes,
    metrics: md.metrics ?? null,
    ...(md.updated_timestamp !== undefined ? { updatedTimestamp: md.updated_timestamp } : {}),
  };
}
