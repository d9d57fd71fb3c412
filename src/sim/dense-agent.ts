// A synthetic dense agent on disk, for the benchmarks, the tests and the demo: a checkpoint root
// with real runner checkpoints (the project's own encoder), task files, sandboxes, log dirs and a
// Mesos work dir with linked and unlinked executors, plus a scheduler view that covers every
// reconciliation class. Deterministic for a given seed; written with bounded concurrency.
// Options beyond the original shape (Mesos executor history, coordinator checkpoints, damaged
// runner checkpoints, several checkpoint roots, Aurora-length ids; see agent-presets.ts for named
// mixes) draw from a second PRNG stream, so at their defaults the main stream, and the agent
// written, are exactly what they were without them.
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { frameRecord } from '../core/checkpoint/recordio.js';
import { encodeRunnerCkptRecord } from '../core/checkpoint/runner-ckpt.js';
import { TType } from '../core/thrift/binary-reader.js';
import type { RunnerCkpt } from '../core/records.js';
import { ProcessState, ScheduleStatus, TaskState } from '../core/states.js';

export interface DenseAgentOptions {
  /** Number of tasks on the node. */
  tasks: number;
  /** @default 0.3: share of tasks still active locally. */
  activeShare?: number;
  /** @default 8 */
  filesPerSandbox?: number;
  /** @default 1024 */
  fileBytes?: number;
  /** @default 2 */
  processesPerTask?: number;
  /** @default 1 */
  runsPerProcess?: number;
  /** @default 0.2: share of tasks whose thermos- executor still has a real run directory. */
  linkedShare?: number;
  /** @default 1 */
  seed?: number;
  /** @default Date.now(): every recorded time lies at least `ageMs` before this. */
  nowMs?: number;
  /** @default 2 days: how old the tasks are (launch time, checkpoint mtime). */
  ageMs?: number;
  /** @default current uid (or 0): the uid recorded for runners. */
  uid?: number;
  /** @default 'root' */
  user?: string;
  /** @default 0.05: scheduler-only ids (retained but not on the node). */
  schedulerOnlyShare?: number;
  /**
   * Scheduler view of locally active tasks: shares of [live, starting, terminal]; the rest is absent.
   * @default [0.9, 0.05, 0.02]
   */
  activeMix?: readonly [number, number, number];
  /**
   * Scheduler view of locally finished tasks: shares of [live, starting, terminal]; the rest is absent.
   * @default [0.1, 0.02, 0.68]
   */
  finishedMix?: readonly [number, number, number];
  /** @default 64 files written at once. */
  concurrency?: number;
  /**
   * @default false. When true every task (active and finished) has its Mesos executor dir
   * `executors/thermos-<id>/runs/`: linked tasks a real run dir R0, every other one only a
   * dangling `runs/latest` (Mesos keeps executor dirs for --gc_delay, a week by default). When
   * false, an unlinked executor has a dangling `latest` or nothing, half and half (drawn).
   */
  executorHistory?: boolean;
  /**
   * @default false. Writes `checkpoints/<id>/coordinator.<process>` beside the runner checkpoint:
   * the runner's process_status records of that process, same records, same encoding.
   */
  coordinatorFiles?: boolean;
  /** When set, each task draws its number of processes uniformly in [min, max] (integers, min >= 1); overrides processesPerTask. */
  processesPerTaskRange?: readonly [number, number];
  /**
   * @default 0: share of tasks (drawn per task) whose runner checkpoint cannot be decoded. The
   * kinds take turns: random garbage, a length prefix past the end of the file, a record with an
   * unknown union member only, a record whose member has the wrong wire type (see CorruptKind).
   */
  corruptShare?: number;
  /**
   * @default 0: share of tasks (drawn per task, exclusive of corruptShare) whose runner checkpoint
   * is valid but for its last record, cut mid-write (length prefix kept, part of the body).
   */
  truncatedShare?: number;
  /** @default 1: checkpoint roots, `<dir>/thermos`, `<dir>/thermos1`, ...; tasks go round-robin. */
  checkpointRoots?: number;
  /**
   * @default 'short': `<seed>-www-data-prod-job<i>-0-<8 hex>`. 'aurora': shaped like Aurora's
   * `<timestamp>-<role>-<env>-<job>-<instance>-<uuid>`, as `<seed>-<role>-<env>-<job>-<instance>-<uuid v4>`
   * (about 45 characters longer), still one safe path component.
   */
  idLength?: 'short' | 'aurora';
}

