// "A clear logged error" for every task whose runner checkpoint cannot be used: the operator must
// be able to see, per task, why the GC treated it as having no states (a truncated or corrupt
// checkpoint is what makes a live task look dead).
import { afterEach, describe, expect, it } from 'vitest';
import { ScheduleStatus } from '../../src/core/states.js';
import { writeTask, type TaskSpec } from '../helpers/checkpoint-builder.js';
import { gc, makeAgent, type Agent } from './agent-fixture.js';

let agent: Agent | undefined;
afterEach(async () => {
  await agent?.cleanup();
  agent = undefined;
});

describe('unusable checkpoints are logged', () => {
  it('each task whose checkpoint cannot be replayed gets a warning naming it and the error code', async () => {
    const a = (agent = await makeAgent());
    const specs: TaskSpec[] = [
      { taskId: 'corrupt-fin', state: 'finished', statuses: [], runnerBytes: Buffer.from([0, 0, 0, 9, 1]), mtimeMs: a.startMs - 3_600_000 },
      { taskId: 'corrupt-act', state: 'active', statuses: [], runnerBytes: Buffer.from([0x80, 0, 0, 0]), mtimeMs: a.startMs },
      { taskId: 'missing-act', state: 'active', statuses: [], runnerBytes: null },
    ];
    for (const s of specs) await writeTask(a.root, s);
    const { lines } = await gc(a, new Map([['corrupt-act', ScheduleStatus.RUNNING]]));
    for (const [id, code] of [['corrupt-fin', 'ERR_CKPT_TRUNCATED'], ['corrupt-act', 'ERR_CKPT_RECORD_TOO_LARGE'], ['missing-act', 'ERR_CKPT_MISSING']]) {
      const named = lines.filter((l) => l.level >= 40 && l.taskId === id && JSON.stringify(l).includes(code as string));
      expect(named.length, `no warning names ${id} with ${code}`).toBeGreaterThan(0);
    }
  });
});
