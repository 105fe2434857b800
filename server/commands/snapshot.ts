/**
 * `dws/snapshot`: record the state of every resource under one hash (cli.md `snapshot`,
 * workspace-format §6-7). Order of work: every check and every hash that can fail first, then
 * the results move, the per-resource snapshots, the manifest, lineage and metadata, one commit.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { userInfo } from 'node:os';
import { ConfigurationError, ConflictError, DwsError, InvalidParamsError, UserAbortError } from '../../protocol/errors.js';
import type { ResultOf, snapshot as Snapshot, ValidParamsOf } from '../../protocol/index.js';
import type { Context } from '../context.js';
import { clearCurrentLineage, currentLineageFiles, replacePlaceholders, snapshotLineage, snapshotLineageFiles } from '../../lineage/store.js';
import { writeLineageFiles } from '../../lineage/export.js';
import { buildManifest, SnapshotStore, type SnapshotMetadata } from '../backends/git/snapshots.js';
import { openResources } from '../resources/registry.js';
import type { Resource } from '../resources/types.js';
import { corrupt, readJsonFile, writeJsonFile } from '../workspace/files.js';
import { isValidHostname, looksLikeHash, NAME_RULE, printable } from '../workspace/names.js';
import { expandTemplate, MAX_NAME_BYTES, noRoomForTag, pathProblem, tagRoom, validateTemplate } from '../workspace/results-template.js';
import { localIsoTimestamp } from '../workspace/time.js';
import { localCacheDir, Workspace, type JsonObject } from '../workspace/workspace.js';
import { faultPoint } from '../workspace/fault.js';
import { Undo } from '../workspace/undo.js';
import { contentStoreEnabled, readStoreRecord, recordCheckouts, storeRecordFile, usesContentStore, withStoreLock, workspaceStore, writeStoreRecord, type StoreRecord } from '../store/workspace-store.js';

export async function snapshot(ctx: Context, p: ValidParamsOf<typeof Snapshot>): Promise<ResultOf<typeof Snapshot>> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  if (!ws.resources.some(usesContentStore) || !contentStoreEnabled(ctx.env)) return takeSnapshot(ctx, ws, p);
  // Files go to the content store while they are hashed: gc (also of another workspace sharing the store) waits.
  return withStoreLock(ws, 'dws snapshot', async () => {
    const contents = workspaceStore(ws);
    try {
      return await takeSnapshot(ctx, ws, p);
    } finally {
      contents.abort(); // whatever a failed snapshot stored and did not make visible
    }
  });
}

async function takeSnapshot(ctx: Context, ws: Workspace, p: ValidParamsOf<typeof Snapshot>): Promise<ResultOf<typeof Snapshot>> {
  const store = new SnapshotStore(ws);
  const tag = p.tag ?? null;
  if (tag === null) refuseNoRoom(ctx, ws, store, false);
  const moveTagFrom = tag === null ? [] : await checkTag(ctx, ws, store, tag, p.moveTagFrom);

  const timestamp = localIsoTimestamp(ctx.now());
  const template = ws.dirTemplate;
  validateTemplate(template);
  const freshDest = expandTemplate(template, {
    username: loginName(ctx.env),
    hostname: ws.hostname,
    snapshotNumber: store.nextNumber(),
    timestamp,
    tag,
  }, ctx.command);

  const resources = await openResources(ws);
  // A snapshot killed after moving results (item 6): this one finishes it, in the same directory.
  const pending = await interruptedSnapshot(ctx, ws, store, resources);
  const relDest = pending?.relative_destination_path ?? freshDest;
  // A cancelled request (server) stops at these checks, before anything changes.
  for (const r of resources) {
    ctx.signal?.throwIfAborted();
    await r.snapshotPrecheck();
  }
  // From here on every write is noted: a snapshot that fails leaves the workspace as it was.
  const undo = new Undo();
  try {
    return await writeSnapshot(ctx, ws, store, p, undo, { resources, relDest, timestamp, tag, moveTagFrom, resuming: pending !== null, pending });
  } catch (e) {
    const notRestored = undo.rollback();
    // Nothing moved: nothing to finish. Moved results keep the journal for the next snapshot.
    const moved = movedAnywhere(resources, relDest);
    if (!moved) removePending(ws);
    throw failure(e, notRestored, moved ? relDest : null);
  }
}

/** Hash, move results, record: every change to the workspace, each noted in `undo` before it is made. */
async function writeSnapshot(
  ctx: Context,
  ws: Workspace,
  store: SnapshotStore,
  p: ValidParamsOf<typeof Snapshot>,
  undo: Undo,
  plan: Omit<SnapshotPlan, 'metrics'> & { pending: PendingSnapshot | null },
): Promise<ResultOf<typeof Snapshot>> {
  const { resources, relDest, timestamp } = plan;
  // Exported resources get a fresh lineage.json after the snapshot; the stale one is not part of the state.
  for (const r of resources) {
    if (r.params.export !== true || !r.localPath) continue;
    if (uncommitted(r)) undo.file(join(r.localPath, 'lineage.json'));
    rmSync(join(r.localPath, 'lineage.json'), { force: true });
  }
  for (const r of resources) {
    ctx.signal?.throwIfAborted();
    await r.prepareSnapshot?.(undo);
  }
  ctx.signal?.throwIfAborted();
  faultPoint('snapshot.after-hash');

  // Read before the move; the interrupted snapshot's when its move took results.json away.
  const metrics = readMetrics(resources) ?? plan.pending?.metrics ?? null;
  writePending(ws, { relative_destination_path: relDest, metrics, started: timestamp });
  faultPoint('snapshot.after-journal');
  return finishSnapshot(ctx, ws, store, p, undo, { ...plan, metrics });
}

