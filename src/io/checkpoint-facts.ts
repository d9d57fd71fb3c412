// A task's facts from the bytes of its runner checkpoint, by the reference replay: the one
// definition of what a checkpoint that the scan's flat pass declines becomes (facts or an error
// record), for the async reader and for the scan's plain-syscall path alike. Synchronous and
// never throws for a bad checkpoint.
import { replayTaskSummary } from '../core/checkpoint/replay.js';
import type { StatusFact, TaskFacts, TaskRef } from '../core/facts.js';
import { ReplayError, ThermosGcError, errorMessage, withoutStackTraces, type ErrorRecord } from '../errors.js';

/** The facts of a task whose checkpoint was not read yet: no statuses, no error. */
export function blankFacts(ref: TaskRef): TaskFacts {
  return {
    taskId: ref.taskId,
    root: ref.root,
    state: ref.state,
    runnerMtimeMs: undefined,
    error: undefined,
    sandbox: undefined,
    logDir: undefined,
    user: undefined,
    uid: undefined,
    launchTimeMs: undefined,
    statuses: [],
    processRuns: undefined,
  };
}

/** A typed error as a record for this task and path; I/O errors get ERR_CKPT_MISSING or ERR_CKPT_IO. */
export function checkpointErrorRecord(err: unknown, taskId: string, file: string): ErrorRecord {
  if (err instanceof ThermosGcError) {
    const rec = err.toErrorRecord();
    rec.taskId = taskId;
    rec.path = file;
    return rec;
  }
  if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return { code: 'ERR_CKPT_MISSING', message: 'runner checkpoint does not exist', taskId, path: file };
  return { code: 'ERR_CKPT_IO', message: `cannot read runner checkpoint: ${errorMessage(err)}`, taskId, path: file };
}

function toStatusFacts(summaryStatuses: ReturnType<typeof replayTaskSummary>['statuses']): StatusFact[] {
  // Every consumer reads a status as (state, time): a stream with one lacking either cannot be used.
  for (const s of summaryStatuses) {
    if (s.state === undefined || s.timestampMs === undefined) throw new ReplayError('task status without state or timestamp');
  }
  return summaryStatuses.map((s) => ({ state: s.state as number, timestampMs: s.timestampMs as number, runnerPid: s.runnerPid, runnerUid: s.runnerUid }));
}

/**
 * Fills `facts` from `bytes` (the whole runner checkpoint at `file`) by the reference replay, or
 * sets its error record. A bad checkpoint is a finding, counted by whoever reports the scan: the
 * error is built without a stack trace (nobody prints one for it, and at one task in eight
 * capturing it was a measurable share of a scan).
 */
export function applyCheckpoint(facts: TaskFacts, bytes: Uint8Array, file: string): TaskFacts {
  try {
    const { summary, statuses } = withoutStackTraces(() => {
      const replayed = replayTaskSummary(bytes);
      return { summary: replayed, statuses: toStatusFacts(replayed.statuses) };
    });
    const h = summary.header;
    if (h !== undefined) {
      facts.sandbox = h.sandbox;
      facts.logDir = h.logDir;
      facts.user = h.user;
      facts.uid = h.uid;
      facts.launchTimeMs = h.launchTimeMs;
    }
    facts.statuses = statuses;
    facts.processRuns = summary.processRuns;
  } catch (err) {
    facts.error = checkpointErrorRecord(err, facts.taskId, file);
  }
  return facts;
}
