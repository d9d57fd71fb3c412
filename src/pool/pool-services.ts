// GcServices whose heavy parts (checkpoint replay, Mesos run dirs, process snapshots, deletion) run as batches on
// a JobRunner: a Piscina pool, or inline with `--workers 0`. Everything else (listing, sandbox
// policy, paths, kills) is delegated to the main-thread local services. The main thread only
// cuts batches and merges their plain-data results, so it keeps serving heartbeats and events.
import type { Logger } from 'pino';
import type { GcConfig } from '../config.js';
import type { DeletionResult, DeletionTarget, TaskFacts, TaskRef } from '../core/facts.js';
import { ThermosGcError, errorMessage, mesosRootMissing, type ErrorRecord } from '../errors.js';
import { createLocalServices } from '../services/local-services.js';
import type { GcServices } from '../services/services.js';
import { buildSnapshot, uidLookupFromPasswd, type SnapshotProvider } from '../io/process-table.js';
import { batchTargets, chunk } from './batching.js';
import { GcPool } from './gc-pool.js';
import { InlineJobRunner, type JobRunner } from './job-runner.js';
import { isDirectory } from '../io/is-directory.js';

export interface PooledServices extends GcServices {
  readonly runner: JobRunner;
  /** Stops the worker threads (running batches finish first). */
  close(): Promise<void>;
}

export interface PoolServicesOptions {
  /** Use this runner instead of one built from `config.workers` (tests inject a faulty worker). */
  runner?: JobRunner;
  /** Passed to the pool. @default 10 min */
  batchTimeoutMs?: number;
  /** @default /etc/passwd */
  uidForUser?: (user: string) => number | undefined;
}

/** A runner for `config.workers`: inline for 0, else a Piscina pool of that many threads. */
export function createJobRunner(config: Pick<GcConfig, 'workers'>, batchTimeoutMs?: number): JobRunner {
  if (config.workers === 0) return new InlineJobRunner();
  const opts: ConstructorParameters<typeof GcPool>[0] = { threads: config.workers };
  if (batchTimeoutMs !== undefined) opts.batchTimeoutMs = batchTimeoutMs;
  return new GcPool(opts);
}

/**
 * Runs `fn` over `batches` with at most `inFlight` at once, in order. The first failure stops
 * new batches from starting and is rethrown once the running ones settle.
 */
async function runBatches<B, R>(batches: readonly B[], inFlight: number, fn: (b: B) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(batches.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < batches.length && failure === undefined; i = next++) {
      try {
        out[i] = await fn(batches[i] as B);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(inFlight, batches.length)) }, lane));
  if (failure !== undefined) throw failure.err;
  return out;
}

function failedDeletion(t: DeletionTarget, err: unknown): DeletionResult {
  const rec: ErrorRecord =
    err instanceof ThermosGcError ? { ...err.toErrorRecord(), taskId: t.taskId } : { code: 'ERR_WORKER', message: errorMessage(err), taskId: t.taskId };
  const where = t.sandbox ?? t.metadataPaths[0];
  if (where !== undefined) rec.path = where;
  return { taskId: t.taskId, deleted: [], refused: [], errors: [rec], bytesFreed: 0, inodesFreed: 0 };
}

export function createServices(config: GcConfig, logger: Logger, opts: PoolServicesOptions = {}): PooledServices {
  const runner = opts.runner ?? createJobRunner(config, opts.batchTimeoutMs);
  const log = logger.child({ component: 'pool', workers: runner.threads });
  const uidForUser = opts.uidForUser ?? uidLookupFromPasswd();
  // Two batches per thread keep every worker busy while the main thread merges results.
  const factBatchesInFlight = Math.max(1, runner.threads) * 2;
  // One deletion batch per thread: at most threads × deleteParallelism trees at once.
  const deleteBatchesInFlight = Math.max(1, runner.threads);

  const snapshot: SnapshotProvider = async (pids) => buildSnapshot(await runner.run('snapshotProcesses', { detailsFor: [...pids] }));

  const readFacts = async (refs: readonly TaskRef[]): Promise<TaskFacts[]> => {
    try {
      const parts = await runBatches(chunk(refs, config.batchSize), factBatchesInFlight, (b) => runner.run('readFacts', b));
      return parts.flat();
    } catch (err) {
      log.error({ err: errorMessage(err), tasks: refs.length }, 'reading checkpoints failed');
      throw err;
    }
  };

  // Listing, policy, paths, kills and the orphan pass run here; their checkpoint reads and
  // process snapshots go through the runner.
  const local = createLocalServices({ config, logger, snapshot, uidForUser, readFacts });

  const deleteTargets = async (targets: readonly DeletionTarget[], signal?: AbortSignal): Promise<DeletionResult[]> => {
    const results: DeletionResult[] = new Array(targets.length);
    const batches = batchTargets(targets, config.batchSize);
    await runBatches(batches, deleteBatchesInFlight, async (indices) => {
      const batch = indices.map((i) => targets[i] as DeletionTarget);
      const payload = { targets: batch, allowedRoots: [...config.sandboxRoots], parallelism: config.deleteParallelism };
      try {
        const got = await runner.run('deleteTargets', payload, signal === undefined ? {} : { signal });
        indices.forEach((i, k) => (results[i] = got[k] as DeletionResult));
      } catch (err) {
        // The batch is lost as a whole; nothing in it is reported deleted, the other batches go on.
        log.error({ err: errorMessage(err), targets: batch.length }, 'deletion batch failed');
        indices.forEach((i, k) => (results[i] = failedDeletion(batch[k] as DeletionTarget, err)));
      }
    });
    return results;
  };

  return {
    ...local,
    runner,
    readFacts,
    deleteTargets,

    async linkedExecutors(): Promise<Set<string>> {
      // A missing work dir is not "nothing linked": that would delete every finished sandbox.
      if (!(await isDirectory(config.mesosRoot))) throw mesosRootMissing(config.mesosRoot);
      // One shard per thread: the walk reads one run dir per executor, ~100 ms at 10,000 tasks.
      const count = Math.max(1, runner.threads);
      const shards = Array.from({ length: count }, (_, index) => runner.run('linkedExecutors', { mesosRoot: config.mesosRoot, shard: { index, count } }));
      const linked = new Set<string>();
      for (const ids of await Promise.all(shards)) for (const id of ids) linked.add(id);
      return linked;
    },

    close: () => runner.close(),
  };
}