/**
 * Whether the snapshot writes the resource's files without committing them (local-files, rclone),
 * so that a rollback may put them back. A git resource commits its lineage.json and moved results
 * in its repository, which a rollback leaves alone, as it leaves moved results (the journal).
 */
function uncommitted(r: Resource): boolean {
  return r.storeFiles !== undefined;
}

/**
 * The error a failed snapshot reports, after its rollback: a failure to write (a full, read-only
 * or protected disk) names the file and the cause, as a Configuration error, not an internal one;
 * `movedTo`: the results directory of results that moved and stay (the journal).
 */
function failure(e: unknown, notRestored: string[], movedTo: string | null): unknown {
  let left = notRestored.length === 0 ? '' : ` These could not be put back as they were: ${notRestored.join(', ')}.`;
  if (movedTo !== null) left += ` The results moved to ${movedTo} stay there: the next snapshot records them.`;
  if (e instanceof DwsError) {
    if (left !== '') e.message += left;
    return e;
  }
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return e;
  return new ConfigurationError(`Snapshot failed, no snapshot was recorded: ${(e as Error).message}.${left}`, { code });
}

interface SnapshotPlan {
  resources: Resource[];
  relDest: string;
  timestamp: string;
  tag: string | null;
  /** Every snapshot that carries the tag now: after a pull merged two clones' tags, more than one. */
  moveTagFrom: string[];
  metrics: JsonObject | null;
  /** Finishing a snapshot that was killed after its results moved. */
  resuming: boolean;
}

