// fast-check generators for checkpoint records and Aurora messages.
import fc from 'fast-check';
import type { ProcessStatusRecord, RunnerCkpt, RunnerHeader, TaskStatusRecord } from '../../src/core/records.js';

/** Valid Unicode text (lone surrogates do not survive UTF-8, in any implementation). */
export const text = (maxLength = 24): fc.Arbitrary<string> => fc.string({ unit: 'grapheme', maxLength });
const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const i64 = fc.maxSafeInteger();
// The thrift npm package's software float writer turns -0 into +0 (IEEE writers, ours included,
// keep the sign), so byte equality is only asked of the other doubles; -0 is tested on its own.
const dbl = fc.double().map((d) => (Object.is(d, -0) ? 0 : d));

export const runnerHeader: fc.Arbitrary<RunnerHeader> = fc.record(
  {
    taskId: text(),
    launchTimeMs: i64,
    sandbox: text(),
    logDir: text(),
    hostname: text(),
    user: text(),
    uid: i32,
    ports: fc.dictionary(text(8), i64, { maxKeys: 4 }),
  },
  { requiredKeys: [] },
);

export const taskStatus: fc.Arbitrary<TaskStatusRecord> = fc.record(
  { state: i32, timestampMs: i64, runnerPid: i32, runnerUid: i32 },
  { requiredKeys: [] },
);

export const processStatus: fc.Arbitrary<ProcessStatusRecord> = fc.record(
  {
    seq: i64,
    process: text(),
    state: i32,
    coordinatorPid: i32,
    forkTime: dbl,
    startTime: dbl,
    pid: i32,
    stopTime: dbl,
    returnCode: i32,
  },
  { requiredKeys: [] },
);

export const runnerCkpt: fc.Arbitrary<RunnerCkpt> = fc.oneof(
  runnerHeader.map((header): RunnerCkpt => ({ kind: 'header', header })),
  processStatus.map((process): RunnerCkpt => ({ kind: 'process', process })),
  taskStatus.map((task): RunnerCkpt => ({ kind: 'task', task })),
);

export const retainedTasks: fc.Arbitrary<Map<string, number>> = fc
  .array(fc.tuple(text(40), i32), { maxLength: 20 })
  .map((entries) => new Map(entries));

export const taskIds: fc.Arbitrary<string[]> = fc.uniqueArray(text(40), { maxLength: 20 });

/**
 * Process records of plausible runs (valid or not): per process, a path through the state
 * machine with seq numbers that usually follow on, sometimes jump, sometimes go illegal. Used to
 * check that the full replay and the summary path agree, on accepted and on rejected streams.
 */
const statePath = fc.constantFrom(
  [0, 1, 2, 3],
  [0, 1, 2, 4],
  [0, 1, 2, 5],
  [0, 1, 2, 6],
  [0, 1, 4],
  [0, 1, 6],
  [0, 5],
  [0, 1, 2],
  [0],
  [1, 2],
  [0, 2],
  [0, 0],
  [0, 1, 2, 3, 4],
);

export const checkpointRecords: fc.Arbitrary<RunnerCkpt[]> = fc
  .tuple(
    fc.array(
      fc.record({
        process: fc.constantFrom('a', 'b', 'c'),
        states: statePath,
        seqJump: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }) }),
      }),
      { maxLength: 6 },
    ),
    fc.array(taskStatus, { maxLength: 3 }),
    fc.option(runnerHeader, { nil: undefined }),
    fc.boolean(),
    fc.nat(),
  )
  .map(([runs, statuses, header, secondHeader, seed]) => {
    const recs: RunnerCkpt[] = [];
    const nextSeq = new Map<string, number>();
    for (const run of runs) {
      let seq = nextSeq.get(run.process) ?? 0;
      run.states.forEach((state, i) => {
        if (i === run.states.length - 1) seq += run.seqJump;
        recs.push({ kind: 'process', process: { seq, process: run.process, state, pid: 100 + i, stopTime: 1.5 } });
        seq++;
      });
      nextSeq.set(run.process, seq);
    }
    statuses.forEach((task, i) => recs.splice((seed + i * 7) % (recs.length + 1), 0, { kind: 'task', task }));
    if (header !== undefined) recs.splice(seed % (recs.length + 1), 0, { kind: 'header', header });
    if (secondHeader && header !== undefined) recs.push({ kind: 'header', header });
    return recs;
  });
