// Several agent restarts, one of them while a GC run is under way, then a SHUTDOWN in the middle
// of the next run: no update is lost, none comes back once acknowledged, the deleted-tasks
// message arrives, and no retained live task loses a file.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeSchedulerMessageDeletedTasks, encodeAdjustRetainedTasks } from '../../src/core/aurora-messages.js';
import { classifyScheduleStatus } from '../../src/core/states.js';
import { AgentSimulator } from '../../src/sim/agent-simulator.js';
import {
  QUICK_FLAGS, RESTART_WINDOW_MS, agentArgs, denseAgent, ensureBuilt, expectAgentHappy, hasState, killExecutors, runPlan, spawnExecutor, tempDir,
} from './harness.js';

const DAY = 86_400_000;
let dir: string;
let cleanup: () => Promise<void>;
const sims: AgentSimulator[] = [];

beforeAll(async () => {
  await ensureBuilt();
  ({ dir, cleanup } = await tempDir('thermos-gc-e2e-restarts-'));
});
afterEach(async () => {
  killExecutors();
  for (const s of sims.splice(0)) await s.stop();
});
afterAll(async () => {
  await cleanup();
});

describe('several agent restarts and a SHUTDOWN mid-run', () => {
  it('loses no update, duplicates none after acknowledgement, and keeps every retained live task', async () => {
    const agent = await denseAgent(path.join(dir, 'agent'), { tasks: 400, ageMs: DAY, seed: 11, filesPerSandbox: 4 });
    const sim = await AgentSimulator.start({ autoAck: true, reregistrationTimeoutMs: RESTART_WINDOW_MS });
    sims.push(sim);
    const sandbox = path.join(dir, 'sandbox');
    await mkdir(sandbox);
    const ex = spawnExecutor(sim, [...agentArgs(agent), ...QUICK_FLAGS], { sandbox });
    await sim.waitFor(() => sim.subscribed, 15_000, 'the executor to subscribe');

    // A restart before any GC task.
    await sim.restart({ downMs: 150, recoveringMs: 100 });
    await sim.waitFor(() => sim.subscriptions.length >= 2 && sim.subscribed, 15_000, 'resubscription 1');

    const plan = await runPlan(agent, agent.retained, Date.now() / 1000, dir);
    expect(Object.keys(plan.updates).length).toBeGreaterThan(5);
    sim.launch('gc-1', encodeAdjustRetainedTasks(agent.retained));
    // Two restarts while the run is under way: after its first update, and again at once.
    await sim.waitFor(() => sim.updates.length > 0, 15_000, 'the first update of gc-1');
    await sim.restart({ downMs: 200 });
    await sim.waitFor(() => sim.subscriptions.length >= 3 && sim.subscribed, 15_000, 'resubscription 2');
    await sim.restart({ downMs: 100, recoveringMs: 300 });
    await sim.waitFor(() => sim.subscriptions.length >= 4 && sim.subscribed, 15_000, 'resubscription 3');
    // gc-1's TASK_FINISHED rides in a re-SUBSCRIBE; the run's updates about Aurora tasks are POSTed
    // once the agent takes calls again (503 until its re-registration window ends), so they may come after it.
    const planned = Object.keys(plan.updates);
    const received = (): Set<string> => new Set(sim.updates.map((u) => u.status.task_id.value));
    await sim.waitFor(
      () => hasState(sim, 'gc-1', 'TASK_FINISHED') && sim.unacknowledged().length === 0 && planned.every((id) => received().has(id))
        && sim.messages.length >= 1,
      30_000,
      'gc-1 finished and acknowledged, every planned update and the deleted-tasks message received',
    );

    // No update lost and none duplicated: one uuid per task, and exactly the tasks plan named.
    const uuidsByTask = new Map<string, Set<string>>();
    for (const u of sim.updates) {
      const id = u.status.task_id.value;
      uuidsByTask.set(id, (uuidsByTask.get(id) ?? new Set()).add(u.status.uuid ?? ''));
    }
    expect([...uuidsByTask.keys()].sort()).toEqual([...Object.keys(plan.updates), 'gc-1'].sort());
    for (const [id, uuids] of uuidsByTask) expect({ id, uuids: uuids.size }).toEqual({ id, uuids: 1 });
    // The deleted-tasks message made it across the restarts (resent copies carry the same ids).
    expect(sim.messages.length).toBeGreaterThanOrEqual(1);
    for (const m of sim.messages) expect(decodeSchedulerMessageDeletedTasks(m).sort()).toEqual(plan.deleted_tasks);

    // Next GC task, with a SHUTDOWN right behind it: the executor exits cleanly within the grace period.
    sim.launch('gc-2', encodeAdjustRetainedTasks(agent.retained));
    sim.shutdown();
    const exit = await ex.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expectAgentHappy(sim);

    // What the scheduler retains as live or starting and is active here kept its sandbox.
    for (const id of agent.taskIds.active) {
      const status = agent.retained.get(id);
      if (status === undefined || classifyScheduleStatus(status) === 'terminal') continue;
      expect(existsSync(agent.sandboxes.get(id)!), id).toBe(true);
    }
    // And what plan said goes is gone.
    for (const id of plan.garbage_collect) expect(existsSync(agent.sandboxes.get(id)!), id).toBe(false);
  });
});
