// An independent codec for the same structs, written the way Apache Thrift's generated JS code is,
// on top of the `thrift` npm package's TBinaryProtocol. The oracle tests compare our codec with it.
import thrift from 'thrift';
import type { ProcessStatusRecord, RunnerCkpt, RunnerHeader, TaskStatusRecord } from '../../src/core/records.js';

type Protocol = InstanceType<typeof thrift.TBinaryProtocol>;
const T = thrift.Thrift.Type;

// The package's i64 helpers (exact, via BigInt) are missing from @types/thrift 0.10.
const i64 = thrift as unknown as {
  toBigInt(v: unknown): bigint;
  fromBigInt(v: bigint): Parameters<Protocol['writeI64']>[0];
};
const writeI64 = (p: Protocol, v: number): void => p.writeI64(i64.fromBigInt(BigInt(v)));
const readI64 = (p: Protocol): number => Number(i64.toBigInt(p.readI64()));

export function oracleWrite(write: (p: Protocol) => void): Buffer {
  let out: Buffer = Buffer.alloc(0);
  const transport = new thrift.TBufferedTransport(undefined, (msg) => {
    if (msg !== undefined) out = msg;
  });
  const p = new thrift.TBinaryProtocol(transport);
  write(p);
  transport.flush();
  return out;
}

export function oracleRead<V>(data: Buffer, read: (p: Protocol) => V): V {
  let result: { v: V } | undefined;
  thrift.TBufferedTransport.receiver((trans) => {
    result = { v: read(new thrift.TBinaryProtocol(trans)) };
  }, 0)(data);
  if (result === undefined) throw new Error('oracle did not read');
  return result.v;
}

function field(p: Protocol, name: string, type: number, id: number, write: () => void): void {
  p.writeFieldBegin(name, type, id);
  write();
  p.writeFieldEnd();
}

export function writeRunnerHeader(p: Protocol, h: RunnerHeader): void {
  p.writeStructBegin('RunnerHeader');
  if (h.taskId != null) field(p, 'task_id', T.STRING, 1, () => p.writeString(h.taskId!));
  if (h.launchTimeMs != null) field(p, 'launch_time_ms', T.I64, 2, () => writeI64(p, h.launchTimeMs!));
  if (h.sandbox != null) field(p, 'sandbox', T.STRING, 3, () => p.writeString(h.sandbox!));
  if (h.logDir != null) field(p, 'log_dir', T.STRING, 7, () => p.writeString(h.logDir!));
  if (h.hostname != null) field(p, 'hostname', T.STRING, 4, () => p.writeString(h.hostname!));
  if (h.user != null) field(p, 'user', T.STRING, 5, () => p.writeString(h.user!));
  if (h.uid != null) field(p, 'uid', T.I32, 8, () => p.writeI32(h.uid!));
  if (h.ports != null) {
    const entries = Object.entries(h.ports);
    field(p, 'ports', T.MAP, 6, () => {
      p.writeMapBegin(T.STRING, T.I64, entries.length);
      for (const [k, v] of entries) {
        p.writeString(k);
        writeI64(p, v);
      }
      p.writeMapEnd();
    });
  }
  p.writeFieldStop();
  p.writeStructEnd();
}

export function writeTaskStatus(p: Protocol, t: TaskStatusRecord): void {
  p.writeStructBegin('TaskStatus');
  if (t.state != null) field(p, 'state', T.I32, 1, () => p.writeI32(t.state!));
  if (t.timestampMs != null) field(p, 'timestamp_ms', T.I64, 2, () => writeI64(p, t.timestampMs!));
  if (t.runnerPid != null) field(p, 'runner_pid', T.I32, 3, () => p.writeI32(t.runnerPid!));
  if (t.runnerUid != null) field(p, 'runner_uid', T.I32, 4, () => p.writeI32(t.runnerUid!));
  p.writeFieldStop();
  p.writeStructEnd();
}

