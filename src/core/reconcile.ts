// The reconciliation table of domain.md §6: the scheduler's view of this node against what is on
// disk, as a plan where every item says why. Pure: the caller supplies the facts and the time the
// GC task was received; executing the plan (kills, updates, deletions) is the shell's job.
import type { TaskFacts } from './facts.js';
import { checkKillBudget, type KillBudgetExceeded } from './kill-budget.js';
import type { MesosTaskState } from './states.js';
import {
  ScheduleStatus,
  classifyScheduleStatus,
  scheduleStatusName as statusName,
  thermosToMesosState,
  thermosToScheduleStatus,
  type ScheduleClass,
} from './states.js';
import { isSafeTaskId } from './task-id.js';

/** Stable reason codes: logged, counted and printed by `plan`. */
export type ReconcileReason =
  | 'scheduler-terminal' // local active, scheduler says terminal, old enough: kill
  | 'scheduler-unknown' // local active, scheduler does not list it, old enough: kill
  | 'stale-checkpoint' // not killed (too young or unreplayable) but the runner checkpoint is stale: delete
  | 'finished-unknown' // local finished, scheduler does not list it: delete
  | 'scheduler-only-terminal' // only the scheduler knows it, as terminal: tell it it is deleted
  | 'finish-detected' // local finished, scheduler thinks active/starting: report the real status
  | 'no-trace' // scheduler thinks active, nothing local: report LOST
  | 'too-young' // would be killed but started within the minimum kill age
  | 'unreadable-fresh' // unreplayable, but its checkpoint changed within the minimum kill age
  | 'scheduler-starting' // only the scheduler knows it, as starting: a launch may be in flight
  | 'in-sync' // both agree (active/active, active/starting, finished/terminal)
  | 'kill-budget-exceeded' // would be killed, but the kill budget holds every kill back
  | 'unsafe-task-id'; // an id that is not a safe path component: never acted on locally

export interface PlanItem {
  taskId: string;
  reason: ReconcileReason;
  /** Human text, for logs and `plan`. */
  detail: string;
}

export interface PlannedUpdate extends PlanItem {
  /** ScheduleStatus value the scheduler is told (what the original recorded in `updates`). */
  scheduleStatus: number;
  mesosState: MesosTaskState;
  message: string;
}

export interface ReconcilePlan {
  /** Local active tasks to kill. */
  terminate: PlanItem[];
  /** Local tasks to delete whatever their executor's state (the original's local_gc). */
  localGc: PlanItem[];
  /** Scheduler-only terminal tasks: reported deleted without touching the disk. */
  remoteGc: PlanItem[];
  /** Status updates to send for tasks the scheduler has wrong. */
  updates: PlannedUpdate[];
  /** Tasks in `terminate` whose checkpoint is stale: delete them if their kill fails. */
  staleIfKillFails: Array<{ taskId: string }>;
  /** Decisions that lead to no action, with why (kept for logs and `plan`). */
  noAction: PlanItem[];
  killBudgetExceeded?: KillBudgetExceeded;
}

export interface ReconcileInput {
  /** The scheduler's map: task id → ScheduleStatus. */
  retained: ReadonlyMap<string, number>;
  /** Every local task (active or finished), by id. */
  facts: ReadonlyMap<string, TaskFacts>;
  /** When the GC task was received (epoch ms). */
  startMs: number;
  minimumKillAgeMs: number;
  /** Share of active tasks one GC task may kill (see kill-budget.ts). */
  killBudget: number;
}

const FINISH_DETECTED = 'Task finish detected by GC executor.';
const NO_TRACE = 'GC executor found no trace of task.';

/** Stale: the runner checkpoint exists and was last written more than the kill age before `start`. */
export function isStale(facts: TaskFacts, startMs: number, minimumKillAgeMs: number): boolean {
  return facts.runnerMtimeMs !== undefined && startMs - facts.runnerMtimeMs > minimumKillAgeMs;
}

/** Old enough to kill: its first task status is more than the kill age before `start`. */
export function isOldEnoughToKill(facts: TaskFacts, startMs: number, minimumKillAgeMs: number): boolean {
  const first = facts.statuses[0];
  return first !== undefined && startMs - first.timestampMs > minimumKillAgeMs;
}

/**
 * Applies the table to every task known locally or to the scheduler. Unsafe ids (not a plain
 * path component) are never acted on locally: a local one is reported in `noAction`; a
 * scheduler-only one is still reported back (LOST / deleted), which touches no file.
 */