/** From the results move to the commit: everything that changes the workspace. */
async function finishSnapshot(ctx: Context, ws: Workspace, store: SnapshotStore, p: ValidParamsOf<typeof Snapshot>, undo: Undo, plan: SnapshotPlan): Promise<ResultOf<typeof Snapshot>> {
  const { resources, relDest, timestamp, tag, moveTagFrom, metrics } = plan;
  const moved: string[] = [];
  let filesMoved = 0;
  for (const r of resources) {
    if (r.role !== 'results' || !r.results) continue;
    filesMoved += await r.results.moveCurrentFiles(relDest, ws.moveExcludeFiles, store.resultsDirsKept(), plan.resuming);
    if (r.params.export !== true) moved.push(r.name);
  }
  faultPoint('snapshot.after-results-move');

  const compareHashes = new Map<string, string | null>();
  const restoreHashes: Record<string, string | null> = {};
  const storeTrees: StoreRecord = {};
  for (const r of resources) {
    ctx.log.info(`[snapshot] Taking snapshot of resource ${r.name}`);
    const h = await r.snapshot(undo);
    compareHashes.set(r.name, h.compareHash);
    restoreHashes[r.name] = h.restoreHash;
    if (h.storeTree !== undefined) storeTrees[r.name] = h.storeTree;
  }
  faultPoint('snapshot.after-resource-snapshots');
  const { bytes, hash } = distinctManifest(ws, store, compareHashes, storeTrees);

  let md: SnapshotMetadata = {
    hash,
    tags: tag === null ? [] : [tag],
    message: p.message,
    hostname: ws.hostname,
    timestamp,
    relative_destination_path: relDest,
    restore_hashes: restoreHashes,
    metrics,
  };
  const updatedExisting = store.exists(hash);
  if (updatedExisting) {
    // Metadata written but never committed: a snapshot killed before its commit, which this one completes.
    const completing = plan.resuming || !(await ws.git.succeeds(['cat-file', '-e', `HEAD:${relative(ws.dir, store.metadataFile(hash))}`]));
    // Taking the tag off other snapshots is a change even when this one already carries it.
    md = await mergeWithExisting(ctx, store.read(hash), md, filesMoved > 0 || plan.resuming, completing || moveTagFrom.some((h) => h !== hash), p.keepExistingMessage);
  }
  // Lineage after the merge check, so "No differences" leaves every file as it was.
  const known = new Map([...compareHashes].filter((e): e is [string, string] => e[1] !== null));
  for (const file of currentLineageFiles(ws)) undo.file(file);
  replacePlaceholders(ws, known);
  undo.dir(ws.meta('snapshot_lineage', hash));
  for (const file of snapshotLineageFiles(ws, hash, ws.resources.map((r) => r.name))) undo.file(file);
  snapshotLineage(ws, hash, ws.resources.map((r) => r.name));
  for (const r of resources) {
    if (!r.localPath || !uncommitted(r)) continue;
    if (r.role === 'results' && r.results) {
      undo.dir(join(r.localPath, relDest));
      undo.file(join(r.localPath, relDest, 'lineage.json'));
    }
    if (r.params.export === true) undo.file(join(r.localPath, 'lineage.json'));
  }
  await writeLineageFiles(ws, resources, relDest);
  faultPoint('snapshot.after-lineage');
  for (const from of moveTagFrom) {
    const old = store.read(from);
    undo.file(store.metadataFile(from));
    store.writeMetadata({ ...old, tags: old.tags.filter((t) => t !== tag) });
  }
  undo.mkdir(dirname(store.manifestFile(hash)));
  undo.file(store.manifestFile(hash));
  store.writeManifest(hash, bytes);
  faultPoint('snapshot.after-manifest');
  if (Object.keys(storeTrees).length > 0) {
    const contents = workspaceStore(ws);
    try {
      contents.commit(); // the objects are visible before a record names them
    } catch (e) {
      throw new ConfigurationError(`Cannot store the files of this snapshot in the content store at ${contents.dir}: ${(e as Error).message}. No snapshot was recorded.`, {
        store: contents.dir,
      });
    }
    faultPoint('snapshot.after-store-commit');
    undo.mkdir(dirname(storeRecordFile(ws, hash)));
    undo.file(storeRecordFile(ws, hash));
    writeStoreRecord(ws, hash, storeTrees);
    faultPoint('snapshot.after-store-record');
  }
  undo.mkdir(dirname(store.metadataFile(hash)));
  undo.file(store.metadataFile(hash));
  store.writeMetadata(md);
  faultPoint('snapshot.after-metadata');
  try {
    await ws.commit(`Completed snapshot ${hash}`, { changed: true }); // the metadata, at least
  } catch (e) {
    // Staged by the commit: unstaged again, as the rollback removes or restores them.
    await ws.git.succeeds(['reset', '--quiet', '--', ...ws.ownedPaths().filter((o) => existsSync(join(ws.dir, o)))]);
    throw e;
  }
  faultPoint('snapshot.after-commit');
  recordCheckouts(ws, new Map(Object.entries(storeTrees).map(([name, tree]) => [name, { snapshot: hash, tree, latest: hash }])));
  ctx.log.info('[snapshot] all resources snapshotted successfully.');
  // Only now: a snapshot killed before its commit is redone by the next one, which needs it.
  for (const name of moved) clearCurrentLineage(ws, name);
  removePending(ws);
  return {
    hash,
    tag,
    updatedExisting,
    relativeDestinationPath: relDest,
    resources: resources.map((r) => ({ name: r.name, compareHash: compareHashes.get(r.name) ?? null, restoreHash: restoreHashes[r.name] ?? null })),
    metrics,
  };
}

/**
 * The manifest of this state. Equal compare hashes do not always mean equal content: a size-mode
 * resource (compute_hash false, 1.6's default) keeps its hash when files change but keep their
 * sizes, and a changed executable bit changes no compare hash. Merging such a snapshot into the
 * existing one would leave the new content reachable from no snapshot, so when the store trees
 * differ from the existing snapshot's record, the differing resources' trees go into the manifest.
 */
