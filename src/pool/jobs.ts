// The heavy jobs (checkpoint replay, Mesos run dirs, process snapshot, deletion) as plain
// functions over plain data, one batch (hundreds of tasks) per call. `--workers 0` runs them on
// the main thread, which must keep turning its event loop: checkpoints are read with plain
// syscalls in small slices with a turn of the loop between them, everything else with bounded
// async concurrency. A worker thread runs the `…InWorker` twins over plain syscalls (sync-io.ts).
//
// Only the scan's modules load with this one: deletion, measurement, inspect and the process
// table are imported by the first job that needs them, so `plan` never loads the deleter.
import { outermostPaths, type DeletionResult, type DeletionTarget, type FactsReading, type TaskFacts, type TaskRef, type TaskSizes } from '../core/facts.js';
import type { ProcessInfo } from '../io/process-table.js';
import type { TaskPaths } from '../io/task-sizes.js';
import type { ExecutorShard, LinkedLookup } from '../io/executor-detector.js';
import { INLINE_SLICE_MS } from '../config.js';
import { mapBounded } from '../map-bounded.js';
import type { InspectEntry } from '../report/inspect-report.js';
import { linkedExecutorsSync, readFactsSync } from './sync-io.js';

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
  readFacts: { payload: ReadFactsRequest; result: TaskFacts[] };
  deleteTargets: { payload: DeleteBatch; result: DeletionResult[] };
  snapshotProcesses: { payload: ProcessSnapshotRequest; result: ProcessInfo[] };
  linkedExecutors: { payload: LinkedExecutorsRequest; result: string[] };
  measureTasks: { payload: MeasureRequest; result: TaskSizes[] };
  inspectTasks: { payload: TaskRef[]; result: InspectEntry[] };
}
export type JobName = keyof JobTable;

export interface ReadFactsRequest {
  refs: TaskRef[];
  reading: FactsReading;
}

export interface LinkedExecutorsRequest {
  mesosRoot: string;
  /** This job's share of the executors; absent: all of them. */
  shard?: ExecutorShard;
  /** Only the executors of these task ids (this shard's share of them; a Set clones to a worker as one); absent: every one. */
  only?: ReadonlySet<string>;
}

export interface MeasureRequest {
  tasks: TaskPaths[];
  /** Count only what lies on this device (disk-pressure GC measures one filesystem). */
  device?: number;
}

/** Checkpoints read with plain syscalls between two looks at the clock. */
export const INLINE_SLICE = 32;

