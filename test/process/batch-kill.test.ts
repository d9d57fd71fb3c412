// Kills in batches: one process snapshot for the whole batch, and the guard between that
// snapshot and each signal: every pid is read again from /proc just before its SIGKILL, and one
// that is no longer the process the snapshot showed (pid reuse) is not signalled.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replayCheckpoint } from '../../src/core/checkpoint/replay.js';
import type { RunnerHeader } from '../../src/core/records.js';
import { ProcessState, TaskState } from '../../src/core/states.js';
import { runnerCheckpointPath } from '../../src/io/checkpoint-paths.js';
import { buildSnapshot, liveSnapshotProvider, rereadProcess, type SnapshotProvider } from '../../src/io/process-table.js';
import { TaskKiller, type TaskKillerOptions } from '../../src/io/task-killer.js';
import { silentLogger } from '../../src/log.js';
import { makeCheckpointRoot, processRun, writeTask } from '../helpers/checkpoint-builder.js';
import { fakeRunnerProcessRun, isRunning, killAllTracked, procStartTimeMs, startFakeRunner, startSleeper, waitUntilGone, type FakeRunnerPids } from '../helpers/fake-runner.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await makeCheckpointRoot());
});
afterEach(async () => {
  killAllTracked();
  await cleanup();
});
afterAll(() => killAllTracked());

function header(taskId: string): RunnerHeader {
  return { taskId, launchTimeMs: Date.now() - 60_000, sandbox: '/nonexistent/sandbox', hostname: os.hostname(), user: 'root', uid: 0 };
}

function killer(over: Partial<TaskKillerOptions> = {}): TaskKiller {
  return new TaskKiller({ snapshot: liveSnapshotProvider, logger: silentLogger(), maxPidDriftMs: 10_000, lockTimeoutMs: 5_000, ...over });
}

/** A task whose real runner holds the lock, with a coordinator, a process and a grandchild. */
async function liveTask(taskId: string): Promise<FakeRunnerPids> {
  const { pids } = await startFakeRunner(runnerCheckpointPath(root, taskId));
  await writeTask(root, {
    taskId,
    state: 'active',
    header: header(taskId),
    statuses: [{ state: TaskState.ACTIVE, timestampMs: procStartTimeMs(pids.runner), runnerPid: pids.runner, runnerUid: 0 }],
    processes: {
      hello: fakeRunnerProcessRun('hello', pids),
    },
  });
  return pids;
}

/** An active task, started an hour ago, whose one process `svc` is the (real) process `pid`; its runner is gone. */
async function sleeperTask(taskId: string, pid: number, deadRunnerPid: number): Promise<void> {
  await writeTask(root, {
    taskId,
    state: 'active',
    header: header(taskId),
    statuses: [{ state: TaskState.ACTIVE, timestampMs: Date.now() - 3_600_000, runnerPid: deadRunnerPid, runnerUid: 0 }],
    processes: { svc: processRun('svc', { final: 'RUNNING', pid, startTime: procStartTimeMs(pid) / 1000 }) },
  });
}

describe('TaskKiller.killMany', () => {
  it('kills a batch of live tasks with one process snapshot', async () => {
    const tasks = await Promise.all(['a', 'b', 'c'].map(async (id) => ({ id, pids: await liveTask(`batch-${id}`) })));
    const asked: number[][] = [];
    const counting: SnapshotProvider = (pids) => (asked.push([...pids]), liveSnapshotProvider(pids));

    const results = await killer({ snapshot: counting, parallelism: 2 }).killMany(tasks.map((t) => ({ root, taskId: `batch-${t.id}` })));

    expect(asked).toHaveLength(1);
    for (const t of tasks) expect(asked[0]).toEqual(expect.arrayContaining([t.pids.runner, t.pids.coordinator, t.pids.process]));
    expect(results.map((r) => [r.taskId, r.result?.outcome])).toEqual(tasks.map((t) => [`batch-${t.id}`, 'killed']));
    const all = tasks.flatMap((t) => [t.pids.runner, t.pids.coordinator, t.pids.process, t.pids.grandchild]);
    expect(await waitUntilGone(all)).toBe(true);
    for (const t of tasks) {
      const state = replayCheckpoint(await readFile(runnerCheckpointPath(root, `batch-${t.id}`)));
      expect(state.statuses.at(-1)?.state).toBe(TaskState.KILLED);
    }
  });

  it('one task that cannot be killed does not stop the others', async () => {
    const ok = await liveTask('fine');
    await writeTask(root, { taskId: 'corrupt', state: 'active', statuses: [], runnerBytes: Buffer.from([0, 0, 0, 9, 1, 2]) });
    const results = await killer().killMany([{ root, taskId: 'corrupt' }, { root, taskId: 'fine' }]);
    expect(results[0]).toMatchObject({ taskId: 'corrupt', error: expect.objectContaining({ code: 'ERR_KILL' }) });
    expect(results[1]?.result?.outcome).toBe('killed');
    expect(await waitUntilGone([ok.runner, ok.process])).toBe(true);
  });
});

