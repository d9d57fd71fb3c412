// Aurora's messages to and from the GC executor (domain.md §5), Thrift binary protocol without an
// envelope. Decoding is strict: a message that does not decode completely is refused (a broken
// AdjustRetainedTasks read as "retain nothing" would delete every sandbox on the node).
import { DecodeError } from '../errors.js';
import { BinaryReader, TType } from './thrift/binary-reader.js';
import { BinaryWriter } from './thrift/binary-writer.js';

// Nesting level of a top-level field's value (the message struct itself is level 1).
const TOP_FIELD_DEPTH = 2;

/** Runs a decoder; any DecodeError becomes ERR_MESSAGE_DECODE, keeping its message and offset. */
function strictly<T>(what: string, data: Uint8Array, decode: (r: BinaryReader) => T): T {
  const r = new BinaryReader(data);
  try {
    const out = decode(r);
    if (r.pos !== r.end) throw new DecodeError('ERR_MESSAGE_DECODE', `${what}: ${r.end - r.pos} bytes after the end`, r.pos);
    return out;
  } catch (err) {
    if (err instanceof DecodeError && err.code !== 'ERR_MESSAGE_DECODE') {
      const e = new DecodeError('ERR_MESSAGE_DECODE', `${what}: ${err.message}`, err.offset);
      e.cause = err;
      throw e;
    }
    throw err;
  }
}

/** AdjustRetainedTasks { 2: map<string, i32 ScheduleStatus> retainedTasks } → task id → status. */
export function decodeAdjustRetainedTasks(data: Uint8Array): Map<string, number> {
  return strictly('AdjustRetainedTasks', data, (r) => {
    let retained: Map<string, number> | undefined;
    while (r.readFieldBegin()) {
      if (r.fieldId === 2) {
        r.expectType(TType.MAP, 'AdjustRetainedTasks.retainedTasks');
        const count = r.readMapBegin(TType.STRING, TType.I32, 'AdjustRetainedTasks.retainedTasks');
        const m = new Map<string, number>();
        for (let i = 0; i < count; i++) {
          const id = r.readString();
          m.set(id, r.readI32());
        }
        retained = m;
      } else {
        r.skip(r.fieldType, TOP_FIELD_DEPTH);
      }
    }
    if (retained === undefined) throw new DecodeError('ERR_MESSAGE_DECODE', 'AdjustRetainedTasks without retainedTasks', 0);
    return retained;
  });
}

export function encodeAdjustRetainedTasks(m: ReadonlyMap<string, number>): Buffer {
  const w = new BinaryWriter();
  w.writeFieldBegin(TType.MAP, 2);
  w.writeMapBegin(TType.STRING, TType.I32, m.size);
  for (const [id, status] of m) {
    w.writeString(id);
    w.writeI32(status);
  }
  w.writeFieldStop();
  return w.finish();
}

/** SchedulerMessage union with member 4: DeletedTasks { 1: set<string> taskIds }. Duplicates are dropped. */
export function encodeSchedulerMessageDeletedTasks(ids: Iterable<string>): Buffer {
  const unique = new Set(ids);
  const w = new BinaryWriter();
  w.writeFieldBegin(TType.STRUCT, 4);
  w.writeFieldBegin(TType.SET, 1);
  w.writeListBegin(TType.STRING, unique.size);
  for (const id of unique) w.writeString(id);
  w.writeFieldStop();
  w.writeFieldStop();
  return w.finish();
}

export function decodeSchedulerMessageDeletedTasks(data: Uint8Array): string[] {
  return strictly('SchedulerMessage', data, (r) => {
    let ids: string[] | undefined;
    while (r.readFieldBegin()) {
      const outer = r.fieldId; // locals: TS would keep r.fieldId narrowed across the nested reads
      if (outer === 4) {
        r.expectType(TType.STRUCT, 'SchedulerMessage.deletedTasks');
        ids = [];
        while (r.readFieldBegin()) {
          if (r.fieldId === 1) {
            r.expectType(TType.SET, 'DeletedTasks.taskIds');
            const count = r.readListBegin(TType.STRING, 'DeletedTasks.taskIds');
            const list: string[] = [];
            for (let i = 0; i < count; i++) list.push(r.readString());
            ids = list;
          } else {
            r.skip(r.fieldType, TOP_FIELD_DEPTH + 1);
          }
        }
      } else {
        r.skip(r.fieldType, TOP_FIELD_DEPTH);
      }
    }
    if (ids === undefined) throw new DecodeError('ERR_MESSAGE_DECODE', 'SchedulerMessage without deletedTasks', 0);
    return ids;
  });
}
