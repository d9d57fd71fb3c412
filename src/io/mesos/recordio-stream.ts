// Incremental decoder for the Mesos v1 RecordIO event stream: `<decimal length>\n<length bytes of
// JSON>`, repeated. Chunks arrive at arbitrary byte boundaries; a record's body is kept as a list
// of slices and concatenated once, so a large event costs one copy, not one per chunk.
import { ThermosGcError, UsageError } from '../../errors.js';

/** @default 256 MiB: a larger announced record is refused before any of it is buffered. */
export const DEFAULT_MAX_RECORD_BYTES = 256 * 1024 * 1024;
/** A length line longer than this many digits is refused (Mesos writes at most ~10). */
const MAX_LENGTH_DIGITS = 12;
const NEWLINE = 0x0a;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

export interface RecordIoDecoderOptions {
  /** @default DEFAULT_MAX_RECORD_BYTES */
  maxRecordBytes?: number;
}

/**
 * Feed chunks with `feed(chunk)` and iterate the returned generator to completion: it yields
 * each complete event, in order. A framing or JSON error throws ThermosGcError('ERR_AGENT')
 * after the events before it were yielded, and the decoder stays failed (the stream cannot be
 * resynchronised).
 */
export class RecordIoDecoder {
  private readonly maxRecordBytes: number;
  /** Value and digit count of the length line read so far. */
  private lengthValue = 0;
  private lengthDigits = 0;
  /** -1 while reading a length line; otherwise the body bytes still missing. */
  private bodyRemaining = -1;
  private bodyLength = 0;
  private bodyParts: Buffer[] = [];
  private failure: ThermosGcError | undefined;

  constructor(options: RecordIoDecoderOptions = {}) {
    const max = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new UsageError(`maxRecordBytes must be a positive integer, got ${max}`);
    }
    this.maxRecordBytes = max;
  }

  /** True when no partial record is buffered (a clean place for the stream to end). */
  get atRecordBoundary(): boolean {
    return this.bodyRemaining === -1 && this.lengthDigits === 0;
  }

  /** Bytes of the current partial record held in memory. */
  get bufferedBytes(): number {
    return this.bodyLength - Math.max(this.bodyRemaining, 0);
  }

  *feed(chunk: Uint8Array): Generator<unknown, void, undefined> {
    if (this.failure !== undefined) throw this.failure;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    while (pos < buf.length) {
      if (this.bodyRemaining === -1) {
        pos = this.readLengthLine(buf, pos);
        // A zero-length record is complete (and invalid JSON) without any body byte.
        if (this.bodyComplete()) yield this.finishRecord();
        continue;
      }
      const take = Math.min(this.bodyRemaining, buf.length - pos);
      // A subarray shares memory with the chunk: the chunk is only kept until the record completes.
      this.bodyParts.push(buf.subarray(pos, pos + take));
      this.bodyRemaining -= take;
      pos += take;
      if (this.bodyComplete()) yield this.finishRecord();
    }
  }

  private bodyComplete(): boolean {
    return this.bodyRemaining === 0;
  }

  /** Consumes length-line bytes from `pos`; returns the position after them. */
  private readLengthLine(buf: Buffer, pos: number): number {
    while (pos < buf.length) {
      const byte = buf[pos] as number;
      pos += 1;
      if (byte === NEWLINE) {
        if (this.lengthDigits === 0) this.fail('empty RecordIO length line');
        if (this.lengthValue > this.maxRecordBytes) {
          this.fail(`RecordIO record of ${this.lengthValue} bytes exceeds the limit of ${this.maxRecordBytes}`);
        }
        this.bodyRemaining = this.lengthValue;
        this.bodyLength = this.lengthValue;
        this.lengthValue = 0;
        this.lengthDigits = 0;
        return pos;
      }
      if (byte < DIGIT_0 || byte > DIGIT_9) {
        this.fail(`RecordIO length line holds a non-digit byte 0x${byte.toString(16).padStart(2, '0')}`);
      }
      this.lengthDigits += 1;
      if (this.lengthDigits > MAX_LENGTH_DIGITS) {
        this.fail(`RecordIO length line is longer than ${MAX_LENGTH_DIGITS} digits`);
      }
      this.lengthValue = this.lengthValue * 10 + (byte - DIGIT_0);
    }
    return pos;
  }

  private finishRecord(): unknown {
    const parts = this.bodyParts;
    const body = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, this.bodyLength);
    this.bodyParts = [];
    this.bodyRemaining = -1;
    const length = this.bodyLength;
    this.bodyLength = 0;
    try {
      return JSON.parse(body.toString('utf8')) as unknown;
    } catch (err) {
      return this.fail(`RecordIO record of ${length} bytes is not valid JSON`, err);
    }
  }

  private fail(message: string, cause?: unknown): never {
    this.bodyParts = [];
    this.failure = new ThermosGcError('ERR_AGENT', message, cause === undefined ? {} : { cause });
    throw this.failure;
  }
}

/** One RecordIO record holding `obj` as JSON. */
export function encodeRecordIo(obj: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(obj), 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}\n`, 'ascii'), body]);
}
