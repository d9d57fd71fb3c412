// A scheduler view that would kill the node: the kill budget at the level of a whole GC run.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileConfig, configParseArgsOptions } from '../../src/config.js';
import { ScheduleStatus } from '../../src/core/states.js';
import { writeTask } from '../helpers/checkpoint-builder.js';
import { addExecutor, addTaskFiles, exists, gc, makeAgent, snapshotTree, type Agent } from './agent-fixture.js';

let agent: Agent | undefined;
afterEach(async () => {
  await agent?.cleanup();
  agent = undefined;
});

/** `n` old active tasks a1..an (linked) and finished, unretained, collected f1, f2. */
async function node(n: number, raw: Parameters<typeof makeAgent>[0] = {}): Promise<Agent> {
  const a = (agent = await makeAgent(raw));
  for (let i = 1; i <= n; i++) {
    const spec = a.active(`a${i}`);
    await writeTask(a.root, spec);
    await addTaskFiles(spec);
    await addExecutor(a.mesos, `a${i}`, i % 2 === 0);
  }
  for (const id of ['f1', 'f2']) {
    const spec = a.finished(id);
    await writeTask(a.root, spec);
    await addTaskFiles(spec);
    await addExecutor(a.mesos, id, false);
  }
  return a;
}

const activeIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `a${i + 1}`);

async function activeSnapshots(a: Agent, ids: readonly string[]): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  for (const id of ids) {
    out.set(`${id}/ckpt`, await snapshotTree(path.join(a.root, 'checkpoints', id)));
    out.set(`${id}/sandbox`, await snapshotTree(a.sandbox(id)));
  }
  return out;
}

describe('kill budget at run level', () => {
  it('an empty map while tasks are active kills none, says so, counts it, and still deletes finished tasks', async () => {
    const a = await node(3);
    const before = await activeSnapshots(a, activeIds(3));
    const { report, driver, metrics, lines } = await gc(a, new Map());

    expect(report.killed).toEqual([]);
    expect(report.killBudgetExceeded).toMatchObject({ why: 'empty-map', wouldKill: 3, active: 3 });
    const finished = driver.updates.at(-1);
    expect(finished).toMatchObject({ taskId: 'gc-1', state: 'TASK_FINISHED' });
    expect(finished?.message).toMatch(/kill budget exceeded: the scheduler's map is empty while 3 task\(s\) are active; killed none of 3/);
    expect(metrics.kill_budget_exceeded).toBe(1);
    expect(lines.some((l) => l.level >= 50 && /kill budget exceeded/.test(l.msg))).toBe(true);
    // Held back: not killed, not deleted as stale; the finished ones are gone.
    expect(await activeSnapshots(a, activeIds(3))).toEqual(before);
    for (const id of activeIds(3)) expect(await exists(path.join(a.root, 'tasks', 'active', id))).toBe(true);
    expect(report.deleted).toEqual(['f1', 'f2']);
    expect(await exists(a.sandbox('f1'))).toBe(false);
  });

  it('a map that would kill more than half of the active tasks kills none', async () => {
    const a = await node(4);
    const before = await activeSnapshots(a, activeIds(4));
    const retained = new Map([
      ['a1', ScheduleStatus.RUNNING],
      ['a2', ScheduleStatus.KILLED],
      ['a3', ScheduleStatus.LOST],
      ['a4', ScheduleStatus.FINISHED],
    ]);
    const { report, driver, metrics } = await gc(a, retained);
    expect(report.killed).toEqual([]);
    expect(report.killBudgetExceeded).toMatchObject({ why: 'share', wouldKill: 3, active: 4, budget: 0.5 });
    expect(driver.updates.at(-1)?.message).toMatch(/would kill 3 of 4 active task\(s\), more than 50%; killed none/);
    expect(metrics.kill_budget_exceeded).toBe(1);
    expect(await activeSnapshots(a, activeIds(4))).toEqual(before);
    expect(report.deleted).toEqual(['f1', 'f2']);
  });

  it('exactly half is within the budget: those kills happen', async () => {
    const a = await node(4);
    const retained = new Map([
      ['a1', ScheduleStatus.RUNNING],
      ['a2', ScheduleStatus.RUNNING],
      ['a3', ScheduleStatus.KILLED],
      ['a4', ScheduleStatus.KILLED],
    ]);
    const { report, metrics } = await gc(a, retained);
    expect(report.killBudgetExceeded).toBeUndefined();
    expect(report.killed).toEqual(['a3', 'a4']);
    expect(metrics.kill_budget_exceeded).toBe(0);
    // a3's executor was collected: deleted in this run; a4 is still linked: kept, now finished.
    expect(report.deleted).toEqual(['a3', 'f1', 'f2']);
    expect(await exists(path.join(a.root, 'tasks', 'finished', 'a4'))).toBe(true);
    expect(await exists(path.join(a.root, 'tasks', 'active', 'a1'))).toBe(true);
  });

  it('is configurable as killBudget (flag --kill-budget, env THERMOS_GC_KILL_BUDGET)', async () => {
    expect(configParseArgsOptions()['kill-budget']).toEqual({ type: 'string' });
    expect(compileConfig({}, { THERMOS_GC_KILL_BUDGET: '0.8' }).killBudget).toBe(0.8);
    expect(compileConfig({ killBudget: '80%' }).killBudget).toBe(0.8);

    const retained = new Map([
      ['a1', ScheduleStatus.RUNNING],
      ['a2', ScheduleStatus.KILLED],
      ['a3', ScheduleStatus.LOST],
      ['a4', ScheduleStatus.FINISHED],
    ]);
    const a = await node(4, { killBudget: '80%' });
    const { report } = await gc(a, retained);
    expect(report.killBudgetExceeded).toBeUndefined();
    expect(report.killed).toEqual(['a2', 'a3', 'a4']);

    // A budget of 0 still allows the one kill of a lone stray, never two.
    const strict = { ...a.config, killBudget: 0 };
    await a.cleanup();
    const b = await node(4);
    const one = await gc(b, new Map([...retained].map(([id, s]) => [id, id === 'a2' ? s : ScheduleStatus.RUNNING])), { config: { ...strict, checkpointRoots: [b.root], mesosRoot: b.mesos, sandboxRoots: [b.sandboxes] } });
    expect(one.report.killed).toEqual(['a2']);
  });
});
