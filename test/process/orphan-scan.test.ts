import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replayCheckpoint } from '../../src/core/checkpoint/replay.js';
import type { TaskRef } from '../../src/core/facts.js';
import { ProcessState, TaskState } from '../../src/core/states.js';
import { ThermosGcError } from '../../src/errors.js';
import { runnerCheckpointPath, taskFilePath } from '../../src/io/checkpoint-paths.js';
import { scanOrphans } from '../../src/io/orphan-scan.js';
import { liveSnapshotProvider } from '../../src/io/process-table.js';
import { readTaskFacts } from '../../src/io/task-facts-reader.js';
import { TaskKiller } from '../../src/io/task-killer.js';
import { silentLogger } from '../../src/log.js';
import { makeCheckpointRoot, processRun, writeTask } from '../helpers/checkpoint-builder.js';
import { isRunning, killAllTracked, procStartTimeMs, startFakeRunner, startSleeper, waitUntilGone } from '../helpers/fake-runner.js';

const HOUR = 3_600_000;
const config = { maxCheckpointDriftMs: HOUR, maxPidDriftMs: 10_000 };
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

const killer = (): TaskKiller =>
  new TaskKiller({ snapshot: liveSnapshotProvider, logger: silentLogger(), maxPidDriftMs: 10_000, lockTimeoutMs: 5000 });

async function deadPid(): Promise<number> {
  const s = await startSleeper();
  const exited = new Promise((r) => s.once('exit', r));
  s.kill('SIGKILL');
  await exited;
  return s.pid as number;
}

const header = (taskId: string) => ({ taskId, launchTimeMs: Date.now() - 5 * HOUR, sandbox: '/nonexistent', user: 'root', uid: 0 });
const ref = (taskId: string): TaskRef => ({ taskId, root, state: 'active' });

describe('scanOrphans (real processes)', () => {
  it('loses a task whose runner is dead and whose checkpoint is quiet, killing its leftover process', async () => {
    const leftover = await startSleeper();
    const leftoverPid = leftover.pid as number;
    await writeTask(root, {
      taskId: 'orphan',
      state: 'active',
      header: header('orphan'),
      statuses: [{ state: TaskState.ACTIVE, timestampMs: Date.now() - 5 * HOUR, runnerPid: await deadPid(), runnerUid: 0 }],
      processes: {
        hello: processRun('hello', {
          final: 'RUNNING',
          coordinatorPid: await deadPid(),
          forkTime: procStartTimeMs(leftoverPid) / 1000,
          pid: leftoverPid,
          startTime: procStartTimeMs(leftoverPid) / 1000,
        }),
      },
      mtimeMs: Date.now() - 2 * HOUR,
    });

    const results = await scanOrphans({
      activeTasks: [ref('orphan')],
      now: Date.now(),
      config,
      snapshot: liveSnapshotProvider,
      killer: killer(),
      logger: silentLogger(),
    });

    expect(results).toEqual([expect.objectContaining({ taskId: 'orphan', root, action: 'lose', lostOk: true })]);
    expect(await waitUntilGone([leftoverPid])).toBe(true);
    const state = replayCheckpoint(await readFile(runnerCheckpointPath(root, 'orphan')));
    expect(state.statuses.at(-1)!.state).toBe(TaskState.LOST);
    expect(state.processes['hello']!.at(-1)).toMatchObject({ state: ProcessState.KILLED, returnCode: -9 });
    expect(existsSync(taskFilePath(root, 'finished', 'orphan'))).toBe(true);
    expect(existsSync(taskFilePath(root, 'active', 'orphan'))).toBe(false);
  });

  it('leaves a dead runner with a fresh checkpoint, a task not started, and a healthy quiet runner', async () => {
    await writeTask(root, {
      taskId: 'fresh',
      state: 'active',
      header: header('fresh'),
      statuses: [{ state: TaskState.ACTIVE, timestampMs: Date.now() - 5 * HOUR, runnerPid: await deadPid(), runnerUid: 0 }],
    });
    await writeTask(root, { taskId: 'unstarted', state: 'active', header: header('unstarted'), statuses: [], mtimeMs: Date.now() - 5 * HOUR });
    const { pids } = await startFakeRunner(runnerCheckpointPath(root, 'healthy'));
    // The runner started a while ago and has not written for two hours: it is quiet, not dead.
    await writeTask(root, {
      taskId: 'healthy',
      state: 'active',
      header: header('healthy'),
      statuses: [{ state: TaskState.ACTIVE, timestampMs: procStartTimeMs(pids.runner) + 200, runnerPid: pids.runner, runnerUid: 0 }],
      mtimeMs: Date.now() - 2 * HOUR,
    });
    // Facts from a scan are used as given (here read by the project's reader).
    const facts = await Promise.all(['fresh', 'unstarted', 'healthy'].map((id) => readTaskFacts(ref(id))));
    const lose: string[] = [];

    const results = await scanOrphans({
      activeTasks: facts,
      now: Date.now(),
      config,
      snapshot: liveSnapshotProvider,
      killer: { lose: async (_root, taskId) => (lose.push(taskId), { taskId, outcome: 'lost', killedPids: [], skippedPids: [] }) },
      logger: silentLogger(),
    });

    expect(results.map((r) => [r.taskId, r.action])).toEqual([
      ['fresh', 'recent-checkpoint'],
      ['unstarted', 'not-started'],
      ['healthy', 'healthy'],
    ]);
    expect(lose).toEqual([]);
    expect(isRunning(pids.runner)).toBe(true);
    for (const id of ['fresh', 'unstarted', 'healthy']) expect(existsSync(taskFilePath(root, 'active', id))).toBe(true);
  });

  it('logs a failed lose and carries on with the next task', async () => {
    for (const id of ['bad', 'good']) {
      await writeTask(root, {
        taskId: id,
        state: 'active',
        header: header(id),
        statuses: [{ state: TaskState.ACTIVE, timestampMs: Date.now() - 5 * HOUR, runnerPid: await deadPid(), runnerUid: 0 }],
        mtimeMs: Date.now() - 2 * HOUR,
      });
    }
    const real = killer();
    const results = await scanOrphans({
      activeTasks: [ref('bad'), ref('good')],
      now: Date.now(),
      config,
      snapshot: liveSnapshotProvider,
      killer: {
        lose: (r, taskId) =>
          taskId === 'bad' ? Promise.reject(new ThermosGcError('ERR_LOCK', 'lock still held', { taskId })) : real.lose(r, taskId),
      },
      logger: silentLogger(),
    });
    expect(results).toEqual([
      expect.objectContaining({ taskId: 'bad', action: 'lose', lostOk: false, error: expect.objectContaining({ code: 'ERR_LOCK' }) }),
      expect.objectContaining({ taskId: 'good', action: 'lose', lostOk: true }),
    ]);
    expect(existsSync(taskFilePath(root, 'finished', 'good'))).toBe(true);
  });
});
