// Kills or "loses" a Thermos task (domain.md §4, the original's TaskKiller): take over the runner
// checkpoint's flock (SIGKILLing a live runner that holds it), SIGKILL what is left of each
// unfinished process, record the ends so the stream still replays, then finalize the task.
// Every pid is checked against the checkpoint (uid and start time) before it is signalled:
// pids wrap around and we run as root.
//
// Kills come in batches (a GC run's terminate list, an orphan pass's losses): every checkpoint
// is read, ONE process snapshot is taken for all their pids (the table is what costs on a dense
// node: a `ps` over tens of thousands of processes), then the tasks are killed with bounded
// concurrency, each waiting for its own lock. Between the snapshot and each signal a pid may die
// and be reused, so each pid's start time and uid are read again from /proc/<pid>/stat just
// before its signal, and a pid that is not the process of the snapshot is left alone.
import { closeSync, fsync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import { ThermosGcError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { replayCheckpoint } from '../core/checkpoint/replay.js';
import { encodeRunnerCkptRecord } from '../core/checkpoint/runner-ckpt.js';
import { candidatePids, openRuns } from '../core/kill-targets.js';
import { lastRunnerOf } from '../core/orphans.js';
import { isOurProcess, sameProcessChange, type ExpectedOwner, type ProcessIdentityCheck } from '../core/pid-ownership.js';
import type { ProcessRun, RunnerState } from '../core/records.js';
import { ProcessState, TaskState, isTerminalTaskState } from '../core/states.js';
import { runnerCheckpointPath } from './checkpoint-paths.js';
import { finalizeTask, readOptional, writeAll } from './checkpoint-files.js';
import { lockExclusiveWithTimeout, tryLockExclusive, unlock } from './flock.js';
import { mapBounded } from '../map-bounded.js';
import { rereadProcess, type LiveIdentity, type ProcessInfo, type ProcessSnapshot, type SnapshotProvider } from './process-table.js';

export type KillLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

const fsyncAsync = promisify(fsync);

export { finalizeTask } from './checkpoint-files.js';

export interface TaskKillerOptions {
  snapshot: SnapshotProvider;
  logger: KillLogger;
  /** @default 10 s */
  maxPidDriftMs: number;
  /** How long to wait for the lock after SIGKILLing the runner. @default 10 s */
  lockTimeoutMs: number;
  /** @default process.pid */
  selfPid?: number;
  /** @default process.getuid() */
  selfUid?: number;
  /** Looks up the uid of a header's user, for old checkpoints without a uid. */
  uidForUser?: (user: string) => number | undefined;
  /** Epoch ms. @default Date.now */
  now?: () => number;
  /** Tasks of a batch killed at once. @default 8 */
  parallelism?: number;
  /** Reads one pid again just before its signal. @default rereadProcess (/proc/<pid>/stat) */
  reread?: (pid: number) => Promise<LiveIdentity | undefined>;
}

export interface KillRequest {
  root: string;
  taskId: string;
}

/** One task of a batch: its result, or why it could not be killed (a typed ThermosGcError mostly). */
export interface BatchKillResult {
  taskId: string;
  root: string;
  result?: KillResult;
  error?: unknown;
}

/** What a batch shares: one snapshot, and who must never be signalled. */
interface Batch {
  snap: ProcessSnapshot;
  protectedPids: ReadonlySet<number>;
  selfPgid: number | undefined;
  /** Descendants of the batch's processes as read right after the snapshot (ppid-checked). */
  descendants: ReadonlyMap<number, LiveIdentity>;
}

type Identity = ProcessIdentityCheck;

export type KillOutcome = 'finalized-only' | 'killed' | 'lost';

export interface KillResult {
  taskId: string;
  outcome: KillOutcome;
  /** Pids SIGKILLed; a negative number is a process group (as in kill(2)). */
  killedPids: number[];
  skippedPids: Array<{ pid: number; why: string }>;
}

type SignalResult = 'killed' | 'gone' | 'denied' | 'changed';

export class TaskKiller {
  private readonly opts: TaskKillerOptions;
  private readonly selfPid: number;
  private readonly selfUid: number;
  private readonly now: () => number;
  private readonly reread: (pid: number) => Promise<LiveIdentity | undefined>;

  constructor(options: TaskKillerOptions) {
    this.opts = options;
    this.selfPid = options.selfPid ?? process.pid;
    this.selfUid = options.selfUid ?? process.getuid?.() ?? 0;
    this.now = options.now ?? Date.now;
    this.reread = options.reread ?? rereadProcess;
  }

  kill(root: string, taskId: string): Promise<KillResult> {
    return this.one(root, taskId, TaskState.KILLED);
  }

  lose(root: string, taskId: string): Promise<KillResult> {
    return this.one(root, taskId, TaskState.LOST);
  }

  /** Kills a batch of tasks with one process snapshot; one task's failure never stops the others. */
  killMany(tasks: readonly KillRequest[]): Promise<BatchKillResult[]> {
    return this.terminateMany(tasks, TaskState.KILLED);
  }

  /** Loses a batch of tasks (orphans) with one process snapshot. */
  loseMany(tasks: readonly KillRequest[]): Promise<BatchKillResult[]> {
    return this.terminateMany(tasks, TaskState.LOST);
  }

  private async one(root: string, taskId: string, terminal: number): Promise<KillResult> {
    const [r] = await this.terminateMany([{ root, taskId }], terminal);
    if (r?.result === undefined) throw r?.error ?? new ThermosGcError('ERR_KILL', `task ${taskId}: no result`, { taskId });
    return r.result;
  }

  private async terminateMany(tasks: readonly KillRequest[], terminal: number): Promise<BatchKillResult[]> {
    if (tasks.length === 0) return [];
    const width = Math.max(1, this.opts.parallelism ?? 8);
    // Every checkpoint first: its pids go into the one snapshot of the batch.
    const read = await mapBounded(tasks, width, async (t) => {
      const ckptPath = runnerCheckpointPath(t.root, t.taskId);
      try {
        return { t, before: this.replay(await readOptional(ckptPath), t.taskId, ckptPath) };
      } catch (err) {
        return { t, error: err };
      }
    });
    const pids = new Set<number>([this.selfPid]);
    for (const r of read) if (r.before !== undefined) for (const pid of candidatePids(r.before)) pids.add(pid);
    const batch = await this.batchFor([...pids], read.flatMap((r) => (r.before === undefined ? [] : openRuns(r.before).flatMap(([, run]) => (run.pid === undefined ? [] : [run.pid])))));
    return mapBounded(read, width, async (r): Promise<BatchKillResult> => {
      if ('error' in r) return { taskId: r.t.taskId, root: r.t.root, error: r.error };
      try {
        return { taskId: r.t.taskId, root: r.t.root, result: await this.terminate(r.t.root, r.t.taskId, terminal, r.before, batch) };
      } catch (err) {
        return { taskId: r.t.taskId, root: r.t.root, error: err };
      }
    });
  }

  /** One snapshot for the batch, plus the identity of every descendant of its processes. */
  private async batchFor(pids: readonly number[], processPids: readonly number[]): Promise<Batch> {
    const snap = await this.opts.snapshot(pids);
    const descendants = new Map<number, LiveIdentity>();
    for (const pid of processPids) {
      for (const child of snap.descendants(pid)) {
        if (descendants.has(child)) continue;
        const now = await this.reread(child);
        // A different parent now: the listed process is gone and its pid reused already.
        if (now !== undefined && now.ppid === snap.get(child)?.ppid) descendants.set(child, now);
      }
    }
    return { snap, protectedPids: this.protectedPids(snap), selfPgid: snap.get(this.selfPid)?.pgid, descendants };
  }

  private async terminate(root: string, taskId: string, terminal: number, before: RunnerState | undefined, batch: Batch): Promise<KillResult> {
    const ckptPath = runnerCheckpointPath(root, taskId);
    const log = this.opts.logger;
    const result: KillResult = { taskId, outcome: 'finalized-only', killedPids: [], skippedPids: [] };
    if (before === undefined || before.header === undefined || before.statuses.length === 0) {
      log.warn({ taskId, path: ckptPath, reason: 'task never initialised' }, 'finalizing task without killing');
      await finalizeTask(root, taskId);
      return result;
    }

    const fd = openSync(ckptPath, 'a');
    try {
      if (!tryLockExclusive(fd)) {
        await this.killLockHolder(before, taskId, result, batch);
        await lockExclusiveWithTimeout(fd, this.opts.lockTimeoutMs).catch((err: unknown) => {
          throw err instanceof ThermosGcError
            ? new ThermosGcError('ERR_LOCK', `task ${taskId}: ${err.message}`, { taskId, path: ckptPath, cause: err })
            : err;
        });
      }
      try {
        // Re-read under the lock: the runner may have appended before it died.
        const state = this.replay(await readOptional(ckptPath), taskId, ckptPath) ?? before;
        const last = state.statuses[state.statuses.length - 1];
        if (last?.state !== undefined && isTerminalTaskState(last.state)) {
          log.info({ taskId, reason: 'task already ended' }, 'finalizing task without killing');
        } else {
          await this.killProcessesAndRecord(state, fd, taskId, terminal, result, await this.batchCovering(state, batch));
          result.outcome = terminal === TaskState.KILLED ? 'killed' : 'lost';
        }
      } finally {
        unlock(fd);
      }
    } finally {
      closeSync(fd);
    }
    await finalizeTask(root, taskId);
    log.debug({ taskId, outcome: result.outcome, killedPids: result.killedPids }, 'task terminated and finalized');
    return result;
  }

  /**
   * The batch's snapshot, unless the checkpoint read under the lock names a live process the
   * snapshot did not list (the runner forked it after the snapshot): then a fresh one for this task.
   */
  private async batchCovering(state: RunnerState, batch: Batch): Promise<Batch> {
    const pids = candidatePids(state).filter((pid) => batch.snap.get(pid) === undefined);
    for (const pid of pids) {
      if ((await this.reread(pid)) !== undefined) {
        const open = openRuns(state).flatMap(([, run]) => (run.pid === undefined ? [] : [run.pid]));
        return this.batchFor([this.selfPid, ...candidatePids(state)], open);
      }
    }
    return batch;
  }

  private replay(buf: Buffer | undefined, taskId: string, ckptPath: string): RunnerState | undefined {
    if (buf === undefined) return undefined;
    try {
      return replayCheckpoint(buf);
    } catch (err) {
      throw new ThermosGcError('ERR_KILL', `task ${taskId}: runner checkpoint cannot be replayed: ${errorMessage(err)}`, {
        taskId,
        path: ckptPath,
        cause: err,
      });
    }
  }

  /** SIGKILLs the last recorded runner when it is alive, ours and not us; the caller then waits for the lock. */
  private async killLockHolder(state: RunnerState, taskId: string, result: KillResult, batch: Batch): Promise<void> {
    const runner = lastRunnerOf(state.statuses);
    if (runner === undefined || runner.pid === this.selfPid) {
      result.skippedPids.push({ pid: runner?.pid ?? 0, why: 'lock held, but no other runner is recorded' });
      return;
    }
    const expected = this.expectedOwner(state, runner.uid ?? state.header?.uid, runner.timestampMs);
    const proc = batch.snap.get(runner.pid);
    const check = isOurProcess(proc, expected, this.opts.maxPidDriftMs);
    if (!check.ours || batch.protectedPids.has(runner.pid)) {
      result.skippedPids.push({ pid: runner.pid, why: `runner: ${check.ours ? 'protected pid' : check.why}` });
      this.opts.logger.warn({ taskId, pid: runner.pid, reason: check.why }, 'lock held by a process we will not kill');
      return;
    }
    await this.signal(runner.pid, identityOf(proc), taskId, `runner holding the checkpoint lock (${check.why})`, result);
  }

  private async killProcessesAndRecord(
    state: RunnerState,
    fd: number,
    taskId: string,
    terminal: number,
    result: KillResult,
    batch: Batch,
  ): Promise<void> {
    // Claim the checkpoint first, so a crash part way still leaves a stream that names us.
    writeAll(fd, encodeRunnerCkptRecord({ kind: 'task', task: this.taskStatus(TaskState.ACTIVE) }));

    const userUid = state.header?.uid;
    const records: Buffer[] = [];
    for (const [name, run] of openRuns(state)) {
      // A WAITING run never forked: nothing to kill, and KILLED/LOST are not valid from WAITING.
      if (run.state === ProcessState.WAITING) continue;
      const killed = await this.killRun(name, run, batch, state, userUid, taskId, result);
      const stopTime = this.now() / 1000;
      records.push(
        encodeRunnerCkptRecord({
          kind: 'process',
          process: killed
            ? { process: name, seq: run.seq + 1, state: ProcessState.KILLED, returnCode: -9, stopTime }
            : { process: name, seq: run.seq + 1, state: ProcessState.LOST },
        }),
      );
    }
    records.push(encodeRunnerCkptRecord({ kind: 'task', task: this.taskStatus(terminal) }));
    // One write for the rest: a reader sees all of it or none of it, never a torn record.
    writeAll(fd, Buffer.concat(records));
    // On the thread pool: the tasks of a batch wait for their disks side by side.
    await fsyncAsync(fd);
  }

  /** SIGKILLs a run's coordinator group, coordinator, process and the process's descendants. True if any was killed. */
  private async killRun(
    name: string,
    run: ProcessRun,
    batch: Batch,
    state: RunnerState,
    uid: number | undefined,
    taskId: string,
    result: KillResult,
  ): Promise<boolean> {
    const { snap, protectedPids } = batch;
    let killed = false;
    const check = (pid: number, timeSec: number | undefined, role: string): boolean => {
      if (protectedPids.has(pid)) {
        result.skippedPids.push({ pid, why: `${name} ${role}: protected pid (ourselves or an ancestor)` });
        return false;
      }
      const expected = this.expectedOwner(state, uid, timeSec === undefined ? Number.NaN : timeSec * 1000);
      const verdict = isOurProcess(snap.get(pid), expected, this.opts.maxPidDriftMs);
      if (!verdict.ours) result.skippedPids.push({ pid, why: `${name} ${role}: ${verdict.why}` });
      return verdict.ours;
    };
    const coordinator = run.coordinatorPid;
    if (coordinator !== undefined && check(coordinator, run.forkTime, 'coordinator')) {
      const info = snap.get(coordinator);
      const pgid = info?.pgid;
      if (pgid !== undefined && pgid > 1 && pgid !== batch.selfPgid && !protectedPids.has(pgid)) {
        killed = (await this.signal(-pgid, identityOf(info), taskId, `${name} coordinator process group`, result, coordinator)) === 'killed' || killed;
      }
      killed = (await this.signal(coordinator, identityOf(info), taskId, `${name} coordinator`, result)) === 'killed' || killed;
    }
    if (run.pid !== undefined && check(run.pid, run.startTime, 'process')) {
      killed = (await this.signal(run.pid, identityOf(snap.get(run.pid)), taskId, `${name} process`, result)) === 'killed' || killed;
      // Descendants come from the same snapshot, taken before anything was signalled.
      for (const child of snap.descendants(run.pid)) {
        if (protectedPids.has(child)) continue;
        const then = batch.descendants.get(child);
        if (then === undefined) continue; // gone (or reused) right after the snapshot
        killed = (await this.signal(child, then, taskId, `${name} descendant of ${run.pid}`, result)) === 'killed' || killed;
      }
    }
    return killed;
  }

  /**
   * SIGKILLs `pid` (a process group when negative, checked through its leader `leader`) only if
   * it is still the process that was checked: its start time, real uid (and group) read again now.
   */
  private async signal(pid: number, then: Identity, taskId: string, reason: string, result: KillResult, leader = pid): Promise<SignalResult> {
    const now = await this.reread(Math.abs(leader));
    // A zombie is still the process checked (a group signal may just have killed it): kill(2) is harmless there.
    if (now === undefined) return 'gone';
    const changed = sameProcessChange(then, now, now.precisionMs, pid < 0 ? leader : undefined);
    if (changed !== undefined) {
      result.skippedPids.push({ pid, why: `${reason}: pid reused since the snapshot (${changed}): not signalled` });
      this.opts.logger.warn({ taskId, pid, reason, why: changed }, 'pid changed between snapshot and signal: not signalled');
      return 'changed';
    }
    try {
      process.kill(pid, 'SIGKILL');
      result.killedPids.push(pid);
      this.opts.logger.debug({ taskId, pid, reason }, 'SIGKILL');
      return 'killed';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') return 'gone';
      result.skippedPids.push({ pid, why: `${reason}: ${code ?? errorMessage(err)}` });
      this.opts.logger.error({ taskId, pid, reason, err: errorMessage(err) }, 'SIGKILL failed');
      return 'denied';
    }
  }

  private expectedOwner(state: RunnerState, uid: number | undefined, timeMs: number): ExpectedOwner {
    const expected: ExpectedOwner = { timeMs };
    if (uid !== undefined) expected.uid = uid;
    const user = state.header?.user;
    if (uid === undefined && user !== undefined) {
      const userUid = this.opts.uidForUser?.(user);
      if (userUid !== undefined) expected.userUid = userUid;
    }
    return expected;
  }

  /** Ourselves and our ancestors: never signalled, whatever a checkpoint says. */
  private protectedPids(snap: ProcessSnapshot): Set<number> {
    const out = new Set<number>([0, 1, this.selfPid]);
    let cur = snap.get(this.selfPid);
    while (cur !== undefined && !out.has(cur.ppid)) {
      out.add(cur.ppid);
      cur = snap.get(cur.ppid);
    }
    return out;
  }

  private taskStatus(state: number): { state: number; timestampMs: number; runnerPid: number; runnerUid: number } {
    return { state, timestampMs: Math.round(this.now()), runnerPid: this.selfPid, runnerUid: this.selfUid };
  }
}

function identityOf(info: ProcessInfo | undefined): Identity {
  const id: Identity = {};
  if (info?.startTimeMs !== undefined) id.startTimeMs = info.startTimeMs;
  if (info?.realUid !== undefined) id.realUid = info.realUid;
  if (info?.pgid !== undefined) id.pgid = info.pgid;
  return id;
}
