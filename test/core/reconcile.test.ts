import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TaskFacts } from '../../src/core/facts.js';
import { checkKillBudget } from '../../src/core/kill-budget.js';
import { Reconciliation, deletedTasksToReport, isInSyncActive, planGarbageCollection, reconcile, type ReconcilePlan } from '../../src/core/reconcile.js';
import { ScheduleStatus, TaskState } from '../../src/core/states.js';

const MIN = 60_000;
const START = 1_700_000_000_000;
const KILL_AGE = 10 * MIN;

type Local = 'active' | 'finished-SUCCESS' | 'finished-FAILED' | 'finished-KILLED' | 'finished-LOST' | 'absent' | 'active-unreplayable' | 'finished-unreplayable';

function facts(taskId: string, local: Exclude<Local, 'absent'>, opts: { ageMs?: number; mtimeAgeMs?: number } = {}): TaskFacts {
  const ageMs = opts.ageMs ?? 60 * MIN;
  const mtimeAgeMs = opts.mtimeAgeMs ?? ageMs;
  const state = local.startsWith('active') ? 'active' : 'finished';
  const f: TaskFacts = { taskId, root: '/ckpt', state, statuses: [], runnerMtimeMs: START - mtimeAgeMs, sandbox: `/sb/${taskId}` };
  if (local.endsWith('unreplayable')) {
    f.error = { code: 'ERR_CKPT_TRUNCATED', message: 'truncated', taskId };
    return f;
  }
  f.statuses.push({ state: TaskState.ACTIVE, timestampMs: START - ageMs, runnerPid: 100 });
  if (state === 'finished') {
    const name = local.slice('finished-'.length) as 'SUCCESS' | 'FAILED' | 'KILLED' | 'LOST';
    f.statuses.push({ state: TaskState[name], timestampMs: START - ageMs + 1000 });
  }
  return f;
}

function run(local: Local, sched: number | undefined, opts: { ageMs?: number; mtimeAgeMs?: number } = {}): ReconcilePlan {
  const retained = new Map<string, number>();
  if (sched !== undefined) retained.set('t1', sched);
  // A second, in-sync task keeps the kill budget and empty-map guard out of the table tests.
  retained.set('other', ScheduleStatus.RUNNING);
  const all = new Map<string, TaskFacts>([['other', facts('other', 'active')]]);
  if (local !== 'absent') all.set('t1', facts('t1', local, opts));
  return reconcile({ retained, facts: all, startMs: START, minimumKillAgeMs: KILL_AGE, killBudget: 1 });
}

/** The plan's actions on t1, as a compact string. */
function actions(plan: ReconcilePlan): string[] {
  const out: string[] = [];
  for (const t of plan.terminate) if (t.taskId === 't1') out.push(`kill:${t.reason}`);
  if (plan.staleIfKillFails.some((s) => s.taskId === 't1')) out.push('stale-if-kill-fails');
  for (const t of plan.localGc) if (t.taskId === 't1') out.push(`local-gc:${t.reason}`);
  for (const t of plan.remoteGc) if (t.taskId === 't1') out.push(`remote-gc:${t.reason}`);
  for (const u of plan.updates) if (u.taskId === 't1') out.push(`update:${u.scheduleStatus}:${u.mesosState}:${u.message}`);
  return out;
}

const S = ScheduleStatus;
const LIVE = [S.INIT, S.THROTTLED, S.PENDING, S.RUNNING, S.PREEMPTING, S.RESTARTING, S.DRAINING, S.KILLING];
const STARTING = [S.STARTING, S.ASSIGNED];
const TERMINAL = [S.FAILED, S.FINISHED, S.KILLED, S.LOST, S.SANDBOX_DELETED];
const FINISH = 'Task finish detected by GC executor.';

