// GcServices on the main thread, over the io/ modules. The worker-pool implementation offers the
// same port; this one is the reference and what `--workers 0` runs.
import type { Logger } from 'pino';
import type { GcConfig } from '../config.js';
import type { DeletionResult, DeletionTarget, TaskFacts, TaskRef } from '../core/facts.js';
import { decideSandboxes } from '../core/sandbox-policy.js';
import { ThermosGcError, errorMessage, mesosRootMissing } from '../errors.js';
import {
  checkpointDir,
  coordinatorCheckpointPath,
  runnerCheckpointPath,
  taskFilePath,
} from '../io/checkpoint-paths.js';
import { linkedTaskIds, scanMesosRoot } from '../io/executor-detector.js';
import { taskLogPaths } from '../io/log-paths.js';
import { runOrphanPass } from '../io/orphan-scan.js';
import { liveSnapshotProvider, uidLookupFromPasswd, type SnapshotProvider } from '../io/process-table.js';
import { deleteTargets } from '../io/sandbox-deleter.js';
import { detectTasks } from '../io/task-detector.js';
import { readTaskFacts } from '../io/task-facts-reader.js';
import { TaskKiller } from '../io/task-killer.js';
import { finishTrash } from '../io/trash.js';
import { mapBounded } from '../map-bounded.js';
import type {
  GcServices,
  KillMode,
  KillOutcome,
  OrphanOutcome,
  OrphanPassOptions,
  SandboxCandidate,
  SandboxDecisions,
  TaskListing,
} from './services.js';

export interface LocalServicesOptions {
  config: GcConfig;
  logger: Logger;
  /** @default the live process table */
  snapshot?: SnapshotProvider;
  /** @default /etc/passwd */
  uidForUser?: (user: string) => number | undefined;
  /** How checkpoints are read, here and for the orphan pass. @default readTaskFacts, 32 files at once */
  readFacts?: (refs: readonly TaskRef[]) => Promise<TaskFacts[]>;
}

/** Checkpoints read at once on the main thread: bounded, so 10,000 tasks never mean 10,000 open files. */
const FILES_IN_FLIGHT = 32;
/** Active tasks the orphan pass reads between two looks at a queued GC task. */
export const ORPHAN_SLICE_TASKS = 512;

/**
 * Checkpoint files and dirs that describe a task, deleted after sandbox and logs. The task file
 * goes last: if anything before it fails, the task is still listed and the next run retries.
 */
export function taskMetadataPaths(f: TaskFacts): string[] {
  const coordinators = Object.keys(f.processRuns ?? {})
    .sort()
    .map((p) => coordinatorCheckpointPath(f.root, f.taskId, p));
  return [runnerCheckpointPath(f.root, f.taskId), ...coordinators, checkpointDir(f.root, f.taskId), taskFilePath(f.root, f.state, f.taskId)];
}