function distinctManifest(ws: Workspace, store: SnapshotStore, compareHashes: Map<string, string | null>, storeTrees: StoreRecord): { bytes: Buffer; hash: string } {
  const plain = buildManifest(ws.resources, compareHashes);
  if (!store.exists(plain.hash)) return plain;
  const recorded = readStoreRecord(ws, plain.hash);
  if (recorded === null) return plain; // taken without a store: nothing to compare (1.6's rule)
  const differing = new Map(Object.entries(storeTrees).filter(([name, tree]) => recorded[name] !== undefined && recorded[name] !== tree));
  return differing.size === 0 ? plain : buildManifest(ws.resources, compareHashes, differing);
}

/**
 * The checks of a tag that ask nothing: bad tags (as 1.6, and too long for the results directory
 * name), and in batch mode (nobody to ask whether to move it) used ones, unless the caller agreed
 * to take it from them (`agreed`: their hashes). Returns the snapshots that carry it. `dws run
 * --tag` calls it first of all, so that a tag the snapshot would refuse does not cost the run.
 */
export function refuseTag(ctx: Context, ws: Workspace, store: SnapshotStore, tag: string, agreed: readonly string[] = []): SnapshotMetadata[] {
  // A ConfigurationError (exit 1) as in 1.6; only the tag's syntax is a usage error (exit 2).
  // Every message shows the tag as printable() does (cut at 80 characters): as 1.6 for a usual one.
  if (looksLikeHash(tag)) throw new ConfigurationError(`Tag '${printable(tag)}' looks like a git hash. Please pick something else.`, { tag });
  if (!isValidHostname(tag)) throw new InvalidParamsError(`Tag '${printable(tag)}' is not valid: a tag ${NAME_RULE}`, { tag });
  const values = templateValuesNow(ctx, ws, store);
  refuseNoRoom(ctx, ws, store, true, values);
  // The tag goes into the results directory name (results.dir_template): the move would fail with ENAMETOOLONG.
  const template = ws.dirTemplate;
  const { limit, name } = tagRoom(template, values);
  const bytes = Buffer.byteLength(tag, 'utf8');
  if (bytes > limit) {
    const why =
      name === null
        ? `the limit is ${limit} bytes, a file name's (results.dir_template may put the tag in a directory name)`
        : `the limit here is ${limit} bytes: the tag goes into the results directory name '${printable(name)}' (results.dir_template '${printable(template)}'), and a file name may have at most ${MAX_NAME_BYTES} bytes`;
    throw new InvalidParamsError(`Tag '${printable(tag)}' is ${bytes} bytes long; ${why}`, { tag, bytes, limit });
  }
  const owners = store.tagged(tag);
  if (owners.some((o) => !agreed.includes(o.hash)) && !ctx.prompter) throw new ConflictError(usedTag(tag, owners), { tag, snapshot: owners[0]!.hash, snapshots: owners.map((o) => o.hash) });
  return owners;
}

function templateValuesNow(ctx: Context, ws: Workspace, store: SnapshotStore) {
  return { username: loginName(ctx.env), hostname: ws.hostname, snapshotNumber: store.nextNumber(), timestamp: localIsoTimestamp(ctx.now()) };
}

/**
 * Refuse, before anything changes, a snapshot whose results directory name cannot be made: the
 * hostname (a hand-edited local_params.json; dws config and init refuse long ones) or the
 * template leave no room for the tag (`tagged`) or the untagged snapshot's number. The move of the
 * results would fail with ENAMETOOLONG. `dws run` makes the same check (noRoomError) before its
 * steps run, when a snapshot follows.
 */
export function refuseNoRoom(ctx: Context, ws: Workspace, store: SnapshotStore, tagged: boolean, values = templateValuesNow(ctx, ws, store)): void {
  const e = noRoomError(ctx, ws, store, tagged, values);
  if (e !== null) throw e;
}