describe('reconcile: the table of domain.md §6', () => {
  const finishedCases: Array<[Local, number, string]> = [
    ['finished-SUCCESS', S.FINISHED, 'TASK_FINISHED'],
    ['finished-FAILED', S.FAILED, 'TASK_FAILED'],
    ['finished-KILLED', S.KILLED, 'TASK_KILLED'],
    ['finished-LOST', S.LOST, 'TASK_LOST'],
  ];

  for (const sched of LIVE) {
    it(`scheduler active (${sched})`, () => {
      expect(actions(run('active', sched))).toEqual([]);
      expect(actions(run('active-unreplayable', sched))).toEqual([]);
      for (const [local, status, mesos] of finishedCases) {
        expect(actions(run(local, sched))).toEqual([`update:${status}:${mesos}:${FINISH}`]);
      }
      expect(actions(run('finished-unreplayable', sched))).toEqual(['local-gc:stale-checkpoint']);
      expect(actions(run('absent', sched))).toEqual([`update:${S.LOST}:TASK_LOST:GC executor found no trace of task.`]);
    });
  }

  for (const sched of STARTING) {
    it(`scheduler starting (${sched})`, () => {
      expect(actions(run('active', sched))).toEqual([]);
      for (const [local, status, mesos] of finishedCases) {
        expect(actions(run(local, sched))).toEqual([`update:${status}:${mesos}:${FINISH}`]);
      }
      expect(actions(run('finished-unreplayable', sched))).toEqual(['local-gc:stale-checkpoint']);
      const absent = run('absent', sched);
      expect(actions(absent)).toEqual([]);
      expect(absent.noAction).toContainEqual(expect.objectContaining({ taskId: 't1', reason: 'scheduler-starting' }));
    });
  }

  for (const sched of TERMINAL) {
    it(`scheduler terminal (${sched})`, () => {
      expect(actions(run('active', sched))).toEqual(['kill:scheduler-terminal', 'stale-if-kill-fails']);
      expect(actions(run('active-unreplayable', sched))).toEqual(['local-gc:stale-checkpoint']);
      for (const [local] of finishedCases) expect(actions(run(local, sched))).toEqual([]);
      expect(actions(run('finished-unreplayable', sched))).toEqual([]);
      expect(actions(run('absent', sched))).toEqual(['remote-gc:scheduler-only-terminal']);
    });
  }

  it('scheduler absent', () => {
    expect(actions(run('active', undefined))).toEqual(['kill:scheduler-unknown', 'stale-if-kill-fails']);
    expect(actions(run('active-unreplayable', undefined))).toEqual(['local-gc:stale-checkpoint']);
    for (const [local] of finishedCases) expect(actions(run(local, undefined))).toEqual(['local-gc:finished-unknown']);
    expect(actions(run('finished-unreplayable', undefined))).toEqual(['local-gc:finished-unknown']);
    expect(actions(run('absent', undefined))).toEqual([]);
  });

  it('a finished task reported as CLEANING or an unknown state maps to RUNNING / SANDBOX_DELETED', () => {
    const f = facts('t1', 'finished-SUCCESS');
    f.statuses[1] = { state: 99, timestampMs: START - MIN };
    const plan = reconcile({ retained: new Map([['t1', S.RUNNING]]), facts: new Map([['t1', f]]), startMs: START, minimumKillAgeMs: KILL_AGE, killBudget: 1 });
    expect(plan.updates).toEqual([expect.objectContaining({ taskId: 't1', scheduleStatus: S.SANDBOX_DELETED, mesosState: 'TASK_LOST', message: FINISH })]);
  });
});

describe('in-sync active tasks: decided without their facts', () => {
  it('isInSyncActive holds for active tasks listed as active or starting, and nothing else', () => {
    for (const sched of [...LIVE, ...STARTING]) {
      expect(isInSyncActive('active', sched)).toBe(true);
      expect(isInSyncActive('finished', sched)).toBe(false);
    }
    for (const sched of TERMINAL) expect(isInSyncActive('active', sched)).toBe(false);
    expect(isInSyncActive('active', undefined)).toBe(false);
  });

  it('whatever their checkpoints say, the table leaves them alone: the plan is the same without their facts', () => {
    const retained = new Map<string, number>([['live', S.RUNNING], ['starting', S.STARTING], ['broken', S.RUNNING], ['done', S.RUNNING], ['stray', S.KILLED]]);
    const all = new Map<string, TaskFacts>([
      ['live', facts('live', 'active', { ageMs: 600 * MIN })],
      ['starting', facts('starting', 'active', { ageMs: MIN, mtimeAgeMs: 600 * MIN })],
      ['broken', facts('broken', 'active-unreplayable', { mtimeAgeMs: 600 * MIN })],
      ['done', facts('done', 'finished-SUCCESS')],
      ['stray', facts('stray', 'active')],
    ]);
    const opts = { retained, startMs: START, minimumKillAgeMs: KILL_AGE, killBudget: 1 };
    const full = reconcile({ ...opts, facts: all });
    const r = new Reconciliation(opts);
    for (const [id, f] of all) {
      if (isInSyncActive(f.state, retained.get(id))) r.decideInSyncActive(id);
      else r.decideLocal(f, id);
    }
    const partial = r.finish((id) => all.has(id));
    const noUnreplayable = (p: ReconcilePlan) => ({ ...p, noAction: p.noAction.map((i) => ({ ...i, unreplayable: false })) });
    // Not read is not known to be unreadable: only that flag of 'broken' differs.
    expect(noUnreplayable(partial)).toEqual(noUnreplayable(full));
    expect(partial.noAction.filter((i) => i.reason === 'in-sync').map((i) => i.taskId).sort()).toEqual(['broken', 'live', 'starting']);
    expect(partial.terminate.map((i) => i.taskId)).toEqual(['stray']);
  });

  it('refuses a task that is not listed as active or starting', () => {
    const r = new Reconciliation({ retained: new Map([['t', S.KILLED]]), startMs: START, minimumKillAgeMs: KILL_AGE, killBudget: 1 });
    expect(() => r.decideInSyncActive('t')).toThrow(/not listed as active or starting/);
    expect(() => r.decideInSyncActive('absent')).toThrow(/not listed as active or starting/);
  });
});

