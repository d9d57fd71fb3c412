// Task ids that are not safe path components, from the scheduler's map and from the directory
// listing, and symlinks planted where the GC looks for a task's files: nothing outside the task's
// own files is touched.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeAdjustRetainedTasks, decodeAdjustRetainedTasks } from '../../src/core/aurora-messages.js';
import { ScheduleStatus } from '../../src/core/states.js';
import { writeTask } from '../helpers/checkpoint-builder.js';
import { addExecutor, addTaskFiles, exists, fillDir, gc, makeAgent, snapshotTree, type Agent } from './agent-fixture.js';

let agent: Agent | undefined;
afterEach(async () => {
  await agent?.cleanup();
  agent = undefined;
});

/** keeper (active, RUNNING, linked) and done (finished, FINISHED, linked): both stay. */
async function stayingTasks(a: Agent): Promise<Map<string, number>> {
  for (const spec of [a.active('keeper'), a.finished('done')]) {
    await writeTask(a.root, spec);
    await addTaskFiles(spec);
    await addExecutor(a.mesos, spec.taskId, true);
  }
  return new Map([
    ['keeper', ScheduleStatus.RUNNING],
    ['done', ScheduleStatus.FINISHED],
  ]);
}

describe('unsafe task ids from the scheduler map', () => {
  it('touch nothing on disk, whatever status the scheduler gives them', async () => {
    const a = (agent = await makeAgent());
    const retained = await stayingTasks(a);
    // Files each unsafe id would reach if it were joined into a path.
    await fillDir(path.join(a.root, 'tasks'), { x: 'tasks/../x' });
    await fillDir(a.root, { x: 'checkpoints/../x', 'logs/placeholder': 'legacy logs dir' });
    const unsafe: Array<[string, number]> = [
      ['../x', ScheduleStatus.KILLED],
      ['/', ScheduleStatus.RUNNING],
      ['', ScheduleStatus.FINISHED],
      ['a\0b', ScheduleStatus.LOST],
      ['..', ScheduleStatus.FAILED],
      ['.', ScheduleStatus.RUNNING],
      ['../../outside', ScheduleStatus.STARTING],
      [`../${path.basename(a.outside)}`, ScheduleStatus.SANDBOX_DELETED],
      ['x'.repeat(300), ScheduleStatus.KILLED],
    ];
    for (const [id, status] of unsafe) retained.set(id, status);
    // The map survives the wire: the decoder does not filter ids, the run must.
    const wire = decodeAdjustRetainedTasks(encodeAdjustRetainedTasks(retained));
    const before = await snapshotTree(a.base);

    const { report, driver } = await gc(a, wire);
    expect(report.garbageCollect).toEqual([]);
    expect(report.killed).toEqual([]);
    expect(report.deleted).toEqual([]);
    expect(await snapshotTree(a.base)).toEqual(before);
    expect(driver.updates.at(-1)).toMatchObject({ taskId: 'gc-1', state: 'TASK_FINISHED' });
  });
});

