// The node as every command sees it (the executor's GC runs and disk-pressure GC, `plan`,
// `collect`): one scanner (listing, checkpoint facts, linked executors), one measurer and one
// deleter. Batch-oriented so that the worker-pool implementation (pool/pool-services.ts) can
// spread the heavy parts over threads; local-services.ts is the main-thread reference. Everything
// crossing this port is plain data. It lives apart from both the executor and the pool so that
// each can use it without knowing the other.
import type { DeletionResult, DeletionTarget, FactsReading, LocalState, TaskFacts, TaskPathFacts, TaskRef, TaskSizes } from '../core/facts.js';
import type { ErrorRecord } from '../errors.js';

export interface RejectedTaskName {
  root: string;
  /** The tasks/ subdirectory it was found in. */
  state: LocalState;
  name: string;
  reason: string;
}

export interface TaskListing {
  refs: TaskRef[];
  /** Entries under tasks/active|finished that are not safe task ids: never acted on. */
  rejected: RejectedTaskName[];
}

export type KillMode = 'kill' | 'lose';

export interface KillOutcome {
  taskId: string;
  ok: boolean;
  /** The killer's own outcome word when it succeeded (e.g. 'killed', 'finalized'). */
  outcome?: string;
  /** Pids SIGKILLed (negative: a process group). */
  killedPids?: number[];
  error?: ErrorRecord;
}

/** One locally active task as the orphan pass saw it (domain.md §6 "Orphans"). */
export interface OrphanOutcome {
  taskId: string;
  /** 'lose' when the runner is gone and its checkpoint quiet too long; others leave the task. */
  action: string;
  why: string;
  /** For 'lose': true when the task was recorded LOST and finalized (send TASK_LOST). */
  lostOk?: boolean;
  killedPids?: number[];
  error?: ErrorRecord;
}

export interface OrphanPassOptions {
  /**
   * Asked between slices of the pass: true (a GC task is queued) stops it early; the next pass
   * resumes after the last task it checked.
   */
  shouldYield?: () => boolean;
}

/** How a sandbox decision came out, per task (refused ones say why). */
export interface SandboxDecisions {
  approved: Map<string, string>;
  /** `path` is absent when the task names no sandbox at all. */
  refused: Array<{ taskId: string; path?: string; reason: string }>;
}

export interface SandboxCandidate {
  taskId: string;
  sandbox?: string | undefined;
}

export interface GcServices {
  /** Lists tasks/active and tasks/finished of every root. */
  listTasks(roots: readonly string[]): Promise<TaskListing>;
  /**
   * Reads the runner checkpoint of each task; never rejects for a bad checkpoint (sets `error`).
   * `reading` may let it skip what the caller's decisions do not read (an implementation may
   * read it anyway).
   */
  readFacts(refs: readonly TaskRef[], reading?: FactsReading): Promise<TaskFacts[]>;
  /**
   * Task ids whose thermos- executor still has a real run directory: of the ids `of` when given
   * (only their executors are read), else of every executor. Rejects (ERR_MESOS_ROOT_MISSING) when
   * the Mesos work dir does not exist: which executors are linked is then unknown, never "none".
   */
  linkedExecutors(of?: Iterable<string>): Promise<Set<string>>;
  /** Kills or loses one task; never rejects: a failure comes back as `ok: false`. */
  killTask(ref: TaskRef, mode: KillMode): Promise<KillOutcome>;
  /** Kills or loses a batch of tasks with one process snapshot, in order; never rejects. */
  killTasks(refs: readonly TaskRef[], mode: KillMode): Promise<KillOutcome[]>;
  /** Which sandboxes of the candidates may go, given the ones kept tasks still use. */
  decideSandboxes(candidates: readonly SandboxCandidate[], kept: Iterable<SandboxCandidate>): SandboxDecisions;
  /** Log files and directories of a task. */
  logPaths(facts: TaskPathFacts): string[];
  /** Task file, runner and coordinator checkpoints, checkpoint dir. */
  metadataPaths(facts: TaskPathFacts): string[];
  deleteTargets(targets: readonly DeletionTarget[], signal?: AbortSignal): Promise<DeletionResult[]>;
  /**
   * How a caller should feed deleteTargets: calls of `window` targets, `inFlight` at once (enough
   * to keep this implementation's threads busy, no more targets built than that). Absent: the
   * caller's default.
   */
  readonly deletePacing?: { window: number; inFlight: number };
  /**
   * What deleting each task would free (sandbox, logs, metadata), counted as the deleter deletes
   * (see io/task-sizes.ts); with `device`, only what lies on that filesystem. In input order.
   */
  measureTasks(facts: readonly TaskFacts[], opts?: { device?: number }): Promise<TaskSizes[]>;
  /** Finishes deletions an earlier process left half-done (trash directories). */
  finishTrash(): Promise<void>;
  /** Checks the active tasks' runners and loses the orphans; never rejects for one task. */
  cleanOrphans(nowMs: number, opts?: OrphanPassOptions): Promise<OrphanOutcome[]>;
}
