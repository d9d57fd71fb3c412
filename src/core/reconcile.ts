// The reconciliation table of domain.md §6: the scheduler's view of this node against what is on
// disk, as a plan where every item says why. Pure: the caller supplies the facts and the time the
// GC task was received; executing the plan (kills, updates, deletions) is the shell's job.
import type { LocalState, TaskFacts } from './facts.js';
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

/**
 * One decision. No prose is stored: at 10,000 tasks that was 10,000 strings built for log lines
 * mostly never written; `describePlanItem` derives the text from these fields when it is logged.
 */
export interface PlanItem {
  taskId: string;
  reason: ReconcileReason;
  /** How the task is known locally; undefined when only the scheduler knows it. */
  local: LocalState | undefined;
  /** The scheduler's ScheduleStatus; undefined when it does not list the task. */
  scheduled: number | undefined;
  /** The runner checkpoint could not be replayed (it has no statuses). */
  unreplayable: boolean;
  /** For 'kill-budget-exceeded': why the kill would have been made. */
  heldBack: ReconcileReason | undefined;
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
  /** Every local task (active or finished) whose checkpoint was read, by id. */
  facts: ReadonlyMap<string, TaskFacts>;
  /** Local tasks decided without their facts (`isInSyncActive`: `plan` does not read them). */
  inSyncActive?: readonly string[];
  /** When the GC task was received (epoch ms). */
  startMs: number;
  minimumKillAgeMs: number;
  /** Share of active tasks one GC task may kill (see kill-budget.ts). */
  killBudget: number;
}

function planItem(taskId: string, reason: ReconcileReason, local: LocalState | undefined, scheduled: number | undefined, unreplayable: boolean): PlanItem {
  return { taskId, reason, local, scheduled, unreplayable, heldBack: undefined };
}

/** One literal, one shape: a spread (`{ ...item, ... }`) measured ~1 KiB of allocation per update. */
function plannedUpdate(
  taskId: string,
  reason: ReconcileReason,
  local: LocalState | undefined,
  scheduled: number | undefined,
  scheduleStatus: number,
  mesosState: MesosTaskState,
  message: string,
): PlannedUpdate {
  return { taskId, reason, local, scheduled, unreplayable: false, heldBack: undefined, scheduleStatus, mesosState, message };
}

const FINISH_DETECTED = 'Task finish detected by GC executor.';
const NO_TRACE = 'GC executor found no trace of task.';

/** Stale: the runner checkpoint exists and was last written more than the kill age before `start`. */
export function isStale(facts: TaskFacts, startMs: number, minimumKillAgeMs: number): boolean {
  return facts.runnerMtimeMs !== undefined && startMs - facts.runnerMtimeMs > minimumKillAgeMs;
}

/**
 * Whether the table reads a local task's runner mtime (`isStale`): for an active task (not in
 * sync, its kill may not happen) and for a checkpoint with no statuses (unreplayable). A replayed
 * finished task is decided by its statuses alone, so a scan for reconciliation may skip its fstat.
 */
export function readsRunnerMtime(state: LocalState, statusCount: number): boolean {
  return state === 'active' || statusCount === 0;
}

/** Old enough to kill: its first task status is more than the kill age before `start`. */
export function isOldEnoughToKill(facts: TaskFacts, startMs: number, minimumKillAgeMs: number): boolean {
  const first = facts.statuses[0];
  return first !== undefined && startMs - first.timestampMs > minimumKillAgeMs;
}

/**
 * Whether the table leaves a local task alone whatever its checkpoint says: active locally and
 * listed as active or starting ("–"). Such a task is never killed, so it cannot be finished after
 * the kills either: its decision reads neither its checkpoint nor its executor's link.
 */
export function isInSyncActive(state: LocalState, scheduleStatus: number | undefined): boolean {
  if (state !== 'active' || scheduleStatus === undefined) return false;
  const cls = classifyScheduleStatus(scheduleStatus);
  return cls === 'active' || cls === 'starting';
}

/**
 * Applies the table to every task known locally or to the scheduler. Unsafe ids (not a plain
 * path component) are never acted on locally: a local one is reported in `noAction`; a
 * scheduler-only one is still reported back (LOST / deleted), which touches no file.
 */
export function reconcile(input: ReconcileInput): ReconcilePlan {
  const r = new Reconciliation(input);
  input.facts.forEach((f, taskId) => r.decideLocal(f, taskId));
  const inSync = new Set(input.inSyncActive);
  for (const taskId of inSync) r.decideInSyncActive(taskId);
  return r.finish((taskId) => input.facts.has(taskId) || inSync.has(taskId));
}