/** Runs `slice` over `items` in slices of INLINE_SLICE, giving the event loop a turn every INLINE_SLICE_MS. */
async function inTimeSlices<T, R>(items: readonly T[], slice: (part: T[]) => R[] | Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  let sliceStart = performance.now();
  for (let i = 0; i < items.length; i += INLINE_SLICE) {
    for (const r of await slice(items.slice(i, i + INLINE_SLICE))) out.push(r);
    if (performance.now() - sliceStart >= INLINE_SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return out;
}

/**
 * Replays the runner checkpoint of every task of the batch (never rejects for a bad one). Async
 * reads cost ~6× plain ones here (libuv's 4 threads queue them, bench "scan"); plain reads block
 * the loop at most ~10 ms before it gets a turn (a slice of 32 small files takes well under 1 ms).
 */
export function readFactsJob(req: ReadFactsRequest): Promise<TaskFacts[]> {
  return inTimeSlices(req.refs, (part) => readFactsSync(part, req.reading));
}

/** Full replays for `inspect`, in the same slices as the scan's reads. */
export async function inspectTasksJob(refs: TaskRef[]): Promise<InspectEntry[]> {
  const { inspectTasksSync } = await import('./sync-jobs.js');
  return inTimeSlices(refs, inspectTasksSync);
}

/** Walks a sandbox per task; on the main thread over fs/promises (a tree can be large), 8 at once. */
export async function measureTasksJob(req: MeasureRequest): Promise<TaskSizes[]> {
  const { measureTask } = await import('../io/task-sizes.js');
  const opts = req.device === undefined ? {} : { device: req.device };
  return mapBounded(req.tasks, 8, (t) => measureTask(t, opts));
}

async function deleteWith(batch: DeleteBatch, sliceMs: number, signal?: AbortSignal): Promise<DeletionResult[]> {
  const { deleteTargets } = await import('../io/sandbox-deleter.js');
  const opts: Parameters<typeof deleteTargets>[1] = { allowedRoots: batch.allowedRoots, parallelism: batch.parallelism, countEntries: true, sliceMs };
  if (batch.trashDirName !== undefined) opts.trashDirName = batch.trashDirName;
  if (signal !== undefined) opts.signal = signal;
  const results = await deleteTargets(batch.targets, opts);
  // Only the outermost gone paths travel back (sandbox, log dir, checkpoint dir, task file):
  // what is inside them is gone with them, and a dozen paths per task add up at 10,000 tasks.
  for (const r of results) r.deleted = outermostPaths(r.deleted);
  return results;
}

/**
 * Deletes one batch of targets through the project's deleter, on this thread over plain syscalls
 * with a turn of the event loop every INLINE_SLICE_MS (io/fs-steps.ts). `signal` reaches the
 * deleter only inline; in a worker an abort terminates the thread (the trash keeps a
 * half-deleted tree).
 */
export async function deleteTargetsJob(batch: DeleteBatch, signal?: AbortSignal): Promise<DeletionResult[]> {
  return deleteWith(batch, INLINE_SLICE_MS, signal);
}

/**
 * The linked executors (the detector's one-readdir-per-directory walk). It blocks the loop ~100 ms
 * at 10,000 executors once per run, which `--workers 0` (small agents, debugging) accepts.
 */
export async function linkedExecutorsJob(req: LinkedExecutorsRequest): Promise<string[]> {
  return linkedExecutorsSync(req.mesosRoot, lookupOf(req));
}

function lookupOf(req: LinkedExecutorsRequest): LinkedLookup {
  const lookup: LinkedLookup = {};
  if (req.shard !== undefined) lookup.shard = req.shard;
  if (req.only !== undefined) lookup.only = req.only;
  return lookup;
}

// Worker-thread variants: the same semantics over plain syscalls (see sync-io.ts for why).
export const readFactsInWorker = async (req: ReadFactsRequest): Promise<TaskFacts[]> => readFactsSync(req.refs, req.reading);
// A worker has no event loop to serve while it deletes: no slices.
export const deleteTargetsInWorker = async (batch: DeleteBatch): Promise<DeletionResult[]> => deleteWith(batch, Number.POSITIVE_INFINITY);
export const linkedExecutorsInWorker = async (req: LinkedExecutorsRequest): Promise<string[]> => linkedExecutorsSync(req.mesosRoot, lookupOf(req));
export const measureTasksInWorker = async (req: MeasureRequest): Promise<TaskSizes[]> =>
  (await import('./sync-jobs.js')).measureTasksSync(req.tasks, req.device === undefined ? {} : { device: req.device });
export const inspectTasksInWorker = async (refs: TaskRef[]): Promise<InspectEntry[]> => (await import('./sync-jobs.js')).inspectTasksSync(refs);

/** One ps listing plus /proc details for the pids of interest, as plain rows. */
export async function snapshotProcessesJob(req: ProcessSnapshotRequest): Promise<ProcessInfo[]> {
  // ps-list and pidusage load with the first snapshot: scans and deletions never need them.
  const { snapshotProcesses } = await import('../io/process-table.js');
  const snap = await snapshotProcesses({ detailsFor: req.detailsFor });
  return [...snap.processes.values()];
}

export const JOBS: { [K in JobName]: (payload: JobTable[K]['payload'], signal?: AbortSignal) => Promise<JobTable[K]['result']> } = {
  readFacts: readFactsJob,
  deleteTargets: deleteTargetsJob,
  snapshotProcesses: snapshotProcessesJob,
  linkedExecutors: linkedExecutorsJob,
  measureTasks: measureTasksJob,
  inspectTasks: inspectTasksJob,
};
