// Fuzz targets for the three decoders that read bytes from outside: checkpoint streams (runner
// and coordinator files), AdjustRetainedTasks (the scheduler's message), and the agent's RecordIO
// event stream. For every input: only typed errors, a bounded time, bounded memory. Each target
// runs for a few seconds in CI; THERMOS_GC_SOAK=1 gives each a minute (see docs/safety.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAdjustRetainedTasks, decodeSchedulerMessageDeletedTasks, encodeAdjustRetainedTasks } from '../../src/core/aurora-messages.js';
import { inspectCheckpoints } from '../../src/core/checkpoint/inspection.js';
import { replayCheckpoint, replayTaskSummary } from '../../src/core/checkpoint/replay.js';
import { decodeCheckpointStream, encodeCheckpointStream } from '../../src/core/checkpoint/runner-ckpt.js';
import { ScheduleStatus, TaskState } from '../../src/core/states.js';
import { ThermosGcError, type ErrorCode } from '../../src/errors.js';
import { RecordIoDecoder, encodeRecordIo } from '../../src/io/mesos/recordio-stream.js';
import { processRun, runnerRecords, typicalFinishedTask } from '../helpers/checkpoint-builder.js';
import { fuzzTimeMs, seedOption, testTimeoutMs } from '../properties/budget.js';

// A hang guard, not a performance assertion: decoding a few KiB never legitimately takes this long.
const HANG_MS = 2_000;
// Inputs are at most a few KiB: anything near this much retained memory means a claimed length was believed.
const MEMORY_SLACK = 64 * 1024 * 1024;

const CKPT_CODES: ReadonlySet<ErrorCode> = new Set([
  'ERR_CKPT_TRUNCATED',
  'ERR_CKPT_RECORD_TOO_LARGE',
  'ERR_CKPT_BAD_TYPE',
  'ERR_CKPT_EMPTY_UNION',
  'ERR_CKPT_BAD_VALUE',
  'ERR_CKPT_DEPTH',
  'ERR_REPLAY',
]);

/** Runs `f`; a thrown value must be a ThermosGcError with one of `codes`. Returns the time taken. */
function typedOnly(f: () => unknown, codes: ReadonlySet<ErrorCode>): number {
  const t0 = performance.now();
  try {
    f();
  } catch (err) {
    if (!(err instanceof ThermosGcError) || !codes.has(err.code)) throw new Error(`untyped failure: ${String(err)}`, { cause: err });
  }
  return performance.now() - t0;
}

/** Valid bytes with a few random edits (overwrite, insert, delete, truncate). */
function mutated(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('set', 'insert', 'delete', 'cut'), byte: fc.integer({ min: 0, max: 255 }) });
  return fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 8 })).map(([seed, edits]) => {
    const bytes = [...seed];
    for (const e of edits) {
      const at = bytes.length === 0 ? 0 : e.at % bytes.length;
      if (e.kind === 'set') bytes[at] = e.byte;
      else if (e.kind === 'insert') bytes.splice(at, 0, e.byte);
      else if (e.kind === 'delete') bytes.splice(at, 1);
      else bytes.length = at;
    }
    return Uint8Array.from(bytes);
  });
}

/** Thrift-ish bytes: type codes, field ids and big-endian lengths likely to reach deep code paths. */
const thriftish = fc
  .array(
    fc.oneof(
      fc.constantFrom(0, 2, 3, 4, 6, 8, 10, 11, 12, 13, 14, 15).map((b) => [b]),
      fc.integer({ min: -1, max: 20 }).map((id) => [(id >> 8) & 0xff, id & 0xff]),
      fc.constantFrom(0, 1, 2, 0x7fffffff, 0xffffffff, 0x80000000, 16 * 1024 * 1024).map((n) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]),
      fc.uint8Array({ maxLength: 8 }).map((u) => [...u]),
    ),
    { maxLength: 64 },
  )
  .map((parts) => Uint8Array.from(parts.flat()));

