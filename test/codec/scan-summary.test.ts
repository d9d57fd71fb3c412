// The scan's flat summary (core/checkpoint/scan-summary.ts) against the reference replay: on
// every stream it accepts it must agree with replayTaskSummary, on every stream the reference
// rejects it must step aside (undefined), and on the plain streams Thermos writes it must not step
// aside (or the scan would silently run on the slow path).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replayTaskSummary } from '../../src/core/checkpoint/replay.js';
import { encodeCheckpointStream, encodeRunnerCkptRecord } from '../../src/core/checkpoint/runner-ckpt.js';
import { scanRunnerSummary, type ScanSummary } from '../../src/core/checkpoint/scan-summary.js';
import type { RunnerCkpt } from '../../src/core/records.js';
import { ProcessState as P, TaskState } from '../../src/core/states.js';
import { checkpointRecords, runnerCkpt } from './arbitraries.js';
import { fullRun, proc } from './record-builders.js';

/** What the reference says, in the summary's terms; an Error when it rejects the stream. */
function reference(buf: Uint8Array): ScanSummary | Error {
  let r;
  try {
    r = replayTaskSummary(buf);
  } catch (err) {
    return err as Error;
  }
  return {
    hasHeader: r.header !== undefined,
    sandbox: r.header?.sandbox,
    logDir: r.header?.logDir,
    user: r.header?.user,
    uid: r.header?.uid,
    launchTimeMs: r.header?.launchTimeMs,
    statuses: r.statuses.map((s) => ({ state: s.state as number, timestampMs: s.timestampMs as number, runnerPid: s.runnerPid, runnerUid: s.runnerUid })),
    processRuns: r.processRuns,
  };
}

/** Accepting means agreeing: undefined is always allowed, a different answer never is. */
function expectAgrees(buf: Uint8Array): 'fast' | 'reference' {
  const fast = scanRunnerSummary(buf);
  const ref = reference(buf);
  if (fast === undefined) return 'reference';
  expect(ref).not.toBeInstanceOf(Error);
  expect(fast).toStrictEqual(ref);
  return 'fast';
}

const header: RunnerCkpt = {
  kind: 'header',
  header: { taskId: 't', launchTimeMs: 1_700_000_000_000, sandbox: '/var/sb/t', logDir: '/var/logs/t', hostname: 'h', user: 'www-data', uid: 33, ports: { http: 31000 } },
};
const task = (state: number, timestampMs: number, runnerPid?: number): RunnerCkpt => ({ kind: 'task', task: { state, timestampMs, runnerPid, runnerUid: 33 } });
describe('scanRunnerSummary', () => {
  it('takes the plain stream Thermos writes, with what the reference keeps', () => {
    const buf = encodeCheckpointStream([header, task(TaskState.ACTIVE, 1_700_000_000_001, 4000), ...fullRun('web', 0, P.FAILED), ...fullRun('web', 4), ...fullRun('sidecar', 0), task(TaskState.SUCCESS, 1_700_000_000_900)]);
    expect(expectAgrees(buf)).toBe('fast');
    expect(scanRunnerSummary(buf)).toMatchObject({ sandbox: '/var/sb/t', logDir: '/var/logs/t', user: 'www-data', uid: 33, processRuns: { web: 2, sidecar: 1 } });
  });

  it('an empty stream is an empty summary', () => {
    expect(scanRunnerSummary(new Uint8Array(0))).toStrictEqual({
      hasHeader: false, sandbox: undefined, logDir: undefined, user: undefined, uid: undefined, launchTimeMs: undefined, statuses: [], processRuns: {},
    });
  });

  it('reads only the first `length` bytes of a reused buffer', () => {
    const body = encodeCheckpointStream([header, task(TaskState.ACTIVE, 5)]);
    const scratch = Buffer.alloc(body.length + 64, 0xff);
    body.copy(scratch);
    expect(scanRunnerSummary(scratch, body.length)).toStrictEqual(reference(body));
    // Past the end, the 0xff bytes are a frame that does not fit: the reference's to judge.
    expect(scanRunnerSummary(scratch)).toBeUndefined();
  });

  it('steps aside for streams the reference rejects: a second header, an illegal step, a truncated frame', () => {
    const cases = [
      encodeCheckpointStream([header, header]),
      encodeCheckpointStream([proc('p', 0, P.RUNNING)]),
      encodeCheckpointStream([proc('p', 0, P.WAITING), proc('p', 2, P.FORKED)]),
      encodeCheckpointStream([header, task(TaskState.ACTIVE, 5)]).subarray(0, 20),
    ];
    for (const buf of cases) {
      expect(reference(buf)).toBeInstanceOf(Error);
      expect(scanRunnerSummary(buf)).toBeUndefined();
    }
  });

  it('steps aside for what it does not take although the reference does: an unknown field, a status without a time', () => {
    // An unknown i32 field (id 99) appended inside a task status struct, before its STOP.
    const rec = encodeRunnerCkptRecord(task(TaskState.ACTIVE, 5));
    const withField = Buffer.concat([rec.subarray(4, rec.length - 2), Buffer.from([8, 0, 99, 0, 0, 0, 7, 0, 0])]);
    const framed = Buffer.concat([Buffer.from([0, 0, 0, withField.length]), withField]);
    expect(reference(framed)).not.toBeInstanceOf(Error);
    expect(scanRunnerSummary(framed)).toBeUndefined();
    const noTime = encodeCheckpointStream([{ kind: 'task', task: { state: TaskState.ACTIVE } }]);
    expect(reference(noTime)).not.toBeInstanceOf(Error);
    expect(scanRunnerSummary(noTime)).toBeUndefined();
  });

  it('agrees with the reference on plausible runs, valid or not', () => {
    let fast = 0;
    let accepted = 0;
    fc.assert(
      fc.property(checkpointRecords, (recs) => {
        const buf = encodeCheckpointStream(recs);
        if (!(reference(buf) instanceof Error)) accepted++;
        if (expectAgrees(buf) === 'fast') fast++;
      }),
      { numRuns: 400 },
    );
    // About 60% of the accepted streams are taken fast here; the rest lack a status's state or
    // time, which the arbitraries often leave out (and Thermos never does).
    expect(fast).toBeGreaterThan(25);
    expect(fast * 3).toBeGreaterThan(accepted);
  });

  it('agrees with the reference on arbitrary records and on every truncation and byte flip of them', () => {
    fc.assert(
      fc.property(fc.array(runnerCkpt, { maxLength: 6 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (recs, at, byte) => {
        const buf = encodeCheckpointStream(recs);
        expectAgrees(buf);
        if (buf.length === 0) return;
        expectAgrees(buf.subarray(0, at % buf.length));
        const flipped = Buffer.from(buf);
        flipped[at % buf.length] = byte;
        expectAgrees(flipped);
      }),
      { numRuns: 600 },
    );
  });

  const conformance = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/conformance/thermos-root/checkpoints');
  it.skipIf(!existsSync(conformance))(`takes every real Aurora-written checkpoint in ${conformance} on the fast path (skipped when absent)`, () => {
    const ids = readdirSync(conformance);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) {
      const file = path.join(conformance, id, 'runner');
      if (!existsSync(file)) continue;
      expect(expectAgrees(readFileSync(file)), id).toBe('fast');
    }
  });
});
