// Disk-pressure GC, called by the executor loop on every iteration (off unless --disk-high/--disk-low
// or --inode-high/--inode-low are set). Samples each filesystem holding sandbox roots; when one is
// above its high mark it measures the finished tasks, lets core/disk-pressure pick the oldest
// eligible ones that bring it under the low mark, and deletes them through the same services
// (scanner, measurer, sandbox policy, deletion step) as a GC run. Returns what was actually deleted.
import { stat, statfs as nodeStatfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { GcConfig } from '../config.js';
import type { TaskFacts } from '../core/facts.js';
import {
  byteShare,
  fsUsageFromStatfs,
  inodeShare,
  selectForDiskPressure,
  type FsUsage,
  type PressureCandidate,
  type PressureMarks,
  type StatfsNumbers,
} from '../core/disk-pressure.js';
import { errorMessage } from '../errors.js';
import { deleteTasks } from './delete-tasks.js';
import type { GcServices } from '../services/services.js';

export const DISK_PRESSURE_REASON = 'disk-pressure';

/** What runDiskPressureGc updates; a GcMetrics fits (the disk fields are optional there). */
export interface DiskPressureMetrics {
  tasks_deleted: number;
  bytes_reclaimed: number;
  inodes_reclaimed: number;
  refusals: number;
  disk_used_share?: number;
  inode_used_share?: number;
  disk_pressure_deleted?: number;
}

export type DiskPressureServices = Pick<
  GcServices,
  'listTasks' | 'readFacts' | 'linkedExecutors' | 'decideSandboxes' | 'logPaths' | 'metadataPaths' | 'deleteTargets' | 'measureTasks'
>;

export interface DiskPressureDeps {
  services: DiskPressureServices;
  config: Pick<GcConfig, 'checkpointRoots' | 'sandboxRoots' | 'diskHigh' | 'diskLow' | 'inodeHigh' | 'inodeLow'>;
  /** @default node's fs.statfs; tests pass a simulated one. */
  statfs?: (path: string) => Promise<StatfsNumbers>;
  /** The retained map of the last GC task; undefined before the first one. */
  lastRetained: ReadonlyMap<string, number> | undefined;
  logger: Logger;
  metrics: DiskPressureMetrics;
  /** Epoch ms (the loop's clock): ages are measured from it. */
  nowMs: number;
  /** Also delete tasks whose executor Mesos still keeps. @default false */
  includeLinked?: boolean;
  signal?: AbortSignal;
}

export interface FilesystemPass {
  /** The sandbox roots on this filesystem (the first one was sampled). */
  roots: string[];
  before: FsUsage;
  after?: FsUsage;
  selected: string[];
  deleted: string[];
  reachesLow: boolean;
}

export interface DiskPressureOutcome {
  /** Task ids whose metadata is gone: report them to the scheduler. */
  deleted: string[];
  filesystems: FilesystemPass[];
}

export function diskPressureEnabled(config: DiskPressureDeps['config']): boolean {
  return (config.diskHigh !== undefined && config.diskLow !== undefined) || (config.inodeHigh !== undefined && config.inodeLow !== undefined);
}

function marksOf(config: DiskPressureDeps['config']): PressureMarks {
  const m: PressureMarks = {};
  if (config.diskHigh !== undefined && config.diskLow !== undefined) Object.assign(m, { diskHigh: config.diskHigh, diskLow: config.diskLow });
  if (config.inodeHigh !== undefined && config.inodeLow !== undefined) Object.assign(m, { inodeHigh: config.inodeHigh, inodeLow: config.inodeLow });
  return m;
}

/** Sandbox roots grouped by the device holding them; missing roots are left out. */
async function rootsByDevice(roots: readonly string[], log: Logger): Promise<Map<number, string[]>> {
  const groups = new Map<number, string[]>();
  for (const root of roots) {
    try {
      const dev = (await stat(root)).dev;
      groups.set(dev, [...(groups.get(dev) ?? []), root]);
    } catch (err) {
      log.warn({ path: root, err: errorMessage(err) }, 'cannot sample sandbox root for disk pressure');
    }
  }
  return groups;
}

export async function runDiskPressureGc(deps: DiskPressureDeps): Promise<DiskPressureOutcome> {
  const { config, metrics } = deps;
  const outcome: DiskPressureOutcome = { deleted: [], filesystems: [] };
  if (!diskPressureEnabled(config)) return outcome;
  const log = deps.logger.child({ component: 'disk-pressure' });
  const statfs = deps.statfs ?? nodeStatfs;
  const marks = marksOf(config);

  // Sample first: the common case (no pressure) costs one statfs per filesystem.
  const samples: Array<{ device: number; roots: string[]; usage: FsUsage }> = [];
  for (const [device, roots] of await rootsByDevice(config.sandboxRoots, log)) {
    samples.push({ device, roots, usage: fsUsageFromStatfs(await statfs(roots[0] as string)) });
  }
  recordUsage(metrics, samples.map((s) => s.usage));
  const pressed = samples.filter((s) => isPressed(s.usage, marks));
  if (pressed.length === 0) return outcome;

  const listing = await deps.services.listTasks(config.checkpointRoots);
  const facts = await deps.services.readFacts(listing.refs);
  // Only finished tasks can be selected (an active one is skipped before its link is read).
  const finishedIds = new Set<string>();
  for (const f of facts) if (f.state === 'finished') finishedIds.add(f.taskId);
  const linked = await deps.services.linkedExecutors(finishedIds);
  const gone = new Set<string>();

  for (const s of pressed) {
    const pass: FilesystemPass = { roots: s.roots, before: s.usage, selected: [], deleted: [], reachesLow: true };
    outcome.filesystems.push(pass);
    const remaining = facts.filter((f) => !gone.has(f.taskId));
    const candidates = await measureCandidates(remaining, s.device, linked, deps);
    const selection = selectForDiskPressure({ usage: s.usage, marks, candidates, lastRetained: deps.lastRetained, includeLinked: deps.includeLinked ?? false });
    pass.selected = selection.selected;
    pass.reachesLow = selection.reachesLow;
    log.warn(
      {
        roots: s.roots,
        usedShare: byteShare(s.usage),
        inodeUsedShare: inodeShare(s.usage),
        marks,
        selected: selection.selected.length,
        skipped: selection.skipped.length,
        projectedShare: byteShare(selection.projected),
        projectedInodeShare: inodeShare(selection.projected),
        reachesLow: selection.reachesLow,
      },
      'disk pressure: deleting finished tasks, oldest first',
    );
    if (selection.selected.length > 0) {
      const deleted = await deleteSelected(selection.selected, remaining, deps, log);
      for (const id of deleted) gone.add(id);
      pass.deleted = deleted;
    }
    pass.after = fsUsageFromStatfs(await statfs(s.roots[0] as string));
    log.info({ roots: s.roots, deleted: pass.deleted.length, usedShare: byteShare(pass.after), inodeUsedShare: inodeShare(pass.after) }, 'disk pressure pass finished');
  }
  recordUsage(metrics, [...samples.filter((s) => !pressed.includes(s)).map((s) => s.usage), ...outcome.filesystems.map((p) => p.after ?? p.before)]);
  outcome.deleted = [...gone].sort();
  return outcome;
}

function isPressed(u: FsUsage, m: PressureMarks): boolean {
  return (m.diskHigh !== undefined && byteShare(u) > m.diskHigh) || (m.inodeHigh !== undefined && inodeShare(u) > m.inodeHigh);
}

/** The fullest filesystem's shares: the one an operator needs to see. */
function recordUsage(metrics: DiskPressureMetrics, usages: readonly FsUsage[]): void {
  if (usages.length === 0) return;
  metrics.disk_used_share = Math.max(...usages.map(byteShare));
  metrics.inode_used_share = Math.max(...usages.map(inodeShare));
}

async function measureCandidates(
  facts: readonly TaskFacts[],
  device: number,
  linked: ReadonlySet<string>,
  deps: DiskPressureDeps,
): Promise<PressureCandidate[]> {
  // Only finished tasks can be selected: only they are measured (on the pool, per batch).
  const finished = facts.filter((f) => f.state === 'finished');
  const sizes = await deps.services.measureTasks(finished, { device });
  const sizeOf = new Map(finished.map((f, i) => [f.taskId, sizes[i]]));
  return facts.map((f) => {
    const c: PressureCandidate = {
      taskId: f.taskId,
      state: f.state,
      linked: linked.has(f.taskId),
      ageMs: Math.max(0, deps.nowMs - (f.runnerMtimeMs ?? f.launchTimeMs ?? deps.nowMs)),
      bytes: 0,
      inodes: 0,
    };
    const s = sizeOf.get(f.taskId);
    if (s !== undefined) {
      c.bytes = s.sandbox.bytes + s.logs.bytes + s.metadata.bytes;
      c.inodes = s.sandbox.inodes + s.logs.inodes + s.metadata.inodes;
    }
    return c;
  });
}

async function deleteSelected(selected: readonly string[], facts: readonly TaskFacts[], deps: DiskPressureDeps, log: Logger): Promise<string[]> {
  const { metrics } = deps;
  const outcome = await deleteTasks(
    {
      ids: selected,
      facts: new Map(facts.map((f) => [f.taskId, f])),
      kept: facts,
      reasonOf: () => DISK_PRESSURE_REASON,
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    },
    deps.services,
    log,
  );
  metrics.bytes_reclaimed += outcome.bytes;
  metrics.inodes_reclaimed += outcome.inodes;
  metrics.refusals += outcome.refused.length;
  metrics.tasks_deleted += outcome.deleted.length;
  metrics.disk_pressure_deleted = (metrics.disk_pressure_deleted ?? 0) + outcome.deleted.length;
  return outcome.deleted;
}
