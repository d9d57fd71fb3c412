// Kills or "loses" a Thermos task (domain.md §4, the original's TaskKiller): take over the runner
// checkpoint's flock (SIGKILLing a live runner that holds it), SIGKILL what is left of each
// unfinished process, record the ends so the stream still replays, then finalize the task.
// Every pid is checked against the checkpoint (uid and start time) before it is signalled:
// pids wrap around and we run as root.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { ThermosGcError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { replayCheckpoint } from '../core/checkpoint/replay.js';
import { encodeRunnerCkptRecord } from '../core/checkpoint/runner-ckpt.js';
import { lastRunnerOf } from '../core/orphans.js';
import { isOurProcess, type ExpectedOwner } from '../core/pid-ownership.js';
import type { ProcessRun, RunnerState } from '../core/records.js';
import { ProcessState, TaskState, isTerminalProcessState, isTerminalTaskState } from '../core/states.js';
import { runnerCheckpointPath, taskFilePath } from './checkpoint-paths.js';
import { lockExclusiveWithTimeout, tryLockExclusive, unlock } from './flock.js';
import type { ProcessSnapshot, SnapshotProvider } from './process-table.js';

export type KillLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

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
}

export type KillOutcome = 'finalized-only' | 'killed' | 'lost';

export interface KillResult {
  taskId: string;
  outcome: KillOutcome;
  /** Pids SIGKILLed; a negative number is a process group (as in kill(2)). */
  killedPids: number[];
  skippedPids: Array<{ pid: number; why: string }>;
}

type SignalResult = 'killed' | 'gone' | 'denied';

