// GcServices whose heavy parts (checkpoint replay, Mesos run dirs, process snapshots, sizes,
// deletion, inspect's full replays) run as batches on a JobRunner: a Piscina pool, or inline
// with `--workers 0`. Every command scans, measures and deletes through these, with the same
// batching. Everything else (listing, sandbox policy, paths, kills) is the main-thread local
// services'. The main thread only cuts batches and merges their plain-data results, so it keeps
// serving heartbeats and events.
//
// The pool is lazy (lazy-pool.ts): threads start with the first batch sent to them, and while
// none has been, a job no larger than one batch runs inline instead (a scan of a small agent, one
// task to inspect), so a command that does not need the threads never starts them.
import type { Logger } from 'pino';
import { THREAD_DELETE_BATCH, type GcConfig } from '../config.js';
import type { DeletionResult, DeletionTarget, FactsReading, TaskFacts, TaskRef, TaskSizes } from '../core/facts.js';
import { ThermosGcError, errorMessage, mesosRootMissing, type ErrorRecord } from '../errors.js';
import { shardOf, THERMOS_EXECUTOR_PREFIX } from '../io/executor-detector.js';
import { isDirectory } from '../io/is-directory.js';
import type { SnapshotProvider } from '../io/process-table.js';
import type { InspectEntry } from '../report/inspect-report.js';
import { createLocalServices, measuredPaths } from '../services/local-services.js';
import type { GcServices, TaskListing } from '../services/services.js';
import { batchTargets, chunk } from './batching.js';
import { InlineJobRunner, type JobRunner } from './job-runner.js';
import type { GcPoolOptions } from './gc-pool.js';
import { LazyPool } from './lazy-pool.js';

export interface PooledServices extends GcServices {
  readonly runner: JobRunner;
  /** `inspect`'s full replays (every process run), one entry per ref, in order. */
  inspectTasks(refs: readonly TaskRef[]): Promise<InspectEntry[]>;
  /**
   * Starts the worker threads now if a job of `items` would go to them, so that they boot while
   * this thread goes on (collect: the scan runs here meanwhile, the deletion goes to them).
   */
  startThreadsFor(items: number): void;
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
  /**
   * Read checkpoints and walk the Mesos work dir on this thread whatever the worker count (a
   * one-shot command with nothing else to serve: its threads are for the deletion). @default false
   */
  scanOnThisThread?: boolean;
}

/** A runner for `config.workers`: inline for 0, else a (lazily started) pool of that many threads. */
export function createJobRunner(config: Pick<GcConfig, 'workers'> & Partial<Pick<GcConfig, 'workerHeapMb'>>, batchTimeoutMs?: number): JobRunner {
  if (config.workers === 0) return new InlineJobRunner();
  const opts: GcPoolOptions = { threads: config.workers };
  if (config.workerHeapMb !== undefined) opts.maxOldGenerationSizeMb = config.workerHeapMb;
  if (batchTimeoutMs !== undefined) opts.batchTimeoutMs = batchTimeoutMs;
  return new LazyPool(opts);
}

/**
 * Runs `fn` over `batches` with at most `inFlight` at once, in order. The first failure stops
 * new batches from starting and is rethrown once the running ones settle.
 */
