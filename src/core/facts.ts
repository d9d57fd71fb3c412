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
  /** Task statuses in checkpoint order (first = start, last = current state). */
  statuses: StatusFact[];
  /** Process name → number of runs recorded (for log paths: <logDir>/<process>/<run>/). */
  processRuns?: Record<string, number>;
}

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
  /** Paths that are gone after this run (deleted now, or already absent). */
  deleted: string[];
  /** Paths refused at deletion time (symlink, other filesystem, ...), with why. */
  refused: Array<{ path: string; reason: string }>;
  errors: ErrorRecord[];
  bytesFreed: number;
  inodesFreed: number;
}