describe('reconcile: ages', () => {
  it('a corrupt checkpoint is deleted only when stale', () => {
    for (const sched of [undefined, S.KILLED, S.RUNNING]) {
      const fresh = run(sched === S.RUNNING ? 'finished-unreplayable' : 'active-unreplayable', sched, { mtimeAgeMs: KILL_AGE - 1 });
      expect(actions(fresh)).toEqual([]);
      expect(fresh.noAction).toContainEqual(expect.objectContaining({ taskId: 't1', reason: 'unreadable-fresh' }));
      const stale = run(sched === S.RUNNING ? 'finished-unreplayable' : 'active-unreplayable', sched, { mtimeAgeMs: KILL_AGE + 1 });
      expect(actions(stale)).toEqual(['local-gc:stale-checkpoint']);
    }
  });

  it('an unreplayable task with no runner checkpoint is never stale', () => {
    const f = facts('t1', 'active-unreplayable');
    delete f.runnerMtimeMs;
    const plan = reconcile({ retained: new Map(), facts: new Map([['t1', f]]), startMs: START, minimumKillAgeMs: KILL_AGE, killBudget: 1 });
    expect(plan.localGc).toEqual([]);
  });

  it('kill-age race: a task started after the scheduler built its map is not killed', () => {
    const young = run('active', undefined, { ageMs: KILL_AGE, mtimeAgeMs: 0 });
    expect(actions(young)).toEqual([]);
    expect(young.noAction).toContainEqual(expect.objectContaining({ taskId: 't1', reason: 'too-young' }));
    // Exactly the kill age is not "more than" it; one ms more is.
    expect(actions(run('active', S.KILLED, { ageMs: KILL_AGE + 1, mtimeAgeMs: 0 }))).toEqual(['kill:scheduler-terminal']);
    // Launched after the GC task was received (clock ahead): not killed.
    expect(actions(run('active', S.KILLED, { ageMs: -MIN, mtimeAgeMs: -MIN }))).toEqual([]);
  });

  it('a young task with a stale checkpoint (clock skew) is deleted as stale, as the original did', () => {
    expect(actions(run('active', undefined, { ageMs: MIN, mtimeAgeMs: KILL_AGE + 1 }))).toEqual(['local-gc:stale-checkpoint']);
  });

  it('a killable task with a fresh checkpoint is not marked stale-if-kill-fails', () => {
    expect(actions(run('active', undefined, { ageMs: 2 * KILL_AGE, mtimeAgeMs: MIN }))).toEqual(['kill:scheduler-unknown']);
  });
});

