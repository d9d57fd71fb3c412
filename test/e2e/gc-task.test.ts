// A GC task end to end: the real executor process does exactly what `thermos-gc plan` predicts for
// the same tree and scheduler view (updates, deletions on disk, deleted-tasks message), finishes
// the GC task, and exits 0 on SHUTDOWN.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSchedulerMessageDeletedTasks, encodeAdjustRetainedTasks } from '../../src/core/aurora-messages.js';
import { EXECUTOR_VARS_FILE, type MetricsSnapshot } from '../../src/executor/metrics.js';
import { LAST_RUN_FILE } from '../../src/executor/run-report-file.js';
import type { GcRunReport } from '../../src/executor/gc-run.js';
import { checkpointDir, taskFilePath } from '../../src/io/checkpoint-paths.js';
import { AgentSimulator } from '../../src/sim/agent-simulator.js';
import type { DenseAgent } from '../../src/sim/dense-agent.js';
import { typicalActiveTask, writeTask } from '../helpers/checkpoint-builder.js';
import {
  QUICK_FLAGS, agentArgs, denseAgent, ensureBuilt, expectAgentHappy, hasState, killExecutors, readJson, runPlan, spawnExecutor, tempDir, updatesFor,
} from './harness.js';

const DAY = 86_400_000;
const YOUNG = ['young-absent-0', 'young-absent-1'];

describe('a GC task against a dense agent (real executor process, real HTTP)', () => {
  let cleanup: () => Promise<void>;
  let dir: string;
  let agent: DenseAgent;
  let sim: AgentSimulator;

  beforeAll(async () => {
    await ensureBuilt();
    ({ dir, cleanup } = await tempDir('thermos-gc-e2e-'));
    agent = await denseAgent(path.join(dir, 'agent'), { tasks: 300, ageMs: DAY, seed: 7 });
    // Active, absent from the view, launched a minute ago: far inside the 10-minute kill age.
    for (const id of YOUNG) {
      await writeTask(agent.checkpointRoot, typicalActiveTask(id, { launchTimeMs: Date.now() - 60_000, runnerPid: 4_190_000, uid: 0, sandbox: path.join(agent.sandboxRoot, id) }));
    }
    sim = await AgentSimulator.start();
  });

  afterAll(async () => {
    killExecutors();
    await sim.stop();
    await cleanup();
  });

  it('does what plan predicts, then exits 0 on SHUTDOWN', async () => {
    const sandbox = path.join(dir, 'executor-sandbox');
    await mkdir(sandbox);
    // Two worker threads: the pool services end to end.
    const ex = spawnExecutor(sim, [...agentArgs(agent), ...QUICK_FLAGS, '--workers', '2'], { sandbox, shutdownGracePeriod: '5secs' });
    await sim.waitFor(() => sim.subscribed, 15_000, 'the executor to subscribe');

    // The plan, for the same tree and view, "received" now.
    const plan = await runPlan(agent, agent.retained, Date.now() / 1000, dir);
    expect(plan.terminate.length).toBeGreaterThan(0);
    expect(plan.garbage_collect.length).toBeGreaterThan(0);
    expect(plan.deleted_tasks.length).toBeGreaterThan(0);
    for (const id of YOUNG) expect(plan.terminate).not.toContain(id);

    const localBefore = [...agent.taskIds.active, ...agent.taskIds.finished, ...YOUNG];
    sim.launch('gc-1', encodeAdjustRetainedTasks(agent.retained));
    await sim.waitFor(() => hasState(sim, 'gc-1', 'TASK_FINISHED'), 30_000, 'TASK_FINISHED for gc-1');

    // Status updates: exactly the plan's, one each (TASK_<ScheduleStatus> for these states).
    const sent = new Map<string, string[]>();
    for (const u of sim.updates) {
      const id = u.status.task_id.value;
      if (id !== 'gc-1') sent.set(id, [...(sent.get(id) ?? []), u.status.state]);
    }
    expect(Object.fromEntries(sent)).toEqual(Object.fromEntries(Object.entries(plan.updates).map(([id, s]) => [id, [`TASK_${s}`]])));
    expect(updatesFor(sim, 'gc-1').map((s) => s.state)).toEqual(['TASK_FINISHED']);

    // One deleted-tasks message, listing exactly the plan's ids.
    expect(sim.messages).toHaveLength(1);
    expect(decodeSchedulerMessageDeletedTasks(sim.messages[0]!).sort()).toEqual(plan.deleted_tasks);

    // The tree: garbage-collected tasks are gone (task file, checkpoints, sandbox); the rest stay,
    // killed ones moved to finished.
    const gc = new Set(plan.garbage_collect);
    const terminated = new Set(plan.terminate);
    const root = agent.checkpointRoot;
    for (const id of localBefore) {
      const where = existsSync(taskFilePath(root, 'active', id)) ? 'active' : existsSync(taskFilePath(root, 'finished', id)) ? 'finished' : 'gone';
      if (gc.has(id)) {
        expect({ id, where }).toEqual({ id, where: 'gone' });
        expect(existsSync(checkpointDir(root, id))).toBe(false);
        expect(existsSync(path.join(agent.sandboxRoot, id))).toBe(false);
      } else {
        const expected = terminated.has(id) || agent.taskIds.finished.includes(id) ? 'finished' : 'active';
        expect({ id, where }).toEqual({ id, where: expected });
        if (!YOUNG.includes(id)) expect(existsSync(path.join(agent.sandboxRoot, id))).toBe(true);
      }
    }

    sim.shutdown();
    const exit = await ex.exited;
    expect(exit, ex.stderr()).toEqual({ code: 0, signal: null });

    const vars = await readJson<MetricsSnapshot>(path.join(sandbox, EXECUTOR_VARS_FILE));
    // Every update about Aurora's tasks was accepted and forgotten (the agent acknowledges them to
    // their own executors, never to this one); none was refused; nothing waits.
    expect(vars).toMatchObject({
      gc_runs: 1, tasks_deleted: gc.size, kills: terminated.size, updates_pending_ack: 0,
      calls_rejected: 0, foreign_updates_sent: Object.keys(plan.updates).length,
    });
    expectAgentHappy(sim);
    expect(vars.bytes_reclaimed).toBeGreaterThan(0);
    const report = await readJson<GcRunReport>(path.join(sandbox, LAST_RUN_FILE));
    expect(report.deleted).toEqual(plan.garbage_collect);
    const log = await readFile(path.join(sandbox, 'executor_logs', 'thermos-gc.log'), 'utf8');
    const events = log.trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    expect(events.filter((e) => e.msg === 'garbage collection finished')).toHaveLength(1);
    expect(events.some((e) => e.msg === 'executor stopped cleanly')).toBe(true);
  });
});
