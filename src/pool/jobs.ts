// The heavy jobs (checkpoint replay, Mesos run dirs, process snapshot, deletion) as plain
// functions over plain data, one batch (hundreds of tasks) per call. `--workers 0` runs them on
// the main thread, which must keep turning its event loop: checkpoints are read with plain
// syscalls in small slices with a turn of the loop between them, everything else with bounded
// async concurrency. A worker thread runs the `…InWorker` twins over plain syscalls (sync-io.ts).
import type { DeletionResult, DeletionTarget, TaskFacts, TaskRef } from '../core/facts.js';
import { snapshotProcesses, type ProcessInfo } from '../io/process-table.js';
import { deleteTargets } from '../io/sandbox-deleter.js';
import type { DeleterFs } from '../io/tree-remover.js';
import type { ExecutorShard } from '../io/executor-detector.js';
import { linkedExecutorsSync, readFactsSync, syncDeleterFs } from './sync-io.js';

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
  linkedExecutors: { payload: LinkedExecutorsRequest; result: string[] };
}
export type JobName = keyof JobTable;

export interface LinkedExecutorsRequest {
  mesosRoot: string;
  /** This job's share of the executors; absent: all of them. */
  shard?: ExecutorShard;
}

/** Checkpoints read with plain syscalls between two turns of the main thread's event loop. */
export const INLINE_SLICE = 32;

/**
 * Replays the runner checkpoint of every task of the batch (never rejects for a bad one). Async
 * reads cost ~6× plain ones here (libuv's 4 threads queue them, bench "scan"); a slice of 32
 * small files blocks the loop for well under a millisecond on a warm cache.
 */
export async function readFactsJob(refs: TaskRef[]): Promise<TaskFacts[]> {
  const out: TaskFacts[] = [];
  for (let i = 0; i < refs.length; i += INLINE_SLICE) {
    for (const f of await readFactsSync(refs.slice(i, i + INLINE_SLICE))) out.push(f);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return out;
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

/**
 * The linked executors (the detector's one-readdir-per-directory walk). It blocks the loop ~100 ms
 * at 10,000 executors once per run, which `--workers 0` (small agents, debugging) accepts.
 */
export async function linkedExecutorsJob(req: LinkedExecutorsRequest): Promise<string[]> {
  return linkedExecutorsSync(req.mesosRoot, req.shard);
}

// Worker-thread variants: the same semantics over plain syscalls (see sync-io.ts for why).
export const readFactsInWorker = readFactsSync;
export const deleteTargetsInWorker = (batch: DeleteBatch): Promise<DeletionResult[]> => deleteWith(batch, syncDeleterFs);
export const linkedExecutorsInWorker = async (req: LinkedExecutorsRequest): Promise<string[]> => linkedExecutorsSync(req.mesosRoot, req.shard);

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