export function writeProcessStatus(p: Protocol, s: ProcessStatusRecord): void {
  p.writeStructBegin('ProcessStatus');
  if (s.seq != null) field(p, 'seq', T.I64, 1, () => writeI64(p, s.seq!));
  if (s.process != null) field(p, 'process', T.STRING, 3, () => p.writeString(s.process!));
  if (s.state != null) field(p, 'state', T.I32, 5, () => p.writeI32(s.state!));
  if (s.coordinatorPid != null) field(p, 'coordinator_pid', T.I32, 10, () => p.writeI32(s.coordinatorPid!));
  if (s.forkTime != null) field(p, 'fork_time', T.DOUBLE, 11, () => p.writeDouble(s.forkTime!));
  if (s.startTime != null) field(p, 'start_time', T.DOUBLE, 6, () => p.writeDouble(s.startTime!));
  if (s.pid != null) field(p, 'pid', T.I32, 7, () => p.writeI32(s.pid!));
  if (s.stopTime != null) field(p, 'stop_time', T.DOUBLE, 8, () => p.writeDouble(s.stopTime!));
  if (s.returnCode != null) field(p, 'return_code', T.I32, 9, () => p.writeI32(s.returnCode!));
  p.writeFieldStop();
  p.writeStructEnd();
}

export function writeRunnerCkpt(p: Protocol, rec: RunnerCkpt): void {
  p.writeStructBegin('RunnerCkpt');
  if (rec.kind === 'header') field(p, 'runner_header', T.STRUCT, 1, () => writeRunnerHeader(p, rec.header));
  if (rec.kind === 'process') field(p, 'process_status', T.STRUCT, 2, () => writeProcessStatus(p, rec.process));
  if (rec.kind === 'task') field(p, 'task_status', T.STRUCT, 3, () => writeTaskStatus(p, rec.task));
  p.writeFieldStop();
  p.writeStructEnd();
}

/** Generated-code style struct reader: known ids with the right type are read, the rest skipped. */
export function readStruct(p: Protocol, onField: (id: number, type: number) => boolean): void {
  p.readStructBegin();
  for (;;) {
    const f = p.readFieldBegin();
    if (f.ftype === T.STOP) break;
    if (!onField(f.fid, f.ftype)) p.skip(f.ftype);
    p.readFieldEnd();
  }
  p.readStructEnd();
}

function readRunnerHeader(p: Protocol): RunnerHeader {
  const h: RunnerHeader = {};
  readStruct(p, (id, type) => {
    if (id === 1 && type === T.STRING) h.taskId = p.readString();
    else if (id === 2 && type === T.I64) h.launchTimeMs = readI64(p);
    else if (id === 3 && type === T.STRING) h.sandbox = p.readString();
    else if (id === 7 && type === T.STRING) h.logDir = p.readString();
    else if (id === 4 && type === T.STRING) h.hostname = p.readString();
    else if (id === 5 && type === T.STRING) h.user = p.readString();
    else if (id === 8 && type === T.I32) h.uid = p.readI32();
    else if (id === 6 && type === T.MAP) {
      const m = p.readMapBegin();
      const ports: Record<string, number> = {};
      for (let i = 0; i < m.size; i++) {
        const k = p.readString();
        Object.defineProperty(ports, k, { value: readI64(p), enumerable: true, writable: true, configurable: true });
      }
      p.readMapEnd();
      h.ports = ports;
    } else return false;
    return true;
  });
  return h;
}

function readTaskStatus(p: Protocol): TaskStatusRecord {
  const t: TaskStatusRecord = {};
  readStruct(p, (id, type) => {
    if (id === 1 && type === T.I32) t.state = p.readI32();
    else if (id === 2 && type === T.I64) t.timestampMs = readI64(p);
    else if (id === 3 && type === T.I32) t.runnerPid = p.readI32();
    else if (id === 4 && type === T.I32) t.runnerUid = p.readI32();
    else return false;
    return true;
  });
  return t;
}

