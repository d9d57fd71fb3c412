// Properties of whole GC runs over random small agents on disk: random local tasks (active or
// finished, young or old, quiet or fresh, some unreadable), random scheduler views, sandboxes
// some tasks share, linked and collected executors. Active tasks have no live runner: the killer
// then only writes their checkpoints. THERMOS_GC_SOAK=1 raises the number of runs.
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanForPlan, planOutput } from '../../src/cli/plan.js';
import { decodeSchedulerMessageDeletedTasks } from '../../src/core/aurora-messages.js';
import { ScheduleStatus, classifyScheduleStatus } from '../../src/core/states.js';
import { writeTask, type TaskSpec } from '../helpers/checkpoint-builder.js';
import {
  HOUR,
  addExecutor,
  addTaskFiles,
  exists,
  gc,
  makeAgent,
  snapshotTree,
  type Agent,
  type GcOutcome,
} from '../reliability/agent-fixture.js';
import { numRuns, seedOption, testTimeoutMs } from './budget.js';

const MINUTE = 60_000;

interface TaskGen {
  active: boolean;
  /** ScheduleStatus, or null when the scheduler does not list the task. */
  sched: number | null;
  young: boolean;
  quiet: boolean;
  /** Index (mod task count) of the task whose sandbox this one names; null: its own. */
  shareWith: number | null;
  linked: boolean;
  corrupt: boolean;
  finalState: 'SUCCESS' | 'FAILED' | 'KILLED' | 'LOST';
}

const taskGen: fc.Arbitrary<TaskGen> = fc.record({
  active: fc.boolean(),
  sched: fc.option(fc.constantFrom(...Object.values(ScheduleStatus)), { nil: null, freq: 3 }),
  young: fc.boolean(),
  quiet: fc.boolean(),
  shareWith: fc.option(fc.nat(7), { nil: null, freq: 4 }),
  linked: fc.boolean(),
  corrupt: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  finalState: fc.constantFrom('SUCCESS', 'FAILED', 'KILLED', 'LOST'),
});

const agentGen = fc.array(taskGen, { minLength: 1, maxLength: 6 });

interface Built {
  a: Agent;
  ids: string[];
  gens: TaskGen[];
  /** The sandbox path each task's header names (undefined for an unreadable checkpoint). */
  named: Array<string | undefined>;
  retained: Map<string, number>;
}

async function build(gens: TaskGen[]): Promise<Built> {
  const a = await makeAgent();
  const ids = gens.map((_, i) => `t${i}`);
  const named: Array<string | undefined> = [];
  const retained = new Map<string, number>();
  for (const [i, g] of gens.entries()) {
    const id = ids[i]!;
    const owner = g.shareWith === null ? i : g.shareWith % gens.length;
    const sandbox = a.sandbox(ids[owner]!);
    const launchTimeMs = a.startMs - (g.young ? 2 * MINUTE : 2 * HOUR);
    // A checkpoint is written at launch and after: never older than the first status.
    const mtimeMs = g.young || !g.quiet ? a.startMs - MINUTE : a.startMs - HOUR;
    const opts = { launchTimeMs, mtimeMs, sandbox, finalState: g.finalState };
    let spec: TaskSpec = g.active ? a.active(id, opts) : a.finished(id, opts);
    if (g.corrupt) spec = { taskId: id, state: spec.state, statuses: [], runnerBytes: Buffer.from([0, 0, 0, 40, 12, 0]), mtimeMs };
    await writeTask(a.root, spec);
    await addTaskFiles(spec, sandbox);
    await addExecutor(a.mesos, id, g.linked);
    named.push(g.corrupt ? undefined : sandbox);
    if (g.sched !== null) retained.set(id, g.sched);
  }
  // Every task's own sandbox exists, named by someone or not.
  for (const id of ids) await addTaskFiles({ taskId: id, state: 'finished', statuses: [] }, a.sandbox(id));
  return { a, ids, gens, named, retained };
}

interface TaskFiles {
  sandbox: Map<string, string> | undefined;
  logs: Map<string, string>;
  checkpoints: Map<string, string>;
}

async function filesOf(b: Built, i: number): Promise<TaskFiles> {
  const id = b.ids[i]!;
  const sb = b.named[i];
  return {
    sandbox: sb === undefined ? undefined : await snapshotTree(sb),
    logs: await snapshotTree(path.join(b.a.base, 'logs', id)),
    checkpoints: await snapshotTree(path.join(b.a.root, 'checkpoints', id)),
  };
}

async function taskFileExists(b: Built, id: string): Promise<boolean> {
  return (await exists(path.join(b.a.root, 'tasks', 'active', id))) || (await exists(path.join(b.a.root, 'tasks', 'finished', id)));
}