/** refuseNoRoom's error, or null. `values`: the template's values now, when the caller has them. */
export function noRoomError(ctx: Context, ws: Workspace, store: SnapshotStore, tagged: boolean, values = templateValuesNow(ctx, ws, store)): ConfigurationError | null {
  const template = ws.dirTemplate;
  validateTemplate(template);
  const full = noRoomForTag(template, values, tagged);
  if (full === null) return null;
  const what = tagged ? 'a tag' : "the snapshot number that stands for the tag of an untagged snapshot";
  const why = full.tags === 0 ? `has ${full.bytes} bytes` : `has ${full.bytes} bytes without {TAG}, which leaves no room for ${what}`;
  return new ConfigurationError(
    `Results directory name '${printable(full.name)}' (results.dir_template '${printable(template)}' with hostname '${printable(ws.hostname)}') ${why}: a file name may have at most ${MAX_NAME_BYTES} bytes. No snapshot was taken. Choose a shorter hostname ('${ctx.command('dws/config', { name: 'hostname', value: 'NAME' })}') or fix results.dir_template ('${ctx.command('dws/config', { name: 'results.dir_template', value: 'TEMPLATE' })}').`,
    { hostname: printable(ws.hostname), template: printable(template), name: printable(full.name), bytes: full.bytes },
  );
}

/**
 * Refuse bad or used tags; returns the hashes of the snapshots the person agreed to take the tag
 * from: asked, unless `agreed` has them all. `dws run --tag` asks before its steps run and passes
 * the answer to its snapshot as `moveTagFrom`, so the question is not asked again at the end.
 */
export async function checkTag(ctx: Context, ws: Workspace, store: SnapshotStore, tag: string, agreed: readonly string[] = []): Promise<string[]> {
  const owners = refuseTag(ctx, ws, store, tag, agreed);
  if (owners.length > 0) await refuseTakenResultsDir(ctx, ws, store, tag, owners);
  if (owners.every((o) => agreed.includes(o.hash))) return owners.map((o) => o.hash);
  if (!(await ctx.prompter!.confirm(`${usedTag(tag, owners)}. Remove this tag so we can add it to the new snapshot?`, false))) throw new UserAbortError();
  return owners.map((o) => o.hash);
}

/**
 * A tag in results.dir_template names the results directory: when a snapshot that carries the tag
 * moved its results there, the new snapshot's results cannot go there too (checkDestinationFree
 * would refuse after the question, or after a run's steps), so moving the tag is refused first.
 */
async function refuseTakenResultsDir(ctx: Context, ws: Workspace, store: SnapshotStore, tag: string, owners: SnapshotMetadata[]): Promise<void> {
  const dest = expandTemplate(ws.dirTemplate, { ...templateValuesNow(ctx, ws, store), tag }, ctx.command);
  const holder = owners.find((o) => o.relative_destination_path === dest);
  if (holder === undefined) return;
  for (const r of await openResources(ws)) {
    if (r.role !== 'results' || r.localPath === null || !existsSync(join(r.localPath, dest))) continue;
    const dir = join(r.localPath, dest);
    throw new ConflictError(
      `Tag '${printable(tag)}' cannot move to a new snapshot: the results directory it names, ${dir} (results.dir_template '${printable(ws.dirTemplate)}'), holds the results of snapshot ${holder.hash}, which carries it. Pick another tag, or put {SNAPSHOT_NO} in results.dir_template ('${ctx.command('dws/config', { name: 'results.dir_template', value: 'TEMPLATE' })}').`,
      { tag, snapshot: holder.hash, path: dir },
    );
  }
}

function usedTag(tag: string, owners: SnapshotMetadata[]): string {
  return `Tag '${printable(tag)}' already exists for snapshot ${owners.map((o) => `${o.hash} taken ${o.timestamp}`).join(' and for snapshot ')}`;
}

/** `metrics` of the first results resource whose root results.json has them (read before the move). */
function readMetrics(resources: Resource[]): JsonObject | null {
  for (const r of resources) {
    if (r.role !== 'results' || !r.results || !r.localPath) continue;
    const file = join(r.localPath, 'results.json');
    if (!existsSync(file)) continue;
    let data: unknown;
    try {
      data = readJsonFile(file);
    } catch {
      throw new ConfigurationError(`Parse error when reading results.json in resource ${r.name} (${file})`, { resource: r.name, file });
    }
    if (typeof data === 'object' && data !== null && !Array.isArray(data) && 'metrics' in data) {
      return (data as JsonObject).metrics as JsonObject;
    }
  }
  return null;
}

/**
 * Same state as an existing snapshot: keep its hash, add the new tag (workspace-format §7).
 * Unlike 1.6, when this snapshot moved no results, the old results directory and metrics stay
 * (1.6 pointed the entry at a directory that was never created and dropped the metrics).
 */