/**
 * How a corrupt runner checkpoint is broken, and what the project's replay makes of it:
 * - 'garbage': random bytes whose first length prefix is past the 16 MiB cap (ERR_CKPT_RECORD_TOO_LARGE);
 * - 'length-overflow': the first record's length prefix claims more bytes than the file has (ERR_CKPT_TRUNCATED);
 * - 'unknown-member': a valid header, then a record with only an unknown union field (ERR_CKPT_EMPTY_UNION);
 * - 'wrong-type': a valid header, then a task_status member sent as a string (ERR_CKPT_BAD_TYPE).
 */
export type CorruptKind = 'garbage' | 'length-overflow' | 'unknown-member' | 'wrong-type';
export const CORRUPT_KINDS: readonly CorruptKind[] = ['garbage', 'length-overflow', 'unknown-member', 'wrong-type'];

export interface DenseAgent {
  dir: string;
  /** The first checkpoint root (`checkpointRoots[0]`). */
  checkpointRoot: string;
  /** Every checkpoint root: `<dir>/thermos`, then `<dir>/thermos1`, ... */
  checkpointRoots: string[];
  mesosRoot: string;
  /** Where the sandboxes of the tasks live (pass it as an allowed sandbox root). */
  sandboxRoot: string;
  /** Where the tasks' log_dir trees live. */
  logRoot: string;
  taskIds: { active: string[]; finished: string[] };
  /** Task ids whose thermos- executor has a real run directory. */
  linked: Set<string>;
  /** The scheduler's view (ScheduleStatus by task id), including scheduler-only ids. */
  retained: Map<string, number>;
  /** Retained ids that exist nowhere on the node. */
  schedulerOnly: string[];
  /** Paths of every runner checkpoint, in task order (active first). */
  runnerCheckpoints: string[];
  /** Sandbox directory by task id. */
  sandboxes: Map<string, string>;
  /** Task ids whose runner checkpoint cannot be decoded (corruptShare). */
  corrupt: Set<string>;
  /** How each corrupt checkpoint is broken. */
  corruptKinds: Map<string, CorruptKind>;
  /** Task ids whose runner checkpoint ends in a record cut mid-write (truncatedShare). */
  truncated: Set<string>;
  /** Time of the agent (epoch ms); every task launched at or before nowMs - ageMs. */
  nowMs: number;
  files: number;
  bytes: number;
}

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LIVE = [ScheduleStatus.RUNNING, ScheduleStatus.KILLING, ScheduleStatus.PREEMPTING, ScheduleStatus.DRAINING];
const STARTING = [ScheduleStatus.STARTING, ScheduleStatus.ASSIGNED];
const TERMINAL = [ScheduleStatus.FINISHED, ScheduleStatus.FAILED, ScheduleStatus.KILLED, ScheduleStatus.LOST];
const FINAL_TASK_STATES = [TaskState.SUCCESS, TaskState.FAILED, TaskState.KILLED, TaskState.LOST];
// Fake runner and process pids above any default pid_max (4194304 max on Linux): never alive.
const FAKE_PID_BASE = 4_200_000;

/** Runs `jobs` with at most `limit` in flight. */
async function runBounded(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < jobs.length; i = next++) await (jobs[i] as () => Promise<void>)();
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, jobs.length)) }, lane));
}

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)] as T;
}

