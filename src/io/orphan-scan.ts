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
import type { KillResult } from './task-killer.js';

export interface OrphanScanInput {
  /** Locally active tasks: bare refs are read here; facts from a scan are used as they are. */
  activeTasks: ReadonlyArray<TaskRef | TaskFacts>;
  /** Epoch ms. */
  now: number;
  config: Pick<GcConfig, 'maxCheckpointDriftMs' | 'maxPidDriftMs'>;
  /** A snapshot that already has details for the runner pids, or a provider asked once for them. */
  snapshot: ProcessSnapshot | SnapshotProvider;
  killer: { lose(root: string, taskId: string): Promise<KillResult> };
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
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
    if (decision.action === 'lose') {
      logger.warn({ taskId: f.taskId, reason: decision.why }, 'losing orphaned task');
      try {
        const outcome = await input.killer.lose(f.root, f.taskId);
        result.lostOk = outcome.outcome === 'lost';
      } catch (err) {
        result.lostOk = false;
        result.error = toErrorRecord(err, f.taskId);
        logger.error({ taskId: f.taskId, err: errorMessage(err) }, 'could not lose orphaned task');
      }
    } else {
      logger.info({ taskId: f.taskId, action: decision.action, reason: decision.why }, 'orphan check');
    }
    results.push(result);
  }
  return results;
}
