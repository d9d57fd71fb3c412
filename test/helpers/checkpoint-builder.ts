// Builds Thermos checkpoint roots on disk for tests, with the project's own encoder (which the
// oracle tests check against Apache Thrift). Typical use:
//
//   const { root, cleanup } = await makeCheckpointRoot();
//   await writeTask(root, typicalFinishedTask('t1', { sandbox: '/tmp/x/sandbox' }));
//   await writeTask(root, typicalActiveTask('t2', { runnerPid: child.pid }));
//   await writeTask(root, { taskId: 't3', state: 'active', statuses: [], runnerBytes: Buffer.from('junk') });
//   ...
//   await cleanup();
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodeCheckpointStream } from '../../src/core/checkpoint/runner-ckpt.js';
import type { LocalState } from '../../src/core/facts.js';
import type { ProcessStatusRecord, RunnerCkpt, RunnerHeader, TaskStatusRecord } from '../../src/core/records.js';
import { ProcessState, TaskState, type ProcessStateName } from '../../src/core/states.js';
import { checkpointDir, runnerCheckpointPath, taskFilePath } from '../../src/io/checkpoint-paths.js';

export interface TaskSpec {
  taskId: string;
  state: LocalState;
  header?: RunnerHeader;
  /** Task statuses in order (first = start, last = current). */
  statuses: TaskStatusRecord[];
  /** Process name → its status records; each also goes to `coordinator.<name>`. */
  processes?: Record<string, ProcessStatusRecord[]>;
  /** The runner stream in this exact order, instead of the default order (see runnerRecords). */
  records?: RunnerCkpt[];
  /** Raw runner file content (e.g. a corrupt stream), or null for no runner file at all. */
  runnerBytes?: Uint8Array | null;
  /** mtime of the runner checkpoint, epoch ms (default: now). */
  mtimeMs?: number;
  /** Content of tasks/<state>/<taskId> (default: a small JSON task description). */
  taskJson?: unknown;
}

export interface WrittenTask {
  taskFile: string;
  checkpointDir: string;
  /** Absent when the spec asked for no runner file. */
  runnerPath?: string;
  coordinatorPaths: string[];
}

/** A temp checkpoint root (with empty tasks/active and tasks/finished) and its cleanup. */
export async function makeCheckpointRoot(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'thermos-root-'));
  await mkdir(path.join(root, 'tasks', 'active'), { recursive: true });
  await mkdir(path.join(root, 'tasks', 'finished'), { recursive: true });
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/**
 * The default runner stream of a spec, in the order real runners write it: the first task
 * status, the header, every process record, then the remaining task statuses.
 */
export function runnerRecords(spec: TaskSpec): RunnerCkpt[] {
  if (spec.records !== undefined) return spec.records;
  const out: RunnerCkpt[] = [];
  const [first, ...rest] = spec.statuses;
  if (first !== undefined) out.push({ kind: 'task', task: first });
  if (spec.header !== undefined) out.push({ kind: 'header', header: spec.header });
  for (const recs of Object.values(spec.processes ?? {})) for (const p of recs) out.push({ kind: 'process', process: p });
  for (const t of rest) out.push({ kind: 'task', task: t });
  return out;
}

/** Writes tasks/<state>/<id>, checkpoints/<id>/runner and checkpoints/<id>/coordinator.<process>. */
export async function writeTask(root: string, spec: TaskSpec): Promise<WrittenTask> {
  const taskFile = taskFilePath(root, spec.state, spec.taskId);
  const dir = checkpointDir(root, spec.taskId);
  await mkdir(path.dirname(taskFile), { recursive: true });
  await mkdir(dir, { recursive: true });
  const json = spec.taskJson ?? { task: { name: spec.taskId, processes: Object.keys(spec.processes ?? {}).map((name) => ({ name })) } };
  await writeFile(taskFile, JSON.stringify(json));

  const written: WrittenTask = { taskFile, checkpointDir: dir, coordinatorPaths: [] };
  if (spec.runnerBytes !== null) {
    const runnerPath = runnerCheckpointPath(root, spec.taskId);
    await writeFile(runnerPath, spec.runnerBytes ?? encodeCheckpointStream(runnerRecords(spec)));
    if (spec.mtimeMs !== undefined) await utimes(runnerPath, spec.mtimeMs / 1000, spec.mtimeMs / 1000);
    written.runnerPath = runnerPath;
  }
  for (const [name, recs] of Object.entries(spec.processes ?? {})) {
    const p = path.join(dir, `coordinator.${name}`);
    await writeFile(p, encodeCheckpointStream(recs.map((process): RunnerCkpt => ({ kind: 'process', process }))));
    written.coordinatorPaths.push(p);
  }
  return written;
}

