// The scan's fast look at a runner checkpoint: one flat pass over the bytes that keeps only what
// the decisions read (the header's sandbox, log dir, user, uid and launch time; every task
// status; a run count per process), with no record objects, readers or per-field calls. It runs
// for each of the thousands of checkpoints of every scan, most of them once in a short-lived
// process, where a flat loop is fast before the JIT has warmed up and the general reader is not
// (10,000 small checkpoints: ~115 ms through replayTaskSummary, see bench "replay").
//
// It takes only the plain shape Thermos writes: known fields of the expected wire types, one
// member per record, valid transitions. Anything else (an unknown field, a bad length, a
// second header, an illegal step, an unsafe i64) returns undefined, and the caller goes to the
// reference replay (replay.ts), which accepts or rejects it with the exact error. On what it
// accepts, its result equals the reference's (test/codec/scan-summary.test.ts).
import type { StatusFact } from '../facts.js';
import { findSharedString, rememberSharedString } from '../thrift/binary-reader.js';
import { setOwn } from './runner-ckpt.js';
import { MAX_RECORD_BYTES } from './recordio.js';
import { processStep, STEP_INVALID, STEP_NEW_RUN } from './replay.js';

export interface ScanSummary {
  hasHeader: boolean;
  sandbox: string | undefined;
  logDir: string | undefined;
  user: string | undefined;
  uid: number | undefined;
  launchTimeMs: number | undefined;
  /** Every task status in checkpoint order; each has a state and a timestamp. */
  statuses: StatusFact[];
  /** Process name → number of runs. */
  processRuns: Record<string, number>;
}

// Wire type codes (thrift/binary-reader.ts TType), as literals for the switch below.
const T_DOUBLE = 4;
const T_I32 = 8;
const T_I64 = 10;
const T_STRING = 11;
const T_STRUCT = 12;
const T_MAP = 13;
const TWO_POW_32 = 4294967296;

/** A task with more processes than this goes to the reference replay (names are compared linearly). */
const MAX_PROCESSES = 64;

// Per-process cursors of the checkpoint being read, reused from call to call: a name is where its
// bytes sit in the buffer; the current run's seq and state; how many runs.
const nameAt = new Int32Array(MAX_PROCESSES);
const nameLen = new Int32Array(MAX_PROCESSES);
const curSeq = new Float64Array(MAX_PROCESSES);
const curState = new Int32Array(MAX_PROCESSES);
const runs = new Int32Array(MAX_PROCESSES);

