import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusFact, TaskFacts } from '../../src/core/facts.js';
import { decodeSchedulerMessageDeletedTasks, encodeAdjustRetainedTasks } from '../../src/core/aurora-messages.js';
import { ScheduleStatus, TaskState } from '../../src/core/states.js';
import { defaultConfig, type GcConfig } from '../../src/config.js';
import {
  GcExecutor,
  MSG_DESERIALIZATION_FAILED,
  MSG_KILLED_QUEUED,
  MSG_ORPHAN_LOST,
  MSG_REFUSED_SHUTDOWN,
  MSG_SKIPPED_REPLACED,
  MSG_SKIPPED_SHUTDOWN,
} from '../../src/executor/gc-executor.js';
import { GC_FINISHED_MESSAGE } from '../../src/executor/gc-run.js';
import { GcMetrics } from '../../src/executor/metrics.js';
import { silentLogger } from '../../src/log.js';
import { FakeClock, flush, untilSleeping } from '../helpers/fake-clock.js';
import { RecordingDriver } from '../helpers/recording-driver.js';
import { FakeServices } from './fake-services.js';

const MIN = 60_000;

function setup(over: Partial<GcConfig> = {}) {
  const clock = new FakeClock();
  const driver = new RecordingDriver();
  const services = new FakeServices();
  const metrics = new GcMetrics();
  const config: GcConfig = { ...defaultConfig(), workers: 0, maxIdleMs: 0, ...over };
  const executor = new GcExecutor({ driver, clock, config, services, logger: silentLogger(), metrics });
  return { clock, driver, services, metrics, config, executor };
}

function art(entries: Record<string, number> = {}): Uint8Array {
  return encodeAdjustRetainedTasks(new Map(Object.entries(entries)));
}

function task(taskId: string, state: 'active' | 'finished', clock: FakeClock, opts: { ageMs?: number; last?: number } = {}): TaskFacts {
  const at = clock.now() - (opts.ageMs ?? 60 * MIN);
  const statuses: StatusFact[] = [{ state: TaskState.ACTIVE, timestampMs: at, runnerPid: 1 }];
  if (state === 'finished') statuses.push({ state: opts.last ?? TaskState.SUCCESS, timestampMs: at + 1, runnerPid: 1 });
  return { taskId, root: '/ckpt', state, statuses, runnerMtimeMs: at + 1, sandbox: `/sb/${taskId}` };
}

describe('GcExecutor queue (launch / kill)', () => {
  it('refuses undecodable or missing data with TASK_FAILED', () => {
    const { executor, driver } = setup();
    executor.launch('gc-1', null);
    executor.launch('gc-2', Uint8Array.from([0x0d, 0x00, 0x02]));
    expect(driver.updates).toEqual([
      { taskId: 'gc-1', state: 'TASK_FAILED', message: MSG_DESERIALIZATION_FAILED },
      { taskId: 'gc-2', state: 'TASK_FAILED', message: MSG_DESERIALIZATION_FAILED },
    ]);
    expect(executor.queuedTaskId).toBeUndefined();
  });

  it('a newer task replaces the queued one, which is skipped; the dropped gauge counts and resets', () => {
    const { executor, driver, metrics } = setup();
    executor.launch('gc-1', art());
    expect(metrics.dropped_tasks).toBe(0);
    executor.launch('gc-1', art()); // same id queued: ignored
    executor.launch('gc-2', art());
    executor.launch('gc-3', art());
    expect(executor.queuedTaskId).toBe('gc-3');
    expect(metrics.dropped_tasks).toBe(2);
    expect(driver.updates).toEqual([
      { taskId: 'gc-1', state: 'TASK_FINISHED', message: MSG_SKIPPED_REPLACED },
      { taskId: 'gc-2', state: 'TASK_FINISHED', message: MSG_SKIPPED_REPLACED },
    ]);
    executor.kill('gc-3');
    expect(executor.queuedTaskId).toBeUndefined();
    expect(driver.updatesFor('gc-3')).toEqual([{ taskId: 'gc-3', state: 'TASK_KILLED', message: MSG_KILLED_QUEUED }]);
    executor.launch('gc-4', art());
    expect(metrics.dropped_tasks).toBe(0);
  });

  it('kill of a queued task removes it and answers TASK_KILLED for it (a terminal update, as the v1 API expects)', () => {
    const { executor, driver } = setup();
    executor.launch('gc-1', art());
    executor.kill('gc-1');
    expect(executor.queuedTaskId).toBeUndefined();
    expect(driver.updates).toEqual([{ taskId: 'gc-1', state: 'TASK_KILLED', message: MSG_KILLED_QUEUED }]);
    // A second KILL of the same task finds nothing: no second terminal update.
    executor.kill('gc-1');
    expect(driver.updates).toHaveLength(1);
  });

  it('kill of an unknown task does nothing', () => {
    const { executor, driver } = setup();
    executor.launch('gc-1', art());
    executor.kill('nope');
    expect(executor.queuedTaskId).toBe('gc-1');
    expect(driver.updates).toEqual([]);
  });
});

