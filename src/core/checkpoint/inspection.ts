// What the orphan scan and the killer need from a task's checkpoints: the runners named by task
// statuses, the coordinator and process pids with the time each should have started, and the
// latest time anything was recorded (the original's CheckpointInspector).
import { DecodeError } from '../../errors.js';
import { ProcessState } from '../states.js';
import type { ProcessStatusRecord, RunnerCkpt, TaskInspection } from '../records.js';
import { forEachRecord, readRunnerCkpt } from './runner-ckpt.js';
import { replayCheckpoint } from './replay.js';

class InspectionBuilder {
  readonly runners: TaskInspection['runners'] = [];
  readonly coordinators: TaskInspection['coordinators'] = [];
  readonly processes: TaskInspection['processes'] = [];
  private readonly seenCoordinators = new Set<string>();
  private readonly seenProcesses = new Set<string>();
  private lastRunnerPid: number | undefined;
  latestUpdateMs: number | undefined;

  private touch(ms: number | undefined): void {
    if (ms !== undefined && Number.isFinite(ms) && (this.latestUpdateMs === undefined || ms > this.latestUpdateMs)) {
      this.latestUpdateMs = ms;
    }
  }

  record(rec: RunnerCkpt): void {
    if (rec.kind === 'task') {
      const t = rec.task;
      this.touch(t.timestampMs);
      // A change of runner_pid marks a new runner (a status without a pid names none).
      if (t.runnerPid !== undefined && t.runnerPid !== this.lastRunnerPid) {
        const runner: TaskInspection['runners'][number] = { pid: t.runnerPid, timestampMs: t.timestampMs ?? 0 };
        if (t.runnerUid !== undefined) runner.uid = t.runnerUid;
        this.runners.push(runner);
        this.lastRunnerPid = t.runnerPid;
      }
    } else if (rec.kind === 'process') {
      this.process(rec.process);
    }
  }

  process(p: ProcessStatusRecord): void {
    // Process times are epoch seconds.
    for (const s of [p.forkTime, p.startTime, p.stopTime]) if (s !== undefined) this.touch(s * 1000);
    const name = p.process ?? '';
    if (p.state === ProcessState.FORKED && p.coordinatorPid !== undefined) {
      const key = `${name}\0${p.coordinatorPid}\0${p.forkTime}`;
      if (!this.seenCoordinators.has(key)) {
        this.seenCoordinators.add(key);
        const c: TaskInspection['coordinators'][number] = { process: name, pid: p.coordinatorPid };
        if (p.forkTime !== undefined) c.forkTime = p.forkTime;
        this.coordinators.push(c);
      }
    } else if (p.state === ProcessState.RUNNING && p.pid !== undefined) {
      const key = `${name}\0${p.pid}\0${p.startTime}`;
      if (!this.seenProcesses.has(key)) {
        this.seenProcesses.add(key);
        const e: TaskInspection['processes'][number] = { process: name, pid: p.pid };
        if (p.startTime !== undefined) e.startTime = p.startTime;
        this.processes.push(e);
      }
    }
  }

  result(): TaskInspection {
    const out: TaskInspection = { runners: this.runners, coordinators: this.coordinators, processes: this.processes };
    if (this.latestUpdateMs !== undefined) out.latestUpdateMs = this.latestUpdateMs;
    return out;
  }
}

/**
 * Inspects a runner checkpoint and the task's coordinator checkpoints. The runner stream must
 * replay (DecodeError/ReplayError otherwise). Coordinator streams are evidence only: each is read
 * up to its first undecodable record, as the original did, so a torn tail does not hide pids.
 */
export function inspectCheckpoints(runner: Uint8Array, coordinators: Uint8Array[]): TaskInspection {
  replayCheckpoint(runner);
  const b = new InspectionBuilder();
  forEachRecord(runner, (r) => b.record(readRunnerCkpt(r)));
  for (const buf of coordinators) {
    try {
      forEachRecord(buf, (r) => {
        const rec = readRunnerCkpt(r);
        if (rec.kind === 'process') b.process(rec.process);
      });
    } catch (err) {
      // Keep what was read before the damage.
      if (!(err instanceof DecodeError)) throw err;
    }
  }
  return b.result();
}