const i32At = (b: Uint8Array, p: number): number => (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;

/** The i64 at p as a number, or NaN outside the safe-integer range (which the reference refuses). */
function i64At(b: Uint8Array, p: number): number {
  const v = i32At(b, p) * TWO_POW_32 + (i32At(b, p + 4) >>> 0);
  return Number.isSafeInteger(v) ? v : NaN;
}

/** The end of the string whose length prefix is at p, or -1 when it does not fit before `end`. */
function stringEnd(b: Uint8Array, p: number, end: number): number {
  if (end - p < 4) return -1;
  const len = i32At(b, p);
  return len < 0 || len > end - p - 4 ? -1 : p + 4 + len;
}

/**
 * The field header at p inside a struct ending at `end`: -1 when it does not fit, 0 at the STOP,
 * else (wire type << 16) | field id (the field's value starts at p + 3).
 */
function fieldHeader(b: Uint8Array, p: number, end: number): number {
  if (p >= end) return -1;
  const t = b[p]!;
  if (t === 0) return 0;
  if (end - p < 3) return -1;
  return (t << 16) | (b[p + 1]! << 8) | b[p + 2]!;
}

/** The process slot whose name has the bytes [at, at+len) of b, or -1. */
function findProcess(b: Uint8Array, count: number, at: number, len: number): number {
  for (let i = 0; i < count; i++) {
    if (nameLen[i] !== len) continue;
    const o = nameAt[i]!;
    let j = 0;
    while (j < len && b[o + j] === b[at + j]) j++;
    if (j === len) return i;
  }
  return -1;
}

/**
 * The summary of a cleanly written runner checkpoint (the first `length` bytes of `bytes`, all
 * of them by default), or undefined: ask the reference replay. Without `keepPaths` the strings
 * (sandbox, log dir, user) and the process runs are checked but not made: undefined and {}.
 */
export function scanRunnerSummary(bytes: Uint8Array, length: number = bytes.byteLength, keepPaths = true): ScanSummary | undefined {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Math.min(length, b.length);
  let pos = 0;
  let hasHeader = false;
  let sandbox: string | undefined;
  let logDir: string | undefined;
  let user: string | undefined;
  let uid: number | undefined;
  let launchTimeMs: number | undefined;
  const statuses: StatusFact[] = [];
  let processes = 0;
  while (pos < n) {
    // RecordIO frame: a big-endian unsigned length and the body.
    if (n - pos < 4) return undefined;
    const len = i32At(b, pos) >>> 0;
    if (len > MAX_RECORD_BYTES || len > n - pos - 4) return undefined;
    let p = pos + 4;
    const end = p + len;
    pos = end;
    // The RunnerCkpt union: one struct member, then its STOP (bytes after it are ignored).
    if (end - p < 3 || b[p] !== T_STRUCT) return undefined;
    const member = (b[p + 1]! << 8) | b[p + 2]!;
    p += 3;
    if (member === 1) {
      if (hasHeader) return undefined;
      hasHeader = true;
      for (;;) {
        const f = fieldHeader(b, p, end);
        if (f <= 0) {
          if (f < 0) return undefined;
          break;
        }
        const t = f >>> 16;
        const id = f & 0xffff;
        p += 3;
        if (id === 1 || id === 3 || id === 4 || id === 5 || id === 7) {
          // task_id, sandbox, hostname, user, log_dir: only three are kept.
          if (t !== T_STRING) return undefined;
          const e = stringEnd(b, p, end);
          if (e < 0) return undefined;
          if (!keepPaths) {
            // checked above, not made
          } else if (id === 3) sandbox = utf8(b, p + 4, e);
          else if (id === 7) logDir = utf8(b, p + 4, e);
          else if (id === 5) user = utf8(b, p + 4, e);
          p = e;
        } else if (id === 2) {
          if (t !== T_I64 || end - p < 8) return undefined;
          launchTimeMs = i64At(b, p);
          if (Number.isNaN(launchTimeMs)) return undefined;
          p += 8;
        } else if (id === 8) {
          if (t !== T_I32 || end - p < 4) return undefined;
          uid = i32At(b, p);
          p += 4;
        } else if (id === 6) {
          // ports: map<string, i64>, checked as the reference reads it, not kept.
          if (t !== T_MAP || end - p < 6 || b[p] !== T_STRING || b[p + 1] !== T_I64) return undefined;
          const count = i32At(b, p + 2);
          p += 6;
          if (count < 0 || count * 12 > end - p) return undefined;
          for (let i = 0; i < count; i++) {
            const e = stringEnd(b, p, end);
            if (e < 0 || end - e < 8 || Number.isNaN(i64At(b, e))) return undefined;
            p = e + 8;
          }
        } else return undefined;
      }
    } else if (member === 3) {
      let state: number | undefined;
      let timestampMs: number | undefined;
      let runnerPid: number | undefined;
      let runnerUid: number | undefined;
      for (;;) {
        const f = fieldHeader(b, p, end);
        if (f <= 0) {
          if (f < 0) return undefined;
          break;
        }
        const t = f >>> 16;
        const id = f & 0xffff;
        p += 3;
        if (id === 2) {
          if (t !== T_I64 || end - p < 8) return undefined;
          timestampMs = i64At(b, p);
          if (Number.isNaN(timestampMs)) return undefined;
          p += 8;
          continue;
        }
        if (t !== T_I32 || end - p < 4 || id < 1 || id > 4) return undefined;
        const v = i32At(b, p);
        p += 4;
        if (id === 1) state = v;
        else if (id === 3) runnerPid = v;
        else runnerUid = v;
      }
      // A status without a state or a time is the reference's to judge.
      if (state === undefined || timestampMs === undefined) return undefined;
      statuses.push({ state, timestampMs, runnerPid, runnerUid });
    } else if (member === 2) {
      let seq = NaN;
      let state = -1;
      let nameStart = -1;
      let nameEnd = -1;
      for (;;) {
        const f = fieldHeader(b, p, end);
        if (f <= 0) {
          if (f < 0) return undefined;
          break;
        }
        const t = f >>> 16;
        const id = f & 0xffff;
        p += 3;
        switch (id) {
          case 1:
            if (t !== T_I64 || end - p < 8) return undefined;
            seq = i64At(b, p);
            if (Number.isNaN(seq)) return undefined;
            p += 8;
            break;
          case 3: {
            if (t !== T_STRING) return undefined;
            const e = stringEnd(b, p, end);
            if (e < 0) return undefined;
            nameStart = p + 4;
            nameEnd = e;
            p = e;
            break;
          }
          case 5:
          case 7:
          case 9:
          case 10:
            // state; pid, return_code, coordinator_pid (not kept)
            if (t !== T_I32 || end - p < 4) return undefined;
            if (id === 5) state = i32At(b, p);
            p += 4;
            break;
          case 6:
          case 8:
          case 11:
            // start_time, stop_time, fork_time (not kept)
            if (t !== T_DOUBLE || end - p < 8) return undefined;
            p += 8;
            break;
          default:
            return undefined;
        }
      }
      if (nameStart < 0) return undefined;
      const nameLength = nameEnd - nameStart;
      const i = findProcess(b, processes, nameStart, nameLength);
      const step = processStep(seq, state, i < 0 ? NaN : curSeq[i]!, i < 0 ? -1 : curState[i]!);
      if (step === STEP_INVALID) return undefined;
      if (i < 0) {
        if (processes === MAX_PROCESSES) return undefined;
        nameAt[processes] = nameStart;
        nameLen[processes] = nameLength;
        curSeq[processes] = seq;
        curState[processes] = state;
        runs[processes] = 1;
        processes++;
      } else {
        curSeq[i] = seq;
        curState[i] = state;
        if (step === STEP_NEW_RUN) runs[i]!++;
      }
    } else return undefined;
    // The member's STOP, then the union's.
    if (end - p < 2 || b[p + 1] !== 0) return undefined;
  }
  const processRuns: Record<string, number> = {};
  if (keepPaths) for (let i = 0; i < processes; i++) setOwn(processRuns, processName(b, nameAt[i]!, nameLen[i]!), runs[i]!);
  return { hasHeader, sandbox, logDir, user, uid, launchTimeMs, statuses, processRuns };
}

function utf8(b: Buffer, start: number, end: number): string {
  return b.toString('utf8', start, end);
}

/** Process names recur across the checkpoints of a scan: one string instance per name. */
function processName(b: Buffer, at: number, len: number): string {
  const shared = findSharedString(b, at, len);
  if (shared !== undefined) return shared;
  const s = utf8(b, at, at + len);
  rememberSharedString(b, at, len, s);
  return s;
}
