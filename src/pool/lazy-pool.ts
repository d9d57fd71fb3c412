// A worker pool that exists only once a job is sent to it: piscina is loaded and threads are
// started on the first batch, so a command that runs nothing on the pool (help, a bad flag, a
// scan small enough to run inline) pays for neither the module nor the threads.
import type { GcPool, GcPoolOptions } from './gc-pool.js';
import type { JobName, JobTable } from './jobs.js';
import type { JobRunner, RunOptions, RunnerStats } from './job-runner.js';

export class LazyPool implements JobRunner {
  readonly threads: number;
  readonly stats: RunnerStats = { messages: 0, failures: 0 };
  private pool: Promise<GcPool> | undefined;
  private started: GcPool | undefined;

  constructor(private opts: GcPoolOptions) {
    this.threads = opts.threads;
  }

  /** True once the first batch has been sent (the threads may still be starting). */
  get isStarted(): boolean {
    return this.pool !== undefined;
  }

  /**
   * Starts the threads now, without a batch: they boot (~100 ms each, on other cores) while the
   * caller still works on this thread. A failure to start surfaces with the first batch.
   */
  start(): void {
    if (this.pool !== undefined) return;
    this.opts = { ...this.opts, startThreadsNow: true };
    this.get().catch(() => undefined);
  }

  private get(): Promise<GcPool> {
    this.pool ??= import('./gc-pool.js').then((m) => {
      this.started = new m.GcPool(this.opts);
      return this.started;
    });
    return this.pool;
  }

  async run<K extends JobName>(job: K, payload: JobTable[K]['payload'], opts: RunOptions = {}): Promise<JobTable[K]['result']> {
    const pool = await this.get();
    this.stats.messages++;
    try {
      return await pool.run(job, payload, opts);
    } catch (err) {
      this.stats.failures++;
      throw err;
    }
  }

  utilisation(): number {
    return this.started?.utilisation() ?? 0;
  }

  async close(): Promise<void> {
    if (this.pool !== undefined) await (await this.pool).close();
  }
}
