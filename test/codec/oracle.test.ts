// Our codec against Apache Thrift's (the `thrift` npm package): same bytes, same values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeAdjustRetainedTasks,
  decodeSchedulerMessageDeletedTasks,
  encodeAdjustRetainedTasks,
  encodeSchedulerMessageDeletedTasks,
} from '../../src/core/aurora-messages.js';
import { frameRecord, iterateFrames } from '../../src/core/checkpoint/recordio.js';
import {
  decodeCheckpointStream,
  decodeRunnerCkpt,
  encodeCheckpointStream,
  encodeRunnerCkpt,
  encodeRunnerCkptRecord,
} from '../../src/core/checkpoint/runner-ckpt.js';
import { retainedTasks, runnerCkpt, taskIds } from './arbitraries.js';
import * as oracle from '../../bench/reference/thrift-oracle.js';

const numRuns = 200;

describe('RunnerCkpt against Apache Thrift', () => {
  it('our encoder writes the bytes Thrift writes', () => {
    fc.assert(
      fc.property(runnerCkpt, (rec) => {
        expect(encodeRunnerCkpt(rec).equals(oracle.oracleWrite((p) => oracle.writeRunnerCkpt(p, rec)))).toBe(true);
      }),
      { numRuns },
    );
  });

  it('our decoder reads what Thrift wrote', () => {
    fc.assert(
      fc.property(runnerCkpt, (rec) => {
        expect(decodeRunnerCkpt(oracle.oracleWrite((p) => oracle.writeRunnerCkpt(p, rec)))).toEqual(rec);
      }),
      { numRuns },
    );
  });

  it('Thrift reads what our encoder wrote', () => {
    fc.assert(
      fc.property(runnerCkpt, (rec) => {
        expect(oracle.oracleRead(encodeRunnerCkpt(rec), oracle.readRunnerCkpt)).toEqual(rec);
      }),
      { numRuns },
    );
  });

  it('our encoder and decoder round-trip records and framed streams', () => {
    fc.assert(
      fc.property(fc.array(runnerCkpt, { maxLength: 8 }), (recs) => {
        for (const rec of recs) expect(decodeRunnerCkpt(encodeRunnerCkpt(rec))).toEqual(rec);
        const stream = encodeCheckpointStream(recs);
        expect(Buffer.concat(recs.map((r) => encodeRunnerCkptRecord(r))).equals(stream)).toBe(true);
        expect(Buffer.concat(recs.map((r) => frameRecord(encodeRunnerCkpt(r)))).equals(stream)).toBe(true);
        expect(decodeCheckpointStream(stream)).toEqual(recs);
        expect([...iterateFrames(stream)].map((b) => decodeRunnerCkpt(b))).toEqual(recs);
      }),
      { numRuns },
    );
  });

  it('keeps the sign of -0 and NaN/Infinity in doubles', () => {
    const rec = { kind: 'process', process: { startTime: -0, stopTime: NaN, forkTime: -Infinity } } as const;
    const back = decodeRunnerCkpt(encodeRunnerCkpt(rec));
    expect(back.kind === 'process' && Object.is(back.process.startTime, -0)).toBe(true);
    expect(back).toEqual(rec);
  });

  it('unknown fields of every type, nested, are skipped', () => {
    const T = { STRING: 11, STRUCT: 12, MAP: 13, SET: 14, LIST: 15, BOOL: 2, BYTE: 3, DOUBLE: 4, I16: 6 } as const;
    const body = oracle.oracleWrite((p) => {
      p.writeStructBegin('RunnerCkpt');
      p.writeFieldBegin('future', T.LIST, 9);
      p.writeListBegin(T.MAP, 1);
      p.writeMapBegin(T.STRING, T.SET, 1);
      p.writeString('k');
      p.writeSetBegin(T.DOUBLE, 2);
      p.writeDouble(1);
      p.writeDouble(2);
      p.writeSetEnd();
      p.writeMapEnd();
      p.writeListEnd();
      p.writeFieldEnd();
      p.writeFieldBegin('task_status', T.STRUCT, 3);
      p.writeStructBegin('TaskStatus');
      p.writeFieldBegin('x', T.BOOL, 20);
      p.writeBool(true);
      p.writeFieldEnd();
      p.writeFieldBegin('y', T.STRUCT, -3);
      p.writeStructBegin('Y');
      p.writeFieldBegin('z', T.I16, 1);
      p.writeI16(7);
      p.writeFieldEnd();
      p.writeFieldBegin('w', T.BYTE, 2);
      p.writeByte(7);
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
      p.writeFieldEnd();
      p.writeFieldBegin('state', 8, 1);
      p.writeI32(3);
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
      p.writeFieldEnd();
      p.writeFieldStop();
      p.writeStructEnd();
    });
    expect(decodeRunnerCkpt(body)).toEqual({ kind: 'task', task: { state: 3 } });
  });
});

describe('Aurora messages against Apache Thrift', () => {
  it('AdjustRetainedTasks: same bytes, and each side reads the other', () => {
    fc.assert(
      fc.property(retainedTasks, (m) => {
        const ours = encodeAdjustRetainedTasks(m);
        const theirs = oracle.oracleWrite((p) => oracle.writeAdjustRetainedTasks(p, m));
        expect(ours.equals(theirs)).toBe(true);
        expect(decodeAdjustRetainedTasks(theirs)).toEqual(m);
        expect(oracle.oracleRead(ours, oracle.readAdjustRetainedTasks)).toEqual(m);
      }),
      { numRuns },
    );
  });

  it('SchedulerMessage.deletedTasks: same bytes, and each side reads the other', () => {
    fc.assert(
      fc.property(taskIds, (ids) => {
        const ours = encodeSchedulerMessageDeletedTasks(ids);
        const theirs = oracle.oracleWrite((p) => oracle.writeSchedulerMessageDeletedTasks(p, ids));
        expect(ours.equals(theirs)).toBe(true);
        expect(decodeSchedulerMessageDeletedTasks(theirs)).toEqual(ids);
        expect(oracle.oracleRead(ours, oracle.readSchedulerMessageDeletedTasks)).toEqual(ids);
      }),
      { numRuns },
    );
  });
});
