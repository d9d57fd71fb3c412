// Plain-data shapes of the Thermos checkpoint records (domain.md §3). Every field is optional,
// as in Thrift: a field absent on the wire is absent here (not zero, not null).
// i64 values are JS numbers; the decoder refuses values outside the safe-integer range.

export interface RunnerHeader {
  taskId?: string;
  launchTimeMs?: number;
  sandbox?: string;
  logDir?: string;
  hostname?: string;
  user?: string;
  uid?: number;
  ports?: Record<string, number>;
}

export interface TaskStatusRecord {
  state?: number;
  timestampMs?: number;
  runnerPid?: number;
  runnerUid?: number;
}

export interface ProcessStatusRecord {
  seq?: number;
  process?: string;
  state?: number;
  coordinatorPid?: number;
  forkTime?: number;
  startTime?: number;
  pid?: number;
  stopTime?: number;
  returnCode?: number;
}

/** One RunnerCkpt union record: exactly one member is set. */
export type RunnerCkpt =
  | { kind: 'header'; header: RunnerHeader }
  | { kind: 'process'; process: ProcessStatusRecord }
  | { kind: 'task'; task: TaskStatusRecord };

/** One run of a process: the accumulated fields of the records WAITING … terminal. */
export interface ProcessRun {
  seq: number;
  state: number;
  coordinatorPid?: number;
  forkTime?: number;
  startTime?: number;
  pid?: number;
  stopTime?: number;
  returnCode?: number;
}

/** A replayed runner checkpoint. */
export interface RunnerState {
  header?: RunnerHeader;
  statuses: TaskStatusRecord[];
  /** Process name → runs, oldest first. */
  processes: Record<string, ProcessRun[]>;
}

/** What the orphan scan and the killer need from a task's checkpoints (runner + coordinators). */
export interface TaskInspection {
  /** Every runner named by a task status, in order of appearance (a change of runner_pid starts a new one). */
  runners: Array<{ pid: number; uid?: number; timestampMs: number }>;
  /** Pids recorded for coordinators and processes, with the time the pid should have started (epoch s). */
  coordinators: Array<{ process: string; pid: number; forkTime?: number }>;
  processes: Array<{ process: string; pid: number; startTime?: number }>;
  /** Latest timestamp seen in any record (epoch ms), or undefined. */
  latestUpdateMs?: number;
}
