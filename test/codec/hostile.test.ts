// Hostile input: every failure is a typed DecodeError/ReplayError, never a crash, a hang or a
// huge allocation.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAdjustRetainedTasks, decodeSchedulerMessageDeletedTasks, encodeAdjustRetainedTasks, encodeSchedulerMessageDeletedTasks } from '../../src/core/aurora-messages.js';
import { inspectCheckpoints } from '../../src/core/checkpoint/inspection.js';
import { MAX_RECORD_BYTES, frameRecord, iterateFrames } from '../../src/core/checkpoint/recordio.js';
import { replayCheckpoint, replayTaskSummary } from '../../src/core/checkpoint/replay.js';
import { decodeCheckpointStream, decodeRunnerCkpt, encodeCheckpointStream, encodeRunnerCkpt } from '../../src/core/checkpoint/runner-ckpt.js';
import { TType } from '../../src/core/thrift/binary-reader.js';
import { BinaryWriter } from '../../src/core/thrift/binary-writer.js';
import { DecodeError, ReplayError, type ErrorCode } from '../../src/errors.js';
import { runnerRecords, typicalFinishedTask } from '../helpers/checkpoint-builder.js';
import { runnerCkpt } from './arbitraries.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const realRunner = path.resolve(repo, '../shared/conformance/thermos-root/checkpoints/failure/runner');

/** A stream our encoder writes for a typical task (always available), and a real one when present. */
const streams: Array<[string, Buffer]> = [['encoded typical task', encodeCheckpointStream(runnerRecords(typicalFinishedTask('t1', { processNames: ['a', 'b'] })))]];
if (existsSync(realRunner)) streams.push(['real Aurora checkpoint', readFileSync(realRunner)]);

function codeOf(fn: () => unknown): ErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof DecodeError || err instanceof ReplayError) return err.code;
    throw err;
  }
}

/** Only typed errors may escape any decoder. */
function decodeEverything(buf: Uint8Array): void {
  for (const fn of [
    () => replayCheckpoint(buf),
    () => replayTaskSummary(buf),
    () => decodeCheckpointStream(buf),
    () => inspectCheckpoints(buf, [buf]),
    () => decodeRunnerCkpt(buf),
    () => decodeAdjustRetainedTasks(buf),
    () => decodeSchedulerMessageDeletedTasks(buf),
  ]) {
    codeOf(fn);
  }
}

/** A framed record whose body the callback writes. */
function record(write: (w: BinaryWriter) => void): Buffer {
  const w = new BinaryWriter();
  write(w);
  return frameRecord(w.finish());
}

describe('truncation', () => {
  for (const [what, full] of streams) {
    it(`${what}: a cut at every byte offset is a clean prefix or ERR_CKPT_TRUNCATED`, () => {
      const boundaries = new Set<number>([0]);
      let pos = 0;
      for (const body of iterateFrames(full)) boundaries.add((pos += 4 + body.byteLength));
      for (let cut = 0; cut < full.length; cut++) {
        const code = codeOf(() => replayCheckpoint(full.subarray(0, cut)));
        expect(code, `cut at ${cut}`).toBe(boundaries.has(cut) ? 'ok' : 'ERR_CKPT_TRUNCATED');
        expect(codeOf(() => replayTaskSummary(full.subarray(0, cut)))).toBe(code);
      }
    });

    it(`${what}: a record body cut short (length prefix adjusted) is ERR_CKPT_TRUNCATED`, () => {
      for (const body of iterateFrames(full)) {
        for (let cut = 0; cut < body.byteLength; cut++) {
          expect(codeOf(() => replayCheckpoint(frameRecord(body.subarray(0, cut))))).toBe('ERR_CKPT_TRUNCATED');
        }
      }
    });
  }

  it('an Aurora message cut anywhere is refused with ERR_MESSAGE_DECODE', () => {
    const m = encodeAdjustRetainedTasks(new Map([['a', 2], ['bb', 3]]));
    const d = encodeSchedulerMessageDeletedTasks(['x', 'yy']);
    for (let cut = 0; cut < m.length; cut++) expect(codeOf(() => decodeAdjustRetainedTasks(m.subarray(0, cut)))).toBe('ERR_MESSAGE_DECODE');
    for (let cut = 0; cut < d.length; cut++) expect(codeOf(() => decodeSchedulerMessageDeletedTasks(d.subarray(0, cut)))).toBe('ERR_MESSAGE_DECODE');
  });
});

describe('garbage', () => {
  it('random bytes give only typed errors', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => decodeEverything(bytes)), { numRuns: 300 });
  });

  it('random record bodies give only typed errors', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 4 }), (bodies) => {
        decodeEverything(Buffer.concat(bodies.map((b) => frameRecord(b))));
      }),
      { numRuns: 300 },
    );
  });

  it('valid records with random bytes overwritten give only typed errors', () => {
    fc.assert(
      fc.property(fc.array(runnerCkpt, { minLength: 1, maxLength: 4 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (recs, flips) => {
        const buf = encodeCheckpointStream(recs);
        for (const [at, v] of flips) buf[at % buf.length] = v;
        decodeEverything(buf);
      }),
      { numRuns: 300 },
    );
  });
});