const framed = thriftish.map((body) => {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
});

const validStreams: Uint8Array[] = [
  encodeCheckpointStream(runnerRecords(typicalFinishedTask('t1', { processNames: ['a', 'b'] }))),
  encodeCheckpointStream(processRun('p', { final: 'KILLED' }).map((process) => ({ kind: 'process' as const, process }))),
  encodeCheckpointStream([{ kind: 'task', task: { state: TaskState.ACTIVE, timestampMs: 1, runnerPid: 2, runnerUid: 3 } }]),
];

function fuzz<T>(arb: fc.Arbitrary<T>, ciMs: number, check: (input: T) => number): void {
  let slowest = 0;
  const buffersBefore = process.memoryUsage().arrayBuffers;
  fc.assert(
    fc.property(arb, (input) => {
      slowest = Math.max(slowest, check(input));
    }),
    { numRuns: 10_000_000, interruptAfterTimeLimit: fuzzTimeMs(ciMs), markInterruptAsFailure: false, ...seedOption() },
  );
  expect(slowest).toBeLessThan(HANG_MS);
  expect(process.memoryUsage().arrayBuffers - buffersBefore).toBeLessThan(MEMORY_SLACK);
}

describe('fuzz: checkpoint decoder and replay', () => {
  const decodeAll = (bytes: Uint8Array): number =>
    typedOnly(() => decodeCheckpointStream(bytes), CKPT_CODES) +
    typedOnly(() => replayCheckpoint(bytes), CKPT_CODES) +
    typedOnly(() => replayTaskSummary(bytes), CKPT_CODES) +
    typedOnly(() => inspectCheckpoints(validStreams[0]!, [bytes]), CKPT_CODES);

  it('random, thrift-shaped and mutated streams give only typed errors', () => {
    fuzz(fc.oneof(fc.uint8Array({ maxLength: 512 }), framed, mutated(validStreams), fc.array(framed, { maxLength: 4 }).map((fs) => Uint8Array.from(fs.flatMap((f) => [...f])))), 2_000, decodeAll);
  }, testTimeoutMs(30_000));

  it('claimed lengths are not allocated: 2 GiB records, strings, maps and lists in a few bytes', () => {
    const before = process.memoryUsage().arrayBuffers;
    const claims = [
      [0x7f, 0xff, 0xff, 0xff, 1, 2, 3],
      [0x00, 0xff, 0xff, 0xff, 12, 0, 1],
      [0, 0, 0, 13, 12, 0, 1, 11, 0, 3, 0x7f, 0xff, 0xff, 0xff, 0x41],
      [0, 0, 0, 15, 12, 0, 1, 13, 0, 6, 11, 10, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0],
      [0, 0, 0, 13, 12, 0, 99, 15, 0, 1, 12, 0x7f, 0xff, 0xff, 0xff, 0],
      [0, 0, 0, 13, 12, 0, 99, 14, 0, 1, 11, 0x7f, 0xff, 0xff, 0xff, 0],
    ].map((b) => Uint8Array.from(b));
    for (let i = 0; i < 200; i++) for (const c of claims) decodeAll(c);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(MEMORY_SLACK);
  });
});