function scheduleFor(rand: () => number, mix: readonly [number, number, number]): number | undefined {
  const r = rand();
  if (r < mix[0]) return pick(rand, LIVE);
  if (r < mix[0] + mix[1]) return pick(rand, STARTING);
  if (r < mix[0] + mix[1] + mix[2]) return pick(rand, TERMINAL);
  return undefined;
}

interface TaskPlan {
  id: string;
  active: boolean;
  linked: boolean;
  /** For unlinked executors: write a dangling runs/latest (true) or nothing (false). */
  latestOnly: boolean;
  finalState: number;
  launchMs: number;
  runnerPid: number;
  /** Number of processes (proc0 … proc<n-1>). */
  processes: number;
  /** The checkpoint root the task lives under. */
  root: string;
  damage: 'none' | 'corrupt' | 'truncated';
}

function checkpointRecords(t: TaskPlan, o: Required<Pick<DenseAgentOptions, 'runsPerProcess' | 'uid' | 'user'>>, dirs: { sandbox: string; logDir: string }): RunnerCkpt[] {
  const recs: RunnerCkpt[] = [
    {
      kind: 'header',
      header: { taskId: t.id, launchTimeMs: t.launchMs, sandbox: dirs.sandbox, logDir: dirs.logDir, hostname: 'node-0', user: o.user, uid: o.uid, ports: { http: 31000 } },
    },
    { kind: 'task', task: { state: TaskState.ACTIVE, timestampMs: t.launchMs, runnerPid: t.runnerPid, runnerUid: o.uid } },
  ];
  let pid = t.runnerPid + 1;
  for (let p = 0; p < t.processes; p++) {
    const name = `proc${p}`;
    let seq = 0;
    for (let run = 0; run < o.runsPerProcess; run++) {
      const fork = t.launchMs / 1000 + 1 + run * 60;
      const lastRunStaysUp = t.active && run === o.runsPerProcess - 1;
      recs.push({ kind: 'process', process: { seq: seq++, process: name, state: ProcessState.WAITING } });
      recs.push({ kind: 'process', process: { seq: seq++, process: name, state: ProcessState.FORKED, forkTime: fork, coordinatorPid: pid++ } });
      recs.push({ kind: 'process', process: { seq: seq++, process: name, state: ProcessState.RUNNING, startTime: fork + 0.1, pid: pid++ } });
      if (!lastRunStaysUp) {
        recs.push({ kind: 'process', process: { seq: seq++, process: name, state: ProcessState.SUCCESS, stopTime: fork + 30, returnCode: 0 } });
      }
    }
  }
  if (!t.active) recs.push({ kind: 'task', task: { state: t.finalState, timestampMs: t.launchMs + 3_600_000 } });
  return recs;
}

// Aurora-shaped ids: `<seed>-<role>-<env>-<job>-<instance>-<uuid>`.
const ROLES = ['www-data', 'ads-serving', 'search-infra', 'payments', 'data-pipeline'];
const ENVS = ['prod', 'staging', 'devel'];
const JOBS = ['frontend_web', 'billing_reconciler', 'feature_pipeline', 'metrics_aggregator', 'hello_world'];