function readProcessStatus(p: Protocol): ProcessStatusRecord {
  const s: ProcessStatusRecord = {};
  readStruct(p, (id, type) => {
    if (id === 1 && type === T.I64) s.seq = readI64(p);
    else if (id === 3 && type === T.STRING) s.process = p.readString();
    else if (id === 5 && type === T.I32) s.state = p.readI32();
    else if (id === 10 && type === T.I32) s.coordinatorPid = p.readI32();
    else if (id === 11 && type === T.DOUBLE) s.forkTime = p.readDouble();
    else if (id === 6 && type === T.DOUBLE) s.startTime = p.readDouble();
    else if (id === 7 && type === T.I32) s.pid = p.readI32();
    else if (id === 8 && type === T.DOUBLE) s.stopTime = p.readDouble();
    else if (id === 9 && type === T.I32) s.returnCode = p.readI32();
    else return false;
    return true;
  });
  return s;
}

export function readRunnerCkpt(p: Protocol): RunnerCkpt | undefined {
  let rec: RunnerCkpt | undefined;
  readStruct(p, (id, type) => {
    if (type !== T.STRUCT) return false;
    if (id === 1) rec = { kind: 'header', header: readRunnerHeader(p) };
    else if (id === 2) rec = { kind: 'process', process: readProcessStatus(p) };
    else if (id === 3) rec = { kind: 'task', task: readTaskStatus(p) };
    else return false;
    return true;
  });
  return rec;
}

export function writeAdjustRetainedTasks(p: Protocol, m: ReadonlyMap<string, number>): void {
  p.writeStructBegin('AdjustRetainedTasks');
  field(p, 'retainedTasks', T.MAP, 2, () => {
    p.writeMapBegin(T.STRING, T.I32, m.size);
    for (const [k, v] of m) {
      p.writeString(k);
      p.writeI32(v);
    }
    p.writeMapEnd();
  });
  p.writeFieldStop();
  p.writeStructEnd();
}

export function readAdjustRetainedTasks(p: Protocol): Map<string, number> | undefined {
  let out: Map<string, number> | undefined;
  readStruct(p, (id, type) => {
    if (id !== 2 || type !== T.MAP) return false;
    const m = p.readMapBegin();
    out = new Map();
    for (let i = 0; i < m.size; i++) out.set(p.readString(), p.readI32());
    p.readMapEnd();
    return true;
  });
  return out;
}

export function writeSchedulerMessageDeletedTasks(p: Protocol, ids: string[]): void {
  p.writeStructBegin('SchedulerMessage');
  field(p, 'deletedTasks', T.STRUCT, 4, () => {
    p.writeStructBegin('DeletedTasks');
    field(p, 'taskIds', T.SET, 1, () => {
      p.writeSetBegin(T.STRING, ids.length);
      for (const id of ids) p.writeString(id);
      p.writeSetEnd();
    });
    p.writeFieldStop();
    p.writeStructEnd();
  });
  p.writeFieldStop();
  p.writeStructEnd();
}

export function readSchedulerMessageDeletedTasks(p: Protocol): string[] | undefined {
  let out: string[] | undefined;
  readStruct(p, (id, type) => {
    if (id !== 4 || type !== T.STRUCT) return false;
    readStruct(p, (fid, ftype) => {
      if (fid !== 1 || ftype !== T.SET) return false;
      const s = p.readSetBegin();
      out = [];
      for (let i = 0; i < s.size; i++) out.push(p.readString());
      p.readSetEnd();
      return true;
    });
    return true;
  });
  return out;
}

/**
 * A whole runner checkpoint (RecordIO: a 4-byte big-endian length before each record) decoded
 * with the `thrift` package, one TFramedTransport per record, as a careful first version would.
 */
export function oracleDecodeStream(data: Buffer): RunnerCkpt[] {
  const out: RunnerCkpt[] = [];
  for (let pos = 0; pos + 4 <= data.length;) {
    const len = data.readUInt32BE(pos);
    if (pos + 4 + len > data.length) break; // a torn tail, as the replay ignores it
    const rec = readRunnerCkpt(new thrift.TBinaryProtocol(new thrift.TFramedTransport(data.subarray(pos + 4, pos + 4 + len))));
    if (rec !== undefined) out.push(rec);
    pos += 4 + len;
  }
  return out;
}
