// Enumerations of the Thermos and Aurora wire formats (domain.md §3 and §5), and the mappings
// between them. Values are the numbers written on the wire.

export const TaskState = {
  ACTIVE: 0,
  SUCCESS: 1,
  FAILED: 2,
  KILLED: 3,
  LOST: 4,
  CLEANING: 5,
  FINALIZING: 6,
} as const;
export type TaskStateName = keyof typeof TaskState;

export const ProcessState = {
  WAITING: 0,
  FORKED: 1,
  RUNNING: 2,
  SUCCESS: 3,
  KILLED: 4,
  FAILED: 5,
  LOST: 6,
} as const;
export type ProcessStateName = keyof typeof ProcessState;

export const ScheduleStatus = {
  INIT: 11,
  THROTTLED: 16,
  PENDING: 0,
  ASSIGNED: 9,
  STARTING: 1,
  RUNNING: 2,
  FINISHED: 3,
  PREEMPTING: 13,
  RESTARTING: 12,
  DRAINING: 17,
  FAILED: 4,
  KILLED: 5,
  KILLING: 6,
  LOST: 7,
  SANDBOX_DELETED: 10,
} as const;
export type ScheduleStatusName = keyof typeof ScheduleStatus;

/** Mesos TaskState names as they appear in the v1 JSON API. */
export type MesosTaskState =
  | 'TASK_STAGING'
  | 'TASK_STARTING'
  | 'TASK_RUNNING'
  | 'TASK_FINISHED'
  | 'TASK_FAILED'
  | 'TASK_KILLED'
  | 'TASK_LOST';

function invert<T extends Record<string, number>>(table: T): ReadonlyMap<number, keyof T & string> {
  const out = new Map<number, keyof T & string>();
  for (const [name, value] of Object.entries(table)) out.set(value, name as keyof T & string);
  return out;
}

const taskStateNames = invert(TaskState);
const processStateNames = invert(ProcessState);
const scheduleStatusNames = invert(ScheduleStatus);

/** Enum name for a TaskState value; unknown values print as their number. */
export function taskStateName(value: number): string {
  return taskStateNames.get(value) ?? String(value);
}
export function processStateName(value: number): string {
  return processStateNames.get(value) ?? String(value);
}
export function scheduleStatusName(value: number): string {
  return scheduleStatusNames.get(value) ?? String(value);
}
export function parseScheduleStatus(name: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(ScheduleStatus, name)
    ? ScheduleStatus[name as ScheduleStatusName]
    : undefined;
}

const LIVE_TASK_STATES: ReadonlySet<number> = new Set([TaskState.ACTIVE, TaskState.CLEANING, TaskState.FINALIZING]);
export function isLiveTaskState(state: number): boolean {
  return LIVE_TASK_STATES.has(state);
}
export function isTerminalTaskState(state: number): boolean {
  return !LIVE_TASK_STATES.has(state);
}

const TERMINAL_PROCESS_STATES: ReadonlySet<number> = new Set([
  ProcessState.SUCCESS,
  ProcessState.KILLED,
  ProcessState.FAILED,
  ProcessState.LOST,
]);
export function isTerminalProcessState(state: number): boolean {
  return TERMINAL_PROCESS_STATES.has(state);
}

const TERMINAL_SCHEDULE: ReadonlySet<number> = new Set([
  ScheduleStatus.FAILED,
  ScheduleStatus.FINISHED,
  ScheduleStatus.KILLED,
  ScheduleStatus.LOST,
  ScheduleStatus.SANDBOX_DELETED,
]);
const STARTING_SCHEDULE: ReadonlySet<number> = new Set([ScheduleStatus.STARTING, ScheduleStatus.ASSIGNED]);

export type ScheduleClass = 'active' | 'starting' | 'terminal';
/** How reconciliation sees a scheduler status: every status not terminal or starting is active. */
export function classifyScheduleStatus(status: number): ScheduleClass {
  if (TERMINAL_SCHEDULE.has(status)) return 'terminal';
  if (STARTING_SCHEDULE.has(status)) return 'starting';
  return 'active';
}

/** Thermos task state → the ScheduleStatus reported to the scheduler. */
export function thermosToScheduleStatus(state: number): number {
  switch (state) {
    case TaskState.ACTIVE:
    case TaskState.CLEANING:
    case TaskState.FINALIZING:
      return ScheduleStatus.RUNNING;
    case TaskState.SUCCESS:
      return ScheduleStatus.FINISHED;
    case TaskState.FAILED:
      return ScheduleStatus.FAILED;
    case TaskState.KILLED:
      return ScheduleStatus.KILLED;
    case TaskState.LOST:
      return ScheduleStatus.LOST;
    default:
      return ScheduleStatus.SANDBOX_DELETED;
  }
}

/** Thermos task state → the Mesos state sent in a status update. */
export function thermosToMesosState(state: number): MesosTaskState {
  switch (state) {
    case TaskState.ACTIVE:
      return 'TASK_RUNNING';
    case TaskState.SUCCESS:
      return 'TASK_FINISHED';
    case TaskState.FAILED:
      return 'TASK_FAILED';
    case TaskState.KILLED:
      return 'TASK_KILLED';
    default:
      return 'TASK_LOST';
  }
}
