import { describe, expect, it } from 'vitest';
import { recordingLogger } from '../reliability/agent-fixture.js';
import type { StatusFact, TaskFacts } from '../../src/core/facts.js';
import { decodeSchedulerMessageDeletedTasks } from '../../src/core/aurora-messages.js';
import { ScheduleStatus, TaskState } from '../../src/core/states.js';
import { defaultConfig } from '../../src/config.js';
import { GC_FINISHED_MESSAGE, runGc } from '../../src/executor/gc-run.js';
import { GcMetrics } from '../../src/executor/metrics.js';
import { silentLogger } from '../../src/log.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { RecordingDriver } from '../helpers/recording-driver.js';
import { FakeServices } from './fake-services.js';

const MIN = 60_000;
const S = ScheduleStatus;

function task(clock: FakeClock, taskId: string, state: 'active' | 'finished', opts: { sandbox?: string; mtimeAgeMs?: number } = {}): TaskFacts {
  const at = clock.now() - 60 * MIN;
  const statuses: StatusFact[] = [{ state: TaskState.ACTIVE, timestampMs: at, runnerPid: 1 }];
  if (state === 'finished') statuses.push({ state: TaskState.SUCCESS, timestampMs: at + 1 });
  return { taskId, root: '/ckpt', state, statuses, runnerMtimeMs: clock.now() - (opts.mtimeAgeMs ?? 30 * MIN), sandbox: opts.sandbox ?? `/sb/${taskId}` };
}

async function gc(services: FakeServices, clock: FakeClock, retained: Record<string, number>, killBudget = 1) {
  const driver = new RecordingDriver();
  const metrics = new GcMetrics();
  const config = { ...defaultConfig(), checkpointRoots: ['/ckpt'], killBudget };
  const report = await runGc(
    { gcTaskId: 'gc-1', retained: new Map(Object.entries(retained)), startMs: clock.now() },
    { services, driver, clock, config, logger: silentLogger(), metrics },
  );
  return { report, driver, metrics };
}

