// Thrift binary protocol reader over one buffer: DataView reads at offsets, bounds checked
// before every read and before any allocation, so hostile input yields a DecodeError, never a
// crash, a hang or a huge allocation. Strings are created only when a caller asks for one.
import { DecodeError, type ErrorCode } from '../../errors.js';

export const TType = {
  STOP: 0,
  BOOL: 2,
  BYTE: 3,
  DOUBLE: 4,
  I16: 6,
  I32: 8,
  I64: 10,
  STRING: 11,
  STRUCT: 12,
  MAP: 13,
  SET: 14,
  LIST: 15,
} as const;

/** Deepest nesting of structs and containers accepted (the skip of unknown data recurses). */
export const MAX_DEPTH = 64;

/**
 * Smallest encoded size of one value of each type code (-1: not a valid type code). Used to refuse
 * container counts that cannot fit in the bytes left, before looping over them.
 */
const MIN_VALUE_BYTES: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  t[TType.BOOL] = 1;
  t[TType.BYTE] = 1;
  t[TType.DOUBLE] = 8;
  t[TType.I16] = 2;
  t[TType.I32] = 4;
  t[TType.I64] = 8;
  t[TType.STRING] = 4;
  t[TType.STRUCT] = 1;
  t[TType.MAP] = 6;
  t[TType.SET] = 5;
  t[TType.LIST] = 5;
  return t;
})();

const TWO_POW_32 = 4294967296;

/**
 * Repeated strings shared by every reader of the thread (process names recur across the thousands
 * of checkpoints of a scan): a copy of each one's bytes, compared before a new string is made.
 */
const SHARED_MAX = 64;
const SHARED_KEY_BYTES = 64;
const sharedKeys: Uint8Array[] = [];
const sharedValues: string[] = [];
/** The shared instance of the string these bytes encode, if the table has it. */
export function findSharedString(buf: Uint8Array, start: number, len: number): string | undefined {
  for (let i = 0; i < sharedKeys.length; i++) {
    const k = sharedKeys[i]!;
    if (k.length !== len) continue;
    let j = 0;
    while (j < len && k[j] === buf[start + j]) j++;
    if (j === len) return sharedValues[i];
  }
  return undefined;
}

/** Adds `s` (the string of those bytes) to the shared table if it has room; false when it has none. */
export function rememberSharedString(buf: Uint8Array, start: number, len: number, s: string): boolean {
  if (sharedKeys.length >= SHARED_MAX || len > SHARED_KEY_BYTES) return false;
  sharedKeys.push(Uint8Array.prototype.slice.call(buf, start, start + len));
  sharedValues.push(s);
  return true;
}

/** How many distinct repeated strings one reader remembers (a task has a handful of processes). */
const MAX_INTERNED = 32;

export class BinaryReader {
  readonly buf: Buffer;
  private readonly view: DataView;
  /** Current read offset (absolute, in `buf`). */
  pos: number;
  /** End of the readable region (exclusive). */
  end: number;
  /** Field type of the last readFieldBegin (STOP at a struct's end). */
  fieldType: number;
  /** Field id of the last readFieldBegin. */
  fieldId: number;
  // This reader's own repeated strings, by where their bytes sit in `buf` (offset and length),
  // for names the shared table has no room for; created on first need (most readers never do).
  private internAt: number[] | undefined;
  private internLen: number[] = [];
  private internValues: string[] = [];