describe('unsafe names and planted symlinks in the checkpoint root', () => {
  it('a symlink or a directory in tasks/<state> is not a task; nothing it points to is touched', async () => {
    const a = (agent = await makeAgent());
    const retained = await stayingTasks(a);
    await symlink(path.join(a.outside, 'precious.txt'), path.join(a.root, 'tasks', 'finished', 'evil-link'));
    await symlink(a.outside, path.join(a.root, 'tasks', 'finished', 'evil-dir-link'));
    await mkdir(path.join(a.root, 'tasks', 'finished', 'dir-task'));
    await writeFile(path.join(a.root, 'tasks', 'finished', 'dir-task', 'inside'), 'a directory is not a task file');
    // Checkpoint dirs named like those entries, full of data: not theirs to delete.
    await fillDir(path.join(a.root, 'checkpoints', 'evil-link'), { runner: 'x' });
    await fillDir(path.join(a.root, 'checkpoints', 'dir-task'), { runner: 'x' });
    const before = await snapshotTree(a.base);

    const { report } = await gc(a, retained);
    expect(report.garbageCollect).toEqual([]);
    expect(await snapshotTree(a.base)).toEqual(before);
  });

  it("a task's checkpoint dir that is a symlink: the link goes, never what it points to", async () => {
    const a = (agent = await makeAgent());
    const retained = await stayingTasks(a);
    // `linked-ckpt` is finished and unretained: it will be deleted. Its checkpoint dir is a link
    // to a directory outside that happens to hold a `runner` and a coordinator file.
    const spec = a.finished('linked-ckpt');
    await writeTask(a.root, spec);
    await addExecutor(a.mesos, 'linked-ckpt', false);
    const realCkpt = path.join(a.root, 'checkpoints', 'linked-ckpt');
    const elsewhere = path.join(a.outside, 'ckpt-elsewhere');
    await mkdir(elsewhere);
    const { rename } = await import('node:fs/promises');
    await rename(realCkpt, elsewhere + '/moved');
    await symlink(path.join(elsewhere, 'moved'), realCkpt);
    const outsideBefore = await snapshotTree(a.outside);

    const { report } = await gc(a, retained);
    expect(report.deleted).toEqual(['linked-ckpt']);
    expect(await exists(realCkpt)).toBe(false);
    expect(await snapshotTree(a.outside)).toEqual(outsideBefore);
  });

  it('a `logs` dir of the checkpoint root that is a symlink: the legacy log tree behind it is not deleted', async () => {
    const a = (agent = await makeAgent());
    const retained = await stayingTasks(a);
    // An old checkpoint (no log_dir): its logs are <root>/logs/<id>, and <root>/logs points outside.
    const spec = a.finished('legacy', { logDir: '' });
    if (spec.header !== undefined) spec.header.logDir = undefined;
    await writeTask(a.root, spec);
    await addExecutor(a.mesos, 'legacy', false);
    await fillDir(path.join(a.outside, 'legacy'), { 'hello/0/stdout': 'someone else\'s data' });
    await symlink(a.outside, path.join(a.root, 'logs'));
    const outsideBefore = await snapshotTree(a.outside);

    const { report } = await gc(a, retained);
    expect(report.garbageCollect).toEqual(['legacy']);
    expect(await snapshotTree(a.outside)).toEqual(outsideBefore);
  });
});

describe('symlinks planted in a task-writable log dir', () => {
  it("a run or process log dir replaced by a link to a kept task's logs: the kept logs stay", async () => {
    const a = (agent = await makeAgent());
    const retained = await stayingTasks(a);
    const keeperLogs = path.join(a.base, 'logs', 'keeper', 'hello');
    // `sneaky` (finished, unretained) swapped its own log dirs for links into keeper's logs.
    for (const [id, link, to] of [
      ['sneaky-run', path.join('hello', '0'), path.join(keeperLogs, '0')],
      ['sneaky-proc', 'hello', keeperLogs],
      ['sneaky-dir', '', path.join(a.base, 'logs', 'keeper')],
    ] as const) {
      const spec = a.finished(id);
      await writeTask(a.root, spec);
      await addExecutor(a.mesos, id, false);
      const own = path.join(a.base, 'logs', id);
      await mkdir(path.dirname(path.join(own, link)), { recursive: true });
      await symlink(to, link === '' ? own : path.join(own, link));
    }
    const before = await snapshotTree(path.join(a.base, 'logs', 'keeper'));
    const { report } = await gc(a, retained);
    expect(report.garbageCollect).toEqual(['sneaky-dir', 'sneaky-proc', 'sneaky-run']);
    expect(await snapshotTree(path.join(a.base, 'logs', 'keeper'))).toEqual(before);
    expect(before.get('hello/0/stdout')).toBe('file:out\n');
  });
});