async function runBatches<B, R>(batches: readonly B[], inFlight: number, fn: (b: B, index: number) => Promise<R>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < batches.length && failure === undefined; i = next++) {
      try {
        await fn(batches[i] as B, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(inFlight, batches.length)) }, lane));
  if (failure !== undefined) throw failure.err;
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
  const inline = new InlineJobRunner();
  const lazy = runner instanceof LazyPool ? runner : undefined;
  /** Where a job of `items` goes: inline while the lazy pool is idle and the job fits one batch. */
  const runnerFor = (items: number): JobRunner => (lazy !== undefined && !lazy.isStarted && items <= config.batchSize ? inline : runner);
  const scanRunnerFor = (items: number): JobRunner => (opts.scanOnThisThread === true ? inline : runnerFor(items));
  // Two batches per thread keep every worker busy while the main thread merges results.
  const inFlightFor = (r: JobRunner): number => Math.max(1, r.threads) * 2;
  // Tasks of the last listing: the Mesos walk is about as large (one executor per task).
  let listed = Number.POSITIVE_INFINITY;

  const snapshot: SnapshotProvider = async (pids) => {
    const [{ buildSnapshot }, rows] = await Promise.all([import('../io/process-table.js'), runnerFor(0).run('snapshotProcesses', { detailsFor: [...pids] })]);
    return buildSnapshot(rows);
  };

  // Facts come back as structured clones: each would carry its own copy of the root, the task id
  // and the user. The refs' strings (and one copy per distinct user) are shared instead.
  const users = new Map<string, string>();
  const adopt = (f: TaskFacts, ref: TaskRef): TaskFacts => {
    if (f.taskId !== ref.taskId) throw new ThermosGcError('ERR_WORKER', `readFacts: result for ${f.taskId} where ${ref.taskId} was asked`, { taskId: ref.taskId });
    f.taskId = ref.taskId;
    f.root = ref.root;
    if (f.user !== undefined) {
      const shared = users.get(f.user);
      if (shared === undefined) users.set(f.user, f.user);
      else f.user = shared;
    }
    return f;
  };

  const readFacts = async (refs: readonly TaskRef[], reading: FactsReading = {}): Promise<TaskFacts[]> => {
    const r = scanRunnerFor(refs.length);
    const out: TaskFacts[] = new Array(refs.length);
    const size = Math.max(1, Math.floor(config.batchSize));
    try {
      await runBatches(chunk(refs, size), inFlightFor(r), async (batch, b) => {
        const got = await r.run('readFacts', { refs: batch, reading });
        for (let k = 0; k < batch.length; k++) out[b * size + k] = adopt(got[k] as TaskFacts, batch[k] as TaskRef);
      });
    } catch (err) {
      log.error({ err: errorMessage(err), tasks: refs.length }, 'reading checkpoints failed');
      throw err;
    }
    return out;
  };

  // Listing, policy, paths, kills and the orphan pass run here; their checkpoint reads and
  // process snapshots go through the runner.
  const local = createLocalServices(
    opts.uidForUser === undefined ? { config, logger, snapshot, readFacts } : { config, logger, snapshot, readFacts, uidForUser: opts.uidForUser },
  );

  const deleteTargets = async (targets: readonly DeletionTarget[], signal?: AbortSignal): Promise<DeletionResult[]> => {
    const results: DeletionResult[] = new Array(targets.length);
    const r = runnerFor(targets.length);
    // On threads, small batches: the last ones decide when the deletion ends (see config.ts).
    const batches = batchTargets(targets, r.threads > 0 ? Math.min(config.batchSize, THREAD_DELETE_BATCH) : config.batchSize);
    // One deletion batch per thread: at most threads × deleteParallelism trees at once.
    await runBatches(batches, Math.max(1, r.threads), async (indices) => {
      const batch = indices.map((i) => targets[i] as DeletionTarget);
      const payload = { targets: batch, allowedRoots: [...config.sandboxRoots], parallelism: config.deleteParallelism };
      try {
        const got = await r.run('deleteTargets', payload, signal === undefined ? {} : { signal });
        indices.forEach((i, k) => (results[i] = got[k] as DeletionResult));
      } catch (err) {
        // The batch is lost as a whole; nothing in it is reported deleted, the other batches go on.
        log.error({ err: errorMessage(err), targets: batch.length }, 'deletion batch failed');
        indices.forEach((i, k) => (results[i] = failedDeletion(batch[k] as DeletionTarget, err)));
      }
    });
    return results;
  };

  const measureTasks = async (facts: readonly TaskFacts[], o: { device?: number } = {}): Promise<TaskSizes[]> => {
    const r = runnerFor(facts.length);
    const out: TaskSizes[] = new Array(facts.length);
    const size = Math.max(1, Math.floor(config.batchSize));
    await runBatches(chunk(facts, size), inFlightFor(r), async (batch, b) => {
      // Paths per batch: never all of them at once.
      const payload = { tasks: batch.map(measuredPaths), ...(o.device === undefined ? {} : { device: o.device }) };
      const got = await r.run('measureTasks', payload);
      for (let k = 0; k < batch.length; k++) out[b * size + k] = got[k] as TaskSizes;
    });
    return out;
  };

  const inspectTasks = async (refs: readonly TaskRef[]): Promise<InspectEntry[]> => {
    const r = runnerFor(refs.length);
    const out: InspectEntry[] = new Array(refs.length);
    const size = Math.max(1, Math.floor(config.batchSize));
    await runBatches(chunk(refs, size), inFlightFor(r), async (batch, b) => {
      const got = await r.run('inspectTasks', batch);
      for (let k = 0; k < batch.length; k++) out[b * size + k] = got[k] as InspectEntry;
    });
    return out;
  };

  return {
    ...local,
    runner,

    async listTasks(roots: readonly string[]): Promise<TaskListing> {
      const listing = await local.listTasks(roots);
      listed = listing.refs.length;
      return listing;
    },

    readFacts,
    deleteTargets,
    // Two batches a thread per window. Threads: two windows in flight, so none idles while a
    // window's last batch finishes; inline: one (the async deleter's garbage is this thread's).
    deletePacing: { window: Math.max(1, Math.floor(config.batchSize)) * Math.max(1, runner.threads) * 2, inFlight: runner.threads > 0 ? 2 : 1 },
    measureTasks,
    inspectTasks,

    async linkedExecutors(of?: Iterable<string>): Promise<Set<string>> {
      // A missing work dir is not "nothing linked": that would delete every finished sandbox.
      if (!(await isDirectory(config.mesosRoot))) throw mesosRootMissing(config.mesosRoot);
      // One shard per thread: the walk reads one run dir per executor, ~70 ms at 10,000 tasks.
      const r = scanRunnerFor(listed);
      const count = Math.max(1, r.threads);
      // Each shard is sent only its own share of the ids asked about; inline, a Set given is used as it is.
      const only = of === undefined ? undefined : idsByShard(of, count);
      const shards = Array.from({ length: count }, (_, index) =>
        r.run('linkedExecutors', { mesosRoot: config.mesosRoot, shard: { index, count }, ...(only === undefined ? {} : { only: only[index] as ReadonlySet<string> }) }),
      );
      const linked = new Set<string>();
      for (const ids of await Promise.all(shards)) for (const id of ids) linked.add(id);
      return linked;
    },

    startThreadsFor(items: number): void {
      if (lazy !== undefined && items > config.batchSize) lazy.start();
    },

    close: () => runner.close(),
  };
}

/** Task ids split as the walk shards their executors (`thermos-<id>`); one shard takes a Set as it is. */
function idsByShard(ids: Iterable<string>, count: number): Array<ReadonlySet<string>> {
  if (count <= 1) return [ids instanceof Set ? (ids as ReadonlySet<string>) : new Set(ids)];
  const out: Array<Set<string>> = Array.from({ length: count }, () => new Set());
  for (const id of ids) out[shardOf(THERMOS_EXECUTOR_PREFIX + id, count)]?.add(id);
  return out;
}
