// The orphan pass (domain.md §6): for each locally active task, is its last runner alive and
// ours? If not and its checkpoint has been quiet for longer than the drift, "lose" the task.
// The caller sends TASK_LOST for every result with lostOk. One task's failure never stops the pass.
import type { GcConfig } from '../config.js';
import type { TaskFacts, TaskRef } from '../core/facts.js';
import { decideOrphan, lastRunnerOf, type OrphanAction, type OrphanCandidate } from '../core/orphans.js';
import { isOurProcess, type ExpectedOwner } from '../core/pid-ownership.js';
import { ThermosGcError, errorMessage, type ErrorRecord } from '../errors.js';
import type { Logger } from '../log.js';
import { isAlive, type ProcessSnapshot, type SnapshotProvider } from './process-table.js';
import { readTaskFacts } from './task-facts-reader.js';
import type { BatchKillResult, KillRequest, KillResult } from './task-killer.js';

export interface OrphanScanInput {
  /** Locally active tasks: bare refs are read here; facts from a scan are used as they are. */
  activeTasks: ReadonlyArray<TaskRef | TaskFacts>;
  /** Epoch ms. */
  now: number;
  config: Pick<GcConfig, 'maxCheckpointDriftMs' | 'maxPidDriftMs'>;
  /** A snapshot that already has details for the runner pids, or a provider asked once for them. */
  snapshot: ProcessSnapshot | SnapshotProvider;
  /** Loses the orphans: as one batch (one process snapshot) when `loseMany` is there. */
  killer: { lose(root: string, taskId: string): Promise<KillResult>; loseMany?(tasks: readonly KillRequest[]): Promise<BatchKillResult[]> };
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** uid of a header's user, for old checkpoints that record no uid. */
  uidForUser?: (user: string) => number | undefined;
}

export interface OrphanScanResult {
  taskId: string;
  root: string;
  action: OrphanAction;
  why: string;
  /** For 'lose': true when the task was recorded LOST and finalized (send TASK_LOST). */
  lostOk?: boolean;
  killedPids?: number[];
  error?: ErrorRecord;
}

function hasStatuses(t: TaskRef | TaskFacts): t is TaskFacts {
  return 'statuses' in t && Array.isArray(t.statuses);
}

function toErrorRecord(err: unknown, taskId: string): ErrorRecord {
  if (err instanceof ThermosGcError) return { ...err.toErrorRecord(), taskId };
  return { code: 'ERR_KILL', message: errorMessage(err), taskId };
}

export async function scanOrphans(input: OrphanScanInput): Promise<OrphanScanResult[]> {
  const { logger, config } = input;
  const facts = await Promise.all(
    input.activeTasks.filter((t) => t.state === 'active').map((t) => (hasStatuses(t) ? t : readTaskFacts(t))),
  );
  const runners = facts.map((f) => (f.error === undefined ? lastRunnerOf(f.statuses) : undefined));
  const pids = runners.flatMap((r) => (r === undefined ? [] : [r.pid]));
  const snap = typeof input.snapshot === 'function' ? await input.snapshot(pids) : input.snapshot;

  const results: OrphanScanResult[] = [];
  for (const [i, f] of facts.entries()) {
    const runner = runners[i];
    const candidate: OrphanCandidate = { taskId: f.taskId, runnerAlive: false, runnerOurs: false };
    if (f.runnerMtimeMs !== undefined) candidate.runnerMtimeMs = f.runnerMtimeMs;
    if (f.error !== undefined) candidate.checkpointError = f.error.message;
    if (runner !== undefined) {
      candidate.lastRunner = runner;
      const proc = snap.get(runner.pid);
      candidate.runnerAlive = isAlive(proc);
      const expected: ExpectedOwner = { timeMs: runner.timestampMs };
      const uid = runner.uid ?? f.uid;
      if (uid !== undefined) expected.uid = uid;
      else if (f.user !== undefined) {
        const userUid = input.uidForUser?.(f.user);
        if (userUid !== undefined) expected.userUid = userUid;
      }
      candidate.runnerOurs = candidate.runnerAlive && isOurProcess(proc, expected, config.maxPidDriftMs).ours;
    }
    const decision = decideOrphan(candidate, input.now, config.maxCheckpointDriftMs);
    const result: OrphanScanResult = { taskId: f.taskId, root: f.root, action: decision.action, why: decision.why };
    if (decision.action === 'lose') logger.warn({ taskId: f.taskId, reason: decision.why }, 'losing orphaned task');
    // The same answer on every pass for a healthy task: not worth a line at info.
    else logger.debug({ taskId: f.taskId, action: decision.action, reason: decision.why }, 'orphan check');
    results.push(result);
  }
  await loseAll(results.filter((r) => r.action === 'lose'), input.killer, logger);
  return results;
}

