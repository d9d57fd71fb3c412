// The RunnerCkpt union codec (domain.md §3). Fields are written in IDL declaration order (the
// order of the spec's table), which is what Apache Thrift's generated code does; the oracle test
// checks byte equality with the `thrift` package. Decoded records have every key present
// (undefined when absent on the wire) so that they all share one object shape.
import { DecodeError } from '../../errors.js';
import type { ProcessStatusRecord, RunnerCkpt, RunnerHeader, TaskStatusRecord } from '../records.js';
import { BinaryReader, TType } from '../thrift/binary-reader.js';
import { BinaryWriter } from '../thrift/binary-writer.js';
import { frameLengthAt } from './recordio.js';

/** Sets an own property even for keys such as "__proto__" (names come from the wire). */
export function setOwn<V>(obj: Record<string, V>, key: string, value: V): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

// Depth of the fields inside a record's member struct: union (1) → member (2) → field values (3).
const MEMBER_FIELD_DEPTH = 3;

export function readRunnerHeader(r: BinaryReader): RunnerHeader {
  const h: RunnerHeader = {
    taskId: undefined,
    launchTimeMs: undefined,
    sandbox: undefined,
    logDir: undefined,
    hostname: undefined,
    user: undefined,
    uid: undefined,
    ports: undefined,
  };
  while (r.readFieldBegin()) {
    switch (r.fieldId) {
      case 1:
        r.expectType(TType.STRING, 'RunnerHeader.task_id');
        h.taskId = r.readString();
        break;
      case 2:
        r.expectType(TType.I64, 'RunnerHeader.launch_time_ms');
        h.launchTimeMs = r.readI64();
        break;
      case 3:
        r.expectType(TType.STRING, 'RunnerHeader.sandbox');
        h.sandbox = r.readString();
        break;
      case 7:
        r.expectType(TType.STRING, 'RunnerHeader.log_dir');
        h.logDir = r.readString();
        break;
      case 4:
        r.expectType(TType.STRING, 'RunnerHeader.hostname');
        h.hostname = r.readString();
        break;
      case 5:
        r.expectType(TType.STRING, 'RunnerHeader.user');
        h.user = r.readString();
        break;
      case 8:
        r.expectType(TType.I32, 'RunnerHeader.uid');
        h.uid = r.readI32();
        break;
      case 6: {
        r.expectType(TType.MAP, 'RunnerHeader.ports');
        const count = r.readMapBegin(TType.STRING, TType.I64, 'RunnerHeader.ports');
        const ports: Record<string, number> = {};
        for (let i = 0; i < count; i++) {
          const name = r.readString();
          setOwn(ports, name, r.readI64());
        }
        h.ports = ports;
        break;
      }
      default:
        r.skip(r.fieldType, MEMBER_FIELD_DEPTH);
    }
  }
  return h;
}

export function readTaskStatus(r: BinaryReader): TaskStatusRecord {
  const t: TaskStatusRecord = { state: undefined, timestampMs: undefined, runnerPid: undefined, runnerUid: undefined };
  while (r.readFieldBegin()) {
    switch (r.fieldId) {
      case 1:
        r.expectType(TType.I32, 'TaskStatus.state');
        t.state = r.readI32();
        break;
      case 2:
        r.expectType(TType.I64, 'TaskStatus.timestamp_ms');
        t.timestampMs = r.readI64();
        break;
      case 3:
        r.expectType(TType.I32, 'TaskStatus.runner_pid');
        t.runnerPid = r.readI32();
        break;
      case 4:
        r.expectType(TType.I32, 'TaskStatus.runner_uid');
        t.runnerUid = r.readI32();
        break;
      default:
        r.skip(r.fieldType, MEMBER_FIELD_DEPTH);
    }
  }
  return t;
}

/** A process status with every key present (undefined): one object shape for all of them. */
function emptyProcessStatus(): ProcessStatusRecord {
  return {
    seq: undefined,
    process: undefined,
    state: undefined,
    coordinatorPid: undefined,
    forkTime: undefined,
    startTime: undefined,
    pid: undefined,
    stopTime: undefined,
    returnCode: undefined,
  };
}

