// Replay rules of domain.md §3, as tables of streams and the state (or error) they replay to.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replayCheckpoint, replayTaskSummary } from '../../src/core/checkpoint/replay.js';
import { encodeCheckpointStream } from '../../src/core/checkpoint/runner-ckpt.js';
import type { ProcessStatusRecord, RunnerCkpt } from '../../src/core/records.js';
import { ProcessState as P, TaskState } from '../../src/core/states.js';
import { DecodeError, ReplayError } from '../../src/errors.js';
import { checkpointRecords } from './arbitraries.js';
import { fullRun, proc } from './record-builders.js';

const task = (state: number, timestampMs: number, runnerPid = 10): RunnerCkpt => ({
  kind: 'task',
  task: { state, timestampMs, runnerPid, runnerUid: 0 },
});
const header: RunnerCkpt = { kind: 'header', header: { taskId: 't', sandbox: '/s', user: 'u' } };

describe('replayCheckpoint', () => {
  it('an empty stream is an empty state', () => {
    expect(replayCheckpoint(new Uint8Array(0))).toEqual({ header: undefined, statuses: [], processes: {} });
    expect(replayTaskSummary(new Uint8Array(0))).toEqual({ header: undefined, statuses: [], processRuns: {}, records: 0 });
  });

  it('copies the fields each transition carries into the run', () => {
    const s = replayCheckpoint(encodeCheckpointStream([task(TaskState.ACTIVE, 5), header, ...fullRun('p', 0)]));
    expect(s.header).toMatchObject({ taskId: 't', sandbox: '/s' });
    expect(s.statuses).toEqual([{ state: TaskState.ACTIVE, timestampMs: 5, runnerPid: 10, runnerUid: 0 }]);
    expect(s.processes).toEqual({
      p: [{ seq: 3, state: P.SUCCESS, forkTime: 1, coordinatorPid: 50, startTime: 2, pid: 51, stopTime: 3, returnCode: 0 }],
    });
  });

  it('fields a state does not carry are not copied', () => {
    const s = replayCheckpoint(
      encodeCheckpointStream([proc('p', 0, P.WAITING, { pid: 9, stopTime: 9 }), proc('p', 1, P.FORKED, { pid: 8, forkTime: 1 })]),
    );
    expect(s.processes['p']).toEqual([{ seq: 1, state: P.FORKED, forkTime: 1 }]);
  });

  it('a WAITING record after a terminal one opens a new run', () => {
    const s = replayCheckpoint(encodeCheckpointStream([...fullRun('p', 0, P.FAILED), ...fullRun('p', 4), ...fullRun('q', 0)]));
    expect(s.processes['p']!.map((r) => [r.seq, r.state])).toEqual([
      [3, P.FAILED],
      [7, P.SUCCESS],
    ]);
    expect(s.processes['q']).toHaveLength(1);
    expect(replayTaskSummary(encodeCheckpointStream([...fullRun('p', 0, P.FAILED), ...fullRun('p', 4)])).processRuns).toEqual({ p: 2 });
  });

  it('accepts every allowed transition', () => {
    const paths = [
      [P.WAITING, P.FORKED, P.RUNNING, P.SUCCESS],
      [P.WAITING, P.FORKED, P.RUNNING, P.FAILED],
      [P.WAITING, P.FORKED, P.RUNNING, P.KILLED],
      [P.WAITING, P.FORKED, P.RUNNING, P.LOST],
      [P.WAITING, P.FORKED, P.KILLED],
      [P.WAITING, P.FORKED, P.LOST],
      [P.WAITING, P.FAILED],
    ];
    for (const path of paths) {
      const s = replayCheckpoint(encodeCheckpointStream(path.map((st, i) => proc('p', i, st))));
      expect(s.processes['p']![0]!.state).toBe(path[path.length - 1]);
    }
  });

  it('accepts task statuses before the header and after the processes (as real checkpoints have)', () => {
    const recs = [task(TaskState.ACTIVE, 1, 10), header, ...fullRun('p', 0).slice(0, 3), task(TaskState.ACTIVE, 2, 11), task(TaskState.KILLED, 3, 11), proc('p', 3, P.KILLED, { stopTime: 4, returnCode: -1 })];
    const s = replayCheckpoint(encodeCheckpointStream(recs));
    expect(s.statuses.map((t) => t.state)).toEqual([TaskState.ACTIVE, TaskState.ACTIVE, TaskState.KILLED]);
    expect(s.processes['p']![0]).toMatchObject({ state: P.KILLED, returnCode: -1 });
  });

  const rejected: Array<[string, RunnerCkpt[], RegExp]> = [
    ['a second header', [header, task(0, 1), header], /second runner header/],
    ['a first record that is not WAITING', [proc('p', 0, P.FORKED)], /must start WAITING/],
    ['a record after a terminal one that is not WAITING', [...fullRun('p', 0), proc('p', 4, P.FORKED)], /must start WAITING/],
    ['a seq gap', [proc('p', 0, P.WAITING), proc('p', 2, P.FORKED)], /seq 2 after 0/],
    ['a repeated seq', [proc('p', 0, P.WAITING), proc('p', 0, P.FORKED)], /seq 0 after 0/],
    ['WAITING → RUNNING', [proc('p', 0, P.WAITING), proc('p', 1, P.RUNNING)], /WAITING → RUNNING/],
    ['WAITING → WAITING', [proc('p', 0, P.WAITING), proc('p', 1, P.WAITING)], /WAITING → WAITING/],
    ['WAITING → KILLED', [proc('p', 0, P.WAITING), proc('p', 1, P.KILLED)], /WAITING → KILLED/],
    ['FORKED → SUCCESS', [proc('p', 0, P.WAITING), proc('p', 1, P.FORKED), proc('p', 2, P.SUCCESS)], /FORKED → SUCCESS/],
    ['FORKED → FAILED', [proc('p', 0, P.WAITING), proc('p', 1, P.FORKED), proc('p', 2, P.FAILED)], /FORKED → FAILED/],
    ['RUNNING → RUNNING', [...fullRun('p', 0).slice(0, 3), proc('p', 3, P.RUNNING)], /RUNNING → RUNNING/],
    ['an unknown process state', [proc('p', 0, P.WAITING), proc('p', 1, 99)], /WAITING → 99/],
    ['a process record without a name', [{ kind: 'process', process: { seq: 0, state: P.WAITING } }], /without a process name/],
    ['a process record without a state', [{ kind: 'process', process: { seq: 0, process: 'p' } }], /no state/],
    ['a WAITING record without seq', [{ kind: 'process', process: { process: 'p', state: P.WAITING } }], /without seq/],
  ];
  for (const [what, recs, message] of rejected) {
    it(`rejects ${what} (both paths)`, () => {
      const buf = encodeCheckpointStream(recs);
      expect(() => replayCheckpoint(buf)).toThrow(ReplayError);
      expect(() => replayCheckpoint(buf)).toThrow(message);
      expect(() => replayTaskSummary(buf)).toThrow(message);
    });
  }

  it('processes are independent: a gap in one is judged on that process only', () => {
    const s = replayCheckpoint(encodeCheckpointStream([proc('a', 0, P.WAITING), proc('b', 5, P.WAITING), proc('a', 1, P.FORKED), proc('b', 6, P.FAILED)]));
    expect(Object.keys(s.processes).sort()).toEqual(['a', 'b']);
  });

  it('process names that are Object.prototype keys are plain entries', () => {
    const s = replayCheckpoint(encodeCheckpointStream([...fullRun('__proto__', 0), ...fullRun('constructor', 0), ...fullRun('toString', 0)]));
    expect(Object.keys(s.processes).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(s.processes['constructor']).toHaveLength(1);
    expect(Object.getPrototypeOf(s.processes)).toBe(Object.prototype);
    const sum = replayTaskSummary(encodeCheckpointStream([...fullRun('__proto__', 0), ...fullRun('hasOwnProperty', 0)]));
    expect(Object.keys(sum.processRuns).sort()).toEqual(['__proto__', 'hasOwnProperty']);
  });
});

describe('replayTaskSummary', () => {
  it('accepts and rejects exactly the streams replayCheckpoint does, and agrees on what it keeps', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(checkpointRecords, (recs) => {
        const buf = encodeCheckpointStream(recs);
        let full: ReturnType<typeof replayCheckpoint> | Error;
        let sum: ReturnType<typeof replayTaskSummary> | Error;
        try {
          full = replayCheckpoint(buf);
        } catch (err) {
          full = err as Error;
        }
        try {
          sum = replayTaskSummary(buf);
        } catch (err) {
          sum = err as Error;
        }
        if (full instanceof Error) {
          rejected++;
          expect(full).toBeInstanceOf(ReplayError);
          expect(sum).toBeInstanceOf(ReplayError);
          expect((sum as Error).message).toBe(full.message);
          return;
        }
        accepted++;
        expect(sum).not.toBeInstanceOf(Error);
        const s = sum as ReturnType<typeof replayTaskSummary>;
        expect(s.records).toBe(recs.length);
        expect(s.header).toEqual(full.header);
        expect(s.statuses).toEqual(full.statuses);
        expect(Object.keys(s.processRuns).sort()).toEqual(Object.keys(full.processes).sort());
        for (const [name, runs] of Object.entries(full.processes)) expect(s.processRuns[name]).toBe(runs.length);
      }),
      { numRuns: 300 },
    );
    // Both outcomes must actually have been exercised.
    expect(accepted).toBeGreaterThan(20);
    expect(rejected).toBeGreaterThan(20);
  });

  it('rejects undecodable streams with the same DecodeError', () => {
    const buf = Buffer.from([0, 0, 0, 1, 0]);
    expect(() => replayCheckpoint(buf)).toThrow(DecodeError);
    expect(() => replayTaskSummary(buf)).toThrow(expect.objectContaining({ code: 'ERR_CKPT_EMPTY_UNION' }));
  });
});
