// readTaskFacts / readTaskInspection on real files written by the checkpoint builder.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replayCheckpoint } from '../../src/core/checkpoint/replay.js';
import { TaskState } from '../../src/core/states.js';
import { DecodeError, ReplayError, ThermosGcError } from '../../src/errors.js';
import { checkpointDir, runnerCheckpointPath, taskFilePath } from '../../src/io/checkpoint-paths.js';
import { readTaskFacts, readTaskInspection } from '../../src/io/task-facts-reader.js';
import { makeCheckpointRoot, processRun, typicalActiveTask, typicalFinishedTask, writeTask } from '../helpers/checkpoint-builder.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await makeCheckpointRoot());
});
afterEach(async () => {
  await cleanup();
});

describe('checkpoint paths', () => {
  it('joins the layout of domain.md §2', () => {
    expect(taskFilePath('/r', 'active', 't')).toBe('/r/tasks/active/t');
    expect(checkpointDir('/r', 't')).toBe('/r/checkpoints/t');
    expect(runnerCheckpointPath('/r', 't')).toBe('/r/checkpoints/t/runner');
  });

  it('refuses task ids that are not one plain path component', () => {
    for (const id of ['', '.', '..', 'a/b', '../x', 'a\0b', 'x'.repeat(256)]) {
      expect(() => runnerCheckpointPath('/r', id)).toThrow(expect.objectContaining({ code: 'ERR_UNSAFE_TASK_ID' }));
    }
  });
});

describe('readTaskFacts', () => {
  it('reads header fields, statuses, run counts and mtime of a finished task', async () => {
    const spec = typicalFinishedTask('t1', { sandbox: '/sb/t1', logDir: '/logs/t1', processNames: ['a', 'b'], mtimeMs: 1_700_000_100_000 });
    spec.processes!['a']!.push(...processRun('a', { seq: 4, final: 'FAILED' }));
    const written = await writeTask(root, spec);
    expect(replayCheckpoint(await readFile(written.runnerPath!)).header?.taskId).toBe('t1');

    const facts = await readTaskFacts({ taskId: 't1', root, state: 'finished' });
    expect(facts).toMatchObject({
      taskId: 't1',
      root,
      state: 'finished',
      runnerMtimeMs: 1_700_000_100_000,
      sandbox: '/sb/t1',
      logDir: '/logs/t1',
      user: 'www-data',
      uid: 33,
      launchTimeMs: 1_700_000_000_000,
      processRuns: { a: 2, b: 1 },
    });
    expect(facts.error).toBeUndefined();
    expect(facts.statuses).toEqual([
      { state: TaskState.ACTIVE, timestampMs: 1_700_000_000_001, runnerPid: 30_000, runnerUid: 33 },
      { state: TaskState.SUCCESS, timestampMs: 1_700_000_060_000, runnerPid: 30_000, runnerUid: 33 },
    ]);
    // Plain data: it crosses structured clone intact.
    expect(structuredClone(facts)).toEqual(facts);
  });

  it('a missing runner checkpoint is an error record without mtime', async () => {
    await writeTask(root, { ...typicalActiveTask('t2'), runnerBytes: null });
    const facts = await readTaskFacts({ taskId: 't2', root, state: 'active' });
    expect(facts.runnerMtimeMs).toBeUndefined();
    expect(facts.statuses).toEqual([]);
    expect(facts.error).toMatchObject({ code: 'ERR_CKPT_MISSING', taskId: 't2', path: runnerCheckpointPath(root, 't2') });
  });

  it('a corrupt or unreplayable checkpoint is an error record with mtime and no statuses', async () => {
    await writeTask(root, { taskId: 'bad', state: 'active', statuses: [], runnerBytes: Buffer.from([0, 0, 0, 9, 1]), mtimeMs: 1_600_000_000_000 });
    const bad = await readTaskFacts({ taskId: 'bad', root, state: 'active' });
    expect(bad).toMatchObject({ runnerMtimeMs: 1_600_000_000_000, statuses: [], error: { code: 'ERR_CKPT_TRUNCATED', taskId: 'bad' } });

    const spec = typicalFinishedTask('gap');
    spec.processes!['hello']![2]!.seq = 7;
    await writeTask(root, spec);
    const gap = await readTaskFacts({ taskId: 'gap', root, state: 'finished' });
    expect(gap.error?.code).toBe('ERR_REPLAY');
    expect(gap.statuses).toEqual([]);
    expect(gap.sandbox).toBeUndefined();
  });

  it('a task status without a timestamp makes the stream unusable', async () => {
    await writeTask(root, { taskId: 'nots', state: 'active', statuses: [{ state: TaskState.ACTIVE, runnerPid: 1 }] });
    const facts = await readTaskFacts({ taskId: 'nots', root, state: 'active' });
    expect(facts.error?.code).toBe('ERR_REPLAY');
    expect(facts.statuses).toEqual([]);
  });

  it('an empty runner file is a task with no statuses and no error', async () => {
    await writeTask(root, { taskId: 'empty', state: 'active', statuses: [], runnerBytes: Buffer.alloc(0) });
    const facts = await readTaskFacts({ taskId: 'empty', root, state: 'active' });
    expect(facts.error).toBeUndefined();
    expect(facts.statuses).toEqual([]);
    expect(facts.runnerMtimeMs).toBeTypeOf('number');
  });

  it('an unreadable runner file and an unsafe task id are error records, not throws', async () => {
    const facts = await readTaskFacts({ taskId: '../etc', root, state: 'active' });
    expect(facts.error?.code).toBe('ERR_UNSAFE_TASK_ID');
    const w = await writeTask(root, typicalActiveTask('dir'));
    await rm(w.runnerPath!);
    await mkdir(w.runnerPath!);
    const asDir = await readTaskFacts({ taskId: 'dir', root, state: 'active' });
    expect(asDir.error?.code).toBe('ERR_CKPT_IO');
    expect(asDir.statuses).toEqual([]);
  });
});