export function readProcessStatus(r: BinaryReader): ProcessStatusRecord {
  const p = emptyProcessStatus();
  while (r.readFieldBegin()) {
    switch (r.fieldId) {
      case 1:
        r.expectType(TType.I64, 'ProcessStatus.seq');
        p.seq = r.readI64();
        break;
      case 3:
        r.expectType(TType.STRING, 'ProcessStatus.process');
        p.process = r.readRepeatedString();
        break;
      case 5:
        r.expectType(TType.I32, 'ProcessStatus.state');
        p.state = r.readI32();
        break;
      case 10:
        r.expectType(TType.I32, 'ProcessStatus.coordinator_pid');
        p.coordinatorPid = r.readI32();
        break;
      case 11:
        r.expectType(TType.DOUBLE, 'ProcessStatus.fork_time');
        p.forkTime = r.readDouble();
        break;
      case 6:
        r.expectType(TType.DOUBLE, 'ProcessStatus.start_time');
        p.startTime = r.readDouble();
        break;
      case 7:
        r.expectType(TType.I32, 'ProcessStatus.pid');
        p.pid = r.readI32();
        break;
      case 8:
        r.expectType(TType.DOUBLE, 'ProcessStatus.stop_time');
        p.stopTime = r.readDouble();
        break;
      case 9:
        r.expectType(TType.I32, 'ProcessStatus.return_code');
        p.returnCode = r.readI32();
        break;
      default:
        r.skip(r.fieldType, MEMBER_FIELD_DEPTH);
    }
  }
  return p;
}

/**
 * Reads one RunnerCkpt union at r.pos. Unknown members are skipped; a union with none of the
 * three members is refused. Should a record carry several members, the one the original
 * dispatcher looked at first wins: header, then task status, then process status.
 */
export function readRunnerCkpt(r: BinaryReader): RunnerCkpt {
  const start = r.pos;
  let header: RunnerHeader | undefined;
  let task: TaskStatusRecord | undefined;
  let process: ProcessStatusRecord | undefined;
  while (r.readFieldBegin()) {
    switch (r.fieldId) {
      case 1:
        r.expectType(TType.STRUCT, 'RunnerCkpt.runner_header');
        header = readRunnerHeader(r);
        break;
      case 2:
        r.expectType(TType.STRUCT, 'RunnerCkpt.process_status');
        process = readProcessStatus(r);
        break;
      case 3:
        r.expectType(TType.STRUCT, 'RunnerCkpt.task_status');
        task = readTaskStatus(r);
        break;
      default:
        r.skip(r.fieldType, 2);
    }
  }
  if (header !== undefined) return { kind: 'header', header };
  if (task !== undefined) return { kind: 'task', task };
  if (process !== undefined) return { kind: 'process', process };
  throw new DecodeError('ERR_CKPT_EMPTY_UNION', 'RunnerCkpt record with no member set', start);
}

/**
 * Decodes one record body. Bytes after the union's STOP are ignored, as the original's
 * deserializer did.
 */
export function decodeRunnerCkpt(body: Uint8Array): RunnerCkpt {
  return readRunnerCkpt(new BinaryReader(body));
}

/** Decodes a whole checkpoint stream (framed records); an empty buffer is an empty stream. */
export function decodeCheckpointStream(buf: Uint8Array): RunnerCkpt[] {
  const out: RunnerCkpt[] = [];
  forEachRecord(buf, (r) => out.push(readRunnerCkpt(r)));
  return out;
}

/**
 * Calls `visit` with a reader positioned at each record body, bounded to that record, over one
 * shared reader (no per-record views or allocations). DecodeError offsets are stream offsets.
 */
export function forEachRecord(buf: Uint8Array, visit: (r: BinaryReader) => void): number {
  const r = new BinaryReader(buf);
  let pos = 0;
  let records = 0;
  while (pos < buf.byteLength) {
    const len = frameLengthAt(buf, pos);
    r.pos = pos + 4;
    r.end = pos + 4 + len;
    visit(r);
    pos += 4 + len;
    records++;
  }
  return records;
}

