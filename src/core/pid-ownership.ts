// Is a live pid still the process a checkpoint recorded? Pids wrap around and the GC executor runs
// as root, so a recorded pid is only trusted when the process's real uid is the recorded uid and
// it STARTED within a small drift of the recorded time. (The original compared the recorded time
// with the process's age, so every healthy process looked foreign.)

export const DEFAULT_MAX_PID_DRIFT_MS = 10_000;

/** What we know of a live process (a ProcessInfo from the process table fits). */
export interface ProcessIdentity {
  /** uid as listed (effective); used when the real uid is unknown. */
  uid?: number;
  realUid?: number;
  /** Epoch ms the process started. */
  startTimeMs?: number;
  /** Dead but not reaped: never ours to signal or to call alive. */
  zombie?: boolean;
}

export interface ExpectedOwner {
  /** The recorded uid (task status runner_uid, or the header uid). */
  uid?: number;
  /** For old checkpoints without a uid: the uid of the header's user, looked up by the caller. */
  userUid?: number;
  /** When the process should have started (epoch ms): status timestamp, fork_time or start_time. */
  timeMs: number;
}

export interface Ownership {
  ours: boolean;
  why: string;
}

export function isOurProcess(
  proc: ProcessIdentity | undefined,
  expected: ExpectedOwner,
  maxDriftMs: number = DEFAULT_MAX_PID_DRIFT_MS,
): Ownership {
  if (proc === undefined) return { ours: false, why: 'no such process' };
  if (proc.zombie === true) return { ours: false, why: 'zombie (already dead)' };
  const wantUid = expected.uid ?? expected.userUid;
  if (wantUid === undefined) return { ours: false, why: 'no recorded uid or user to compare with' };
  const haveUid = proc.realUid ?? proc.uid;
  if (haveUid === undefined) return { ours: false, why: 'process uid unknown' };
  if (haveUid !== wantUid) return { ours: false, why: `uid ${haveUid} is not the recorded uid ${wantUid}` };
  if (proc.startTimeMs === undefined) return { ours: false, why: 'process start time unknown' };
  if (!Number.isFinite(expected.timeMs)) return { ours: false, why: 'no recorded time to compare with' };
  const drift = Math.abs(proc.startTimeMs - expected.timeMs);
  if (drift > maxDriftMs) {
    return { ours: false, why: `started ${Math.round(drift)} ms from the recorded time (max ${maxDriftMs} ms)` };
  }
  return { ours: true, why: `uid ${haveUid}, started ${Math.round(drift)} ms from the recorded time` };
}

/** What a pid was when it was checked (from the snapshot): a signal goes only to that same process. */
export interface ProcessIdentityCheck {
  startTimeMs?: number;
  realUid?: number;
  pgid?: number;
}

/**
 * How the process at a pid differs from the one checked, or undefined when it is the same one:
 * the start time within `precisionMs`, the real uid, and for a group signal (`leader` given) the
 * leader's process group. A pid that died and was reused in between starts later.
 */
export function sameProcessChange(then: ProcessIdentityCheck, now: ProcessIdentityCheck & { startTimeMs: number }, precisionMs: number, leader?: number): string | undefined {
  if (then.startTimeMs === undefined) return `started at ${Math.round(now.startTimeMs)}, and the snapshot had no start time to compare`;
  if (Math.abs(now.startTimeMs - then.startTimeMs) > precisionMs) {
    return `started at ${Math.round(now.startTimeMs)}, not ${Math.round(then.startTimeMs)} as checked`;
  }
  if (then.realUid !== undefined && now.realUid !== undefined && now.realUid !== then.realUid) return `uid ${now.realUid}, not ${then.realUid} as checked`;
  if (leader !== undefined && now.pgid !== then.pgid) return `leader ${leader} is in group ${now.pgid ?? '?'} now, not ${then.pgid ?? '?'}`;
  return undefined;
}
