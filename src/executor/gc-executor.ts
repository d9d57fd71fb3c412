// The GC executor's lifecycle (domain.md §6 "Queue" and "Loop"): LAUNCH/KILL/SHUTDOWN from the
// agent feed the queue; `run(signal)` takes queued tasks, looks for orphans, and waits for the
// poll interval or a new launch, until stopped, too old, or idle too long.
import type { Logger } from 'pino';
import { decodeAdjustRetainedTasks } from '../core/aurora-messages.js';
import type { Clock, Driver } from '../core/ports.js';
import type { GcConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import { GcQueue } from './gc-queue.js';
import { runGc, type GcRunReport } from './gc-run.js';
import { writeExecutorVars, type GcMetrics } from './metrics.js';
import { diskPressureEnabled, runDiskPressureGc, type DiskPressureDeps } from './disk-pressure-gc.js';
import { RepeatedWarnings } from './repeated-warnings.js';
import { writeLastRunReport } from './run-report-file.js';
import type { GcServices } from '../services/services.js';

export type ExecutorState = 'CREATED' | 'RUNNING' | 'STOPPING' | 'STOPPED';

export const MSG_DESERIALIZATION_FAILED = 'Deserialization of GC task failed';
export const MSG_SKIPPED_REPLACED = 'Garbage collection skipped - GC executor received another task';
export const MSG_SKIPPED_SHUTDOWN = 'Garbage collection skipped - GC executor shutting down';
export const MSG_REFUSED_SHUTDOWN = 'GC executor is shutting down';
export const MSG_ORPHAN_LOST = 'GC executor detected failed task runner.';
export const MSG_KILLED_QUEUED = 'Garbage collection skipped - GC task killed before it ran';

export interface GcExecutorOptions {
  driver: Driver;
  clock: Clock;
  config: GcConfig;
  services: GcServices;
  logger: Logger;
  metrics: GcMetrics;
  /** Write executor_vars.json (and last_gc_run.json) here after each run and on exit. */
  varsDir?: string;
  /** For disk-pressure GC. @default node's fs.statfs */
  statfs?: DiskPressureDeps['statfs'];
}

export class GcExecutor {
  private readonly queue = new GcQueue();
  private stateValue: ExecutorState = 'CREATED';
  private stopRequested = false;
  /** Aborted to cut the current wait short (a launch or a shutdown arrived). */
  private wake = new AbortController();
  private readonly log: Logger;
  /** Reports of finished runs, newest last (tests and the demo read them). */
  readonly reports: GcRunReport[] = [];
  /** The scheduler view of the last GC task run: disk-pressure GC keeps what it retains. */
  private lastRetained: ReadonlyMap<string, number> | undefined;
  /** Known to the last scheduler view and deleted by disk-pressure GC: reported with the next run. */
  private readonly pressureDeleted = new Set<string>();
  /** What the last run warned about: the same warnings again are logged at debug. */
  private readonly repeats = new RepeatedWarnings();

  constructor(private readonly opts: GcExecutorOptions) {
    this.log = opts.logger.child({ component: 'gc-executor' });
  }

  get state(): ExecutorState {
    return this.stateValue;
  }

  get queuedTaskId(): string | undefined {
    return this.queue.queued?.taskId;
  }

  get runningTaskId(): string | undefined {
    return this.queue.running;
  }

  /** LAUNCH: queue a GC task (data = TaskInfo.data; null when absent). */
  launch(taskId: string, data: Uint8Array | null): void {
    const { driver, clock, metrics } = this.opts;
    const known = this.queue.isKnown(taskId);
    if (known !== undefined) {
      this.log.info({ taskId, outcome: known.kind }, 'GC task already running or queued - ignoring');
      return;
    }
    if (this.stopRequested || this.stateValue === 'STOPPING' || this.stateValue === 'STOPPED') {
      this.log.warn({ taskId }, 'GC task received while shutting down - refusing');
      driver.sendStatusUpdate({ taskId, state: 'TASK_FAILED', message: MSG_REFUSED_SHUTDOWN });
      return;
    }
    let retained: Map<string, number>;
    try {
      if (data === null) throw new Error('GC task carries no data');
      retained = decodeAdjustRetainedTasks(data);
    } catch (err) {
      this.log.error({ taskId, err: errorMessage(err) }, 'cannot decode GC task');
      driver.sendStatusUpdate({ taskId, state: 'TASK_FAILED', message: MSG_DESERIALIZATION_FAILED });
      return;
    }
    const outcome = this.queue.offer({ taskId, retained, receivedMs: clock.now() });
    metrics.dropped_tasks = this.queue.droppedTasks;
    if (outcome.kind === 'queued' && outcome.replaced !== undefined) {
      const prev = outcome.replaced.taskId;
      this.log.info({ taskId, replaced: prev, dropped: this.queue.droppedTasks }, 'dropping previously queued GC task');
      driver.sendStatusUpdate({ taskId: prev, state: 'TASK_FINISHED', message: MSG_SKIPPED_REPLACED });
    }
    this.log.info({ taskId, retained: retained.size }, 'GC task queued');
    this.wake.abort();
  }

  /**
   * KILL. A queued task is dropped and answered TASK_KILLED: the v1 API expects a terminal update
   * for a killed task. The running one finishes (a half-done run is worse than a late one; the
   * original did the same) and its TASK_FINISHED is the answer. A task this executor does not
   * hold is either finished (its terminal update is already sent: a second one would contradict
   * it) or was never delivered (the agent answers for those itself): ignored with a warning, as
   * the Mesos default executor does (src/launcher/default_executor.cpp:1287-1291).
   */
  kill(taskId: string): void {
    const outcome = this.queue.kill(taskId);
    if (outcome === 'removed') {
      this.log.info({ taskId, outcome }, 'removed queued GC task: answering TASK_KILLED');
      this.opts.driver.sendStatusUpdate({ taskId, state: 'TASK_KILLED', message: MSG_KILLED_QUEUED });
    } else if (outcome === 'running') {
      this.log.info({ taskId, outcome }, 'kill of the running GC task - it runs to completion and answers TASK_FINISHED');
    } else {
      this.log.warn({ taskId, outcome }, 'kill of a task this executor does not hold (finished or never launched) - ignoring');
    }
  }

  /** SHUTDOWN: stop after the current run. */
  shutdown(): void {
    this.log.info('shutdown requested');
    this.stopRequested = true;
    this.wake.abort();
  }

  private setState(next: ExecutorState): void {
    this.log.info({ from: this.stateValue, to: next }, 'executor state');
    this.stateValue = next;
  }

  /** The main loop. Resolves once the driver is stopped. */
  async run(signal?: AbortSignal): Promise<void> {
    const { clock, config, services } = this.opts;
    if (this.stateValue !== 'CREATED') throw new Error(`run() called in state ${this.stateValue}`);
    this.setState('RUNNING');
    const onAbort = (): void => this.shutdown();
    signal?.addEventListener('abort', onAbort, { once: true });
    const runStart = clock.now();
    let lastGcRun = runStart;

    const deadline = (): number => {
      let at = runStart + config.maxLifetimeMs;
      // Idle time does not count while a task waits: that raced in the original.
      if (config.maxIdleMs > 0 && this.queue.queued === undefined) at = Math.min(at, lastGcRun + config.maxIdleMs);
      return at;
    };
    const shouldStop = (): boolean => this.stopRequested || signal?.aborted === true || clock.now() >= deadline();

    try {
      await services.finishTrash();
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'could not finish trash left by an earlier run');
    }

    while (!shouldStop()) {
      const task = this.queue.take();
      if (task !== undefined) {
        try {
          await this.runOne(task.taskId, task.retained, task.receivedMs, signal);
        } finally {
          this.queue.finishRunning();
          lastGcRun = clock.now();
        }
      }
      await this.cleanOrphans();
      await this.relieveDiskPressure(signal);
      if (shouldStop()) break;
      if (this.queue.queued !== undefined) continue;
      this.wake = new AbortController();
      const waitMs = Math.max(0, Math.min(config.pollWaitMs, deadline() - clock.now()));
      const wakeSignal = signal === undefined ? this.wake.signal : AbortSignal.any([signal, this.wake.signal]);
      await clock.sleep(waitMs, wakeSignal);
    }

    this.setState('STOPPING');
    signal?.removeEventListener('abort', onAbort);
    await this.stopGracefully();
    this.setState('STOPPED');
  }

  private async runOne(taskId: string, retained: ReadonlyMap<string, number>, receivedMs: number, signal?: AbortSignal): Promise<void> {
    const { driver, clock, config, services, metrics } = this.opts;
    this.log.info({ taskId, retained: retained.size }, 'launching garbage collection');
    try {
      const alsoDeleted = [...this.pressureDeleted];
      const input = { gcTaskId: taskId, retained, startMs: receivedMs, alsoDeleted, ...(signal === undefined ? {} : { signal }) };
      const report = await runGc(input, { services, driver, clock, config, logger: this.opts.logger, metrics, repeats: this.repeats });
      this.reports.push(report);
      for (const id of alsoDeleted) this.pressureDeleted.delete(id);
    } catch (err) {
      this.log.error({ taskId, err: errorMessage(err) }, 'garbage collection failed');
      driver.sendStatusUpdate({ taskId, state: 'TASK_FAILED', message: `Garbage collection failed: ${errorMessage(err)}` });
    }
    this.lastRetained = retained;
    await this.writeVars();
  }

  /** Disk-pressure GC (off unless configured): deletes the oldest finished tasks while a filesystem is too full. */
  private async relieveDiskPressure(signal?: AbortSignal): Promise<void> {
    const { clock, config, services, metrics } = this.opts;
    if (!diskPressureEnabled(config)) return;
    try {
      const deps: DiskPressureDeps = { services, config, lastRetained: this.lastRetained, logger: this.opts.logger, metrics, nowMs: clock.now() };
      if (this.opts.statfs !== undefined) deps.statfs = this.opts.statfs;
      if (signal !== undefined) deps.signal = signal;
      const outcome = await runDiskPressureGc(deps);
      for (const id of outcome.deleted) if (this.lastRetained?.has(id) === true) this.pressureDeleted.add(id);
      if (outcome.deleted.length > 0) await this.writeVars();
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'disk-pressure GC failed');
    }
  }

  private async cleanOrphans(): Promise<void> {
    const { driver, clock, services, metrics } = this.opts;
    try {
      // A GC task that arrives (or a shutdown) cuts the pass short; the next one resumes there.
      const shouldYield = (): boolean => this.queue.queued !== undefined || this.stopRequested;
      for (const o of await services.cleanOrphans(clock.now(), { shouldYield })) {
        if (o.action !== 'lose') continue;
        if (o.lostOk === true) {
          metrics.losses++;
          this.log.warn({ taskId: o.taskId, reason: o.why, killedPids: o.killedPids }, 'lost orphaned task');
          driver.sendStatusUpdate({ taskId: o.taskId, state: 'TASK_LOST', message: MSG_ORPHAN_LOST });
        } else {
          this.log.error({ taskId: o.taskId, reason: o.why, err: o.error }, 'could not lose orphaned task');
        }
      }
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'orphan scan failed');
    }
  }

  private async stopGracefully(): Promise<void> {
    const { driver, clock, config } = this.opts;
    const skipped = this.queue.drain();
    if (skipped !== undefined) {
      this.log.info({ taskId: skipped.taskId }, 'skipping queued GC task: shutting down');
      driver.sendStatusUpdate({ taskId: skipped.taskId, state: 'TASK_FINISHED', message: MSG_SKIPPED_SHUTDOWN });
    }
    await this.writeVars();
    // Give the agent time to take the last updates before the connection closes (MESOS-243). A
    // driver that tracks acknowledgements waits for exactly those in stop(), bounded by the same
    // persistence wait; sleeping here as well would spend the shutdown grace period twice.
    if (driver.pendingAcks === undefined) await clock.sleep(config.persistenceWaitMs);
    await driver.stop();
  }

  private async writeVars(): Promise<void> {
    if (this.opts.varsDir === undefined) return;
    try {
      await writeExecutorVars(this.opts.varsDir, this.opts.metrics);
      const last = this.reports.at(-1);
      if (last !== undefined) await writeLastRunReport(this.opts.varsDir, last);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not write executor_vars.json');
    }
  }
}
