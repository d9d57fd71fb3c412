// Full GC runs over a real directory tree, with the main-thread services and the real killer,
// detector, sandbox policy and deleter.
import { afterEach, describe, expect, it } from 'vitest';
import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import { decodeSchedulerMessageDeletedTasks } from '../../src/core/aurora-messages.js';
import { GcExecutor, MSG_ORPHAN_LOST } from '../../src/executor/gc-executor.js';
import { runGc } from '../../src/executor/gc-run.js';
import { createLocalServices } from '../../src/services/local-services.js';
import { GcMetrics } from '../../src/executor/metrics.js';
import { buildSnapshot } from '../../src/io/process-table.js';
import { silentLogger } from '../../src/log.js';
import { FakeClock, untilSleeping } from '../helpers/fake-clock.js';
import { RecordingDriver } from '../helpers/recording-driver.js';
import { buildTree, type Tree } from './tree-fixture.js';

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

describe('runGc on a real tree', () => {
  let tree: Tree | undefined;
  afterEach(async () => {
    await tree?.cleanup();
    tree = undefined;
  });

  it('kills, deletes and reports exactly what the table says', async () => {
    tree = await buildTree();
    const t = tree;
    const logger = silentLogger();
    // No live process matches the recorded pids: the killer signals nothing.
    const services = createLocalServices({ config: t.config, logger, snapshot: async () => buildSnapshot([]), uidForUser: () => undefined });
    const driver = new RecordingDriver();
    const metrics = new GcMetrics();
    const report = await runGc(
      { gcTaskId: 'gc-1', retained: t.retained, startMs: t.startMs },
      { services, driver, clock: new FakeClock(t.startMs), config: t.config, logger, metrics },
    );

    expect(report.killed).toEqual(['stray']);
    expect(report.garbageCollect).toEqual(['corrupt', 'pulled', 'shared', 'stray', 'unretained-linked']);
    expect(report.deleted).toEqual(report.garbageCollect);
    expect(report.deleteFailed).toEqual([]);
    expect(driver.messages).toHaveLength(1);
    expect(decodeSchedulerMessageDeletedTasks(driver.messages[0]!).sort()).toEqual(['ghost-term', 'pulled', 'shared', 'stray']);
    expect(driver.updatesFor('ghost-live')).toEqual([{ taskId: 'ghost-live', state: 'TASK_LOST', message: 'GC executor found no trace of task.' }]);
    expect(driver.updatesFor('ghost-starting')).toEqual([]);
    expect(driver.updates.at(-1)).toEqual({ taskId: 'gc-1', state: 'TASK_FINISHED', message: 'Garbage collection finished.' });

    // What remains on disk.
    expect((await readdir(path.join(t.root, 'tasks', 'active'))).sort()).toEqual(['active-linked']);
    expect((await readdir(path.join(t.root, 'tasks', 'finished'))).sort()).toEqual(['kept-linked']);
    expect((await readdir(path.join(t.root, 'checkpoints'))).sort()).toEqual(['active-linked', 'kept-linked']);
    // A retained terminal task whose executor is still linked is kept, sandbox and logs.
    expect(await exists(path.join(t.sandbox('kept-linked'), 'data.bin'))).toBe(true);
    expect(await exists(path.join(t.base, 'logs', 'kept-linked', 'hello', '0', 'stdout'))).toBe(true);
    // The sandbox `shared` names is the live task's: kept.
    expect(await exists(path.join(t.sandbox('active-linked'), 'data.bin'))).toBe(true);
    expect(report.refused).toContainEqual(expect.objectContaining({ taskId: 'shared', reason: 'shared-with-kept-task' }));
    for (const id of ['pulled', 'unretained-linked', 'stray']) expect(await exists(t.sandbox(id))).toBe(false);
    // An unreplayable checkpoint names no sandbox: only its metadata can go.
    expect(await exists(t.sandbox('corrupt'))).toBe(true);
    for (const id of ['pulled', 'shared', 'stray']) expect(await exists(path.join(t.base, 'logs', id, 'hello', '0', 'stdout'))).toBe(false);
    expect(report.bytesFreed).toBeGreaterThan(0);
    expect(metrics.toJSON()).toMatchObject({ gc_runs: 1, kills: 1, tasks_deleted: 5 });
  });

  it('a second run on the same tree deletes nothing more and reports only scheduler-only tasks', async () => {
    tree = await buildTree();
    const t = tree;
    const logger = silentLogger();
    const services = createLocalServices({ config: t.config, logger, snapshot: async () => buildSnapshot([]), uidForUser: () => undefined });
    const deps = { services, clock: new FakeClock(t.startMs), config: t.config, logger, metrics: new GcMetrics() };
    await runGc({ gcTaskId: 'gc-1', retained: t.retained, startMs: t.startMs }, { ...deps, driver: new RecordingDriver() });
    const driver = new RecordingDriver();
    const second = await runGc({ gcTaskId: 'gc-2', retained: t.retained, startMs: t.startMs }, { ...deps, driver });
    expect(second.garbageCollect).toEqual([]);
    expect(second.killed).toEqual([]);
    // The scheduler still lists them: they are gone locally, so they are scheduler-only now.
    expect(decodeSchedulerMessageDeletedTasks(driver.messages[0]!).sort()).toEqual(['ghost-term', 'pulled', 'shared', 'stray']);
  });
});

describe('GcExecutor with the main-thread services on a real tree', () => {
  let tree: Tree | undefined;
  afterEach(async () => {
    await tree?.cleanup();
    tree = undefined;
  });

  it('loses active tasks whose runner is dead and whose checkpoint is quiet, and says TASK_LOST', async () => {
    tree = await buildTree();
    const t = tree;
    const logger = silentLogger();
    const services = createLocalServices({ config: t.config, logger, snapshot: async () => buildSnapshot([]), uidForUser: () => undefined });
    const clock = new FakeClock(t.startMs + 2 * 3_600_000);
    const driver = new RecordingDriver();
    const executor = new GcExecutor({ driver, clock, config: t.config, services, logger, metrics: new GcMetrics() });
    const running = executor.run();
    await untilSleeping(clock);
    // Runner pid 999999 is not alive; the checkpoints were written two hours before `now`.
    expect(driver.updates).toEqual([
      { taskId: 'active-linked', state: 'TASK_LOST', message: MSG_ORPHAN_LOST },
      { taskId: 'stray', state: 'TASK_LOST', message: MSG_ORPHAN_LOST },
    ]);
    // The unreplayable one is left alone; the lost ones are finalized.
    expect((await readdir(path.join(t.root, 'tasks', 'active'))).sort()).toEqual(['corrupt']);
    executor.shutdown();
    await untilSleeping(clock);
    clock.advance(t.config.persistenceWaitMs);
    await running;
  });
});