export function reconcile(input: ReconcileInput): ReconcilePlan {
  const { retained, facts, startMs, minimumKillAgeMs } = input;
  const plan: ReconcilePlan = { terminate: [], localGc: [], remoteGc: [], updates: [], staleIfKillFails: [], noAction: [] };
  const item = (taskId: string, reason: ReconcileReason, detail: string): PlanItem => ({ taskId, reason, detail });

  for (const [taskId, local] of facts) {
    const status = retained.get(taskId);
    const sched: ScheduleClass | 'absent' = status === undefined ? 'absent' : classifyScheduleStatus(status);
    const said = status === undefined ? 'not listed by the scheduler' : `scheduler says ${statusName(status)}`;
    if (!isSafeTaskId(taskId)) {
      plan.noAction.push(item(taskId, 'unsafe-task-id', `task id is not a safe path component; ${said}`));
      continue;
    }
    const stale = isStale(local, startMs, minimumKillAgeMs);
    if (local.state === 'active') {
      if (sched === 'active' || sched === 'starting') {
        plan.noAction.push(item(taskId, 'in-sync', `active locally, ${said}`));
      } else if (isOldEnoughToKill(local, startMs, minimumKillAgeMs)) {
        const reason = sched === 'terminal' ? 'scheduler-terminal' : 'scheduler-unknown';
        plan.terminate.push(item(taskId, reason, `active locally, ${said}, started more than the minimum kill age ago`));
        if (stale) plan.staleIfKillFails.push({ taskId });
      } else if (stale) {
        const why = local.statuses.length === 0 ? 'checkpoint unreplayable' : 'too young to kill';
        plan.localGc.push(item(taskId, 'stale-checkpoint', `active locally, ${said}, ${why}, runner checkpoint stale`));
      } else if (local.statuses.length === 0) {
        plan.noAction.push(item(taskId, 'unreadable-fresh', `active locally, ${said}, checkpoint unreplayable but recently written`));
      } else {
        plan.noAction.push(item(taskId, 'too-young', `active locally, ${said}, started within the minimum kill age`));
      }
      continue;
    }
    // Finished locally.
    if (sched === 'absent') {
      plan.localGc.push(item(taskId, 'finished-unknown', 'finished locally, not listed by the scheduler'));
    } else if (sched === 'terminal') {
      plan.noAction.push(item(taskId, 'in-sync', `finished locally, ${said}`));
    } else {
      const last = local.statuses[local.statuses.length - 1];
      if (last !== undefined) {
        const scheduleStatus = thermosToScheduleStatus(last.state);
        plan.updates.push({
          ...item(taskId, 'finish-detected', `finished locally as ${statusName(scheduleStatus)}, ${said}`),
          scheduleStatus,
          mesosState: thermosToMesosState(last.state),
          message: FINISH_DETECTED,
        });
      } else if (stale) {
        plan.localGc.push(item(taskId, 'stale-checkpoint', `finished locally, ${said}, checkpoint unreplayable and stale`));
      } else {
        plan.noAction.push(item(taskId, 'unreadable-fresh', `finished locally, ${said}, checkpoint unreplayable but recently written`));
      }
    }
  }

  for (const [taskId, status] of retained) {
    if (facts.has(taskId)) continue;
    const cls = classifyScheduleStatus(status);
    if (cls === 'terminal') {
      plan.remoteGc.push(item(taskId, 'scheduler-only-terminal', `no local trace, scheduler says ${statusName(status)}`));
    } else if (cls === 'active') {
      plan.updates.push({
        ...item(taskId, 'no-trace', `no local trace, scheduler says ${statusName(status)}`),
        scheduleStatus: ScheduleStatus.LOST,
        mesosState: 'TASK_LOST',
        message: NO_TRACE,
      });
    } else {
      plan.noAction.push(item(taskId, 'scheduler-starting', `no local trace, scheduler says ${statusName(status)}`));
    }
  }

  let active = 0;
  for (const f of facts.values()) if (f.state === 'active') active++;
  const exceeded = checkKillBudget({
    wouldKill: plan.terminate.length,
    active,
    retainedSize: retained.size,
    budget: input.killBudget,
  });
  if (exceeded !== undefined) {
    // Held back tasks are not deleted as stale either: the same doubt about the map applies.
    for (const t of plan.terminate) plan.noAction.push({ ...t, reason: 'kill-budget-exceeded', detail: `${t.detail}; kill held back by the kill budget` });
    plan.terminate = [];
    plan.staleIfKillFails = [];
    plan.killBudgetExceeded = exceeded;
  }
  return plan;
}

export interface GarbageCollectionInput {
  /** Tasks finished locally after the kills (the rescan), or predicted to be (for `plan`). */
  finishedAfterKills: ReadonlySet<string>;
  /** Task ids whose thermos- executor still has a run directory. */
  linked: ReadonlySet<string>;
  /** The plan's localGc ids, plus stale tasks whose kill failed. */
  localGc: ReadonlySet<string>;
  retained: ReadonlyMap<string, number>;
  remoteGc: ReadonlySet<string>;
}

export interface GarbageCollectionPlan {
  /** (finished − linked) ∪ localGc, sorted; unsafe ids left out. */
  garbageCollect: string[];
  /** (retained ∩ garbageCollect) ∪ remoteGc, sorted, assuming every deletion succeeds. */
  deletedTasks: string[];
}

export function planGarbageCollection(input: GarbageCollectionInput): GarbageCollectionPlan {
  const gc = new Set<string>();
  for (const id of input.finishedAfterKills) if (!input.linked.has(id)) gc.add(id);
  for (const id of input.localGc) gc.add(id);
  for (const id of gc) if (!isSafeTaskId(id)) gc.delete(id);
  const garbageCollect = [...gc].sort();
  return { garbageCollect, deletedTasks: deletedTasksToReport(input.retained, garbageCollect, input.remoteGc) };
}

/** (retained ∩ deleted) ∪ remoteGc, sorted: what the SchedulerMessage lists. */
export function deletedTasksToReport(
  retained: ReadonlyMap<string, number>,
  deleted: Iterable<string>,
  remoteGc: Iterable<string>,
): string[] {
  const out = new Set<string>(remoteGc);
  for (const id of deleted) if (retained.has(id)) out.add(id);
  return [...out].sort();
}
