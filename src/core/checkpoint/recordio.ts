// RecordIO framing of checkpoint files: each record is a 4-byte big-endian length and that many
// bytes. The length is unsigned on the wire (as the original reader unpacked it); anything above
// the cap, which includes every "negative" int32, is refused before any allocation.
import { DecodeError } from '../../errors.js';

/** Largest record body accepted (the original RecordIO reader's cap). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export function frameRecord(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.byteLength);
  out.writeUInt32BE(body.byteLength, 0);
  out.set(body, 4);
  return out;
}

/**
 * Reads the frame header at `pos` and returns the body length; the body is at pos + 4.
 * Throws DecodeError on a short header, an over-cap length or a body past the end.
 */
export function frameLengthAt(buf: Uint8Array, pos: number): number {
  const left = buf.byteLength - pos;
  if (left < 4) throw new DecodeError('ERR_CKPT_TRUNCATED', `record header of ${left} bytes`, pos);
  // Unsigned big-endian read without a DataView: this runs once per record.
  const len = ((buf[pos]! << 24) >>> 0) + (buf[pos + 1]! << 16) + (buf[pos + 2]! << 8) + buf[pos + 3]!;
  if (len > MAX_RECORD_BYTES) {
    throw new DecodeError('ERR_CKPT_RECORD_TOO_LARGE', `record length ${len} exceeds ${MAX_RECORD_BYTES}`, pos);
  }
  if (len > left - 4) throw new DecodeError('ERR_CKPT_TRUNCATED', `record of ${len} bytes, ${left - 4} left`, pos);
  return len;
}

/** Yields each record body as a view into `buf` (no copies). An empty buffer yields nothing. */
export function* iterateFrames(buf: Uint8Array): Generator<Uint8Array> {
  let pos = 0;
  while (pos < buf.byteLength) {
    const len = frameLengthAt(buf, pos);
    yield buf.subarray(pos + 4, pos + 4 + len);
    pos += 4 + len;
  }
}