/** Loses the orphans (one batch when the killer can), recording each one's outcome on its result. */
async function loseAll(orphans: OrphanScanResult[], killer: OrphanScanInput['killer'], logger: OrphanScanInput['logger']): Promise<void> {
  if (orphans.length === 0) return;
  const settle = (r: OrphanScanResult, outcome: KillResult | undefined, err: unknown): void => {
    if (outcome !== undefined) {
      r.lostOk = outcome.outcome === 'lost';
      r.killedPids = outcome.killedPids;
      return;
    }
    r.lostOk = false;
    r.error = toErrorRecord(err, r.taskId);
    logger.error({ taskId: r.taskId, err: errorMessage(err) }, 'could not lose orphaned task');
  };
  if (killer.loseMany !== undefined) {
    const outcomes = await killer.loseMany(orphans.map((r) => ({ root: r.root, taskId: r.taskId })));
    orphans.forEach((r, i) => settle(r, outcomes[i]?.result, outcomes[i]?.error ?? new Error('no result')));
    return;
  }
  for (const r of orphans) {
    try {
      settle(r, await killer.lose(r.root, r.taskId), undefined);
    } catch (err) {
      settle(r, undefined, err);
    }
  }
}

export interface OrphanPassInput extends Omit<OrphanScanInput, 'activeTasks'> {
  /** Every locally active task (the pass sorts them by id). */
  active: readonly TaskRef[];
  /** Reads the checkpoints of a slice of tasks. */
  readFacts(refs: readonly TaskRef[]): Promise<TaskFacts[]>;
  /** Resume after this task id (the previous pass stopped early); undefined: from the start. */
  resumeAfter?: string;
  /** Tasks read between two looks at `shouldYield`. */
  sliceSize: number;
  /** True: a GC task is waiting; stop after the current slice. */
  shouldYield?: () => boolean;
}

export interface OrphanPassResult {
  results: OrphanScanResult[];
  /** Where the next pass resumes; undefined when this one reached the end. */
  resumeAfter?: string;
  /** Tasks checked by this pass. */
  checked: number;
}

/**
 * One orphan pass that gives way to a GC task: checkpoints are read slice by slice and, once a GC
 * task is queued, the pass stops after the slice it is in, decides what it has read (one process
 * snapshot) and says where the next pass resumes, so a waiting GC task never waits for a whole
 * pass and a busy queue never starves orphan detection (every pass checks at least one slice).
 */
export async function runOrphanPass(input: OrphanPassInput): Promise<OrphanPassResult> {
  const sorted = [...input.active].filter((t) => t.state === 'active').sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
  let start = 0;
  if (input.resumeAfter !== undefined) {
    const after = input.resumeAfter;
    start = sorted.findIndex((t) => t.taskId > after);
    // Nothing after the cursor any more: a new pass from the start.
    if (start < 0) start = 0;
  }
  const facts: TaskFacts[] = [];
  let end = start;
  const slice = Math.max(1, input.sliceSize);
  while (end < sorted.length) {
    const next = Math.min(sorted.length, end + slice);
    for (const f of await input.readFacts(sorted.slice(end, next))) facts.push(f);
    end = next;
    if (end < sorted.length && input.shouldYield?.() === true) break;
  }
  const scan: OrphanScanInput = { activeTasks: facts, now: input.now, config: input.config, snapshot: input.snapshot, killer: input.killer, logger: input.logger };
  if (input.uidForUser !== undefined) scan.uidForUser = input.uidForUser;
  const results = await scanOrphans(scan);
  const out: OrphanPassResult = { results, checked: end - start };
  if (end < sorted.length) out.resumeAfter = sorted[end - 1]?.taskId as string;
  return out;
}
