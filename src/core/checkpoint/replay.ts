// Replay of a runner checkpoint stream into state (domain.md §3): `replayCheckpoint` builds every
// process run (what `inspect` prints), `replayTaskSummary` is the same replay with runs counted
// per process (what the reference facts reader keeps). The scan's hot path does not come here: it
// takes the plain streams Thermos writes in one flat pass (scan-summary.ts, which uses the same
// step rule, `processStep`) and hands anything else to this replay for its exact error.
import { ReplayError } from '../../errors.js';
import { ProcessState, processStateName } from '../states.js';
import type { ProcessRun, ProcessStatusRecord, RunnerHeader, RunnerState, TaskStatusRecord } from '../records.js';
import { forEachRecord, readRunnerCkpt, setOwn } from './runner-ckpt.js';

// Allowed process transitions as bit masks: ALLOWED_NEXT[from] has bit `to` set when from → to
// is legal (WAITING → FORKED|FAILED, FORKED → RUNNING|KILLED|LOST, RUNNING → SUCCESS|FAILED|KILLED|LOST).
const bit = (s: number): number => 1 << s;
const ALLOWED_NEXT: readonly number[] = [
  bit(ProcessState.FORKED) | bit(ProcessState.FAILED),
  bit(ProcessState.RUNNING) | bit(ProcessState.KILLED) | bit(ProcessState.LOST),
  bit(ProcessState.SUCCESS) | bit(ProcessState.FAILED) | bit(ProcessState.KILLED) | bit(ProcessState.LOST),
];
const TERMINAL = bit(ProcessState.SUCCESS) | bit(ProcessState.KILLED) | bit(ProcessState.FAILED) | bit(ProcessState.LOST);

/** What a process record does to its process's current run: see processStep. */
export const STEP_INVALID = 0;
export const STEP_NEW_RUN = 1;
export const STEP_SAME_RUN = 2;

/**
 * The rule itself, without messages: whether a record (seq, NaN when absent; state, -1 when absent)
 * opens a new run, continues the current one (curState -1: the process has none yet), or is
 * invalid. Run states come from accepted records, so they are 0..6 and the bit tests are exact.
 */
export function processStep(seq: number, state: number, curSeq: number, curState: number): number {
  if (curState < 0 || (TERMINAL & bit(curState)) !== 0) return state === ProcessState.WAITING && !Number.isNaN(seq) ? STEP_NEW_RUN : STEP_INVALID;
  if (seq !== curSeq + 1 || state < 0 || state > 6 || ((ALLOWED_NEXT[curState] ?? 0) & bit(state)) === 0) return STEP_INVALID;
  return STEP_SAME_RUN;
}

/**
 * Validates one process record against the process's current run (undefined: none yet).
 * Returns true when the record opens a new run. Throws ReplayError for an invalid record.
 */
export function checkProcessStep(
  name: string,
  seq: number | undefined,
  state: number | undefined,
  current: { seq: number; state: number } | undefined,
): boolean {
  const step = processStep(seq ?? NaN, state ?? -1, current?.seq ?? NaN, current?.state ?? -1);
  if (step !== STEP_INVALID) return step === STEP_NEW_RUN;
  // Invalid: say why, in the order the rule is stated.
  if (current === undefined || (TERMINAL & bit(current.state)) !== 0) {
    if (state !== ProcessState.WAITING) {
      throw new ReplayError(`process ${name}: a new run must start WAITING, got ${stateText(state)}`);
    }
    if (seq === undefined) throw new ReplayError(`process ${name}: WAITING record without seq`);
    return true;
  }
  if (seq !== current.seq + 1) {
    throw new ReplayError(`process ${name}: seq ${seq} after ${current.seq}, expected ${current.seq + 1}`);
  }
  const allowed = ALLOWED_NEXT[current.state] ?? 0;
  if (state === undefined || state < 0 || state > 6 || (allowed & bit(state)) === 0) {
    throw new ReplayError(`process ${name}: illegal transition ${processStateName(current.state)} → ${stateText(state)}`);
  }
  return false;
}

function stateText(state: number | undefined): string {
  return state === undefined ? 'no state' : processStateName(state);
}

function processName(p: { process?: string | undefined }): string {
  if (p.process === undefined) throw new ReplayError('process status without a process name');
  return p.process;
}

function checkHeader(seen: boolean): void {
  if (seen) throw new ReplayError('a second runner header');
}

/** Applies a validated process record to the run it belongs to, copying the fields its state carries. */
function applyToRun(run: ProcessRun, p: ProcessStatusRecord): void {
  run.seq = p.seq!;
  run.state = p.state!;
  switch (p.state) {
    case ProcessState.FORKED:
      run.forkTime = p.forkTime;
      run.coordinatorPid = p.coordinatorPid;
      break;
    case ProcessState.RUNNING:
      run.startTime = p.startTime;
      run.pid = p.pid;
      break;
    case ProcessState.SUCCESS:
    case ProcessState.FAILED:
    case ProcessState.KILLED:
      run.stopTime = p.stopTime;
      run.returnCode = p.returnCode;
      break;
    default:
      // WAITING opens the run; LOST records carry nothing to keep.
      break;
  }
}

/** The replay itself, and how many records the stream held. */
function replay(buf: Uint8Array): { state: RunnerState; records: number } {
  let header: RunnerHeader | undefined;
  const statuses: TaskStatusRecord[] = [];
  const runs = new Map<string, ProcessRun[]>();
  const records = forEachRecord(buf, (r) => {
    const rec = readRunnerCkpt(r);
    if (rec.kind === 'header') {
      checkHeader(header !== undefined);
      header = rec.header;
    } else if (rec.kind === 'task') {
      statuses.push(rec.task);
    } else {
      const p = rec.process;
      const name = processName(p);
      let list = runs.get(name);
      const current = list === undefined ? undefined : list[list.length - 1];
      if (checkProcessStep(name, p.seq, p.state, current)) {
        const run: ProcessRun = {
          seq: 0,
          state: 0,
          coordinatorPid: undefined,
          forkTime: undefined,
          startTime: undefined,
          pid: undefined,
          stopTime: undefined,
          returnCode: undefined,
        };
        if (list === undefined) runs.set(name, (list = []));
        list.push(run);
        applyToRun(run, p);
      } else {
        applyToRun(current!, p);
      }
    }
  });
  const processes: Record<string, ProcessRun[]> = {};
  for (const [name, list] of runs) setOwn(processes, name, list);
  return { state: { header, statuses, processes }, records };
}

/** Replays a runner checkpoint stream. Throws DecodeError or ReplayError for a bad stream. */
export function replayCheckpoint(buf: Uint8Array): RunnerState {
  return replay(buf).state;
}

/** A runner checkpoint's replay with runs counted per process. */
export interface RunnerSummary {
  header?: RunnerHeader;
  statuses: TaskStatusRecord[];
  /** Process name → number of runs. */
  processRuns: Record<string, number>;
  /** Number of records in the stream. */
  records: number;
}

/** The same replay as replayCheckpoint (same checks, same errors), runs counted per process. */
export function replayTaskSummary(buf: Uint8Array): RunnerSummary {
  const { state, records } = replay(buf);
  const processRuns: Record<string, number> = {};
  for (const name of Object.keys(state.processes)) setOwn(processRuns, name, (state.processes[name] as ProcessRun[]).length);
  return { header: state.header, statuses: state.statuses, processRuns, records };
}
