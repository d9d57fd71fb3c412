// Aurora puts a task's log_dir inside its sandbox (`<sandbox>/.logs`). Two tasks that share a
// sandbox (the real conformance fixtures do) therefore share a log dir and, with the same process
// names, the same log files. When one of them is deleted and the other stays, the sandbox is
// refused ('shared-with-kept-task') but the deleted task's log paths name the kept task's files.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ScheduleStatus } from '../../src/core/states.js';
import { writeTask } from '../helpers/checkpoint-builder.js';
import { addExecutor, addTaskFiles, gc, makeAgent, snapshotTree, type Agent } from './agent-fixture.js';

let agent: Agent | undefined;
afterEach(async () => {
  await agent?.cleanup();
  agent = undefined;
});

describe('a log dir shared with a task that stays', () => {
  it("deleting the finished twin leaves the live task's log files in place", async () => {
    const a = (agent = await makeAgent());
    const sandbox = a.sandbox('shared');
    const logDir = path.join(sandbox, '.logs');
    const keeper = a.active('keeper', { sandbox, logDir });
    await writeTask(a.root, keeper);
    await addTaskFiles(keeper);
    await addExecutor(a.mesos, 'keeper', true);
    await writeTask(a.root, a.finished('twin', { sandbox, logDir }));
    await addExecutor(a.mesos, 'twin', false);
    const before = await snapshotTree(sandbox);
    expect(before.get('.logs/hello/0/stdout')).toBe('file:out\n');

    const { report } = await gc(a, new Map([['keeper', ScheduleStatus.RUNNING]]));
    expect(report.refused).toContainEqual(expect.objectContaining({ taskId: 'twin', reason: 'shared-with-kept-task' }));
    expect(await snapshotTree(sandbox)).toEqual(before);
  });
});
