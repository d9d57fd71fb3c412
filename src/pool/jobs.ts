// The heavy jobs (checkpoint replay, Mesos run dirs, process snapshot, deletion) as plain
// functions over plain data, one batch (hundreds of tasks) per call. `--workers 0` runs them on
// the main thread with bounded async concurrency (its event loop must keep turning); a worker
// thread runs the `…InWorker` twins, the same semantics over plain syscalls (see sync-io.ts).
import type { DeletionResult, DeletionTarget, TaskFacts, TaskRef } from '../core/facts.js';
import { linkedExecutors } from '../io/executor-detector.js';
import { snapshotProcesses, type ProcessInfo } from '../io/process-table.js';
import { deleteTargets } from '../io/sandbox-deleter.js';
import { readTaskFacts } from '../io/task-facts-reader.js';
import type { DeleterFs } from '../io/tree-remover.js';
import { linkedExecutorsSync, readFactsSync, syncDeleterFs } from './sync-io.js';

/** Checkpoint files read at once inside one batch: enough to keep the disk busy, few enough to bound memory. */
export const FILES_IN_FLIGHT = 32;

export interface DeleteBatch {
  targets: DeletionTarget[];
  allowedRoots: string[];
  parallelism: number;
  trashDirName?: string;
}

export interface ProcessSnapshotRequest {
  /** Pids whose start time, real uid and pgid are read from /proc. */
  detailsFor: number[];
}

/** The job table: name → (payload → result). Names are the worker's export names. */
export interface JobTable {
  readFacts: { payload: TaskRef[]; result: TaskFacts[] };
  deleteTargets: { payload: DeleteBatch; result: DeletionResult[] };
  snapshotProcesses: { payload: ProcessSnapshotRequest; result: ProcessInfo[] };
  linkedExecutors: { payload: { mesosRoot: string }; result: string[] };
}
export type JobName = keyof JobTable;

/** Maps over `items` with at most `limit` calls in flight, keeping order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return out;
}

/** Replays the runner checkpoint of every task of the batch (never rejects for a bad one). */
export function readFactsJob(refs: TaskRef[]): Promise<TaskFacts[]> {
  return mapBounded(refs, FILES_IN_FLIGHT, (ref) => readTaskFacts(ref));
}

function deleteWith(batch: DeleteBatch, fs?: DeleterFs, signal?: AbortSignal): Promise<DeletionResult[]> {
  const opts: Parameters<typeof deleteTargets>[1] = { allowedRoots: batch.allowedRoots, parallelism: batch.parallelism };
  if (batch.trashDirName !== undefined) opts.trashDirName = batch.trashDirName;
  if (fs !== undefined) opts.fs = fs;
  if (signal !== undefined) opts.signal = signal;
  return deleteTargets(batch.targets, opts);
}

/**
 * Deletes one batch of targets through the project's deleter. `signal` reaches the deleter only
 * inline; in a worker an abort terminates the thread (the trash keeps a half-deleted tree).
 */
export function deleteTargetsJob(batch: DeleteBatch, signal?: AbortSignal): Promise<DeletionResult[]> {
  return deleteWith(batch, undefined, signal);
}

export async function linkedExecutorsJob(req: { mesosRoot: string }): Promise<string[]> {
  return [...(await linkedExecutors(req.mesosRoot))].sort();
}

// Worker-thread variants: the same semantics over plain syscalls (see sync-io.ts for why).
export const readFactsInWorker = readFactsSync;
export const deleteTargetsInWorker = (batch: DeleteBatch): Promise<DeletionResult[]> => deleteWith(batch, syncDeleterFs);
export const linkedExecutorsInWorker = async (req: { mesosRoot: string }): Promise<string[]> => linkedExecutorsSync(req.mesosRoot);

/** One ps listing plus /proc details for the pids of interest, as plain rows. */
export async function snapshotProcessesJob(req: ProcessSnapshotRequest): Promise<ProcessInfo[]> {
  const snap = await snapshotProcesses({ detailsFor: req.detailsFor });
  return [...snap.processes.values()];
}

export const JOBS: { [K in JobName]: (payload: JobTable[K]['payload'], signal?: AbortSignal) => Promise<JobTable[K]['result']> } = {
  readFacts: readFactsJob,
  deleteTargets: deleteTargetsJob,
  snapshotProcesses: snapshotProcessesJob,
  linkedExecutors: linkedExecutorsJob,
};