export function createLocalServices(opts: LocalServicesOptions): GcServices {
  const { config, logger } = opts;
  const snapshot = opts.snapshot ?? liveSnapshotProvider;
  const uidForUser = opts.uidForUser ?? uidLookupFromPasswd();
  const killer = new TaskKiller({
    snapshot,
    logger: logger.child({ component: 'task-killer' }),
    maxPidDriftMs: config.maxPidDriftMs,
    lockTimeoutMs: config.lockTimeoutMs,
    parallelism: config.killParallelism,
    uidForUser,
  });

  const listTasks = async (roots: readonly string[]): Promise<TaskListing> => {
    const found = await detectTasks(roots);
    return {
      refs: found.tasks,
      rejected: found.rejected.map((r) => ({ root: r.root, name: r.name, reason: r.detail === undefined ? r.reason : `${r.reason}: ${r.detail}` })),
    };
  };

  /** One process snapshot for the whole batch (the killer re-reads each pid before its signal). */
  const killTasks = async (refs: readonly TaskRef[], mode: KillMode): Promise<KillOutcome[]> => {
    const requests = refs.map((r) => ({ root: r.root, taskId: r.taskId }));
    const results = mode === 'kill' ? await killer.killMany(requests) : await killer.loseMany(requests);
    return results.map((r): KillOutcome => {
      if (r.result !== undefined) return { taskId: r.taskId, ok: true, outcome: r.result.outcome, killedPids: r.result.killedPids };
      const err = r.error;
      const error =
        err instanceof ThermosGcError
          ? { ...err.toErrorRecord(), taskId: r.taskId }
          : { code: 'ERR_KILL' as const, message: errorMessage(err), taskId: r.taskId };
      return { taskId: r.taskId, ok: false, error };
    });
  };

  /** Where the next orphan pass resumes (the last one gave way to a GC task), or from the start. */
  let orphanCursor: string | undefined;
  const orphanLog = logger.child({ component: 'orphans' });

  const readFacts = opts.readFacts ?? ((refs: readonly TaskRef[]): Promise<TaskFacts[]> => mapBounded(refs, FILES_IN_FLIGHT, (r) => readTaskFacts(r)));

  return {
    listTasks,

    readFacts,

    async linkedExecutors(): Promise<Set<string>> {
      const scan = await scanMesosRoot(config.mesosRoot);
      if (!scan.rootExists) throw mesosRootMissing(config.mesosRoot);
      return linkedTaskIds(scan.executors);
    },

    killTask: async (ref: TaskRef, mode: KillMode): Promise<KillOutcome> => (await killTasks([ref], mode))[0] as KillOutcome,

    killTasks,

    decideSandboxes(candidates: readonly SandboxCandidate[], kept: readonly SandboxCandidate[]): SandboxDecisions {
      const d = decideSandboxes({ candidates, kept, allowedRoots: config.sandboxRoots });
      // A task that names no sandbox (never initialised) has nothing to refuse.
      const refused = d.refused.filter((r) => r.reason !== 'no-sandbox');
      return { approved: d.approved, refused };
    },

    logPaths: (f: TaskFacts) => taskLogPaths(f.root, f),

    metadataPaths: taskMetadataPaths,

    deleteTargets(targets: readonly DeletionTarget[], signal?: AbortSignal): Promise<DeletionResult[]> {
      const o: Parameters<typeof deleteTargets>[1] = { allowedRoots: config.sandboxRoots, parallelism: config.deleteParallelism };
      if (signal !== undefined) o.signal = signal;
      return deleteTargets(targets, o);
    },

    async finishTrash(): Promise<void> {
      const summary = await finishTrash(config.sandboxRoots);
      if (summary.entries > 0) {
        logger.info({ entries: summary.entries, bytesFreed: summary.bytesFreed, errors: summary.errors.length }, 'finished trash left by an earlier run');
      }
    },

    async cleanOrphans(nowMs: number, passOptions: OrphanPassOptions = {}): Promise<OrphanOutcome[]> {
      const { refs } = await listTasks(config.checkpointRoots);
      const pass = await runOrphanPass({
        active: refs,
        readFacts,
        sliceSize: ORPHAN_SLICE_TASKS,
        ...(orphanCursor === undefined ? {} : { resumeAfter: orphanCursor }),
        ...(passOptions.shouldYield === undefined ? {} : { shouldYield: passOptions.shouldYield }),
        now: nowMs,
        config,
        snapshot,
        killer,
        logger: orphanLog,
        uidForUser,
      });
      orphanCursor = pass.resumeAfter;
      if (pass.resumeAfter !== undefined) orphanLog.info({ checked: pass.checked, resumeAfter: pass.resumeAfter }, 'orphan pass gave way to a queued GC task: the next pass resumes here');
      const results = pass.results;
      return results.map((r) => {
        const o: OrphanOutcome = { taskId: r.taskId, action: r.action, why: r.why };
        if (r.lostOk !== undefined) o.lostOk = r.lostOk;
        if (r.killedPids !== undefined) o.killedPids = r.killedPids;
        if (r.error !== undefined) o.error = r.error;
        return o;
      });
    },
  };
}
