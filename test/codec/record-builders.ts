// Checkpoint records written by hand for the replay tests: a process status, and a process's
// whole run (WAITING → FORKED → RUNNING → an end state) with the fields each state carries.
import type { ProcessStatusRecord, RunnerCkpt } from '../../src/core/records.js';
import { ProcessState as P } from '../../src/core/states.js';

export const proc = (process: string, seq: number, state: number, extra: Partial<ProcessStatusRecord> = {}): RunnerCkpt => ({
  kind: 'process',
  process: { process, seq, state, ...extra },
});

export const fullRun = (name: string, seq0: number, end: number = P.SUCCESS): RunnerCkpt[] => [
  proc(name, seq0, P.WAITING),
  proc(name, seq0 + 1, P.FORKED, { forkTime: 1, coordinatorPid: 50 }),
  proc(name, seq0 + 2, P.RUNNING, { startTime: 2, pid: 51 }),
  proc(name, seq0 + 3, end, { stopTime: 3, returnCode: 0 }),
];