describe('fuzz: AdjustRetainedTasks and SchedulerMessage decoders', () => {
  const seeds = [
    encodeAdjustRetainedTasks(new Map([['a', ScheduleStatus.RUNNING], ['b', ScheduleStatus.FINISHED]])),
    encodeAdjustRetainedTasks(new Map()),
    encodeAdjustRetainedTasks(new Map(Array.from({ length: 20 }, (_, i) => [`task-${i}`, i % 18] as [string, number]))),
  ];
  const codes: ReadonlySet<ErrorCode> = new Set(['ERR_MESSAGE_DECODE']);

  it('random, thrift-shaped and mutated messages decode fully or give ERR_MESSAGE_DECODE', () => {
    fuzz(fc.oneof(fc.uint8Array({ maxLength: 512 }), thriftish, mutated(seeds)), 2_000, (bytes) => {
      let decoded: Map<string, number> | undefined;
      const t = typedOnly(() => (decoded = decodeAdjustRetainedTasks(bytes)), codes);
      // What decodes is a real map of ids to 32-bit statuses, never a partial read.
      if (decoded !== undefined) for (const v of decoded.values()) expect(Number.isInteger(v)).toBe(true);
      return t + typedOnly(() => decodeSchedulerMessageDeletedTasks(bytes), codes);
    });
  }, testTimeoutMs(30_000));

  it('a map claiming 2^31-1 entries in a few bytes is refused without allocating', () => {
    const before = process.memoryUsage().arrayBuffers;
    const claim = Uint8Array.from([13, 0, 2, 11, 8, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0x61]);
    for (let i = 0; i < 1000; i++) expect(() => decodeAdjustRetainedTasks(claim)).toThrow(ThermosGcError);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(MEMORY_SLACK);
  });
});

describe('fuzz: RecordIO event stream decoder', () => {
  const agentCodes: ReadonlySet<ErrorCode> = new Set(['ERR_AGENT']);
  const events = [{ type: 'HEARTBEAT' }, { type: 'LAUNCH', launch: { task: { task_id: { value: 'gc-1' }, data: 'AAEC' } } }, { type: 'KILL', kill: { task_id: { value: 'x' } } }];
  const validStream = Buffer.concat(events.map((e) => encodeRecordIo(e)));

  /** Feeds `chunks` (split points over `bytes`); after a failure every further feed fails the same way. */
  function feedAll(bytes: Uint8Array, cuts: number[]): number {
    const t0 = performance.now();
    const d = new RecordIoDecoder({ maxRecordBytes: 1024 * 1024 });
    const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((x, y) => x - y);
    let prev = 0;
    let failed: unknown;
    for (const p of [...points, bytes.length]) {
      const chunk = bytes.subarray(prev, p);
      prev = p;
      try {
        for (const ev of d.feed(chunk)) expect(ev).not.toBeUndefined();
      } catch (err) {
        if (!(err instanceof ThermosGcError) || !agentCodes.has(err.code)) throw new Error(`untyped failure: ${String(err)}`, { cause: err });
        if (failed !== undefined) expect(err).toBe(failed);
        failed = err;
      }
      expect(d.bufferedBytes).toBeLessThanOrEqual(bytes.length);
    }
    return performance.now() - t0;
  }

  const lengthLines = fc.oneof(fc.nat(40).map(String), fc.constantFrom('', '-1', '1e3', '99999999999999', '268435457', ' 4', '4 ', '0x10'));
  const records = fc
    .array(fc.tuple(lengthLines, fc.oneof(fc.json(), fc.string({ maxLength: 30 }))), { maxLength: 6 })
    .map((rs) => Buffer.from(rs.map(([len, body]) => `${len}\n${body}`).join(''), 'utf8'));

  it('random bytes, random framings and mutated streams, split anywhere: events or ERR_AGENT', () => {
    const arb = fc.tuple(fc.oneof(fc.uint8Array({ maxLength: 256 }), records, mutated([validStream])), fc.array(fc.nat(), { maxLength: 12 }));
    fuzz(arb, 2_000, ([bytes, cuts]) => feedAll(bytes, cuts));
  }, testTimeoutMs(30_000));

  it('an announced length near the cap is not allocated up front', () => {
    const before = process.memoryUsage().arrayBuffers;
    const d = new RecordIoDecoder();
    // 256 MiB - 1 announced, 10 bytes sent: only the 10 bytes are held.
    expect([...d.feed(Buffer.from(`${256 * 1024 * 1024 - 1}\n0123456789`))]).toEqual([]);
    expect(d.bufferedBytes).toBe(10);
    expect(d.atRecordBoundary).toBe(false);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(MEMORY_SLACK);
  });
});
