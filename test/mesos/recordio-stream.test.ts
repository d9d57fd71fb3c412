import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { RecordIoDecoder, encodeRecordIo } from '../../src/io/mesos/recordio-stream.js';
import { ThermosGcError } from '../../src/errors.js';

function decodeAll(decoder: RecordIoDecoder, chunks: readonly Buffer[]): unknown[] {
  const out: unknown[] = [];
  for (const chunk of chunks) for (const event of decoder.feed(chunk)) out.push(event);
  return out;
}

function expectAgentError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ThermosGcError);
    expect((err as ThermosGcError).code).toBe('ERR_AGENT');
    expect((err as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected an ERR_AGENT error');
}

const events = [
  { type: 'SUBSCRIBED', subscribed: { executor_info: { executor_id: { value: 'aurora.gc' } } } },
  { type: 'HEARTBEAT' },
  { type: 'LAUNCH', launch: { task: { task_id: { value: 'gc-1' }, data: 'AAECAw==', name: 'système ✓' } } },
  { type: 'KILL', kill: { task_id: { value: 'gc-1' } } },
];
const stream = Buffer.concat(events.map((e) => encodeRecordIo(e)));

describe('RecordIoDecoder', () => {
  it('encodes a record as decimal byte length, newline, JSON', () => {
    const rec = encodeRecordIo({ a: 'é' });
    expect(rec.toString('utf8')).toBe('10\n{"a":"é"}');
  });

  it('decodes several events from one chunk', () => {
    expect(decodeAll(new RecordIoDecoder(), [stream])).toEqual(events);
  });

  it('decodes the same events split at every byte boundary (one split)', () => {
    for (let cut = 0; cut <= stream.length; cut += 1) {
      const decoder = new RecordIoDecoder();
      expect(decodeAll(decoder, [stream.subarray(0, cut), stream.subarray(cut)])).toEqual(events);
      expect(decoder.atRecordBoundary).toBe(true);
    }
  });

  it('decodes the same events for any set of split points', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }), (cuts) => {
        const sorted = [...cuts].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const cut of [...sorted, stream.length]) {
          chunks.push(stream.subarray(prev, cut));
          prev = cut;
        }
        expect(decodeAll(new RecordIoDecoder(), chunks)).toEqual(events);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes byte-by-byte feeding', () => {
    const chunks = [...stream].map((b) => Buffer.from([b]));
    expect(decodeAll(new RecordIoDecoder(), chunks)).toEqual(events);
  });

  it('reports a partial record as not at a record boundary', () => {
    const decoder = new RecordIoDecoder();
    decodeAll(decoder, [stream.subarray(0, 5)]);
    expect(decoder.atRecordBoundary).toBe(false);
    expect(decoder.bufferedBytes).toBeGreaterThan(0);
  });

  it('yields the events before a malformed record, then fails and stays failed', () => {
    const decoder = new RecordIoDecoder();
    const seen: unknown[] = [];
    const bad = Buffer.concat([encodeRecordIo({ type: 'HEARTBEAT' }), Buffer.from('x1\n{}')]);
    expectAgentError(() => {
      for (const e of decoder.feed(bad)) seen.push(e);
    }, /non-digit/);
    expect(seen).toEqual([{ type: 'HEARTBEAT' }]);
    expectAgentError(() => [...decoder.feed(encodeRecordIo({}))], /non-digit/);
  });

  it.each([
    ['an empty length line', '\n{}', /empty/],
    ['a non-digit', '1a\n{}', /non-digit/],
    ['a sign', '-2\n{}', /non-digit/],
    ['a space', ' 2\n{}', /non-digit/],
    ['a carriage return', '2\r\n{}', /non-digit/],
    ['more than 12 digits', '0000000000002\n{}', /12 digits/],
  ])('refuses %s in the length line', (_name, text, pattern) => {
    expectAgentError(() => decodeAll(new RecordIoDecoder(), [Buffer.from(text)]), pattern);
  });

  it('refuses a length above the cap before buffering the body', () => {
    const decoder = new RecordIoDecoder({ maxRecordBytes: 1000 });
    expectAgentError(() => decodeAll(decoder, [Buffer.from('1001\n')]), /exceeds the limit of 1000/);
    expect(decodeAll(new RecordIoDecoder({ maxRecordBytes: 1000 }), [encodeRecordIo({ a: 'x'.repeat(900) })]))
      .toHaveLength(1);
  });

  it('refuses the default cap of 256 MiB plus one', () => {
    expectAgentError(() => decodeAll(new RecordIoDecoder(), [Buffer.from(`${256 * 1024 * 1024 + 1}\n`)]), /exceeds/);
  });

  it.each([
    ['truncated JSON', '{"type":'],
    ['not JSON', 'hello'],
    ['an empty record', ''],
  ])('refuses %s', (_name, body) => {
    const rec = Buffer.from(`${Buffer.byteLength(body)}\n${body}`);
    expectAgentError(() => decodeAll(new RecordIoDecoder(), [rec]), /not valid JSON/);
  });

  it('decodes a ~100 MB event fed in 64 KiB chunks', () => {
    const size = 100 * 1024 * 1024;
    // Built as bytes, not as a JS string, to keep the test's own memory down.
    const prefix = Buffer.from('{"type":"MESSAGE","message":{"data":"');
    const suffix = Buffer.from('"}}');
    const body = Buffer.alloc(prefix.length + size + suffix.length, 0x41);
    prefix.copy(body, 0);
    suffix.copy(body, body.length - suffix.length);
    const decoder = new RecordIoDecoder();
    const out: unknown[] = [];
    const feed = (buf: Buffer): void => {
      for (const e of decoder.feed(buf)) out.push(e);
    };
    feed(Buffer.from(`${body.length}\n`));
    const chunk = 64 * 1024;
    for (let pos = 0; pos < body.length; pos += chunk) feed(body.subarray(pos, pos + chunk));
    feed(encodeRecordIo({ type: 'HEARTBEAT' }));
    expect(out).toHaveLength(2);
    const big = out[0] as { message: { data: string } };
    expect(big.message.data.length).toBe(size);
    expect(out[1]).toEqual({ type: 'HEARTBEAT' });
  });
});