export interface ReconciliationOptions extends Omit<ReconcileInput, 'facts' | 'inSyncActive'> {
  /**
   * Receives each decision that leads to no action instead of `plan.noAction` (a GC run logs them
   * and keeps none: at 100,000 tasks they would be most of its memory).
   */
  onNoAction?: (item: PlanItem) => void;
  /** Receives each local_gc decision instead of `plan.localGc` (a GC run keeps only id and reason). */
  onLocalGc?: (item: PlanItem) => void;
}

/**
 * The same table, one local task at a time: a GC run decides each task as its facts are read and
 * keeps only what the rest of the run needs, never every task's facts at once. `finish` adds the
 * scheduler-only tasks and the kill budget, which need every local task to have been decided.
 */
export class Reconciliation {
  readonly plan: ReconcilePlan = { terminate: [], localGc: [], remoteGc: [], updates: [], staleIfKillFails: [], noAction: [] };
  private active = 0;
  private readonly retained: ReadonlyMap<string, number>;
  private readonly startMs: number;
  private readonly minimumKillAgeMs: number;
  private readonly killBudget: number;
  private readonly noAction: (item: PlanItem) => void;
  private readonly localGc: (item: PlanItem) => void;

  constructor(o: ReconciliationOptions) {
    this.retained = o.retained;
    this.startMs = o.startMs;
    this.minimumKillAgeMs = o.minimumKillAgeMs;
    this.killBudget = o.killBudget;
    this.noAction = o.onNoAction ?? ((item) => this.plan.noAction.push(item));
    this.localGc = o.onLocalGc ?? ((item) => this.plan.localGc.push(item));
  }

  /** Decides one local task (`taskId` is its key: the id its files are named by). */
  decideLocal(local: TaskFacts, taskId: string): void {
    const { plan, startMs, minimumKillAgeMs } = this;
    const status = this.retained.get(taskId);
    const sched: ScheduleClass | 'absent' = status === undefined ? 'absent' : classifyScheduleStatus(status);
    const unreplayable = local.statuses.length === 0;
    if (local.state === 'active') this.active++;
    if (!isSafeTaskId(taskId)) {
      this.noAction(planItem(taskId, 'unsafe-task-id', local.state, status, unreplayable));
      return;
    }
    const stale = isStale(local, startMs, minimumKillAgeMs);
    if (local.state === 'active') {
      if (sched === 'active' || sched === 'starting') {
        this.noAction(planItem(taskId, 'in-sync', local.state, status, unreplayable));
      } else if (isOldEnoughToKill(local, startMs, minimumKillAgeMs)) {
        plan.terminate.push(planItem(taskId, sched === 'terminal' ? 'scheduler-terminal' : 'scheduler-unknown', local.state, status, unreplayable));
        if (stale) plan.staleIfKillFails.push({ taskId });
      } else if (stale) {
        this.localGc(planItem(taskId, 'stale-checkpoint', local.state, status, unreplayable));
      } else if (unreplayable) {
        this.noAction(planItem(taskId, 'unreadable-fresh', local.state, status, unreplayable));
      } else {
        this.noAction(planItem(taskId, 'too-young', local.state, status, unreplayable));
      }
      return;
    }
    // Finished locally.
    if (sched === 'absent') {
      this.localGc(planItem(taskId, 'finished-unknown', local.state, status, unreplayable));
    } else if (sched === 'terminal') {
      this.noAction(planItem(taskId, 'in-sync', local.state, status, unreplayable));
    } else {
      const last = local.statuses[local.statuses.length - 1];
      if (last !== undefined) {
        plan.updates.push(plannedUpdate(taskId, 'finish-detected', local.state, status, thermosToScheduleStatus(last.state), thermosToMesosState(last.state), FINISH_DETECTED));
      } else if (stale) {
        this.localGc(planItem(taskId, 'stale-checkpoint', local.state, status, unreplayable));
      } else {
        this.noAction(planItem(taskId, 'unreadable-fresh', local.state, status, unreplayable));
      }
    }
  }

  /**
   * Decides a task `isInSyncActive` says is left alone, without its facts (`plan` does not read
   * its checkpoint). `unreplayable` is false: not read is not known to be unreadable.
   */
  decideInSyncActive(taskId: string): void {
    const status = this.retained.get(taskId);
    if (!isInSyncActive('active', status)) throw new Error(`decideInSyncActive: ${taskId} is not listed as active or starting`);
    this.active++;
    this.noAction(planItem(taskId, isSafeTaskId(taskId) ? 'in-sync' : 'unsafe-task-id', 'active', status, false));
  }