describe('lengths and counts', () => {
  it('a zero-length file is a valid empty stream', () => {
    expect(replayCheckpoint(Buffer.alloc(0)).statuses).toEqual([]);
    expect(inspectCheckpoints(Buffer.alloc(0), [])).toEqual({ runners: [], coordinators: [], processes: [] });
  });

  it('record lengths above the cap are refused before reading (2 GiB, 0xFFFFFFFF, cap + 1)', () => {
    for (const len of [0x80000000, 0xffffffff, MAX_RECORD_BYTES + 1]) {
      const buf = Buffer.alloc(8);
      buf.writeUInt32BE(len, 0);
      expect(codeOf(() => replayCheckpoint(buf))).toBe('ERR_CKPT_RECORD_TOO_LARGE');
      expect(() => [...iterateFrames(buf)]).toThrow(expect.objectContaining({ code: 'ERR_CKPT_RECORD_TOO_LARGE' }));
    }
    const atCap = Buffer.alloc(8);
    atCap.writeUInt32BE(MAX_RECORD_BYTES, 0);
    expect(codeOf(() => replayCheckpoint(atCap))).toBe('ERR_CKPT_TRUNCATED');
  });

  it('a zero-length record is truncated, a header cut inside its 4 bytes too', () => {
    expect(codeOf(() => replayCheckpoint(Buffer.from([0, 0, 0, 0])))).toBe('ERR_CKPT_TRUNCATED');
    expect(codeOf(() => replayCheckpoint(Buffer.from([0, 0])))).toBe('ERR_CKPT_TRUNCATED');
  });

  const unknownField = (type: number, write: (w: BinaryWriter) => void): Buffer =>
    record((w) => {
      w.writeFieldBegin(type, 9);
      write(w);
      w.writeFieldStop();
    });

  const cases: Array<[string, Buffer, ErrorCode]> = [
    ['a huge list count', unknownField(TType.LIST, (w) => w.writeListBegin(TType.I64, 0x7fffffff)), 'ERR_CKPT_BAD_VALUE'],
    ['a list count larger than the bytes left', unknownField(TType.LIST, (w) => { w.writeListBegin(TType.I32, 3); w.writeI32(1); w.writeI32(2); }), 'ERR_CKPT_BAD_VALUE'],
    ['a negative list count', unknownField(TType.SET, (w) => w.writeListBegin(TType.BYTE, -1)), 'ERR_CKPT_BAD_VALUE'],
    ['a huge map count', unknownField(TType.MAP, (w) => w.writeMapBegin(TType.STRING, TType.STRING, 0x40000000)), 'ERR_CKPT_BAD_VALUE'],
    ['a negative string length', unknownField(TType.STRING, (w) => w.writeI32(-5)), 'ERR_CKPT_BAD_VALUE'],
    ['a string longer than the record', unknownField(TType.STRING, (w) => w.writeI32(0x7fffffff)), 'ERR_CKPT_TRUNCATED'],
    ['an unknown type code', unknownField(7, (w) => w.writeI32(1)), 'ERR_CKPT_BAD_TYPE'],
    ['an unknown element type', unknownField(TType.LIST, (w) => { w.writeListBegin(99, 1); w.writeI32(1); }), 'ERR_CKPT_BAD_TYPE'],
    ['an empty union', record((w) => w.writeFieldStop()), 'ERR_CKPT_EMPTY_UNION'],
    ['a union with only unknown members', unknownField(TType.I32, (w) => w.writeI32(1)), 'ERR_CKPT_EMPTY_UNION'],
    [
      'a known member with the wrong wire type',
      record((w) => { w.writeFieldBegin(TType.I32, 3); w.writeI32(1); w.writeFieldStop(); }),
      'ERR_CKPT_BAD_TYPE',
    ],
    [
      'a known field with the wrong wire type',
      record((w) => { w.writeFieldBegin(TType.STRUCT, 3); w.writeFieldBegin(TType.I64, 1); w.writeI64(1); w.writeFieldStop(); w.writeFieldStop(); }),
      'ERR_CKPT_BAD_TYPE',
    ],
    [
      'ports with the wrong map types',
      record((w) => { w.writeFieldBegin(TType.STRUCT, 1); w.writeFieldBegin(TType.MAP, 6); w.writeMapBegin(TType.STRING, TType.I32, 0); w.writeFieldStop(); w.writeFieldStop(); }),
      'ERR_CKPT_BAD_TYPE',
    ],
    [
      'ports with a huge count',
      record((w) => { w.writeFieldBegin(TType.STRUCT, 1); w.writeFieldBegin(TType.MAP, 6); w.writeMapBegin(TType.STRING, TType.I64, 0x7fffffff); w.writeFieldStop(); w.writeFieldStop(); }),
      'ERR_CKPT_BAD_VALUE',
    ],
    [
      'an i64 beyond the safe-integer range',
      (() => {
        const b = encodeRunnerCkpt({ kind: 'task', task: { timestampMs: 1 } });
        // field header at 3..5 (type, id), value at 6..13: make it 2^60
        b.writeUInt32BE(0x10000000, 6);
        return frameRecord(b);
      })(),
      'ERR_CKPT_BAD_VALUE',
    ],
  ];
  for (const [what, buf, code] of cases) {
    it(`${what} → ${code}`, () => {
      expect(codeOf(() => replayCheckpoint(buf))).toBe(code);
      expect(codeOf(() => replayTaskSummary(buf))).toBe(code);
    });
  }
});