describe('the re-read guard between snapshot and signal', () => {
  it('a pid whose start time changed since the snapshot is not signalled (real /proc read)', async () => {
    const taskId = 'reused-since-snapshot';
    const proc = await startSleeper();
    const coord = await startSleeper();
    const pid = proc.pid as number;
    const coordPid = coord.pid as number;
    // The checkpoint and the snapshot agree on a process that started 5 s before the one that
    // now holds the pid: as if it died after the snapshot and its pid went to a new process.
    const recorded = (p: number): number => procStartTimeMs(p) - 5_000;
    await writeTask(root, {
      taskId,
      state: 'active',
      header: header(taskId),
      statuses: [{ state: TaskState.ACTIVE, timestampMs: Date.now() - 3_600_000, runnerPid: 4_190_077, runnerUid: 0 }],
      processes: {
        svc: processRun('svc', { final: 'RUNNING', coordinatorPid: coordPid, forkTime: recorded(coordPid) / 1000, pid, startTime: recorded(pid) / 1000 }),
      },
    });
    const stale: SnapshotProvider = async (pids) => {
      const live = await liveSnapshotProvider(pids);
      return buildSnapshot([...live.processes.values()].map((p) => (p.pid === pid || p.pid === coordPid ? { ...p, startTimeMs: recorded(p.pid) } : p)));
    };

    const result = await killer({ snapshot: stale }).kill(root, taskId);

    expect(result.killedPids).toEqual([]);
    expect(isRunning(pid)).toBe(true);
    expect(isRunning(coordPid)).toBe(true);
    const why = result.skippedPids.filter((s) => s.pid === pid || s.pid === -coordPid || s.pid === coordPid).map((s) => s.why).join('\n');
    expect(why).toMatch(/svc process: pid reused since the snapshot \(started at \d+, not \d+ as checked\): not signalled/);
    expect(why).toMatch(/svc coordinator: pid reused since the snapshot/);
    // Nothing was killed, so the run is recorded LOST, not KILLED.
    const state = replayCheckpoint(await readFile(runnerCheckpointPath(root, taskId)));
    expect(state.processes['svc']?.at(-1)?.state).toBe(ProcessState.LOST);
  });

  it('a pid whose uid changed since the snapshot is not signalled', async () => {
    const taskId = 'uid-changed';
    const proc = await startSleeper();
    const pid = proc.pid as number;
    await sleeperTask(taskId, pid, 4_190_078);
    const reread = async (p: number) => {
      const now = await rereadProcess(p);
      return now === undefined || p !== pid ? now : { ...now, realUid: 65534 };
    };
    const result = await killer({ reread }).kill(root, taskId);
    expect(result.killedPids).toEqual([]);
    expect(isRunning(pid)).toBe(true);
    expect(result.skippedPids.map((s) => s.why).join()).toMatch(/uid 65534, not 0 as checked/);
  });

  it('a pid gone between snapshot and signal is simply gone: no signal, no error', async () => {
    const taskId = 'gone-since-snapshot';
    const proc = await startSleeper();
    const pid = proc.pid as number;
    await sleeperTask(taskId, pid, 4_190_079);
    const result = await killer({ reread: async () => undefined }).kill(root, taskId);
    expect(result.outcome).toBe('killed');
    expect(result.killedPids).toEqual([]);
    expect(isRunning(pid)).toBe(true);
  });
});
