// Which locally active tasks are orphans (domain.md §6): their runner died (kill -9, reboot)
// without recording an end. Pure: liveness and ownership of the runner are looked up by the caller.

export interface RunnerRef {
  pid: number;
  uid?: number;
  /** Timestamp of the first task status naming this runner (≈ when it started). */
  timestampMs: number;
}

interface StatusLike {
  timestampMs?: number;
  runnerPid?: number;
  runnerUid?: number;
}

/**
 * The last runner named by the task statuses: a change of runner_pid marks a new runner, and its
 * time is the first status that names it. Undefined when no status names a runner (not started).
 */
export function lastRunnerOf(statuses: readonly StatusLike[]): RunnerRef | undefined {
  let last: RunnerRef | undefined;
  for (const s of statuses) {
    if (s.runnerPid === undefined || s.runnerPid === last?.pid) continue;
    last = { pid: s.runnerPid, timestampMs: s.timestampMs ?? 0 };
    if (s.runnerUid !== undefined) last.uid = s.runnerUid;
  }
  return last;
}

export type OrphanAction = 'healthy' | 'not-started' | 'recent-checkpoint' | 'lose' | 'no-checkpoint';

export interface OrphanCandidate {
  taskId: string;
  lastRunner?: RunnerRef;
  /** mtime (epoch ms) of the runner checkpoint; absent when it cannot be read. */
  runnerMtimeMs?: number;
  runnerAlive: boolean;
  /** Alive, and passes the pid-ownership check. */
  runnerOurs: boolean;
  /** Set when the runner checkpoint could not be read or replayed: such a task is left alone. */
  checkpointError?: string;
}

export interface OrphanDecision {
  taskId: string;
  action: OrphanAction;
  why: string;
}

export interface OrphanInput {
  tasks: readonly OrphanCandidate[];
  nowMs: number;
  maxCheckpointDriftMs: number;
}

export function decideOrphan(task: OrphanCandidate, nowMs: number, maxCheckpointDriftMs: number): OrphanDecision {
  const { taskId, lastRunner } = task;
  if (task.checkpointError !== undefined) {
    return { taskId, action: 'no-checkpoint', why: `runner checkpoint unusable (${task.checkpointError}): leaving it` };
  }
  if (lastRunner === undefined) {
    return { taskId, action: 'not-started', why: 'no runner recorded yet: the task has not started' };
  }
  if (task.runnerAlive && task.runnerOurs) {
    return { taskId, action: 'healthy', why: `runner ${lastRunner.pid} is alive and ours` };
  }
  const runnerWhy = task.runnerAlive
    ? `pid ${lastRunner.pid} is alive but not our runner`
    : `runner ${lastRunner.pid} is dead`;
  if (task.runnerMtimeMs === undefined) {
    return { taskId, action: 'no-checkpoint', why: `${runnerWhy}; runner checkpoint cannot be read: leaving it` };
  }
  const quietMs = nowMs - task.runnerMtimeMs;
  if (quietMs <= maxCheckpointDriftMs) {
    return {
      taskId,
      action: 'recent-checkpoint',
      why: `${runnerWhy}; checkpoint written ${Math.round(quietMs / 1000)} s ago (within ${Math.round(maxCheckpointDriftMs / 1000)} s): leaving it`,
    };
  }
  return {
    taskId,
    action: 'lose',
    why: `${runnerWhy}; checkpoint quiet for ${Math.round(quietMs / 1000)} s (over ${Math.round(maxCheckpointDriftMs / 1000)} s)`,
  };
}

export function decideOrphans(input: OrphanInput): OrphanDecision[] {
  return input.tasks.map((t) => decideOrphan(t, input.nowMs, input.maxCheckpointDriftMs));
}
