/**
 * `dws/reproduce`: replay a snapshot's recorded steps in a scratch copy of the workspace and
 * compare each output's own content — its subpath's tree — in the replay and in the snapshot
 * (issue 6 item 7, issue 12 item 1).
 *
 * The scratch copy is a `git clone` of the workspace checked out at the snapshot's commit (so
 * git-subdirectory resources are as they were), separate git resources cloned at their restore
 * hash, and local-files/rclone data written from the content store as the snapshot recorded it (a
 * resource inside the workspace at the same place in the copy, else under `resources/`). Where the
 * store cannot give it (a snapshot taken without the store), the data is copied as it is NOW,
 * which the result says when its hash differs from what the steps recorded reading. Steps run
 * in their recorded start order (a valid dependency order: a step started after the steps it
 * read from), each through the runner with its recorded params, with no snapshot. Nothing in
 * the workspace changes; the scratch copy is removed unless `keep`.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { NotFoundError } from '../../protocol/errors.js';
import type { reproduce as Reproduce, ResultOf, ValidParamsOf } from '../../protocol/index.js';
import { currentCompareHash, currentSubpathHash, recordedSubpathHash } from '../../lineage/current-hash.js';
import { certName, refName, type Certificate, type Lineage, type StepLineage } from '../../lineage/model.js';
import { LineageStore } from '../../lineage/store.js';
import { SnapshotStore } from '../backends/git/snapshots.js';
import { createContext, type Context } from '../context.js';
import { openResources } from '../resources/registry.js';
import type { Resource } from '../resources/types.js';
import { writeJsonFile } from '../workspace/files.js';
import { checkoutTree } from '../store/materialize.js';
import { messageIn } from '../store/advice.js';
import { contentStoreEnabled, readStoreRecord } from '../store/workspace-store.js';
import { Git } from '../workspace/git.js';
import { isWithin } from '../workspace/paths.js';
import { META_DIR, Workspace, type JsonObject } from '../workspace/workspace.js';

type Result = ResultOf<typeof Reproduce>;

export async function reproduce(ctx: Context, p: ValidParamsOf<typeof Reproduce>): Promise<Result> {
  const ws = Workspace.open(ctx, p.workspaceDir);
  const md = new SnapshotStore(ws).resolve(p.snapshot);
  const steps = recordedSteps(ws, md.hash);
  if (steps.length === 0) throw new NotFoundError(`Snapshot ${p.snapshot} has no recorded steps in its lineage: nothing to reproduce`, { snapshot: md.hash });
  const commit = (await ws.git.run(['log', '-1', '--format=%H', '--diff-filter=A', '--', `${META_DIR}/snapshot_metadata/${md.hash}_md.json`])).trim();
  if (commit === '') throw new NotFoundError(`No commit of the workspace repository holds snapshot ${md.hash}: it cannot be restored in a scratch copy`, { snapshot: md.hash });

  const scratch = mkdtempSync(join(tmpdir(), 'dws-reproduce-'));
  try {
    const replayed = await replay(ctx, ws, scratch, commit, md.hash, steps, md.restore_hashes as Record<string, string | null>);
    return { hash: md.hash, tags: md.tags, scratchDir: p.keep ? scratch : null, ...replayed };
  } finally {
    if (!p.keep) rmSync(scratch, { recursive: true, force: true });
  }
}

/** Every step record of the snapshot's lineage, once each, in recorded start order. */
function recordedSteps(ws: Workspace, hash: string): StepLineage[] {
  const store = new LineageStore(ws, hash);
  const byKey = new Map<string, StepLineage>();
  const visit = (l: Lineage) => {
    if (l.type === 'step') byKey.set(`${l.stepName}\0${l.startTime}`, l);
    else if (l.type === 'imported') l.nested.forEach(visit);
  };
  for (const r of store.resourceNames()) store.fileLineages(r).forEach(visit);
  return [...byKey.values()].sort((a, b) => (a.startTime < b.startTime ? -1 : a.startTime > b.startTime ? 1 : 0));
}

