// Thrift binary protocol writer into one growable Buffer. Values that the wire type cannot hold
// (a non-integer i32, an unsafe i64) are programming errors and throw a RangeError.
import { TType } from './binary-reader.js';

const TWO_POW_32 = 4294967296;

export class BinaryWriter {
  private buf: Buffer;
  pos: number;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  writeByte(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  writeI16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  writeI32(v: number): void {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`not an i32: ${v}`);
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  writeI64(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`not a safe-integer i64: ${v}`);
    this.ensure(8);
    const hi = Math.floor(v / TWO_POW_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_POW_32, this.pos + 4);
    this.pos += 8;
  }

  writeDouble(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  writeString(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.ensure(4 + len);
    this.buf.writeInt32BE(len, this.pos);
    this.buf.write(s, this.pos + 4, len, 'utf8');
    this.pos += 4 + len;
  }

  writeFieldBegin(type: number, id: number): void {
    this.ensure(3);
    this.buf[this.pos] = type;
    this.buf.writeInt16BE(id, this.pos + 1);
    this.pos += 3;
  }

  writeFieldStop(): void {
    this.writeByte(TType.STOP);
  }

  writeMapBegin(keyType: number, valueType: number, count: number): void {
    this.writeByte(keyType);
    this.writeByte(valueType);
    this.writeI32(count);
  }

  writeListBegin(elemType: number, count: number): void {
    this.writeByte(elemType);
    this.writeI32(count);
  }

  /** Reserves 4 bytes for a big-endian length written later with patchLength. */
  reserveLength(): number {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return at;
  }

  patchLength(at: number): void {
    this.buf.writeUInt32BE(this.pos - at - 4, at);
  }

  /** The bytes written, as a Buffer of its own (a copy: the writer's buffer may be reused). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