  constructor(data: Uint8Array, start = 0, end = data.byteLength) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.pos = start;
    this.end = end;
    this.fieldType = 0;
    this.fieldId = 0;
  }

  fail(code: ErrorCode, message: string, at: number = this.pos): never {
    throw new DecodeError(code, message, at);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.end - this.pos < n) this.fail('ERR_CKPT_TRUNCATED', `need ${n} bytes, ${this.end - this.pos} left`);
  }

  readByte(): number {
    this.need(1);
    return this.view.getInt8(this.pos++);
  }

  readI16(): number {
    this.need(2);
    const v = this.view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }

  readI32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  /** An i64 as a JS number; values outside the safe-integer range are refused. */
  readI64(): number {
    this.need(8);
    const hi = this.view.getInt32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    const v = hi * TWO_POW_32 + lo;
    if (!Number.isSafeInteger(v)) this.fail('ERR_CKPT_BAD_VALUE', 'i64 outside the safe-integer range');
    this.pos += 8;
    return v;
  }

  readDouble(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a string's length and checks it fits; returns the start offset of its bytes. */
  private readStringSpan(): number {
    const at = this.pos;
    const len = this.readI32();
    if (len < 0) this.fail('ERR_CKPT_BAD_VALUE', 'negative string length', at);
    if (len > this.end - this.pos) this.fail('ERR_CKPT_TRUNCATED', `string of ${len} bytes past the end`, at);
    const start = this.pos;
    this.pos += len;
    return start;
  }

  readString(): string {
    const start = this.readStringSpan();
    return this.buf.toString('utf8', start, this.pos);
  }

  /**
   * A string that repeats across records (a process name): the same string instance is returned
   * for the same bytes, so no new string is built and Map lookups reuse its cached hash.
   */
  readRepeatedString(): string {
    const start = this.readStringSpan();
    const len = this.pos - start;
    const buf = this.buf;
    const shared = findSharedString(buf, start, len);
    if (shared !== undefined) return shared;
    const own = this.internAt;
    if (own !== undefined) {
      for (let i = 0; i < own.length; i++) {
        if (this.internLen[i] !== len) continue;
        const at = own[i]!;
        let j = 0;
        while (j < len && buf[at + j] === buf[start + j]) j++;
        if (j === len) return this.internValues[i]!;
      }
    }
    const s = buf.toString('utf8', start, this.pos);
    if (rememberSharedString(buf, start, len, s)) return s;
    if ((own?.length ?? 0) < MAX_INTERNED) {
      (this.internAt ??= []).push(start);
      this.internLen.push(len);
      this.internValues.push(s);
    }
    return s;
  }

  skipString(): void {
    this.readStringSpan();
  }

  /** Reads a field header into fieldType/fieldId; returns false at the struct's STOP. */
  readFieldBegin(): boolean {
    this.need(1);
    const type = this.buf[this.pos]!;
    if (type === TType.STOP) {
      this.pos += 1;
      this.fieldType = TType.STOP;
      this.fieldId = 0;
      return false;
    }
    this.need(3);
    this.fieldType = type;
    this.fieldId = this.view.getInt16(this.pos + 1);
    this.pos += 3;
    return true;
  }

  /** Refuses a known field whose wire type is not the expected one. */
  expectType(expected: number, what: string): void {
    if (this.fieldType !== expected) {
      this.fail('ERR_CKPT_BAD_TYPE', `${what}: wire type ${this.fieldType}, expected ${expected}`, this.pos - 3);
    }
  }

  /** Reads a container count and refuses negative counts and counts that cannot fit in the bytes left. */
  private readCount(elementBytes: number, at: number): number {
    const count = this.readI32();
    if (count < 0) this.fail('ERR_CKPT_BAD_VALUE', 'negative container size', at);
    if (count > 0 && count * elementBytes > this.end - this.pos) {
      this.fail('ERR_CKPT_BAD_VALUE', `container of ${count} elements larger than the ${this.end - this.pos} bytes left`, at);
    }
    return count;
  }

  private elementBytes(type: number, at: number): number {
    const n = MIN_VALUE_BYTES[type & 0xff]!;
    if (n < 0) this.fail('ERR_CKPT_BAD_TYPE', `unknown type code ${type}`, at);
    return n;
  }

  /** Map header with the expected key and value types; returns the count. */
  readMapBegin(keyType: number, valueType: number, what: string): number {
    const at = this.pos;
    this.need(2);
    const k = this.buf[this.pos]!;
    const v = this.buf[this.pos + 1]!;
    if (k !== keyType || v !== valueType) {
      this.fail('ERR_CKPT_BAD_TYPE', `${what}: map<${k},${v}>, expected map<${keyType},${valueType}>`, at);
    }
    this.pos += 2;
    return this.readCount(this.elementBytes(k, at) + this.elementBytes(v, at), at);
  }

  /** Set or list header with the expected element type; returns the count. */
  readListBegin(elemType: number, what: string): number {
    const at = this.pos;
    this.need(1);
    const e = this.buf[this.pos]!;
    if (e !== elemType) this.fail('ERR_CKPT_BAD_TYPE', `${what}: elements of type ${e}, expected ${elemType}`, at);
    this.pos += 1;
    return this.readCount(this.elementBytes(e, at), at);
  }

  /** Skips one value of the given type; `depth` is the nesting level of the value being skipped. */
  skip(type: number, depth: number): void {
    if (depth > MAX_DEPTH) this.fail('ERR_CKPT_DEPTH', `nesting deeper than ${MAX_DEPTH}`);
    switch (type) {
      case TType.BOOL:
      case TType.BYTE:
        this.need(1);
        this.pos += 1;
        return;
      case TType.I16:
        this.need(2);
        this.pos += 2;
        return;
      case TType.I32:
        this.need(4);
        this.pos += 4;
        return;
      case TType.I64:
      case TType.DOUBLE:
        this.need(8);
        this.pos += 8;
        return;
      case TType.STRING:
        this.readStringSpan();
        return;
      case TType.STRUCT:
        while (this.readFieldBegin()) this.skip(this.fieldType, depth + 1);
        return;
      case TType.MAP: {
        const at = this.pos;
        this.need(6);
        const k = this.buf[this.pos]!;
        const v = this.buf[this.pos + 1]!;
        this.pos += 2;
        const count = this.readI32();
        if (count < 0) this.fail('ERR_CKPT_BAD_VALUE', 'negative container size', at);
        if (count === 0) return;
        const per = this.elementBytes(k, at) + this.elementBytes(v, at);
        if (count * per > this.end - this.pos) this.fail('ERR_CKPT_BAD_VALUE', `map of ${count} entries larger than the bytes left`, at);
        for (let i = 0; i < count; i++) {
          this.skip(k, depth + 1);
          this.skip(v, depth + 1);
        }
        return;
      }
      case TType.SET:
      case TType.LIST: {
        const at = this.pos;
        this.need(5);
        const e = this.buf[this.pos]!;
        this.pos += 1;
        const count = this.readI32();
        if (count < 0) this.fail('ERR_CKPT_BAD_VALUE', 'negative container size', at);
        if (count === 0) return;
        const per = this.elementBytes(e, at);
        if (count * per > this.end - this.pos) this.fail('ERR_CKPT_BAD_VALUE', `list of ${count} elements larger than the bytes left`, at);
        for (let i = 0; i < count; i++) this.skip(e, depth + 1);
        return;
      }
      default:
        this.fail('ERR_CKPT_BAD_TYPE', `unknown type code ${type}`);
    }
  }
}