/** Moves `tasks/active/<id>` to `tasks/finished/<id>`; false when there was no active file. */
export async function finalizeTask(root: string, taskId: string): Promise<boolean> {
  const from = taskFilePath(root, 'active', taskId);
  const to = taskFilePath(root, 'finished', taskId);
  await mkdir(path.dirname(to), { recursive: true });
  try {
    await rename(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

export class TaskKiller {
  private readonly opts: TaskKillerOptions;
  private readonly selfPid: number;
  private readonly selfUid: number;
  private readonly now: () => number;

  constructor(options: TaskKillerOptions) {
    this.opts = options;
    this.selfPid = options.selfPid ?? process.pid;
    this.selfUid = options.selfUid ?? process.getuid?.() ?? 0;
    this.now = options.now ?? Date.now;
  }

  kill(root: string, taskId: string): Promise<KillResult> {
    return this.terminate(root, taskId, TaskState.KILLED);
  }

  lose(root: string, taskId: string): Promise<KillResult> {
    return this.terminate(root, taskId, TaskState.LOST);
  }

  private async terminate(root: string, taskId: string, terminal: number): Promise<KillResult> {
    const ckptPath = runnerCheckpointPath(root, taskId);
    const log = this.opts.logger;
    const result: KillResult = { taskId, outcome: 'finalized-only', killedPids: [], skippedPids: [] };
    const before = this.replay(await readOptional(ckptPath), taskId, ckptPath);
    if (before === undefined || before.header === undefined || before.statuses.length === 0) {
      log.warn({ taskId, path: ckptPath, reason: 'task never initialised' }, 'finalizing task without killing');
      await finalizeTask(root, taskId);
      return result;
    }

    const fd = openSync(ckptPath, 'a');
    try {
      if (!tryLockExclusive(fd)) {
        await this.killLockHolder(before, taskId, result);
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
          await this.killProcessesAndRecord(state, fd, taskId, terminal, result);
          result.outcome = terminal === TaskState.KILLED ? 'killed' : 'lost';
        }
      } finally {
        unlock(fd);
      }
    } finally {
      closeSync(fd);
    }
    await finalizeTask(root, taskId);
    log.info({ taskId, outcome: result.outcome, killedPids: result.killedPids }, 'task terminated and finalized');
    return result;
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
  private async killLockHolder(state: RunnerState, taskId: string, result: KillResult): Promise<void> {
    const runner = lastRunnerOf(state.statuses);
    if (runner === undefined || runner.pid === this.selfPid) {
      result.skippedPids.push({ pid: runner?.pid ?? 0, why: 'lock held, but no other runner is recorded' });
      return;
    }
    const snap = await this.opts.snapshot([runner.pid, this.selfPid]);
    const expected = this.expectedOwner(state, runner.uid ?? state.header?.uid, runner.timestampMs);
    const check = isOurProcess(snap.get(runner.pid), expected, this.opts.maxPidDriftMs);
    if (!check.ours || this.protectedPids(snap).has(runner.pid)) {
      result.skippedPids.push({ pid: runner.pid, why: `runner: ${check.ours ? 'protected pid' : check.why}` });
      this.opts.logger.warn({ taskId, pid: runner.pid, reason: check.why }, 'lock held by a process we will not kill');
      return;
    }
    this.signal(runner.pid, taskId, `runner holding the checkpoint lock (${check.why})`, result);
  }

  private async killProcessesAndRecord(
    state: RunnerState,
    fd: number,
    taskId: string,
    terminal: number,
    result: KillResult,
  ): Promise<void> {
    // Claim the checkpoint first, so a crash part way still leaves a stream that names us.
    writeAll(fd, encodeRunnerCkptRecord({ kind: 'task', task: this.taskStatus(TaskState.ACTIVE) }));

    const open: Array<[string, ProcessRun]> = [];
    for (const [name, runs] of Object.entries(state.processes)) {
      const run = runs[runs.length - 1];
      if (run !== undefined && !isTerminalProcessState(run.state)) open.push([name, run]);
    }
    const pids = [this.selfPid];
    for (const [, run] of open) {
      if (run.coordinatorPid !== undefined) pids.push(run.coordinatorPid);
      if (run.pid !== undefined) pids.push(run.pid);
    }
    const snap = await this.opts.snapshot(pids);
    const protectedPids = this.protectedPids(snap);
    const selfPgid = snap.get(this.selfPid)?.pgid;
    const userUid = state.header?.uid;

    const records: Buffer[] = [];
    for (const [name, run] of open) {
      // A WAITING run never forked: nothing to kill, and KILLED/LOST are not valid from WAITING.
      if (run.state === ProcessState.WAITING) continue;
      const killed = this.killRun(name, run, snap, protectedPids, selfPgid, state, userUid, taskId, result);
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
    fsyncSync(fd);
  }

  /** SIGKILLs a run's coordinator group, coordinator, process and the process's descendants. True if any was killed. */
  private killRun(
    name: string,
    run: ProcessRun,
    snap: ProcessSnapshot,
    protectedPids: ReadonlySet<number>,
    selfPgid: number | undefined,
    state: RunnerState,
    uid: number | undefined,
    taskId: string,
    result: KillResult,
  ): boolean {
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
      const pgid = snap.get(coordinator)?.pgid;
      if (pgid !== undefined && pgid > 1 && pgid !== selfPgid && !protectedPids.has(pgid)) {
        killed = this.signal(-pgid, taskId, `${name} coordinator process group`, result) === 'killed' || killed;
      }
      killed = this.signal(coordinator, taskId, `${name} coordinator`, result) === 'killed' || killed;
    }
    if (run.pid !== undefined && check(run.pid, run.startTime, 'process')) {
      killed = this.signal(run.pid, taskId, `${name} process`, result) === 'killed' || killed;
      // Descendants come from the same snapshot, taken before anything was signalled.
      for (const child of snap.descendants(run.pid)) {
        if (protectedPids.has(child)) continue;
        killed = this.signal(child, taskId, `${name} descendant of ${run.pid}`, result) === 'killed' || killed;
      }
    }
    return killed;
  }

  private signal(pid: number, taskId: string, reason: string, result: KillResult): SignalResult {
    try {
      process.kill(pid, 'SIGKILL');
      result.killedPids.push(pid);
      this.opts.logger.info({ taskId, pid, reason }, 'SIGKILL');
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