function writeOptString(w: BinaryWriter, id: number, v: string | undefined): void {
  if (v === undefined) return;
  w.writeFieldBegin(TType.STRING, id);
  w.writeString(v);
}
function writeOptI32(w: BinaryWriter, id: number, v: number | undefined): void {
  if (v === undefined) return;
  w.writeFieldBegin(TType.I32, id);
  w.writeI32(v);
}
function writeOptI64(w: BinaryWriter, id: number, v: number | undefined): void {
  if (v === undefined) return;
  w.writeFieldBegin(TType.I64, id);
  w.writeI64(v);
}
function writeOptDouble(w: BinaryWriter, id: number, v: number | undefined): void {
  if (v === undefined) return;
  w.writeFieldBegin(TType.DOUBLE, id);
  w.writeDouble(v);
}

function writeRunnerHeader(w: BinaryWriter, h: RunnerHeader): void {
  writeOptString(w, 1, h.taskId);
  writeOptI64(w, 2, h.launchTimeMs);
  writeOptString(w, 3, h.sandbox);
  writeOptString(w, 7, h.logDir);
  writeOptString(w, 4, h.hostname);
  writeOptString(w, 5, h.user);
  writeOptI32(w, 8, h.uid);
  if (h.ports !== undefined) {
    const entries = Object.entries(h.ports);
    w.writeFieldBegin(TType.MAP, 6);
    w.writeMapBegin(TType.STRING, TType.I64, entries.length);
    for (const [name, port] of entries) {
      w.writeString(name);
      w.writeI64(port);
    }
  }
  w.writeFieldStop();
}

function writeTaskStatus(w: BinaryWriter, t: TaskStatusRecord): void {
  writeOptI32(w, 1, t.state);
  writeOptI64(w, 2, t.timestampMs);
  writeOptI32(w, 3, t.runnerPid);
  writeOptI32(w, 4, t.runnerUid);
  w.writeFieldStop();
}

function writeProcessStatus(w: BinaryWriter, p: ProcessStatusRecord): void {
  writeOptI64(w, 1, p.seq);
  writeOptString(w, 3, p.process);
  writeOptI32(w, 5, p.state);
  writeOptI32(w, 10, p.coordinatorPid);
  writeOptDouble(w, 11, p.forkTime);
  writeOptDouble(w, 6, p.startTime);
  writeOptI32(w, 7, p.pid);
  writeOptDouble(w, 8, p.stopTime);
  writeOptI32(w, 9, p.returnCode);
  w.writeFieldStop();
}

function writeRunnerCkpt(w: BinaryWriter, rec: RunnerCkpt): void {
  switch (rec.kind) {
    case 'header':
      w.writeFieldBegin(TType.STRUCT, 1);
      writeRunnerHeader(w, rec.header);
      break;
    case 'process':
      w.writeFieldBegin(TType.STRUCT, 2);
      writeProcessStatus(w, rec.process);
      break;
    case 'task':
      w.writeFieldBegin(TType.STRUCT, 3);
      writeTaskStatus(w, rec.task);
      break;
  }
  w.writeFieldStop();
}

/** The record body (no length prefix). */
export function encodeRunnerCkpt(rec: RunnerCkpt): Buffer {
  const w = new BinaryWriter(128);
  writeRunnerCkpt(w, rec);
  return w.finish();
}

/** The record with its 4-byte length prefix, ready to append to a checkpoint file. */
export function encodeRunnerCkptRecord(rec: RunnerCkpt): Buffer {
  const w = new BinaryWriter(128);
  const at = w.reserveLength();
  writeRunnerCkpt(w, rec);
  w.patchLength(at);
  return w.finish();
}

/** A whole checkpoint stream for the given records. */
export function encodeCheckpointStream(recs: Iterable<RunnerCkpt>): Buffer {
  const w = new BinaryWriter(1024);
  for (const rec of recs) {
    const at = w.reserveLength();
    writeRunnerCkpt(w, rec);
    w.patchLength(at);
  }
  return w.finish();
}