  /** Adds the tasks only the scheduler knows and applies the kill budget; call once, after every local task. */
  finish(isLocal: (taskId: string) => boolean): ReconcilePlan {
    const { plan, retained } = this;
    retained.forEach((status, taskId) => {
      if (isLocal(taskId)) return;
      const cls = classifyScheduleStatus(status);
      if (cls === 'terminal') {
        plan.remoteGc.push(planItem(taskId, 'scheduler-only-terminal', undefined, status, false));
      } else if (cls === 'active') {
        plan.updates.push(plannedUpdate(taskId, 'no-trace', undefined, status, ScheduleStatus.LOST, 'TASK_LOST', NO_TRACE));
      } else {
        this.noAction(planItem(taskId, 'scheduler-starting', undefined, status, false));
      }
    });
    const exceeded = checkKillBudget({
      wouldKill: plan.terminate.length,
      active: this.active,
      retainedSize: retained.size,
      budget: this.killBudget,
    });
    if (exceeded !== undefined) {
      // Held back tasks are not deleted as stale either: the same doubt about the map applies.
      for (const t of plan.terminate) this.noAction({ ...t, reason: 'kill-budget-exceeded', heldBack: t.reason });
      plan.terminate = [];
      plan.staleIfKillFails = [];
      plan.killBudgetExceeded = exceeded;
    }
    return plan;
  }
}

/** The human text of a decision (logs, `plan`), from what the item records. */
export function describePlanItem(i: PlanItem): string {
  const said = i.scheduled === undefined ? 'not listed by the scheduler' : `scheduler says ${statusName(i.scheduled)}`;
  switch (i.reason) {
    case 'unsafe-task-id':
      return `task id is not a safe path component; ${said}`;
    case 'in-sync':
      return `${i.local ?? 'not'} locally, ${said}`;
    case 'scheduler-terminal':
    case 'scheduler-unknown':
      return `active locally, ${said}, started more than the minimum kill age ago`;
    case 'kill-budget-exceeded':
      return `${describePlanItem({ ...i, reason: i.heldBack ?? 'scheduler-unknown' })}; kill held back by the kill budget`;
    case 'stale-checkpoint':
      return i.local === 'active'
        ? `active locally, ${said}, ${i.unreplayable ? 'checkpoint unreplayable' : 'too young to kill'}, runner checkpoint stale`
        : `finished locally, ${said}, checkpoint unreplayable and stale`;
    case 'unreadable-fresh':
      return `${i.local ?? 'not'} locally, ${said}, checkpoint unreplayable but recently written`;
    case 'too-young':
      return `active locally, ${said}, started within the minimum kill age`;
    case 'finished-unknown':
      return 'finished locally, not listed by the scheduler';
    case 'finish-detected':
      return `finished locally as ${statusName((i as PlannedUpdate).scheduleStatus)}, ${said}`;
    case 'scheduler-only-terminal':
    case 'no-trace':
    case 'scheduler-starting':
      return `no local trace, ${said}`;
  }
}

export interface GarbageCollectionInput {
  /** Tasks finished locally after the kills (the rescan), or predicted to be (for `plan`). */
  finishedAfterKills: ReadonlySet<string>;
  /** Task ids whose thermos- executor still has a run directory. */
  linked: ReadonlySet<string>;
  /** The plan's localGc ids, plus stale tasks whose kill failed (read once). */
  localGc: Iterable<string>;
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
  const retainedDeleted = garbageCollect.filter((id) => input.retained.has(id));
  return { garbageCollect, deletedTasks: sortedUnion(retainedDeleted, [...input.remoteGc].sort()) };
}

/** The union of two sorted arrays without repeats, sorted (what a Set and a sort give, in one pass). */
function sortedUnion(a: readonly string[], b: readonly string[]): string[] {
  if (b.length === 0) return a.slice();
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as string;
    const y = b[j] as string;
    if (x < y) {
      out.push(x);
      i++;
    } else if (y < x) {
      out.push(y);
      j++;
    } else {
      out.push(x);
      i++;
      j++;
    }
  }
  while (i < a.length) out.push(a[i++] as string);
  while (j < b.length) out.push(b[j++] as string);
  return out;
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
