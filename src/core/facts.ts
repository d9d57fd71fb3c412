// The compact plain data that flows from the scan (often a worker thread) to the decisions on
// the main thread. Stable shapes, no class instances: it crosses structured clone.
import type { ErrorRecord } from '../errors.js';

export type LocalState = 'active' | 'finished';

/** A task found under a checkpoint root: `tasks/<state>/<taskId>`. */
export interface TaskRef {
  taskId: string;
  root: string;
  state: LocalState;
}

/** What a scan of runner checkpoints may leave unread. */
export interface FactsReading {
  /**
   * Only where reconciliation reads it (core/reconcile.ts readsRunnerMtime) is `runnerMtimeMs`
   * read: a finished task whose checkpoint replays costs no fstat. For the scans that reconcile
   * (`plan`, a GC run); the ones that age tasks by it (collect, disk pressure, orphans) read it.
   */
  mtimeForReconcile?: boolean;
  /**
   * Leaves out what only acting on a task reads: sandbox, log dir, user and process runs stay
   * undefined where the checkpoint is of the plain shape (`plan`, which decides but deletes nothing).
   */
  withoutPaths?: boolean;
}

/** What a scan for reconciliation reads (a GC run's, `plan`'s, `tune`'s trials): mtimes where decisive. */
export const FOR_RECONCILE: FactsReading = Object.freeze({ mtimeForReconcile: true });

export interface StatusFact {
  state: number;
  timestampMs: number;
  runnerPid?: number;
  runnerUid?: number;
}

/** What one scan learns about one task from its runner (and coordinator) checkpoints. */
export interface TaskFacts extends TaskRef {
  /** mtime (epoch ms) of checkpoints/<id>/runner; absent when the file does not exist. */
  runnerMtimeMs?: number;
  /** Set when the runner checkpoint is missing, unreadable or cannot be replayed: then statuses is empty. */
  error?: ErrorRecord;
  sandbox?: string;
  logDir?: string;
  user?: string;
  uid?: number;
  launchTimeMs?: number;
  /**
   * Task statuses in checkpoint order (first = start, last = current state). The scan that every
   * command shares keeps only the ones decisions read (`decisionStatuses`): a task that restarted
   * many times does not carry its whole history through a run.
   */
  statuses: StatusFact[];
  /** Process name → number of runs recorded (for log paths: <logDir>/<process>/<run>/). */
  processRuns?: Record<string, number>;
}

/**
 * What deleting a task reads of its facts: where its files are. A GC run keeps only this of a
 * task once its decision is made (statuses, times and the user go with the decision).
 */
export type TaskPathFacts = Pick<TaskFacts, 'taskId' | 'root' | 'state' | 'sandbox' | 'logDir' | 'processRuns'>;

/** Everything to delete for one task, as decided on the main thread. */
export interface DeletionTarget {
  taskId: string;
  reason: string;
  /** The sandbox directory, already approved by the sandbox policy; absent when refused or none. */
  sandbox?: string;
  /** Log files and directories (deepest first is not required: the deleter orders them). */
  logPaths: string[];
  /** Task file, runner and coordinator checkpoints, checkpoint dir. */
  metadataPaths: string[];
}

export interface DeletionResult {
  taskId: string;
  /**
   * Paths that are gone after this run (deleted now, or already absent). A path inside a listed
   * directory may be left out (the pool returns only the outermost ones): test with `isGone`.
   */
  deleted: string[];
  /** Paths refused at deletion time (symlink, other filesystem, ...), with why. */
  refused: Array<{ path: string; reason: string }>;
  errors: ErrorRecord[];
  bytesFreed: number;
  inodesFreed: number;
  /** Entries removed (files and links unlinked; directories removed), when the caller asked. */
  filesRemoved?: number;
  dirsRemoved?: number;
  /** bytesFreed split by what was deleted, when the caller asked. */
  freedByKind?: { sandbox: number; log: number; metadata: number };
}

/** Allocated bytes (st_blocks × 512, as `du` counts them) and inodes. */
export interface SizeTally {
  bytes: number;
  inodes: number;
}

/** What deleting one task would free, per part. */
export interface TaskSizes {
  sandbox: SizeTally;
  logs: SizeTally;
  metadata: SizeTally;
}

/**
 * The statuses of a replayed stream that decisions read: the first (when the task started), the
 * last (its current state), the first status naming the last runner (when that runner started,
 * with its pid and uid) and the last status before it that names a runner. The last runner as
 * `core/orphans.lastRunnerOf` finds it is the same over these as over the whole list: a change of
 * runner pid marks a new runner, and the kept status before it names a different pid.
 */
export function decisionStatuses<T extends { runnerPid?: number | undefined }>(all: readonly T[]): T[] {
  const n = all.length;
  if (n <= 4) return all.slice();
  let lastPid: number | undefined;
  let lastStart = -1;
  let beforeStart = -1;
  let lastNamed = -1;
  for (let i = 0; i < n; i++) {
    const pid = (all[i] as T).runnerPid;
    if (pid === undefined) continue;
    if (pid !== lastPid) {
      beforeStart = lastNamed;
      lastStart = i;
      lastPid = pid;
    }
    lastNamed = i;
  }
  const keep = [0];
  for (const i of [beforeStart, lastStart, n - 1]) if (i > (keep[keep.length - 1] as number)) keep.push(i);
  return keep.map((i) => all[i] as T);
}

/** The paths not inside another of the list: what a deletion's one log line names. */
export function outermostPaths(paths: readonly string[]): string[] {
  // Each path's own ancestors looked up in a set: one per '/' of it, not one per other path (a
  // task's deletion reports a few dozen paths, and this ran for each of 10,000 tasks).
  const all = new Set(paths);
  return paths.filter((p) => !hasAncestorIn(all, p));
}

/** sandbox-policy isStrictlyInside(p, q) for some q of `set`: q is p cut before one of its '/', or q is '/'. */
function hasAncestorIn(set: ReadonlySet<string>, p: string): boolean {
  if (p !== '/' && p.startsWith('/') && set.has('/')) return true;
  for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) if (set.has(p.slice(0, i))) return true;
  return false;
}

/** Whether `p` is gone by a deletion result's `deleted`: listed itself, or a directory holding it is. */
export function goneBy(deleted: ReadonlySet<string>, p: string): boolean {
  return deleted.has(p) || hasAncestorIn(deleted, p);
}
