// GcServices on the main thread, over the io/ modules: the reference the pool services are
// checked against, and where they delegate listing, sandbox policy, paths, kills and the orphan
// pass. The killer, the process table and the orphan pass (ps-list, pidusage, the fs-ext addon)
// are loaded on the first kill or orphan pass: `plan` and `collect` never load them.
import type { Logger } from 'pino';
import type { GcConfig } from '../config.js';
import type { DeletionResult, DeletionTarget, TaskFacts, TaskPathFacts, TaskRef, TaskSizes } from '../core/facts.js';
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
import type { SnapshotProvider } from '../io/process-table.js';
import { detectTasks } from '../io/task-detector.js';
import type { BatchKillResult, TaskKiller } from '../io/task-killer.js';
import type { TaskPaths } from '../io/task-sizes.js';
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

/** Trees walked at once when measuring on the main thread. */
const MEASURED_AT_ONCE = 8;

/** The paths a task's deletion would remove, as task-sizes measures them. */
export function measuredPaths(f: TaskFacts): TaskPaths {
  const t: TaskPaths = { taskId: f.taskId, logPaths: taskLogPaths(f.root, f), metadataPaths: taskMetadataPaths(f) };
  if (f.sandbox !== undefined) t.sandbox = f.sandbox;
  return t;
}

/**
 * Checkpoint files and dirs that describe a task, deleted after sandbox and logs. The task file
 * goes last: if anything before it fails, the task is still listed and the next run retries.
 */
export function taskMetadataPaths(f: TaskPathFacts): string[] {
  const coordinators = Object.keys(f.processRuns ?? {})
    .sort()
    .map((p) => coordinatorCheckpointPath(f.root, f.taskId, p));
  return [runnerCheckpointPath(f.root, f.taskId), ...coordinators, checkpointDir(f.root, f.taskId), taskFilePath(f.root, f.state, f.taskId)];
}

interface KillParts {
  killer: TaskKiller;
  snapshot: SnapshotProvider;
  uidForUser: (user: string) => number | undefined;
  runOrphanPass: typeof import('../io/orphan-scan.js').runOrphanPass;
}

export function createLocalServices(opts: LocalServicesOptions): GcServices {
  const { config, logger } = opts;
  let killParts: Promise<KillParts> | undefined;
  const kills = (): Promise<KillParts> =>
    (killParts ??= (async () => {
      const [table, killerModule, orphans] = await Promise.all([import('../io/process-table.js'), import('../io/task-killer.js'), import('../io/orphan-scan.js')]);
      const snapshot = opts.snapshot ?? table.liveSnapshotProvider;
      const uidForUser = opts.uidForUser ?? table.uidLookupFromPasswd();
      const killer = new killerModule.TaskKiller({
        snapshot,
        logger: logger.child({ component: 'task-killer' }),
        maxPidDriftMs: config.maxPidDriftMs,
        lockTimeoutMs: config.lockTimeoutMs,
        parallelism: config.killParallelism,
        uidForUser,
      });
      return { killer, snapshot, uidForUser, runOrphanPass: orphans.runOrphanPass };
    })());

  const listTasks = async (roots: readonly string[]): Promise<TaskListing> => {
    const found = await detectTasks(roots);
    return {
      refs: found.tasks,
      rejected: found.rejected.map((r) => ({ root: r.root, state: r.state, name: r.name, reason: r.detail === undefined ? r.reason : `${r.reason}: ${r.detail}` })),
    };
  };

  /** One process snapshot for the whole batch (the killer re-reads each pid before its signal). */
  const killTasks = async (refs: readonly TaskRef[], mode: KillMode): Promise<KillOutcome[]> => {
    const requests = refs.map((r) => ({ root: r.root, taskId: r.taskId }));
    let results: BatchKillResult[];
    try {
      const { killer } = await kills();
      results = mode === 'kill' ? await killer.killMany(requests) : await killer.loseMany(requests);
    } catch (err) {
      // The killer could not even be loaded (the native flock addon, say): every kill failed.
      results = requests.map((r) => ({ taskId: r.taskId, root: r.root, error: err }));
    }
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

  const readFacts =
    opts.readFacts ??
    (async (refs: readonly TaskRef[]): Promise<TaskFacts[]> => {
      const { readTaskFacts } = await import('../io/task-facts-reader.js');
      return mapBounded(refs, FILES_IN_FLIGHT, (r) => readTaskFacts(r));
    });

  return {
    listTasks,

    readFacts,

    async linkedExecutors(of?: Iterable<string>): Promise<Set<string>> {
      const scan = await scanMesosRoot(config.mesosRoot);
      if (!scan.rootExists) throw mesosRootMissing(config.mesosRoot);
      return linkedTaskIds(scan.executors, of === undefined ? undefined : new Set(of));
    },

    killTask: async (ref: TaskRef, mode: KillMode): Promise<KillOutcome> => (await killTasks([ref], mode))[0] as KillOutcome,

    killTasks,

    decideSandboxes(candidates: readonly SandboxCandidate[], kept: Iterable<SandboxCandidate>): SandboxDecisions {
      const d = decideSandboxes({ candidates, kept, allowedRoots: config.sandboxRoots });
      // A task that names no sandbox (never initialised) has nothing to refuse.
      const refused = d.refused.filter((r) => r.reason !== 'no-sandbox');
      return { approved: d.approved, refused };
    },

    logPaths: (f: TaskPathFacts) => taskLogPaths(f.root, f),

    metadataPaths: taskMetadataPaths,

    // The deleter, the measurer and the trash load with their first use (plan never needs them).
    async deleteTargets(targets: readonly DeletionTarget[], signal?: AbortSignal): Promise<DeletionResult[]> {
      const { deleteTargets } = await import('../io/sandbox-deleter.js');
      const o: Parameters<typeof deleteTargets>[1] = { allowedRoots: config.sandboxRoots, parallelism: config.deleteParallelism };
      if (signal !== undefined) o.signal = signal;
      return deleteTargets(targets, o);
    },

    async measureTasks(facts: readonly TaskFacts[], o: { device?: number } = {}): Promise<TaskSizes[]> {
      const { measureTask } = await import('../io/task-sizes.js');
      return mapBounded(facts, MEASURED_AT_ONCE, (f) => measureTask(measuredPaths(f), o));
    },

    async finishTrash(): Promise<void> {
      const { finishTrash } = await import('../io/trash.js');
      const summary = await finishTrash(config.sandboxRoots);
      if (summary.entries > 0) {
        logger.info({ entries: summary.entries, bytesFreed: summary.bytesFreed, errors: summary.errors.length }, 'finished trash left by an earlier run');
      }
    },

    async cleanOrphans(nowMs: number, passOptions: OrphanPassOptions = {}): Promise<OrphanOutcome[]> {
      const { killer, snapshot, uidForUser, runOrphanPass } = await kills();
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