/** An RFC 4122 version 4 UUID string from four 32-bit draws. */
function uuidV4(rand: () => number): string {
  const b = Buffer.alloc(16);
  for (let i = 0; i < 16; i += 4) b.writeUInt32BE(Math.floor(rand() * 0x100000000), i);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function auroraId(rand: () => number, seed: number, job: string): string {
  const role = pick(rand, ROLES);
  const env = pick(rand, ENVS);
  const instance = Math.floor(rand() * 64);
  return `${seed}-${role}-${env}-${job}-${instance}-${uuidV4(rand)}`;
}

/** A runner checkpoint broken as `kind` says, from the task's encoded records (first: the header). */
function corruptCheckpoint(kind: CorruptKind, frames: readonly Buffer[], rand: () => number): Buffer {
  switch (kind) {
    case 'garbage': {
      const out = Buffer.alloc(16 + Math.floor(rand() * 240));
      for (let i = 0; i < out.length; i++) out[i] = Math.floor(rand() * 256);
      // The first length prefix reads as at least 32 MiB: past the 16 MiB record cap.
      out[0] = 0x02 + Math.floor(rand() * 0xfe);
      return out;
    }
    case 'length-overflow': {
      const out = Buffer.concat(frames);
      out.writeUInt32BE(out.length + 1 + Math.floor(rand() * 4096), 0);
      return out;
    }
    case 'unknown-member':
      // Field 9 (an i32): no RunnerCkpt member has that id, so the union has none set.
      return Buffer.concat([frames[0] as Buffer, frameRecord(Buffer.from([TType.I32, 0, 9, 0, 0, 0, 42, TType.STOP])), ...frames.slice(1)]);
    case 'wrong-type':
      // Member 3 (task_status, a struct) on the wire as a string.
      return Buffer.concat([frames[0] as Buffer, frameRecord(Buffer.from([TType.STRING, 0, 3, 0, 0, 0, 4, 0x6f, 0x6f, 0x70, 0x73, TType.STOP])), ...frames.slice(1)]);
  }
}

/** The records, the last one cut mid-write: its length prefix and 1 … len-1 bytes of its body. */
function truncatedCheckpoint(frames: readonly Buffer[], rand: () => number): Buffer {
  const last = frames[frames.length - 1] as Buffer;
  const bodyLen = last.length - 4;
  const keep = 1 + Math.floor(rand() * (bodyLen - 1));
  return Buffer.concat([...frames.slice(0, -1), last.subarray(0, 4 + keep)]);
}

function checkShare(name: string, v: number): void {
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${v}`);
}

/** Writes a synthetic dense agent under `dir` (created if missing). */
export async function generateAgent(dir: string, opts: DenseAgentOptions): Promise<DenseAgent> {
  const o = {
    activeShare: 0.3,
    filesPerSandbox: 8,
    fileBytes: 1024,
    processesPerTask: 2,
    runsPerProcess: 1,
    linkedShare: 0.2,
    seed: 1,
    nowMs: Date.now(),
    ageMs: 2 * 24 * 3_600_000,
    uid: process.getuid?.() ?? 0,
    user: 'root',
    schedulerOnlyShare: 0.05,
    activeMix: [0.9, 0.05, 0.02] as const,
    finishedMix: [0.1, 0.02, 0.68] as const,
    concurrency: 64,
    ...opts,
  };
  const executorHistory = opts.executorHistory ?? false;
  const coordinatorFiles = opts.coordinatorFiles ?? false;
  const range = opts.processesPerTaskRange;
  const corruptShare = opts.corruptShare ?? 0;
  const truncatedShare = opts.truncatedShare ?? 0;
  const rootCount = opts.checkpointRoots ?? 1;
  const aurora = (opts.idLength ?? 'short') === 'aurora';
  if (range !== undefined && !(Number.isInteger(range[0]) && Number.isInteger(range[1]) && range[0] >= 1 && range[0] <= range[1])) {
    throw new RangeError(`processesPerTaskRange must be integers 1 <= min <= max, got [${range.join(', ')}]`);
  }
  checkShare('corruptShare', corruptShare);
  checkShare('truncatedShare', truncatedShare);
  checkShare('corruptShare + truncatedShare', corruptShare + truncatedShare);
  if (!Number.isInteger(rootCount) || rootCount < 1) throw new RangeError(`checkpointRoots must be an integer >= 1, got ${rootCount}`);

  const rand = prng(o.seed);
  // Every draw for the options above comes from here, never from `rand`: at their defaults the
  // main stream, and so the agent, is the same as without them.
  const extra = prng((o.seed ^ 0x5bd1e995) >>> 0);
  const checkpointRoot = path.join(dir, 'thermos');
  const checkpointRoots = [checkpointRoot];
  for (let r = 1; r < rootCount; r++) checkpointRoots.push(path.join(dir, `thermos${r}`));
  const mesosRoot = path.join(dir, 'mesos');
  const sandboxRoot = path.join(dir, 'sandboxes');
  const logRoot = path.join(dir, 'logs');
  const executorsDir = path.join(mesosRoot, 'slaves', 'S0', 'frameworks', 'F0', 'executors');
  for (const d of [
    ...checkpointRoots.flatMap((root) => [path.join(root, 'tasks', 'active'), path.join(root, 'tasks', 'finished'), path.join(root, 'checkpoints')]),
    executorsDir,
    sandboxRoot,
    logRoot,
  ]) {
    await mkdir(d, { recursive: true });
  }

  const plans: TaskPlan[] = [];
  for (let i = 0; i < o.tasks; i++) {
    const hex = Math.floor(rand() * 0xffffffff).toString(16).padStart(8, '0');
    const active = rand() < o.activeShare;
    const t: TaskPlan = {
      id: `${o.seed}-www-data-prod-job${i}-0-${hex}`,
      active,
      linked: rand() < o.linkedShare,
      latestOnly: rand() < 0.5,
      finalState: pick(rand, FINAL_TASK_STATES),
      launchMs: o.nowMs - o.ageMs - Math.floor(rand() * o.ageMs),
      runnerPid: FAKE_PID_BASE + i * 16,
      processes: o.processesPerTask,
      root: checkpointRoots[i % rootCount] as string,
      damage: 'none',
    };
    if (range !== undefined) t.processes = range[0] + Math.floor(extra() * (range[1] - range[0] + 1));
    if (corruptShare > 0 || truncatedShare > 0) {
      const r = extra();
      t.damage = r < corruptShare ? 'corrupt' : r < corruptShare + truncatedShare ? 'truncated' : 'none';
    }
    if (aurora) t.id = auroraId(extra, o.seed, `${pick(extra, JOBS)}_${i}`);
    plans.push(t);
  }
  // Active first, as the detector lists them.
  plans.sort((a, b) => Number(b.active) - Number(a.active));

  const retained = new Map<string, number>();
  for (const t of plans) {
    const status = scheduleFor(rand, t.active ? o.activeMix : o.finishedMix);
    if (status !== undefined) retained.set(t.id, status);
  }
  const schedulerOnly: string[] = [];
  for (let i = 0; i < Math.round(o.tasks * o.schedulerOnlyShare); i++) {
    const id = aurora ? auroraId(extra, o.seed, `gone_${i}`) : `${o.seed}-www-data-prod-gone${i}-0-${i.toString(16).padStart(8, '0')}`;
    schedulerOnly.push(id);
    retained.set(id, rand() < 0.5 ? pick(rand, TERMINAL) : pick(rand, LIVE));
  }

  const payload = Buffer.alloc(o.fileBytes, 0x61);
  const taskFile = (t: TaskPlan): string => JSON.stringify({ task_id: t.id, name: `job`, processes: t.processes });
  let files = 0;
  let bytes = 0;
  const sandboxes = new Map<string, string>();
  const runnerCheckpoints: string[] = [];
  const linked = new Set<string>();
  const corrupt = new Set<string>();
  const corruptKinds = new Map<string, CorruptKind>();
  const truncated = new Set<string>();
  const jobs: Array<() => Promise<void>> = [];
  const oldSeconds = (o.nowMs - o.ageMs) / 1000;

  for (const t of plans) {
    const sandbox = path.join(sandboxRoot, t.id);
    const logDir = path.join(logRoot, t.id);
    sandboxes.set(t.id, sandbox);
    const ckptDir = path.join(t.root, 'checkpoints', t.id);
    const runner = path.join(ckptDir, 'runner');
    runnerCheckpoints.push(runner);
    const recs = checkpointRecords(t, o, { sandbox, logDir });
    let ckpt: Buffer;
    if (t.damage === 'none') {
      ckpt = Buffer.concat(recs.map(encodeRunnerCkptRecord));
    } else if (t.damage === 'corrupt') {
      const kind = CORRUPT_KINDS[corrupt.size % CORRUPT_KINDS.length] as CorruptKind;
      corrupt.add(t.id);
      corruptKinds.set(t.id, kind);
      ckpt = corruptCheckpoint(kind, recs.map(encodeRunnerCkptRecord), extra);
    } else {
      truncated.add(t.id);
      ckpt = truncatedCheckpoint(recs.map(encodeRunnerCkptRecord), extra);
    }
    const coordinators: Array<[string, Buffer]> = [];
    if (coordinatorFiles) {
      for (let p = 0; p < t.processes; p++) {
        const name = `proc${p}`;
        const own = recs.filter((r) => r.kind === 'process' && r.process.process === name);
        coordinators.push([path.join(ckptDir, `coordinator.${name}`), Buffer.concat(own.map(encodeRunnerCkptRecord))]);
      }
    }
    files += 2 + coordinators.length;
    bytes += ckpt.length;
    for (const [, buf] of coordinators) bytes += buf.length;
    jobs.push(async () => {
      await mkdir(ckptDir);
      await writeFile(runner, ckpt);
      await utimes(runner, oldSeconds, oldSeconds);
      for (const [file, buf] of coordinators) {
        await writeFile(file, buf);
        await utimes(file, oldSeconds, oldSeconds);
      }
      await writeFile(path.join(t.root, 'tasks', t.active ? 'active' : 'finished', t.id), taskFile(t));
    });
    jobs.push(async () => {
      const sub = path.join(sandbox, 'data');
      await mkdir(sub, { recursive: true });
      for (let f = 0; f < o.filesPerSandbox; f++) await writeFile(path.join(f % 2 === 0 ? sandbox : sub, `f${f}`), payload);
    });
    files += o.filesPerSandbox;
    bytes += o.filesPerSandbox * o.fileBytes;
    jobs.push(async () => {
      for (let p = 0; p < t.processes; p++) {
        for (let run = 0; run < o.runsPerProcess; run++) {
          const runDir = path.join(logDir, `proc${p}`, String(run));
          await mkdir(runDir, { recursive: true });
          await writeFile(path.join(runDir, 'stdout'), 'out\n');
          await writeFile(path.join(runDir, 'stderr'), '');
        }
      }
    });
    files += t.processes * o.runsPerProcess * 2;
    const runs = path.join(executorsDir, `thermos-${t.id}`, 'runs');
    if (t.linked) {
      linked.add(t.id);
      jobs.push(async () => {
        await mkdir(path.join(runs, 'R0', 'sandbox'), { recursive: true });
        await writeFile(path.join(runs, 'R0', 'stdout'), '');
        await symlink('R0', path.join(runs, 'latest'));
      });
      files += 1;
    } else if (executorHistory || t.latestOnly) {
      // Mesos collected the run directory and left the dangling `latest` behind.
      jobs.push(async () => {
        await mkdir(runs, { recursive: true });
        await symlink('R0', path.join(runs, 'latest'));
      });
    }
  }
  await runBounded(jobs, o.concurrency);

  const active = plans.filter((t) => t.active).map((t) => t.id);
  const finished = plans.filter((t) => !t.active).map((t) => t.id);
  return {
    dir,
    checkpointRoot,
    checkpointRoots,
    mesosRoot,
    sandboxRoot,
    logRoot,
    taskIds: { active, finished },
    linked,
    retained,
    schedulerOnly,
    runnerCheckpoints,
    sandboxes,
    corrupt,
    corruptKinds,
    truncated,
    nowMs: o.nowMs,
    files,
    bytes,
  };
}