describe('GcExecutor loop', () => {
  it('runs a queued task, wakes on launch, and stops on shutdown after the persistence wait', async () => {
    const { executor, driver, services, clock, config } = setup();
    services.add(task('done', 'finished', clock));
    const running = executor.run();
    await flush();
    expect(executor.state).toBe('RUNNING');
    expect(services.trashFinished).toBe(1);
    expect(clock.sleeps).toEqual([config.pollWaitMs]);

    executor.launch('gc-1', art({ done: ScheduleStatus.FINISHED }));
    await flush(20);
    // Woken by the launch well before the poll interval passed.
    expect(driver.updatesFor('gc-1')).toEqual([{ taskId: 'gc-1', state: 'TASK_FINISHED', message: GC_FINISHED_MESSAGE }]);
    expect(decodeSchedulerMessageDeletedTasks(driver.messages[0]!)).toEqual(['done']);
    expect(services.tasks.has('done')).toBe(false);

    executor.shutdown();
    await flush(20);
    expect(executor.state).toBe('STOPPING');
    expect(driver.stopped).toBe(false);
    clock.advance(config.persistenceWaitMs);
    await running;
    expect(executor.state).toBe('STOPPED');
    expect(driver.stopped).toBe(true);
    expect(executor.reports).toHaveLength(1);
  });

  it('a kill of the running task leaves it running; a launch during shutdown fails; a queued task is skipped on the way out', async () => {
    const { executor, driver, services, clock, config } = setup();
    services.add(task('done', 'finished', clock));
    let release!: () => void;
    services.holdDeletes = new Promise<void>((r) => (release = r));
    executor.launch('gc-1', art());
    const running = executor.run();
    await flush(20);
    expect(executor.runningTaskId).toBe('gc-1');
    executor.kill('gc-1');
    executor.launch('gc-2', art());
    executor.shutdown();
    executor.launch('gc-3', art());
    expect(driver.updatesFor('gc-3')).toEqual([{ taskId: 'gc-3', state: 'TASK_FAILED', message: MSG_REFUSED_SHUTDOWN }]);
    release();
    await flush(20);
    expect(driver.updatesFor('gc-1')).toEqual([{ taskId: 'gc-1', state: 'TASK_FINISHED', message: GC_FINISHED_MESSAGE }]);
    clock.advance(config.persistenceWaitMs);
    await running;
    expect(driver.updatesFor('gc-2')).toEqual([{ taskId: 'gc-2', state: 'TASK_FINISHED', message: MSG_SKIPPED_SHUTDOWN }]);
    expect(driver.events.at(-1)).toEqual({ kind: 'stop' });
  });

  it('stops after the maximum lifetime', async () => {
    const { executor, driver, clock, config } = setup({ maxLifetimeMs: 12 * MIN, pollWaitMs: 5 * MIN });
    const running = executor.run();
    await flush();
    clock.advance(5 * MIN);
    await flush();
    clock.advance(5 * MIN);
    await flush();
    // The last wait is cut to the lifetime.
    expect(clock.sleeps).toEqual([5 * MIN, 5 * MIN, 2 * MIN]);
    clock.advance(2 * MIN);
    await flush();
    expect(executor.state).toBe('STOPPING');
    clock.advance(config.persistenceWaitMs);
    await running;
    expect(driver.stopped).toBe(true);
  });

  it('stops after the maximum idle time since the last GC run', async () => {
    const { executor, clock, config } = setup({ maxIdleMs: 15 * MIN, pollWaitMs: 10 * MIN });
    const running = executor.run();
    await flush();
    clock.advance(8 * MIN);
    executor.launch('gc-1', art());
    await flush(20);
    expect(executor.reports).toHaveLength(1);
    // The idle clock restarted at the run: 10 min later still running, 15 min later stopping.
    clock.advance(10 * MIN);
    await flush();
    expect(executor.state).toBe('RUNNING');
    clock.advance(5 * MIN);
    await flush();
    expect(executor.state).toBe('STOPPING');
    clock.advance(config.persistenceWaitMs);
    await running;
  });

  it('an aborted signal stops the loop', async () => {
    const { executor, clock, config, driver } = setup();
    const ac = new AbortController();
    const running = executor.run(ac.signal);
    await flush();
    ac.abort();
    await flush();
    clock.advance(config.persistenceWaitMs);
    await running;
    expect(driver.stopped).toBe(true);
  });

  it('loses orphans and reports them TASK_LOST', async () => {
    const { executor, services, driver, clock, config, metrics } = setup();
    services.add(task('orphan', 'active', clock));
    services.orphans = ['orphan'];
    const running = executor.run();
    await flush();
    expect(services.calls).toContain('lose:orphan');
    expect(driver.updatesFor('orphan')).toEqual([{ taskId: 'orphan', state: 'TASK_LOST', message: MSG_ORPHAN_LOST }]);
    expect(metrics.losses).toBe(1);
    executor.shutdown();
    await flush();
    clock.advance(config.persistenceWaitMs);
    await running;
  });

  it('a run that throws fails its GC task and the loop goes on', async () => {
    const { executor, services, driver, clock, config } = setup();
    services.listTasks = async () => {
      throw new Error('disk on fire');
    };
    executor.launch('gc-1', art());
    const running = executor.run();
    await flush(20);
    expect(driver.updatesFor('gc-1')).toEqual([{ taskId: 'gc-1', state: 'TASK_FAILED', message: 'Garbage collection failed: disk on fire' }]);
    expect(executor.state).toBe('RUNNING');
    executor.shutdown();
    await flush();
    clock.advance(config.persistenceWaitMs);
    await running;
  });
});

describe('GcExecutor writes executor_vars.json', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('after each run', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gc-vars-'));
    const clock = new FakeClock();
    const driver = new RecordingDriver();
    const services = new FakeServices().add(task('done', 'finished', clock));
    const metrics = new GcMetrics();
    metrics.setPendingAckSource(() => 7);
    const config = { ...defaultConfig(), workers: 0 };
    const executor = new GcExecutor({ driver, clock, config, services, logger: silentLogger(), metrics, varsDir: dir });
    executor.launch('gc-1', art());
    const running = executor.run();
    await untilSleeping(clock);
    executor.shutdown();
    await untilSleeping(clock);
    clock.advance(config.persistenceWaitMs);
    await running;
    const vars = JSON.parse(await readFile(join(dir, 'executor_vars.json'), 'utf8')) as Record<string, number>;
    expect(vars).toMatchObject({ gc_runs: 1, tasks_deleted: 1, bytes_reclaimed: 100, inodes_reclaimed: 3, updates_pending_ack: 7, dropped_tasks: 0 });
  });
});