async function mergeWithExisting(ctx: Context, old: SnapshotMetadata, md: SnapshotMetadata, movedResults: boolean, unchangedIsFine: boolean, keepMessage: boolean): Promise<SnapshotMetadata> {
  const tags = [...old.tags, ...md.tags.filter((t) => !old.tags.includes(t))];
  let message = old.message;
  if (md.message !== '' && md.message !== old.message && ctx.prompter && !keepMessage) {
    const update = await ctx.prompter.confirm(
      `A snapshot with this hash already exists. Do you want to update the message from '${old.message}' to '${md.message}'?`,
      false,
    );
    if (update) message = md.message;
  }
  if (unchangedIsFine && tags.length === old.tags.length && message === old.message) return old;
  if (tags.length === old.tags.length && message === old.message) {
    throw new ConfigurationError('No differences from previous snapshot, doing nothing.', { snapshot: old.hash });
  }
  ctx.log.info(`Snapshot ${old.hash} already exists, updating metadata...`);
  return {
    hash: old.hash,
    tags,
    message,
    hostname: md.hostname,
    timestamp: old.timestamp,
    relative_destination_path: movedResults ? md.relative_destination_path : old.relative_destination_path,
    restore_hashes: md.restore_hashes,
    metrics: movedResults ? md.metrics : (old.metrics ?? null),
    updated_timestamp: md.timestamp,
  };
}

/** OS login name, as Python's getpass.getuser(). */
function loginName(env: NodeJS.ProcessEnv): string {
  return env.LOGNAME || env.USER || env.LNAME || env.USERNAME || userInfo().username;
}

/**
 * The journal of a snapshot in progress (item 6), in the git directory (never committed): the
 * results directory and the metrics, written before results move and removed after the commit.
 * A snapshot killed in between leaves it, and the next snapshot finishes the job with them.
 */
interface PendingSnapshot extends JsonObject {
  relative_destination_path: string;
  metrics: JsonObject | null;
  started: string;
}

function pendingFile(ws: Workspace): string | null {
  const dir = localCacheDir(ws);
  return dir === null ? null : join(dir, 'snapshot-in-progress.json');
}

function writePending(ws: Workspace, pending: PendingSnapshot): void {
  const file = pendingFile(ws);
  if (file === null) return;
  mkdirSync(dirname(file), { recursive: true });
  writeJsonFile(file, pending);
}

function removePending(ws: Workspace): void {
  const file = pendingFile(ws);
  if (file !== null) rmSync(file, { force: true });
}

/** Did results move to `relDest` in any results resource? */
function movedAnywhere(resources: Resource[], relDest: string): boolean {
  return resources.some((r) => r.role === 'results' && r.localPath !== null && existsSync(join(r.localPath, relDest)));
}

/**
 * The snapshot that was killed after moving results and before its commit, or null. A journal
 * whose results never moved, or whose snapshot was committed after all, is removed.
 */
async function interruptedSnapshot(ctx: Context, ws: Workspace, store: SnapshotStore, resources: Resource[]): Promise<PendingSnapshot | null> {
  const file = pendingFile(ws);
  if (file === null || !existsSync(file)) return null;
  const data = readJsonFile(file);
  const relDest = (data as JsonObject | null)?.relative_destination_path;
  const metrics = (data as JsonObject | null)?.metrics;
  if (typeof relDest !== 'string' || pathProblem(relDest) !== null || (metrics !== null && (typeof metrics !== 'object' || Array.isArray(metrics)))) {
    throw corrupt(file, 'the journal of an interrupted snapshot', `is not {"relative_destination_path": a relative path, "metrics": {...} or null}. Remove ${file} if no results were moved`);
  }
  const pending = data as PendingSnapshot;
  const committed = async (hash: string) => ws.git.succeeds(['cat-file', '-e', `HEAD:${relative(ws.dir, store.metadataFile(hash))}`]);
  let recorded = false;
  for (const md of store.history()) if (md.relative_destination_path === relDest && (await committed(md.hash))) recorded = true;
  if (recorded || !movedAnywhere(resources, relDest)) {
    removePending(ws);
    return null;
  }
  ctx.log.warn(`A snapshot started ${pending.started} was interrupted after moving results to ${relDest}: this snapshot records them, with that snapshot's metrics.`);
  return pending;
}
