import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replayCheckpoint } from '../../src/core/checkpoint/replay.js';
import type { RunnerHeader } from '../../src/core/records.js';
import { ProcessState, TaskState } from '../../src/core/states.js';
import { runnerCheckpointPath, taskFilePath } from '../../src/io/checkpoint-paths.js';
import { liveSnapshotProvider } from '../../src/io/process-table.js';
import { TaskKiller } from '../../src/io/task-killer.js';
import { silentLogger } from '../../src/log.js';
import { makeCheckpointRoot, processRun, writeTask } from '../helpers/checkpoint-builder.js';
import {
  fakeRunnerProcessRun,
  isRunning,
  killAllTracked,
  procStartTimeMs,
  startFakeRunner,
  startSleeper,
  waitUntilGone,
} from '../helpers/fake-runner.js';

let root: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ root, cleanup } = await makeCheckpointRoot());
});
const readers: ChildProcess[] = [];
afterEach(async () => {
  for (const r of readers.splice(0)) if (r.exitCode === null && r.signalCode === null) r.kill('SIGKILL');
  killAllTracked();
  await cleanup();
});
afterAll(() => killAllTracked());

function killer(lockTimeoutMs = 5000): TaskKiller {
  return new TaskKiller({ snapshot: liveSnapshotProvider, logger: silentLogger(), maxPidDriftMs: 10_000, lockTimeoutMs });
}

function header(taskId: string, uid = 0): RunnerHeader {
  return { taskId, launchTimeMs: Date.now() - 60_000, sandbox: '/nonexistent/sandbox', hostname: os.hostname(), user: 'root', uid };
}

/** A pid that is certainly dead now: a sleeper we killed and waited for. */
async function deadPid(): Promise<number> {
  const s = await startSleeper();
  const pid = s.pid as number;
  const exited = new Promise((r) => s.once('exit', r));
  s.kill('SIGKILL');
  await exited;
  return pid;
}

