// The generator writes what it says: the project's own detection, replay and executor scan see
// the tasks, states, sandboxes and linked executors it reports. Same seed, same agent.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyScheduleStatus, TaskState } from '../../src/core/states.js';
import { linkedExecutors } from '../../src/io/executor-detector.js';
import { detectTasks } from '../../src/io/task-detector.js';
import { readTaskFacts } from '../../src/io/task-facts-reader.js';
import type { DenseAgent } from '../../src/sim/dense-agent.js';
import { NOW_MS, agentIn, removeDir, tempDir } from './agent-fixture.js';

describe('generateAgent', () => {
  let dirs: string[];
  let a: DenseAgent;
  let b: DenseAgent;
  beforeAll(async () => {
    dirs = [await tempDir(), await tempDir()];
    a = await agentIn(dirs[0] as string, { tasks: 120, processesPerTask: 2, runsPerProcess: 2 });
    b = await agentIn(dirs[1] as string, { tasks: 120, processesPerTask: 2, runsPerProcess: 2 });
  });
  afterAll(async () => {
    for (const d of dirs) await removeDir(d);
  });

  it('is deterministic for a seed', () => {
    expect(b.taskIds).toEqual(a.taskIds);
    expect([...b.retained]).toEqual([...a.retained]);
    expect([...b.linked]).toEqual([...a.linked]);
  });

  it('writes the tasks and linked executors the project detects', async () => {
    const found = await detectTasks([a.checkpointRoot]);
    expect(found.rejected).toEqual([]);
    expect(found.tasks.filter((t) => t.state === 'active').map((t) => t.taskId).sort()).toEqual([...a.taskIds.active].sort());
    expect(found.tasks.filter((t) => t.state === 'finished').map((t) => t.taskId).sort()).toEqual([...a.taskIds.finished].sort());
    expect([...(await linkedExecutors(a.mesosRoot))].sort()).toEqual([...a.linked].sort());
    // Unlinked executors exist too, with only a dangling `latest` (or nothing at all).
    const executors = await readdir(path.join(a.mesosRoot, 'slaves/S0/frameworks/F0/executors'));
    expect(executors.length).toBeGreaterThan(a.linked.size);
  });

  it('writes checkpoints that replay to the task state, sandbox and log runs', async () => {
    for (const [state, ids] of [['active', a.taskIds.active], ['finished', a.taskIds.finished]] as const) {
      for (const taskId of ids.slice(0, 10)) {
        const f = await readTaskFacts({ taskId, root: a.checkpointRoot, state });
        expect(f.error).toBeUndefined();
        expect(f.sandbox).toBe(a.sandboxes.get(taskId));
        expect(f.processRuns).toEqual({ proc0: 2, proc1: 2 });
        const last = f.statuses.at(-1)?.state;
        if (state === 'active') expect(last).toBe(TaskState.ACTIVE);
        else expect(last).not.toBe(TaskState.ACTIVE);
        expect(f.launchTimeMs).toBeLessThanOrEqual(NOW_MS - 2 * 24 * 3_600_000);
        expect(f.runnerMtimeMs).toBeLessThanOrEqual(NOW_MS - 2 * 24 * 3_600_000);
        expect((await readdir(f.sandbox ?? '')).sort()).toEqual(['data', 'f0']);
      }
    }
  });

  it('gives a scheduler view with every class: live, starting, terminal, absent, scheduler-only', () => {
    const local = [...a.taskIds.active, ...a.taskIds.finished];
    const classes = new Set(local.map((id) => (a.retained.has(id) ? classifyScheduleStatus(a.retained.get(id) as number) : 'absent')));
    expect(classes).toEqual(new Set(['active', 'starting', 'terminal', 'absent']));
    expect(a.schedulerOnly.length).toBeGreaterThan(0);
    for (const id of a.schedulerOnly) expect(a.retained.has(id)).toBe(true);
  });
});