async function replay(
  ctx: Context,
  ws: Workspace,
  scratch: string,
  commit: string,
  hash: string,
  steps: StepLineage[],
  restoreHashes: Record<string, string | null>,
): Promise<Omit<Result, 'hash' | 'tags' | 'scratchDir'>> {
  const dir = join(scratch, 'workspace');
  const quiet = createContext({ cwd: dir, env: ctx.env, log: ctx.log, option: ctx.option, command: ctx.command });
  await ws.git.run(['clone', '--quiet', '--no-checkout', ws.dir, dir]);
  const sgit = new Git(dir, quiet);
  await sgit.run(['checkout', '--quiet', '--detach', commit]);

  // The machine-local metadata git does not carry: this host's name, and where each resource lives in the copy.
  const notes: string[] = [];
  const current = await openResources(ws);
  const local: Record<string, JsonObject> = {};
  const stored = contentStoreEnabled(ctx.env) ? readStoreRecord(ws, hash) : null;
  const copied: Resource[] = [];
  for (const r of current) {
    if (r.localPath === null || r.params.resource_type === 'git-subdirectory') continue;
    // One inside the workspace keeps its place in the copy: a command step names it by its relative path.
    const dest = isWithin(r.localPath, ws.dir) ? join(dir, relative(ws.dir, r.localPath)) : join(scratch, 'resources', r.name);
    if (r.params.resource_type === 'git') {
      await ws.git.run(['clone', '--quiet', '--no-checkout', r.localPath, dest]);
      const h = restoreHashes[r.name];
      await new Git(dest, quiet).run(['checkout', '--quiet', '--detach', h ?? 'HEAD']);
      if (!h) notes.push(`${r.name}: not in the snapshot; replayed with its current commit`);
    } else if (!(await fromStore(ws, r.name, stored?.[r.name], dest, notes))) {
      if (existsSync(r.localPath)) cpSync(r.localPath, dest, { recursive: true, filter: (src) => !src.endsWith(`${'/'}.git`) });
      else mkdirSync(dest, { recursive: true });
      copied.push(r);
    }
    local[r.name] = { local_path: dest };
  }
  writeJsonFile(join(dir, META_DIR, 'local_params.json'), { hostname: ws.hostname });
  writeJsonFile(join(dir, META_DIR, 'resource_local_params.json'), local);

  // local-files and rclone data is today's: say where it is not what the steps read.
  const currentHash = new Map<string, string | null>();
  for (const r of copied) currentHash.set(r.name, await currentCompareHash(r));
  for (const s of steps) {
    for (const c of s.inputs) {
      const now = currentHash.get(c.ref.name);
      if (now === undefined || c.type !== 'hash' || c.hashval === now) continue;
      notes.push(
        `${c.ref.name} is ${resourceKind(copied, c.ref.name)}: its state at the snapshot cannot be restored, and its current data (${certName({ ...c, hashval: now ?? '?' })}) differs from what step ${s.stepName} read (${certName(c)})`,
      );
    }
  }

  const sws = Workspace.load(quiet, dir);
  const { replayStep } = await import('../../runner/reproduce.js');
  const ran: Result['steps'] = [];
  for (const s of steps) ran.push({ step: s.stepName, startTime: s.startTime, ...(await replayStep(quiet, sws, s, ws.dir)) });

  // Each output by its own content (issue 12 item 1): a subpath output's certificate names the
  // whole resource, as it was at the snapshot that first recorded the step — later steps writing
  // other subpaths change that. So both sides are the output's own tree: the snapshot's (from
  // its manifest's compare hash) and the replay's.
  const resources = await openResources(sws);
  const snapshotHashes = new Map<string, string | null>();
  try {
    for (const r of new SnapshotStore(ws).readManifest(hash)) snapshotHashes.set(r.name, typeof r.hash === 'string' ? r.hash : null);
  } catch (e) {
    // No manifest here: each output is compared with the state its own certificate names.
    if (!(e instanceof NotFoundError)) throw e;
  }
  const wholeNow = new Map<string, string | null>();
  const outputs: Result['outputs'] = [];
  for (const s of steps) {
    for (const c of s.outputs) {
      const r = resources.find((x) => x.name === c.ref.name);
      const inSnapshot = snapshotHashes.get(c.ref.name) ?? null;
      let recorded: string | null;
      let now: string | null;
      if (c.ref.subpath === null) {
        recorded = inSnapshot ?? (c.type === 'hash' ? c.hashval : null);
        if (r && !wholeNow.has(r.name)) wholeNow.set(r.name, await currentCompareHash(r));
        now = r ? (wholeNow.get(r.name) ?? null) : null;
      } else {
        recorded = r ? await recordedOutput(r, c, inSnapshot, c.ref.subpath) : null;
        now = r ? await currentSubpathHash(r, c.ref.subpath) : null;
      }
      outputs.push({
        ref: refName(c.ref),
        step: s.stepName,
        recorded: recorded === null ? certName(c) : certName(hashCert(c, recorded)),
        recomputed: now === null ? null : certName(hashCert(c, now)),
        equal: recorded !== null && recorded === now,
      });
    }
  }
  for (const r of resources) {
    if (r.role === 'results' && steps.some((s) => s.outputs.some((c) => c.ref.name === r.name))) {
      notes.push(`${r.name} is a results resource: a snapshot moves results into a snapshot directory and results.json records the run's time, so its outputs differ`);
    }
  }
  return { steps: ran, outputs, notes: [...new Set(notes)], allEqual: ran.every((s) => s.ok) && outputs.every((o) => o.equal) };
}

/**
 * Write a resource's files as the snapshot recorded them (its store tree) into `dest`; false when
 * there is no such tree (a snapshot taken without the store) or the store cannot give it (said in
 * `notes`): the caller then copies the current data.
 */
async function fromStore(ws: Workspace, name: string, tree: string | undefined, dest: string, notes: string[]): Promise<boolean> {
  if (tree === undefined) return false;
  mkdirSync(dest, { recursive: true });
  try {
    await checkoutTree(ws, 'dws reproduce', { name, root: dest, tree }, 'reproduce');
    return true;
  } catch (e) {
    rmSync(dest, { recursive: true, force: true });
    notes.push(`${name}: its files at the snapshot could not be taken from the content store (${messageIn(ws.ctx, e)}); its current data was used`);
    return false;
  }
}

/** A subpath output's tree in the snapshot, else in the state its own certificate names. */
async function recordedOutput(r: Resource, c: Certificate, inSnapshot: string | null, subpath: string): Promise<string | null> {
  if (inSnapshot !== null) {
    const h = await recordedSubpathHash(r, inSnapshot, subpath);
    if (h !== null) return h;
  }
  return c.type === 'hash' ? recordedSubpathHash(r, c.hashval, subpath) : null;
}

function hashCert(c: Certificate, hashval: string): Certificate {
  return { type: 'hash', ref: c.ref, hashval, comment: c.comment };
}

function resourceKind(resources: Resource[], name: string): string {
  const t = resources.find((r) => r.name === name)?.params.resource_type;
  return t === 'file' ? 'local-files' : String(t);
}