export interface RunOptions {
  /** seq of the WAITING record (default 0; a second run continues after the first's last seq). */
  seq?: number;
  /** Last state reached (default SUCCESS): WAITING, FORKED, RUNNING or a terminal state. */
  final?: ProcessStateName;
  coordinatorPid?: number;
  pid?: number;
  /** Epoch seconds (process times are seconds on the wire). */
  forkTime?: number;
  startTime?: number;
  stopTime?: number;
  returnCode?: number;
}

/**
 * The records of one process run: WAITING, FORKED, RUNNING, then the final state, stopping early
 * when `final` is WAITING, FORKED or RUNNING (every step is a legal transition).
 */
export function processRun(name: string, opts: RunOptions = {}): ProcessStatusRecord[] {
  const final = ProcessState[opts.final ?? 'SUCCESS'];
  let seq = opts.seq ?? 0;
  const forkTime = opts.forkTime ?? 1_700_000_001;
  const startTime = opts.startTime ?? forkTime + 0.1;
  const recs: ProcessStatusRecord[] = [{ seq: seq++, process: name, state: ProcessState.WAITING }];
  if (final === ProcessState.WAITING) return recs;
  recs.push({ seq: seq++, process: name, state: ProcessState.FORKED, coordinatorPid: opts.coordinatorPid ?? 40_000, forkTime });
  if (final === ProcessState.FORKED) return recs;
  recs.push({ seq: seq++, process: name, state: ProcessState.RUNNING, pid: opts.pid ?? 40_001, startTime });
  if (final === ProcessState.RUNNING) return recs;
  const end: ProcessStatusRecord = { seq, process: name, state: final };
  if (final !== ProcessState.LOST) {
    end.stopTime = opts.stopTime ?? startTime + 10;
    end.returnCode = opts.returnCode ?? (final === ProcessState.SUCCESS ? 0 : final === ProcessState.KILLED ? -9 : 1);
  }
  recs.push(end);
  return recs;
}

export interface TypicalTaskOptions {
  launchTimeMs?: number;
  sandbox?: string;
  logDir?: string;
  user?: string;
  uid?: number;
  runnerPid?: number;
  runnerUid?: number;
  /** Terminal task state of a finished task (default SUCCESS). */
  finalState?: 'SUCCESS' | 'FAILED' | 'KILLED' | 'LOST';
  /** Process names (default one process, "hello"). */
  processNames?: string[];
  mtimeMs?: number;
}

function typicalHeader(taskId: string, o: TypicalTaskOptions, launchTimeMs: number): RunnerHeader {
  return {
    taskId,
    launchTimeMs,
    sandbox: o.sandbox ?? `/var/lib/mesos/sandboxes/${taskId}/sandbox`,
    logDir: o.logDir ?? `/var/lib/mesos/sandboxes/${taskId}/.logs`,
    hostname: 'agent-1',
    user: o.user ?? 'www-data',
    uid: o.uid ?? 33,
    ports: {},
  };
}

/** A task that ran and ended: header, ACTIVE then the terminal status, one finished run per process. */
export function typicalFinishedTask(taskId: string, o: TypicalTaskOptions = {}): TaskSpec {
  const launch = o.launchTimeMs ?? 1_700_000_000_000;
  const runner = { runnerPid: o.runnerPid ?? 30_000, runnerUid: o.runnerUid ?? o.uid ?? 33 };
  const processes: Record<string, ProcessStatusRecord[]> = {};
  for (const name of o.processNames ?? ['hello']) {
    const final = o.finalState === 'KILLED' || o.finalState === 'FAILED' || o.finalState === 'LOST' ? o.finalState : 'SUCCESS';
    processes[name] = processRun(name, { forkTime: launch / 1000 + 1, final });
  }
  const spec: TaskSpec = {
    taskId,
    state: 'finished',
    header: typicalHeader(taskId, o, launch),
    statuses: [
      { state: TaskState.ACTIVE, timestampMs: launch + 1, ...runner },
      { state: TaskState[o.finalState ?? 'SUCCESS'], timestampMs: launch + 60_000, ...runner },
    ],
    processes,
  };
  if (o.mtimeMs !== undefined) spec.mtimeMs = o.mtimeMs;
  return spec;
}

/** A task still running: header, one ACTIVE status, one RUNNING process run per process. */
export function typicalActiveTask(taskId: string, o: TypicalTaskOptions = {}): TaskSpec {
  const launch = o.launchTimeMs ?? 1_700_000_000_000;
  const processes: Record<string, ProcessStatusRecord[]> = {};
  for (const name of o.processNames ?? ['hello']) processes[name] = processRun(name, { forkTime: launch / 1000 + 1, final: 'RUNNING' });
  const spec: TaskSpec = {
    taskId,
    state: 'active',
    header: typicalHeader(taskId, o, launch),
    statuses: [{ state: TaskState.ACTIVE, timestampMs: launch + 1, runnerPid: o.runnerPid ?? 30_000, runnerUid: o.runnerUid ?? o.uid ?? 33 }],
    processes,
  };
  if (o.mtimeMs !== undefined) spec.mtimeMs = o.mtimeMs;
  return spec;
}
