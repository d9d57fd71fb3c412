// Issue 5's done-when, end to end: the executor process kills an unretained old task's real
// runner, coordinator, process and grandchild and finalizes its checkpoint, while a retained
// task's runner keeps running; the GC task finishes.
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeAdjustRetainedTasks } from '../../src/core/aurora-messages.js';
import { replayCheckpoint } from '../../src/core/checkpoint/replay.js';
import { ScheduleStatus, TaskState } from '../../src/core/states.js';
import { runnerCheckpointPath, taskFilePath } from '../../src/io/checkpoint-paths.js';
import { AgentSimulator } from '../../src/sim/agent-simulator.js';
import { processRun, writeTask } from '../helpers/checkpoint-builder.js';
import { fakeRunnerProcessRun, isRunning, killAllTracked, procStartTimeMs, startFakeRunner, waitUntilGone, type FakeRunnerPids } from '../helpers/fake-runner.js';
import { QUICK_FLAGS, ensureBuilt, expectAgentHappy, hasState, killExecutors, spawnExecutor, tempDir, updatesFor, writeStuckTask } from './harness.js';

const HOUR = 3_600_000;

let dir: string;
let cleanup: () => Promise<void>;
let sim: AgentSimulator;

beforeAll(async () => {
  await ensureBuilt();
  ({ dir, cleanup } = await tempDir('thermos-gc-e2e-kill-'));
  sim = await AgentSimulator.start();
});
afterEach(() => {
  killExecutors();
  killAllTracked();
});
afterAll(async () => {
  await sim.stop();
  await cleanup();
});

/** A live task: a fake runner holding the lock, first seen an hour ago (an earlier runner), then this runner. */
async function liveTask(root: string, mesos: string, taskId: string): Promise<FakeRunnerPids> {
  const { pids } = await startFakeRunner(runnerCheckpointPath(root, taskId));
  const uid = process.getuid?.() ?? 0;
  const launch = Date.now() - HOUR;
  await writeTask(root, {
    taskId,
    state: 'active',
    header: { taskId, launchTimeMs: launch, sandbox: path.join(mesos, 'sandboxes', taskId), hostname: 'localhost', user: 'root', uid },
    statuses: [
      { state: TaskState.ACTIVE, timestampMs: launch, runnerPid: 4_190_001, runnerUid: uid },
      { state: TaskState.ACTIVE, timestampMs: procStartTimeMs(pids.runner), runnerPid: pids.runner, runnerUid: uid },
    ],
    processes: {
      hello: fakeRunnerProcessRun('hello', pids),
    },
  });
  // Mesos still keeps its executor: the killed task stays on disk (finalized), not deleted.
  const runs = path.join(mesos, 'slaves', 'S0', 'frameworks', 'F0', 'executors', `thermos-${taskId}`, 'runs');
  await mkdir(path.join(runs, 'R1'), { recursive: true });
  await symlink('R1', path.join(runs, 'latest'));
  return pids;
}

describe('killing real processes through the executor', () => {
  it('kills the unretained task and finalizes it; the retained one keeps running', async () => {
    const root = path.join(dir, 'ckpt');
    const mesos = path.join(dir, 'mesos');
    await mkdir(path.join(root, 'tasks', 'finished'), { recursive: true });
    const doomed = await liveTask(root, mesos, 'unretained-old');
    const kept = await liveTask(root, mesos, 'retained-running');
    const sandbox = path.join(dir, 'sandbox');
    await mkdir(sandbox);

    const ex = spawnExecutor(sim, ['--checkpoint-root', root, '--mesos-root', mesos, ...QUICK_FLAGS], { sandbox });
    await sim.waitFor(() => sim.subscribed, 15_000, 'the executor to subscribe');
    sim.launch('gc-kill', encodeAdjustRetainedTasks(new Map([['retained-running', ScheduleStatus.RUNNING]])));
    await sim.waitFor(() => hasState(sim, 'gc-kill', 'TASK_FINISHED'), 30_000, 'TASK_FINISHED for gc-kill');

    expect(await waitUntilGone([doomed.runner, doomed.coordinator, doomed.process, doomed.grandchild])).toBe(true);
    expect([kept.runner, kept.coordinator, kept.process, kept.grandchild].every(isRunning)).toBe(true);

    expect(existsSync(taskFilePath(root, 'active', 'unretained-old'))).toBe(false);
    expect(existsSync(taskFilePath(root, 'finished', 'unretained-old'))).toBe(true);
    const state = replayCheckpoint(await readFile(runnerCheckpointPath(root, 'unretained-old')));
    expect(state.statuses.at(-1)?.state).toBe(TaskState.KILLED);
    expect(existsSync(taskFilePath(root, 'active', 'retained-running'))).toBe(true);

    // The killed task's own status goes to the scheduler only through the next GC task; this one
    // says nothing about either task (both known or killed), and finishes.
    expect(updatesFor(sim, 'retained-running')).toEqual([]);
    sim.shutdown();
    expect((await ex.exited).code).toBe(0);
    expectAgentHappy(sim);
  });

  it('SHUTDOWN during a run that cannot finish: aborts and exits at the grace-period deadline', async () => {
    const root = path.join(dir, 'ckpt-stuck');
    const mesos = path.join(dir, 'mesos-stuck');
    // The lock holder is not the recorded runner, so the killer will not kill it and waits for the lock.
    await writeStuckTask(root, mesos, 4_190_005);
    const sandbox = path.join(dir, 'sandbox-stuck');
    await mkdir(sandbox);
    const ex = spawnExecutor(sim, ['--checkpoint-root', root, '--mesos-root', mesos, ...QUICK_FLAGS, '--lock-timeout', '60s', '--kill-budget', '100%'], {
      sandbox,
      shutdownGracePeriod: '1secs',
    });
    await sim.waitFor(() => sim.subscribed, 15_000, 'the executor to subscribe');
    sim.launch('gc-stuck', encodeAdjustRetainedTasks(new Map([['elsewhere', ScheduleStatus.RUNNING]])));
    const log = path.join(sandbox, 'executor_logs', 'thermos-gc.log');
    const logged = async (msg: string): Promise<boolean> => existsSync(log) && (await readFile(log, 'utf8')).includes(msg);
    for (let i = 0; i < 500 && !(await logged('launching garbage collection')); i++) await new Promise((r) => setTimeout(r, 10));

    sim.shutdown();
    const exit = await ex.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await logged('shutdown deadline reached'), await readFile(log, 'utf8')).toBe(true);
    expect(hasState(sim, 'gc-stuck', 'TASK_FINISHED')).toBe(false);
  });
});