/** Replays the runner checkpoint in a separate process in a tight loop, counting torn reads. */
function startFramingReader(file: string): { child: ChildProcess; result: Promise<{ reads: number; torn: number; maxLen: number }> } {
  const script = `
    const fs = require('fs');
    let reads = 0, torn = 0, maxLen = 0, stop = false;
    process.stdin.on('data', () => { stop = true; });
    process.stdin.on('end', () => { stop = true; });
    function whole(buf) {
      let pos = 0;
      while (pos + 4 <= buf.length) pos += 4 + buf.readUInt32BE(pos);
      return pos === buf.length;
    }
    (function loop() {
      for (let i = 0; i < 200; i++) {
        const buf = fs.readFileSync(process.argv[1]);
        reads++; maxLen = Math.max(maxLen, buf.length);
        if (!whole(buf)) torn++;
      }
      if (stop) { process.stdout.write(JSON.stringify({ reads, torn, maxLen })); return; }
      setImmediate(loop);
    })();
    process.stdout.write('ready\\n');`;
  const child = spawn(process.execPath, ['-e', script, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  readers.push(child);
  const result = new Promise<{ reads: number; torn: number; maxLen: number }>((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (c: string) => (out += c));
    child.once('exit', () => {
      try {
        resolve(JSON.parse(out.replace(/^ready\n/, '')) as { reads: number; torn: number; maxLen: number });
      } catch (err) {
        reject(err);
      }
    });
  });
  return { child, result };
}

describe('TaskKiller.kill on a live task (real processes)', () => {
  it('kills runner, coordinator group, process and descendants; records the ends; finalizes', async () => {
    const taskId = 'live-task';
    const ckpt = runnerCheckpointPath(root, taskId);
    const { pids } = await startFakeRunner(ckpt);
    const runnerStart = procStartTimeMs(pids.runner);
    await writeTask(root, {
      taskId,
      state: 'active',
      header: header(taskId),
      statuses: [{ state: TaskState.ACTIVE, timestampMs: runnerStart, runnerPid: pids.runner, runnerUid: 0 }],
      processes: {
        hello: fakeRunnerProcessRun('hello', pids),
        waiter: processRun('waiter', { final: 'WAITING' }),
        done: processRun('done', { final: 'SUCCESS', coordinatorPid: await deadPid(), pid: await deadPid() }),
      },
    });
    const sizeBefore = (await readFile(ckpt)).length;
    const reader = startFramingReader(ckpt);
    await new Promise((r) => reader.child.stdout?.once('data', r));

    const result = await killer().kill(root, taskId);
    reader.child.stdin?.end('stop');
    const reading = await reader.result;

    expect(result.outcome).toBe('killed');
    expect(result.killedPids).toEqual(
      expect.arrayContaining([pids.runner, -pids.coordinator, pids.coordinator, pids.process, pids.grandchild]),
    );
    expect(await waitUntilGone([pids.runner, pids.coordinator, pids.process, pids.grandchild])).toBe(true);

    const state = replayCheckpoint(await readFile(ckpt));
    const tail = state.statuses.slice(-2);
    expect(tail.map((s) => s.state)).toEqual([TaskState.ACTIVE, TaskState.KILLED]);
    expect(tail.every((s) => s.runnerPid === process.pid && s.runnerUid === 0)).toBe(true);
    const hello = state.processes['hello']!;
    expect(hello[hello.length - 1]).toMatchObject({ state: ProcessState.KILLED, returnCode: -9, seq: 3 });
    expect(state.processes['waiter']).toEqual([expect.objectContaining({ state: ProcessState.WAITING, seq: 0 })]);
    expect(state.processes['done']!.at(-1)!.state).toBe(ProcessState.SUCCESS);

    expect(existsSync(taskFilePath(root, 'active', taskId))).toBe(false);
    expect(existsSync(taskFilePath(root, 'finished', taskId))).toBe(true);

    expect(reading.reads).toBeGreaterThan(0);
    expect(reading.torn).toBe(0);
    expect(reading.maxLen).toBeGreaterThan(sizeBefore);
  });

  it('leaves alone a recorded pid now owned by another uid, or started at another time (pid reuse)', async () => {
    const taskId = 'reused-pids';
    const foreign = await startSleeper({ uid: 65534, gid: 65534 });
    const drifted = await startSleeper();
    const driftedCoordinator = await startSleeper();
    const foreignPid = foreign.pid as number;
    const driftedPid = drifted.pid as number;
    const coordPid = driftedCoordinator.pid as number;
    await writeTask(root, {
      taskId,
      state: 'active',
      header: header(taskId),
      statuses: [{ state: TaskState.ACTIVE, timestampMs: Date.now() - 3_600_000, runnerPid: await deadPid(), runnerUid: 0 }],
      processes: {
        foreign: processRun('foreign', {
          final: 'RUNNING',
          coordinatorPid: await deadPid(),
          forkTime: procStartTimeMs(foreignPid) / 1000,
          pid: foreignPid,
          startTime: procStartTimeMs(foreignPid) / 1000,
        }),
        drifted: processRun('drifted', {
          final: 'RUNNING',
          coordinatorPid: coordPid,
          forkTime: procStartTimeMs(coordPid) / 1000 - 60,
          pid: driftedPid,
          startTime: procStartTimeMs(driftedPid) / 1000 - 60,
        }),
      },
    });

    const result = await killer().kill(root, taskId);

    expect(result.outcome).toBe('killed');
    expect(result.killedPids).toEqual([]);
    expect([foreignPid, driftedPid, coordPid].every(isRunning)).toBe(true);
    const why = (pid: number): string[] => result.skippedPids.filter((s) => s.pid === pid).map((s) => s.why);
    expect(why(foreignPid).join()).toMatch(/uid 65534 is not the recorded uid 0/);
    expect(why(driftedPid).join()).toMatch(/started \d+ ms from the recorded time/);
    expect(why(coordPid).join()).toMatch(/started \d+ ms from the recorded time/);

    const state = replayCheckpoint(await readFile(runnerCheckpointPath(root, taskId)));
    expect(state.processes['foreign']!.at(-1)!.state).toBe(ProcessState.LOST);
    expect(state.processes['drifted']!.at(-1)!.state).toBe(ProcessState.LOST);
    expect(state.statuses.at(-1)!.state).toBe(TaskState.KILLED);
  });

  it('does not kill a lock holder that is not the recorded runner, and times out with ERR_LOCK writing nothing', async () => {
    const taskId = 'foreign-lock';
    const written = await writeTask(root, {
      taskId,
      state: 'active',
      header: header(taskId),
      statuses: [{ state: TaskState.ACTIVE, timestampMs: Date.now() - 3_600_000, runnerPid: await deadPid(), runnerUid: 0 }],
    });
    const ckpt = written.runnerPath as string;
    const holder = spawn('flock', ['-x', ckpt, 'sh', '-c', 'echo locked; exec sleep 1000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    try {
      await new Promise((r) => holder.stdout?.once('data', r));
      const before = await readFile(ckpt);

      const err = await killer(150).kill(root, taskId).catch((e: unknown) => e);

      expect(err).toMatchObject({ code: 'ERR_LOCK', taskId });
      expect(isRunning(holder.pid as number)).toBe(true);
      expect((await readFile(ckpt)).equals(before)).toBe(true);
      expect(existsSync(taskFilePath(root, 'active', taskId))).toBe(true);
    } finally {
      process.kill(-(holder.pid as number), 'SIGKILL');
    }
  });

  it('only finalizes a task that never initialised (no runner checkpoint)', async () => {
    const taskId = 'never-started';
    await writeTask(root, { taskId, state: 'active', statuses: [], runnerBytes: null });
    const result = await killer().kill(root, taskId);
    expect(result).toEqual({ taskId, outcome: 'finalized-only', killedPids: [], skippedPids: [] });
    expect(existsSync(taskFilePath(root, 'finished', taskId))).toBe(true);
    expect(existsSync(runnerCheckpointPath(root, taskId))).toBe(false);
  });

  it('only finalizes a task whose checkpoint already ended, appending nothing', async () => {
    const taskId = 'already-done';
    const written = await writeTask(root, {
      taskId,
      state: 'active',
      header: header(taskId),
      statuses: [
        { state: TaskState.ACTIVE, timestampMs: Date.now() - 7_200_000, runnerPid: 99_999, runnerUid: 0 },
        { state: TaskState.SUCCESS, timestampMs: Date.now() - 3_600_000, runnerPid: 99_999, runnerUid: 0 },
      ],
    });
    const before = await readFile(written.runnerPath as string);
    const result = await killer().lose(root, taskId);
    expect(result.outcome).toBe('finalized-only');
    expect((await readFile(written.runnerPath as string)).equals(before)).toBe(true);
    expect(existsSync(taskFilePath(root, 'finished', taskId))).toBe(true);
  });

  it('refuses an unreplayable checkpoint with ERR_KILL and leaves the task in place', async () => {
    const taskId = 'corrupt';
    await writeTask(root, { taskId, state: 'active', statuses: [], runnerBytes: Buffer.from([0, 0, 0, 9, 1, 2]) });
    await expect(killer().kill(root, taskId)).rejects.toMatchObject({ code: 'ERR_KILL', taskId });
    expect(existsSync(taskFilePath(root, 'active', taskId))).toBe(true);
  });
});