describe('reconcile: kill budget', () => {
  function many(active: number, unknown: number): ReconcilePlan {
    const retained = new Map<string, number>();
    const all = new Map<string, TaskFacts>();
    for (let i = 0; i < active; i++) {
      const id = `a${i}`;
      all.set(id, facts(id, 'active'));
      if (i >= unknown) retained.set(id, S.RUNNING);
    }
    all.set('done', facts('done', 'finished-SUCCESS'));
    return reconcile({ retained, facts: all, startMs: START, minimumKillAgeMs: KILL_AGE, killBudget: 0.5 });
  }

  it('kills up to the share', () => {
    const plan = many(4, 2);
    expect(plan.terminate.map((t) => t.taskId)).toEqual(['a0', 'a1']);
    expect(plan.killBudgetExceeded).toBeUndefined();
  });

  it('kills none above the share, holds back their stale deletion, and keeps other deletions', () => {
    const plan = many(4, 3);
    expect(plan.terminate).toEqual([]);
    expect(plan.staleIfKillFails).toEqual([]);
    expect(plan.killBudgetExceeded).toEqual({ wouldKill: 3, active: 4, budget: 0.5, why: 'share' });
    expect(plan.noAction.filter((n) => n.reason === 'kill-budget-exceeded').map((n) => n.taskId)).toEqual(['a0', 'a1', 'a2']);
    expect(plan.localGc.map((t) => t.taskId)).toEqual(['done']);
  });

  it('kills none when the scheduler map is empty while tasks are active', () => {
    const plan = many(1, 1);
    expect(plan.terminate).toEqual([]);
    expect(plan.killBudgetExceeded).toEqual({ wouldKill: 1, active: 1, budget: 0.5, why: 'empty-map' });
    expect(plan.localGc.map((t) => t.taskId)).toEqual(['done']);
  });

  it('one stray task can always be killed when the map is not empty', () => {
    expect(checkKillBudget({ wouldKill: 1, active: 1, retainedSize: 3, budget: 0.5 })).toBeUndefined();
    expect(checkKillBudget({ wouldKill: 2, active: 2, retainedSize: 3, budget: 0.5 })).toMatchObject({ why: 'share' });
    expect(checkKillBudget({ wouldKill: 2, active: 2, retainedSize: 3, budget: 1 })).toBeUndefined();
    expect(checkKillBudget({ wouldKill: 0, active: 5, retainedSize: 0, budget: 0.5 })).toBeUndefined();
  });
});

describe('reconcile: unsafe ids', () => {
  it('never acts locally on an unsafe id, but still reports scheduler-only ones', () => {
    const bad = facts('..', 'finished-SUCCESS');
    const retained = new Map<string, number>([
      ['a/b', S.RUNNING],
      ['../x', S.KILLED],
    ]);
    const plan = reconcile({ retained, facts: new Map([['..', bad]]), startMs: START, minimumKillAgeMs: KILL_AGE, killBudget: 1 });
    expect(plan.localGc).toEqual([]);
    expect(plan.noAction).toContainEqual(expect.objectContaining({ taskId: '..', reason: 'unsafe-task-id' }));
    expect(plan.updates.map((u) => u.taskId)).toEqual(['a/b']);
    expect(plan.remoteGc.map((u) => u.taskId)).toEqual(['../x']);
  });
});

describe('planGarbageCollection', () => {
  it('computes (finished − linked) ∪ localGc and (retained ∩ gc) ∪ remoteGc', () => {
    const plan = planGarbageCollection({
      finishedAfterKills: new Set(['f1', 'f2', 'killed']),
      linked: new Set(['f2', 'act']),
      localGc: new Set(['stale']),
      retained: new Map([
        ['f1', S.FINISHED],
        ['f2', S.FINISHED],
        ['killed', S.KILLED],
        ['act', S.RUNNING],
      ]),
      remoteGc: new Set(['gone']),
    });
    expect(plan.garbageCollect).toEqual(['f1', 'killed', 'stale']);
    expect(plan.deletedTasks).toEqual(['f1', 'gone', 'killed']);
  });

  it('drops unsafe ids from the garbage collection set', () => {
    const plan = planGarbageCollection({ finishedAfterKills: new Set(['ok', '..']), linked: new Set(), localGc: new Set(['a/b']), retained: new Map(), remoteGc: new Set() });
    expect(plan.garbageCollect).toEqual(['ok']);
  });

  it('reports (retained ∩ gc) ∪ remoteGc as deletedTasksToReport does, overlaps and odd ids included', () => {
    const id = fc.constantFrom('a', 'b', 'B', 'a0', 'é', 'z', '10', '9', 'x-1', 'x_1', '😀', '\uffff');
    const ids = fc.uniqueArray(id, { maxLength: 12 });
    fc.assert(
      fc.property(ids, ids, ids, ids, ids, (finished, linked, localGc, retainedIds, remote) => {
        const retained = new Map(retainedIds.map((i) => [i, S.FINISHED] as const));
        const plan = planGarbageCollection({ finishedAfterKills: new Set(finished), linked: new Set(linked), localGc, retained, remoteGc: new Set(remote) });
        expect(plan.deletedTasks).toEqual(deletedTasksToReport(retained, plan.garbageCollect, remote));
      }),
      { numRuns: 500 },
    );
  });

  it('deletedTasksToReport reports only retained deletions plus remote ones', () => {
    expect(deletedTasksToReport(new Map([['a', 3], ['b', 3]]), ['a', 'c'], ['z'])).toEqual(['a', 'z']);
  });
});
