// Generated Thermos tasks on disk: a runner checkpoint (header, statuses, one process), the task
// file, a sandbox of a given size, legacy logs, and optionally a Mesos run dir that links it.
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeCheckpointStream } from '../../src/core/checkpoint/runner-ckpt.js';
import type { RunnerCkpt } from '../../src/core/records.js';
import { ProcessState, TaskState } from '../../src/core/states.js';

export interface AgentLayout {
  checkpointRoot: string;
  mesosRoot: string;
}

export interface TaskSpec {
  id: string;
  state: 'active' | 'finished';
  /** Age of the runner checkpoint (mtime = now - ageMs). */
  ageMs: number;
  sandboxBytes: number;
  logBytes?: number;
  linked?: boolean;
  /** Sandbox path relative to the Mesos root. @default sandboxes/<id> */
  sandboxRel?: string;
}

export function sandboxOf(layout: AgentLayout, spec: TaskSpec): string {
  return path.join(layout.mesosRoot, spec.sandboxRel ?? path.join('sandboxes', spec.id));
}

export async function writeTask(layout: AgentLayout, spec: TaskSpec, nowMs: number): Promise<void> {
  const { checkpointRoot: root } = layout;
  const sandbox = sandboxOf(layout, spec);
  const t0 = nowMs - spec.ageMs - 60_000;
  const recs: RunnerCkpt[] = [
    { kind: 'header', header: { taskId: spec.id, launchTimeMs: t0, sandbox, hostname: 'node', user: 'root', uid: 0 } },
    { kind: 'task', task: { state: TaskState.ACTIVE, timestampMs: t0, runnerPid: 999_999, runnerUid: 0 } },
    { kind: 'process', process: { seq: 0, process: 'hello', state: ProcessState.WAITING } },
    { kind: 'process', process: { seq: 1, process: 'hello', state: ProcessState.FORKED, forkTime: t0 / 1000, coordinatorPid: 999_998 } },
    { kind: 'process', process: { seq: 2, process: 'hello', state: ProcessState.RUNNING, startTime: t0 / 1000, pid: 999_997 } },
  ];
  if (spec.state === 'finished') {
    recs.push(
      { kind: 'process', process: { seq: 3, process: 'hello', state: ProcessState.SUCCESS, stopTime: t0 / 1000 + 1, returnCode: 0 } },
      { kind: 'task', task: { state: TaskState.SUCCESS, timestampMs: t0 + 1000, runnerPid: 999_999, runnerUid: 0 } },
    );
  }
  const ckptDir = path.join(root, 'checkpoints', spec.id);
  await mkdir(ckptDir, { recursive: true });
  await mkdir(path.join(root, 'tasks', spec.state), { recursive: true });
  await writeFile(path.join(root, 'tasks', spec.state, spec.id), JSON.stringify({ task_id: spec.id }));
  const runner = path.join(ckptDir, 'runner');
  await writeFile(runner, encodeCheckpointStream(recs));
  await mkdir(sandbox, { recursive: true });
  await writeFile(path.join(sandbox, 'data.bin'), Buffer.alloc(spec.sandboxBytes, 0x78));
  const logDir = path.join(root, 'logs', spec.id, 'hello', '0');
  await mkdir(logDir, { recursive: true });
  await writeFile(path.join(logDir, 'stdout'), Buffer.alloc(spec.logBytes ?? 100, 0x6c));
  await writeFile(path.join(logDir, 'stderr'), '');
  if (spec.linked === true) {
    await mkdir(path.join(layout.mesosRoot, 'slaves', 'S0', 'frameworks', 'F0', 'executors', `thermos-${spec.id}`, 'runs', 'R1'), { recursive: true });
  }
  const mtime = new Date(nowMs - spec.ageMs);
  await utimes(runner, mtime, mtime);
}

export async function writeAgent(layout: AgentLayout, specs: readonly TaskSpec[], nowMs: number): Promise<void> {
  await mkdir(path.join(layout.checkpointRoot, 'tasks', 'active'), { recursive: true });
  await mkdir(path.join(layout.checkpointRoot, 'tasks', 'finished'), { recursive: true });
  await mkdir(layout.mesosRoot, { recursive: true });
  for (const s of specs) await writeTask(layout, s, nowMs);
}