describe('runGc over scripted services', () => {
  it('kills, rescans, deletes the killed task when its executor is gone, and reports it', async () => {
    const clock = new FakeClock();
    const s = new FakeServices().add(task(clock, 'stray', 'active')).add(task(clock, 'keep', 'active'));
    s.linked.add('keep');
    const { report, driver, metrics } = await gc(s, clock, { stray: S.KILLED, keep: S.RUNNING });
    expect(s.calls.filter((c) => c.startsWith('kill'))).toEqual(['kill:stray']);
    expect(report.killed).toEqual(['stray']);
    expect(report.deleted).toEqual(['stray']);
    expect(s.tasks.has('keep')).toBe(true);
    // The killed task's file moved to finished: its metadata path says so.
    expect(s.deletedTargets[0]?.metadataPaths).toContain('/ckpt/tasks/finished/stray');
    expect(decodeSchedulerMessageDeletedTasks(driver.messages[0]!)).toEqual(['stray']);
    expect(driver.updates.at(-1)).toEqual({ taskId: 'gc-1', state: 'TASK_FINISHED', message: GC_FINISHED_MESSAGE });
    expect(metrics.toJSON()).toMatchObject({ gc_runs: 1, kills: 1, tasks_deleted: 1, bytes_reclaimed: 100 });
  });

  it('looks up the links of the tasks still on disk after the kills, not of every executor', async () => {
    const clock = new FakeClock();
    const s = new FakeServices().add(task(clock, 'stray', 'active')).add(task(clock, 'keep', 'active')).add(task(clock, 'done', 'finished'));
    s.linked.add('keep').add('elsewhere');
    await gc(s, clock, { stray: S.KILLED, keep: S.RUNNING, done: S.FINISHED });
    expect(s.linkedAsked.map((ids) => (ids === undefined ? undefined : [...ids].sort()))).toEqual([['done', 'keep', 'stray']]);
  });

  it('warns about an active task still on disk whose executor Mesos no longer keeps, and only about it', async () => {
    const clock = new FakeClock();
    const s = new FakeServices().add(task(clock, 'pulled', 'active')).add(task(clock, 'kept', 'active')).add(task(clock, 'done', 'finished'));
    s.linked.add('kept');
    const { logger, lines } = recordingLogger();
    const config = { ...defaultConfig(), checkpointRoots: ['/ckpt'] };
    await runGc(
      { gcTaskId: 'gc-1', retained: new Map([['pulled', S.RUNNING], ['kept', S.RUNNING], ['done', S.FINISHED]]), startMs: clock.now() },
      { services: s, driver: new RecordingDriver(), clock, config, logger, metrics: new GcMetrics() },
    );
    const pulled = lines.filter((l) => /executor sandbox pulled/.test(l.msg));
    expect(pulled.map((l) => l.taskId)).toEqual(['pulled']);
  });

  it('a failed kill deletes the task only when its checkpoint is stale', async () => {
    const clock = new FakeClock();
    const s = new FakeServices().add(task(clock, 'stale', 'active')).add(task(clock, 'fresh', 'active', { mtimeAgeMs: MIN }));
    s.failKills.add('stale').add('fresh');
    s.linked.add('stale').add('fresh');
    const { report } = await gc(s, clock, { other: S.RUNNING });
    expect(report.killFailed.sort()).toEqual(['fresh', 'stale']);
    expect(report.garbageCollect).toEqual(['stale']);
    expect(s.deletedTargets.map((t) => [t.taskId, t.reason])).toEqual([['stale', 'stale-checkpoint']]);
  });

  it('a task whose metadata deletion failed is not reported deleted; remote gc ones always are', async () => {
    const clock = new FakeClock();
    const s = new FakeServices().add(task(clock, 'a', 'finished')).add(task(clock, 'b', 'finished'));
    s.failMetadata.add('b');
    const { report, driver, metrics } = await gc(s, clock, { a: S.FINISHED, b: S.FINISHED, gone: S.LOST });
    expect(report.deleted).toEqual(['a']);
    expect(report.deleteFailed).toEqual(['b']);
    expect(decodeSchedulerMessageDeletedTasks(driver.messages[0]!).sort()).toEqual(['a', 'gone']);
    expect(metrics.tasks_deleted).toBe(1);
  });

  it('a sandbox shared with a kept task is not deleted, the rest of the task is', async () => {
    const clock = new FakeClock();
    const s = new FakeServices().add(task(clock, 'old', 'finished', { sandbox: '/sb/shared' })).add(task(clock, 'live', 'active', { sandbox: '/sb/shared' }));
    s.linked.add('live');
    const { report } = await gc(s, clock, { live: S.RUNNING });
    expect(s.deletedTargets).toHaveLength(1);
    expect(s.deletedTargets[0]?.sandbox).toBeUndefined();
    expect(report.refused).toEqual([{ taskId: 'old', path: '/sb/shared', reason: 'kept-task-shares-sandbox' }]);
    expect(report.deleted).toEqual(['old']);
  });

  it('sends no framework message when nothing was deleted', async () => {
    const clock = new FakeClock();
    const s = new FakeServices().add(task(clock, 'live', 'active'));
    s.linked.add('live');
    const { driver } = await gc(s, clock, { live: S.RUNNING, starting: S.STARTING });
    expect(driver.messages).toEqual([]);
    expect(driver.updates).toEqual([{ taskId: 'gc-1', state: 'TASK_FINISHED', message: GC_FINISHED_MESSAGE }]);
  });

  it('sends status updates for tasks the scheduler has wrong, before any kill', async () => {
    const clock = new FakeClock();
    const s = new FakeServices().add(task(clock, 'done', 'finished'));
    s.linked.add('done');
    const { driver } = await gc(s, clock, { done: S.RUNNING, ghost: S.RUNNING });
    expect(driver.updates.slice(0, 2)).toEqual([
      { taskId: 'done', state: 'TASK_FINISHED', message: 'Task finish detected by GC executor.' },
      { taskId: 'ghost', state: 'TASK_LOST', message: 'GC executor found no trace of task.' },
    ]);
  });

  it('kill budget: kills none, deletes no would-be-killed task, still deletes finished ones, says so', async () => {
    const clock = new FakeClock();
    const s = new FakeServices().add(task(clock, 'a1', 'active')).add(task(clock, 'a2', 'active')).add(task(clock, 'done', 'finished'));
    const { report, driver, metrics } = await gc(s, clock, { x: S.RUNNING }, 0.5);
    expect(s.calls.some((c) => c.startsWith('kill:'))).toBe(false);
    expect(report.garbageCollect).toEqual(['done']);
    expect(report.killBudgetExceeded).toEqual({ wouldKill: 2, active: 2, budget: 0.5, why: 'share' });
    expect(metrics.kill_budget_exceeded).toBe(1);
    expect(driver.updates.at(-1)?.message).toMatch(/^Garbage collection finished\. kill budget exceeded/);
  });
});