describe('nesting', () => {
  const nested = (levels: number, kind: 'struct' | 'list'): Buffer =>
    record((w) => {
      for (let i = 0; i < levels; i++) {
        if (kind === 'struct') w.writeFieldBegin(TType.STRUCT, 9);
        else if (i === 0) w.writeFieldBegin(TType.LIST, 9);
        if (kind === 'list') w.writeListBegin(i === levels - 1 ? TType.I32 : TType.LIST, i === levels - 1 ? 0 : 1);
      }
      if (kind === 'struct') for (let i = 0; i < levels; i++) w.writeFieldStop();
      // the record still needs a member to be a valid union
      w.writeFieldBegin(TType.STRUCT, 3);
      w.writeFieldStop();
      w.writeFieldStop();
    });

  it('unknown structs and lists nested within the limit are skipped', () => {
    expect(codeOf(() => replayCheckpoint(nested(60, 'struct')))).toBe('ok');
    expect(codeOf(() => replayCheckpoint(nested(60, 'list')))).toBe('ok');
  });

  it('deeper nesting is refused with ERR_CKPT_DEPTH, not a stack overflow', () => {
    for (const levels of [100, 100_000]) {
      expect(codeOf(() => replayCheckpoint(nested(levels, 'struct')))).toBe('ERR_CKPT_DEPTH');
      expect(codeOf(() => replayCheckpoint(nested(levels, 'list')))).toBe('ERR_CKPT_DEPTH');
    }
  });
});

describe('AdjustRetainedTasks strictness', () => {
  const msg = (write: (w: BinaryWriter) => void): Buffer => {
    const w = new BinaryWriter();
    write(w);
    return w.finish();
  };
  const map = (w: BinaryWriter, k: number, v: number, count: number): void => {
    w.writeFieldBegin(TType.MAP, 2);
    w.writeMapBegin(k, v, count);
  };

  it('an explicit empty map is valid', () => {
    expect(decodeAdjustRetainedTasks(encodeAdjustRetainedTasks(new Map()))).toEqual(new Map());
  });

  it('unknown extra fields are skipped', () => {
    const buf = msg((w) => {
      w.writeFieldBegin(TType.STRING, 1);
      w.writeString('x');
      map(w, TType.STRING, TType.I32, 1);
      w.writeString('t');
      w.writeI32(2);
      w.writeFieldBegin(TType.LIST, 3);
      w.writeListBegin(TType.STRUCT, 1);
      w.writeFieldStop();
      w.writeFieldStop();
    });
    expect(decodeAdjustRetainedTasks(buf)).toEqual(new Map([['t', 2]]));
  });

  const refused: Array<[string, Buffer]> = [
    ['an empty message (no field 2)', msg((w) => w.writeFieldStop())],
    ['no bytes at all', Buffer.alloc(0)],
    ['only unknown fields', msg((w) => { w.writeFieldBegin(TType.I32, 1); w.writeI32(1); w.writeFieldStop(); })],
    ['field 2 as a list', msg((w) => { w.writeFieldBegin(TType.LIST, 2); w.writeListBegin(TType.STRING, 0); w.writeFieldStop(); })],
    ['map<string, i64>', msg((w) => { map(w, TType.STRING, TType.I64, 1); w.writeString('t'); w.writeI64(2); w.writeFieldStop(); })],
    ['an empty map<i32, i32>', msg((w) => { map(w, TType.I32, TType.I32, 0); w.writeFieldStop(); })],
    ['bytes after the end', Buffer.concat([encodeAdjustRetainedTasks(new Map([['t', 2]])), Buffer.from([0])])],
    ['a huge map count', msg((w) => { map(w, TType.STRING, TType.I32, 0x7fffffff); w.writeFieldStop(); })],
  ];
  for (const [what, buf] of refused) {
    it(`refuses ${what}`, () => {
      expect(codeOf(() => decodeAdjustRetainedTasks(buf))).toBe('ERR_MESSAGE_DECODE');
    });
  }

  it('SchedulerMessage without deletedTasks, or with trailing bytes, is refused', () => {
    expect(codeOf(() => decodeSchedulerMessageDeletedTasks(msg((w) => w.writeFieldStop())))).toBe('ERR_MESSAGE_DECODE');
    expect(codeOf(() => decodeSchedulerMessageDeletedTasks(Buffer.concat([encodeSchedulerMessageDeletedTasks(['a']), Buffer.from([1])])))).toBe('ERR_MESSAGE_DECODE');
    expect(decodeSchedulerMessageDeletedTasks(encodeSchedulerMessageDeletedTasks(['a', 'b', 'a']))).toEqual(['a', 'b']);
  });
});