/** Live or starting in the scheduler's view. */
const schedLive = (g: TaskGen): boolean => g.sched !== null && classifyScheduleStatus(g.sched) !== 'terminal';

/** What every deleted_tasks entry must satisfy: its task file and checkpoints are gone. */
async function checkReportedGone(b: Built, out: GcOutcome): Promise<void> {
  const sent = out.driver.messages.length === 0 ? [] : decodeSchedulerMessageDeletedTasks(out.driver.messages[0]!).sort();
  expect(sent).toEqual(out.report.deletedTasks);
  for (const id of out.report.deletedTasks) {
    expect(await taskFileExists(b, id), `${id} reported deleted, task file remains`).toBe(false);
    expect(await exists(path.join(b.a.root, 'checkpoints', id)), `${id} reported deleted, checkpoints remain`).toBe(false);
  }
  for (const id of out.report.deleted) {
    const i = b.ids.indexOf(id);
    const sb = b.named[i];
    const refused = out.report.refused.some((r) => r.taskId === id && r.path === sb);
    if (sb !== undefined && !refused) expect(await exists(sb), `${id}'s sandbox should be gone`).toBe(false);
    expect((await snapshotTree(path.join(b.a.base, 'logs', id))).size, `${id}'s logs should be gone`).toBe(0);
  }
}

describe('GC safety properties over random agents', () => {
  it(
    'never loses a wanted file, deletes what it reports, agrees with plan, and settles after one more run',
    async () => {
      await fc.assert(
        fc.asyncProperty(agentGen, async (gens) => {
          const b = await build(gens);
          try {
            const { a } = b;
            const before = await Promise.all(b.ids.map((_, i) => filesOf(b, i)));
            const planned = planOutput(await scanForPlan(a.config, b.retained), b.retained, a.startMs, a.config).output;

            const first = await gc(a, b.retained);
            const r = first.report;
            const gcSet = new Set(r.garbageCollect);

            // plan and the run agree (every kill and deletion succeeds here).
            expect(r.killed).toEqual(planned.terminate);
            expect(r.garbageCollect).toEqual(planned.garbage_collect);
            expect(r.deletedTasks).toEqual(planned.deleted_tasks);
            expect(r.deleteFailed).toEqual([]);

            for (const [i, g] of gens.entries()) {
              const id = b.ids[i]!;
              const now = await filesOf(b, i);
              const protectedTask = g.active && (schedLive(g) || (g.young && !g.corrupt));
              if (protectedTask) {
                // Retained as live/starting, or too young to kill: not one file changes.
                expect(gcSet.has(id), `${id} is protected but collected`).toBe(false);
                expect(r.killed, `${id} is protected but killed`).not.toContain(id);
                expect(now, `${id} lost files`).toEqual(before[i]);
                expect(await exists(path.join(a.root, 'tasks', 'active', id))).toBe(true);
              }
              if (!gcSet.has(id)) {
                // Kept (maybe killed: its checkpoint grows and its task file moves): sandbox and logs intact.
                expect(now.sandbox, `${id} kept, sandbox changed`).toEqual(before[i]!.sandbox);
                expect(now.logs, `${id} kept, logs changed`).toEqual(before[i]!.logs);
                expect(await taskFileExists(b, id), `${id} kept, task file gone`).toBe(true);
                if (!r.killed.includes(id)) expect(now.checkpoints, `${id} kept, checkpoints changed`).toEqual(before[i]!.checkpoints);
              }
            }
            await checkReportedGone(b, first);

            // Second run, same task: the only new deletions are tasks this run killed that the
            // scheduler does not list (finished now, so 'finished-unknown' in the §6 table).
            const second = await gc(a, b.retained, { gcTaskId: 'gc-2' });
            const allowed = new Set(r.killed.filter((id) => !b.retained.has(id)));
            for (const id of second.report.deleted) expect(allowed.has(id), `second run deleted ${id}`).toBe(true);
            expect(second.report.killed).toEqual([]);
            await checkReportedGone(b, second);

            // Third run: nothing changes any more.
            const settled = await snapshotTree(a.base);
            const third = await gc(a, b.retained, { gcTaskId: 'gc-3' });
            expect(third.report.deleted).toEqual([]);
            expect(third.report.killed).toEqual([]);
            expect(await snapshotTree(a.base)).toEqual(settled);
          } finally {
            await b.a.cleanup();
          }
        }),
        { numRuns: numRuns(20), ...seedOption() },
      );
    },
    testTimeoutMs(60_000),
  );
});
