// The Piscina pool behind the heavy jobs. Each batch is one message; a batch gets a timeout
// (AbortSignal): a worker that hangs is terminated and a crashed one replaced by Piscina, the
// batch fails with a WorkerError and the pool keeps serving the next ones.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { WORKER_YOUNG_GENERATION_MB } from '../config.js';
import { errorMessage } from '../errors.js';
import type { JobName, JobTable } from './jobs.js';
import { WorkerError, payloadItems, type JobRunner, type RunOptions, type RunnerStats, type WorkerFailure } from './job-runner.js';

export const DEFAULT_BATCH_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** With no heap limit given: still a bound (config's MAX_WORKER_HEAP_MB). */
const DEFAULT_OLD_GENERATION_MB = 512;

/**
 * The compiled worker file `dist/workers/<name>.js`. From dist/src/pool/ it sits at ../../workers/;
 * when this module runs from sources (tests under vitest) the build output is at ../../dist/workers/.
 */
export function resolveWorkerFile(name = 'gc-worker'): string {
  const candidates = [new URL(`../../workers/${name}.js`, import.meta.url), new URL(`../../dist/workers/${name}.js`, import.meta.url)];
  for (const url of candidates) {
    const file = fileURLToPath(url);
    if (existsSync(file)) return file;
  }
  throw new Error(`worker file ${name}.js not found (run npm run build): looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')}`);
}

export interface GcPoolOptions {
  /** Worker threads (at least 1). */
  threads: number;
  /** @default dist/workers/gc-worker.js */
  workerFile?: string;
  /** A batch still running after this is aborted (its worker terminated). @default 10 min */
  batchTimeoutMs?: number;
  /** Idle threads exit after this. @default 60 s */
  idleTimeoutMs?: number;
  /**
   * Each thread's V8 old generation (MiB): a batch that allocates past it fails alone as an
   * `out-of-memory` WorkerError (Node terminates that thread) instead of growing the process into
   * the cgroup's OOM killer. @default 512; the executor derives it from the memory limit.
   */
  maxOldGenerationSizeMb?: number;
  /** Start every thread now instead of with the first batches (they boot while the caller works). */
  startThreadsNow?: boolean;
}

function isAbortError(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'AbortError';
}

export class GcPool implements JobRunner {
  readonly threads: number;
  readonly stats: RunnerStats = { messages: 0, failures: 0 };
  private readonly piscina: Piscina;
  private readonly batchTimeoutMs: number;
  private readonly busy: BusyClock;

  constructor(opts: GcPoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new RangeError('GcPool: threads must be an integer ≥ 1');
    this.threads = opts.threads;
    this.busy = new BusyClock(opts.threads);
    this.batchTimeoutMs = opts.batchTimeoutMs ?? DEFAULT_BATCH_TIMEOUT_MS;
    this.piscina = new Piscina({
      filename: opts.workerFile ?? resolveWorkerFile(),
      minThreads: opts.startThreadsNow === true ? opts.threads : 0,
      maxThreads: opts.threads,
      idleTimeout: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      // Utilisation is ours (below): Piscina's comes from a histogram summary (mean, stddev,
      // percentiles) that cost ~25 ms of main-thread CPU per /metrics scrape.
      recordTiming: false,
      // A batch's garbage is small and short-lived: a small young generation keeps each thread's
      // heap (and so the process's RSS) from growing to V8's defaults; the old generation is
      // bounded so a runaway batch stops at its own thread.
      resourceLimits: {
        maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB,
        maxOldGenerationSizeMb: opts.maxOldGenerationSizeMb ?? DEFAULT_OLD_GENERATION_MB,
      },
    });
    // A worker's death also surfaces as the rejection of its batch; this only keeps the emitter
    // from throwing when no batch was in flight.
    this.piscina.on('error', () => undefined);
  }

  async run<K extends JobName>(job: K, payload: JobTable[K]['payload'], opts: RunOptions = {}): Promise<JobTable[K]['result']> {
    this.stats.messages++;
    this.busy.change(+1);
    try {
      return await this.runBatch(job, payload, opts);
    } finally {
      this.busy.change(-1);
    }
  }

  private async runBatch<K extends JobName>(job: K, payload: JobTable[K]['payload'], opts: RunOptions): Promise<JobTable[K]['result']> {
    const timeout = AbortSignal.timeout(this.batchTimeoutMs);
    const signal = opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout]);
    try {
      return (await this.piscina.run(payload, { name: job, signal })) as JobTable[K]['result'];
    } catch (err) {
      this.stats.failures++;
      let failure: WorkerFailure = 'failed';
      if (timeout.aborted) failure = 'timeout';
      else if ((err as { code?: string } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') failure = 'out-of-memory';
      else if (opts.signal?.aborted === true || isAbortError(err)) failure = 'aborted';
      else if (/exited|terminat/i.test(errorMessage(err))) failure = 'crashed';
      const message = failure === 'timeout' ? `no result after ${this.batchTimeoutMs} ms` : errorMessage(err);
      throw new WorkerError(job, failure, payloadItems(payload), message, err);
    }
  }

  /** Thread-time busy with batches (a queued batch counts once a thread is free) over the threads' capacity since start. */
  utilisation(): number {
    return this.busy.utilisation();
  }

  /** Lets running batches finish, then stops the threads. */
  async close(): Promise<void> {
    await this.piscina.close();
  }
}

/**
 * ∫ min(batches in flight, threads) dt over threads × elapsed: the share of the pool's capacity
 * spent on batches, kept as two numbers per change instead of a histogram.
 */
export class BusyClock {
  private inFlight = 0;
  private busyMs = 0;
  private readonly startMs: number;
  private lastMs: number;

  constructor(
    private readonly threads: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startMs = this.lastMs = now();
  }

  change(delta: number): void {
    this.advance();
    this.inFlight += delta;
  }

  utilisation(): number {
    this.advance();
    const capacity = (this.lastMs - this.startMs) * this.threads;
    return capacity > 0 ? Math.min(1, this.busyMs / capacity) : 0;
  }

  private advance(): void {
    const t = this.now();
    this.busyMs += (t - this.lastMs) * Math.min(this.inFlight, this.threads);
    this.lastMs = t;
  }
}
