// The executor's wiring decisions, in process over real trees: a missing Mesos root never reads as
// "no executor is linked", and disk-pressure GC runs in the loop and reports what the last
// scheduler view knew with the next GC task.
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hardDeadlineMs } from '../../src/cli/executor.js';
import { compileConfig, type GcConfig } from '../../src/config.js';
import { decodeSchedulerMessageDeletedTasks, encodeAdjustRetainedTasks } from '../../src/core/aurora-messages.js';
import { ScheduleStatus } from '../../src/core/states.js';
import { buildServices } from '../../src/pool/build-services.js';
import { GcExecutor } from '../../src/executor/gc-executor.js';
import { runGc } from '../../src/executor/gc-run.js';
import { createLocalServices } from '../../src/services/local-services.js';
import { GcMetrics } from '../../src/executor/metrics.js';
import type { GcServices } from '../../src/services/services.js';
import { taskFilePath } from '../../src/io/checkpoint-paths.js';
import { silentLogger } from '../../src/log.js';
import { typicalActiveTask, typicalFinishedTask, writeTask } from '../helpers/checkpoint-builder.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { RecordingDriver } from '../helpers/recording-driver.js';
import { buildTree, type Tree } from '../executor/tree-fixture.js';

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

async function eventually(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('a missing Mesos root', () => {
  const services: Record<string, (config: GcConfig) => Promise<{ services: GcServices; close: () => Promise<void> }>> = {
    local: async (config) => ({ services: createLocalServices({ config, logger: silentLogger() }), close: async () => undefined }),
    'pool (inline)': (config) => buildServices({ ...config, workers: 0 }, silentLogger()),
  };
  for (const [name, make] of Object.entries(services)) {
    it(`deletes only what reconciliation marked, never finished-and-unlinked tasks (${name} services)`, async () => {
      const tree: Tree = await buildTree();
      cleanups.push(tree.cleanup);
      // Sandboxes stay where they are; only the Mesos work dir is missing.
      const config: GcConfig = { ...tree.config, mesosRoot: path.join(tree.base, 'no-such-mesos') };
      const built = await make(config);
      cleanups.push(built.close);
      const driver = new RecordingDriver();
      const report = await runGc(
        { gcTaskId: 'gc-1', retained: tree.retained, startMs: tree.startMs },
        { services: built.services, driver, clock: new FakeClock(tree.startMs), config, logger: silentLogger(), metrics: new GcMetrics() },
      );
      expect(report.linksUnknown).toBe(true);
      // unretained-linked is finished and absent from the view: local_gc. 'pulled' (finished,
      // retained FINISHED, executor gone) would be collected with a readable Mesos root.
      expect(report.deleted).toContain('unretained-linked');
      expect(report.deleted).not.toContain('pulled');
      expect(report.deleted).not.toContain('kept-linked');
      expect(await exists(taskFilePath(tree.root, 'finished', 'pulled'))).toBe(true);
      expect(await exists(taskFilePath(tree.root, 'finished', 'kept-linked'))).toBe(true);
      expect(await exists(taskFilePath(tree.root, 'finished', 'unretained-linked'))).toBe(false);
      expect(driver.updates.at(-1)).toMatchObject({ taskId: 'gc-1', state: 'TASK_FINISHED' });
    });
  }
});

describe('disk-pressure GC in the loop', () => {
  it('deletes under pressure after the orphan pass and reports known ids with the next GC task', async () => {
    const base = await mkdtemp(path.join(os.tmpdir(), 'gc-loop-pressure-'));
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    const root = path.join(base, 'ckpt');
    const mesos = path.join(base, 'mesos');
    const sandboxes = path.join(base, 'sandboxes');
    // 'wanted' is finished but Mesos keeps its executor: neither GC nor disk pressure may take it.
    await mkdir(path.join(mesos, 'slaves', 'S0', 'frameworks', 'F0', 'executors', 'thermos-wanted', 'runs', 'R1'), { recursive: true });
    await mkdir(path.join(sandboxes, 'young'), { recursive: true });
    await mkdir(path.join(root, 'tasks', 'finished'), { recursive: true });
    const now = Date.now();
    const opts = { runnerPid: 4_190_003, uid: 0, mtimeMs: now };
    // Launched a minute ago and unwanted: too young to kill, so the first run leaves it.
    await writeTask(root, typicalActiveTask('young', { ...opts, launchTimeMs: now - 60_000, sandbox: path.join(sandboxes, 'young') }));
    await writeTask(root, typicalFinishedTask('wanted', { ...opts, launchTimeMs: now - 3_600_000, sandbox: path.join(sandboxes, 'wanted') }));

    const config: GcConfig = { ...compileConfig({ checkpointRoots: [root], mesosRoot: mesos, sandboxRoots: [sandboxes], diskHigh: '80%', diskLow: '50%' }), workers: 0 };
    const clock = new FakeClock(now);
    const driver = new RecordingDriver();
    const metrics = new GcMetrics();
    // 90% used whatever is deleted: every eligible task goes.
    const statfs = async () => ({ bsize: 4096, blocks: 1000, bfree: 100, bavail: 100, files: 1000, ffree: 500 });
    const services = createLocalServices({ config, logger: silentLogger() });
    const executor = new GcExecutor({ driver, clock, config, services, logger: silentLogger(), metrics, statfs });

    executor.launch('gc-1', encodeAdjustRetainedTasks(new Map([['young', ScheduleStatus.KILLED], ['wanted', ScheduleStatus.RUNNING]])));
    const loop = executor.run();
    await eventually(() => executor.reports.length === 1 && clock.pendingSleeps === 1, 'the first run and the wait after it');
    expect(executor.reports[0]!.killed).toEqual([]);
    expect(metrics.disk_used_share).toBeCloseTo(0.9);
    expect(metrics.disk_pressure_deleted).toBe(0); // young was still active; wanted is retained live

    // young finishes; the next loop iteration finds the disk still full.
    await rename(taskFilePath(root, 'active', 'young'), taskFilePath(root, 'finished', 'young'));
    clock.advance(config.pollWaitMs);
    await eventually(() => metrics.disk_pressure_deleted === 1 && clock.pendingSleeps === 1, 'the disk-pressure pass');
    expect(await exists(taskFilePath(root, 'finished', 'young'))).toBe(false);
    expect(await exists(taskFilePath(root, 'finished', 'wanted'))).toBe(true);
    expect(metrics.toJSON()).toMatchObject({ disk_pressure_deleted: 1, disk_used_share: 0.9, inode_used_share: 0.5, worker_pool_utilisation: 0 });

    executor.launch('gc-2', encodeAdjustRetainedTasks(new Map([['wanted', ScheduleStatus.RUNNING]])));
    await eventually(() => executor.reports.length === 2, 'the second run');
    expect(executor.reports[1]!.deletedTasks).toEqual(['young']);
    expect(decodeSchedulerMessageDeletedTasks(driver.messages.at(-1)!)).toEqual(['young']);

    executor.shutdown();
    await eventually(() => executor.state === 'STOPPING' && clock.pendingSleeps === 1, 'the persistence wait');
    clock.advance(config.persistenceWaitMs);
    await loop;
    // Reported once: a third run would not list it again.
    expect(driver.messages).toHaveLength(1);
  });
});

describe('hardDeadlineMs', () => {
  it('leaves a margin before the agent gives up on the executor', () => {
    expect(hardDeadlineMs(5_000)).toBe(4_000);
    expect(hardDeadlineMs(1_000)).toBe(800);
    expect(hardDeadlineMs(60_000)).toBe(59_000);
    expect(hardDeadlineMs(0)).toBe(0);
  });
});