describe('readTaskInspection', () => {
  it('collects runners, coordinators and processes from the runner and coordinator files', async () => {
    const spec = typicalActiveTask('t3', { runnerPid: 111, processNames: ['x', 'y'] });
    spec.statuses.push({ state: TaskState.ACTIVE, timestampMs: 1_700_000_000_500, runnerPid: 222, runnerUid: 33 });
    await writeTask(root, spec);
    const ins = await readTaskInspection(root, 't3');
    expect(ins.runners).toEqual([
      { pid: 111, uid: 33, timestampMs: 1_700_000_000_001 },
      { pid: 222, uid: 33, timestampMs: 1_700_000_000_500 },
    ]);
    expect(ins.coordinators.map((c) => c.process).sort()).toEqual(['x', 'y']);
    expect(ins.processes).toHaveLength(2);
    expect(ins.processes[0]).toMatchObject({ pid: 40_001, startTime: 1_700_000_001.1 });
    expect(ins.latestUpdateMs).toBeCloseTo(1_700_000_001_100, 0);
  });

  it('a damaged coordinator file adds what it holds before the damage', async () => {
    const w = await writeTask(root, typicalActiveTask('t4', { processNames: ['x'] }));
    const coord = await readFile(w.coordinatorPaths[0]!);
    await writeFile(w.coordinatorPaths[0]!, Buffer.concat([coord, Buffer.from([0, 0, 1])]));
    const ins = await readTaskInspection(root, 't4');
    expect(ins.coordinators).toHaveLength(1);
  });

  it('throws typed errors naming the task when the runner stream cannot be used', async () => {
    await expect(readTaskInspection(root, 'nope')).rejects.toMatchObject({ code: 'ERR_CKPT_MISSING', taskId: 'nope' });
    await writeTask(root, { taskId: 'bad', state: 'active', statuses: [], runnerBytes: Buffer.from([0, 0, 0, 1, 0]) });
    await expect(readTaskInspection(root, 'bad')).rejects.toBeInstanceOf(DecodeError);
    await expect(readTaskInspection(root, 'bad')).rejects.toMatchObject({ code: 'ERR_CKPT_EMPTY_UNION', taskId: 'bad' });
    const spec = typicalFinishedTask('hdr');
    spec.records = [{ kind: 'header', header: spec.header! }, { kind: 'header', header: spec.header! }];
    await writeTask(root, spec);
    await expect(readTaskInspection(root, 'hdr')).rejects.toBeInstanceOf(ReplayError);
    await expect(readTaskInspection(root, 'hdr')).rejects.toBeInstanceOf(ThermosGcError);
  });
});

it('the builder writes the on-disk layout', async () => {
  const w = await writeTask(root, typicalFinishedTask('lay', { processNames: ['p'] }));
  expect(w.taskFile).toBe(path.join(root, 'tasks', 'finished', 'lay'));
  expect(w.coordinatorPaths).toEqual([path.join(root, 'checkpoints', 'lay', 'coordinator.p')]);
  expect(JSON.parse(await readFile(w.taskFile, 'utf8'))).toMatchObject({ task: { name: 'lay' } });
});
