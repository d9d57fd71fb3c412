// Where the heavy jobs run: a Piscina pool (gc-pool.ts) or, with `--workers 0`, inline on the
// main thread. Either way a failed batch comes back as one typed WorkerError.
import { ThermosGcError, errorMessage } from '../errors.js';
import type { JobName, JobTable } from './jobs.js';

/** `out-of-memory`: the batch's thread reached its heap limit (resourceLimits) and was terminated. */
export type WorkerFailure = 'crashed' | 'timeout' | 'aborted' | 'failed' | 'out-of-memory';

/** A batch that did not complete in its worker: the whole batch failed, the pool goes on. */
export class WorkerError extends ThermosGcError {
  readonly job: string;
  readonly failure: WorkerFailure;
  /** Number of items (tasks, targets, pids) in the failed batch. */
  readonly items: number;

  constructor(job: string, failure: WorkerFailure, items: number, message: string, cause?: unknown) {
    super('ERR_WORKER', `${job} batch of ${items} ${failure}: ${message}`, cause === undefined ? {} : { cause });
    this.name = 'WorkerError';
    this.job = job;
    this.failure = failure;
    this.items = items;
  }
}

export interface RunOptions {
  signal?: AbortSignal;
}

export interface RunnerStats {
  /** Batches handed to a worker (or run inline). */
  messages: number;
  /** Batches that failed (crash, timeout, abort, thrown error). */
  failures: number;
}

export interface JobRunner {
  /** Worker threads at most; 0 when jobs run inline on the main thread. */
  readonly threads: number;
  readonly stats: RunnerStats;
  /** Busy share of the worker threads since start (0..1); 0 when jobs run inline. */
  utilisation(): number;
  run<K extends JobName>(job: K, payload: JobTable[K]['payload'], opts?: RunOptions): Promise<JobTable[K]['result']>;
  close(): Promise<void>;
}

/** How many items a payload carries, for error messages. */
export function payloadItems(payload: unknown): number {
  if (Array.isArray(payload)) return payload.length;
  const p = payload as { refs?: unknown[]; targets?: unknown[]; detailsFor?: unknown[]; tasks?: unknown[] };
  return p.refs?.length ?? p.targets?.length ?? p.detailsFor?.length ?? p.tasks?.length ?? 0;
}

/** Runs the jobs on the calling thread (`--workers 0`). */
export class InlineJobRunner implements JobRunner {
  readonly threads = 0;
  readonly stats: RunnerStats = { messages: 0, failures: 0 };

  utilisation(): number {
    return 0;
  }

  async run<K extends JobName>(job: K, payload: JobTable[K]['payload'], opts: RunOptions = {}): Promise<JobTable[K]['result']> {
    this.stats.messages++;
    if (opts.signal?.aborted === true) {
      this.stats.failures++;
      throw new WorkerError(job, 'aborted', payloadItems(payload), 'aborted before it started');
    }
    // Loaded on first use: a command whose jobs all run in workers never loads them here.
    const { JOBS } = await import('./jobs.js');
    const fn = JOBS[job] as (p: JobTable[K]['payload'], signal?: AbortSignal) => Promise<JobTable[K]['result']>;
    try {
      return await fn(payload, opts.signal);
    } catch (err) {
      this.stats.failures++;
      throw new WorkerError(job, 'failed', payloadItems(payload), errorMessage(err), err);
    }
  }

  async close(): Promise<void> {}
}
