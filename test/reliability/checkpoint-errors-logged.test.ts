// "A clear logged error" for every task whose runner checkpoint cannot be used: the operator must
// be able to see, per task, why the GC treated it as having no states (a truncated or corrupt
// checkpoint is what makes a live task look dead).
import { afterEach, describe, expect, it } from 'vitest';
import { ScheduleStatus } from '../../src/core/states.js';
import { writeTask, type TaskSpec } from '../helpers/checkpoint-builder.js';
import { RepeatedWarnings } from '../../src/executor/repeated-warnings.js';
import { UNUSABLE_CHECKPOINTS_NAMED } from '../../src/config.js';
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

  it('the same unusable checkpoint on the next run is logged at debug, and at warn again once it comes back', async () => {
    const a = (agent = await makeAgent());
    await writeTask(a.root, { taskId: 'corrupt-act', state: 'active', statuses: [], runnerBytes: Buffer.from([0x80, 0, 0, 0]), mtimeMs: a.startMs });
    const repeats = new RepeatedWarnings();
    const view = new Map([['corrupt-act', ScheduleStatus.RUNNING]]);
    const about = (lines: Array<{ level: number; taskId?: string; msg?: string }>): number[] =>
      lines.filter((l) => l.taskId === 'corrupt-act' && l.msg === 'runner checkpoint cannot be used').map((l) => l.level);
    expect(about((await gc(a, view, { repeats })).lines)).toEqual([40]);
    expect(about((await gc(a, view, { repeats, gcTaskId: 'gc-2' })).lines)).toEqual([20]);
    // A run without it, then it is back: news again.
    await writeTask(a.root, { taskId: 'corrupt-act', state: 'active', statuses: [{ state: 1, timestampMs: a.startMs, runnerPid: 4_190_090, runnerUid: 0 }], mtimeMs: a.startMs });
    expect(about((await gc(a, view, { repeats, gcTaskId: 'gc-3' })).lines)).toEqual([]);
    await writeTask(a.root, { taskId: 'corrupt-act', state: 'active', statuses: [], runnerBytes: Buffer.from([0x80, 0, 0, 0]), mtimeMs: a.startMs });
    expect(about((await gc(a, view, { repeats, gcTaskId: 'gc-4' })).lines)).toEqual([40]);
  });

  it('names the first few at warn, the rest at debug, and counts them all by code in one line, without stacks', async () => {
    const a = (agent = await makeAgent());
    const n = UNUSABLE_CHECKPOINTS_NAMED + 5;
    for (let i = 0; i < n; i++) {
      const bytes = i % 2 === 0 ? Buffer.from([0, 0, 0, 9, 1]) : Buffer.from([0x80, 0, 0, 0]);
      await writeTask(a.root, { taskId: `bad-${String(i).padStart(3, '0')}`, state: 'finished', statuses: [], runnerBytes: bytes, mtimeMs: a.startMs - 3_600_000 });
    }
    const { lines } = await gc(a, new Map());
    const perTask = lines.filter((l) => l.msg === 'runner checkpoint cannot be used');
    expect(perTask.filter((l) => l.level === 40)).toHaveLength(UNUSABLE_CHECKPOINTS_NAMED);
    expect(perTask.filter((l) => l.level === 20)).toHaveLength(5);
    const summary = lines.filter((l) => (l.msg ?? '').startsWith('runner checkpoints that cannot be used'));
    expect(summary).toHaveLength(1);
    const s0 = summary[0] as unknown as { level: number; unusableCheckpoints: number; byCode: Record<string, number> };
    expect(s0.level).toBe(40);
    expect(s0.unusableCheckpoints).toBe(n);
    expect(s0.byCode).toEqual({ ERR_CKPT_TRUNCATED: Math.ceil(n / 2), ERR_CKPT_RECORD_TOO_LARGE: Math.floor(n / 2) });
    for (const l of perTask) expect(JSON.stringify(l)).not.toContain('stack');
  });
});
