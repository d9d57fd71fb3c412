// A synthetic dense agent on disk, for the benchmarks, the tests and the demo: a checkpoint root
// with real runner checkpoints (the project's own encoder), task files, sandboxes, log dirs and a
// Mesos work dir with linked and unlinked executors, plus a scheduler view that covers every
// reconciliation class. Deterministic for a given seed; written with bounded concurrency.
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodeRunnerCkptRecord } from '../core/checkpoint/runner-ckpt.js';
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
}

export interface DenseAgent {
  dir: string;
  checkpointRoot: string;
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
}

function checkpointRecords(t: TaskPlan, o: Required<Pick<DenseAgentOptions, 'processesPerTask' | 'runsPerProcess' | 'uid' | 'user'>>, dirs: { sandbox: string; logDir: string }): RunnerCkpt[] {
  const recs: RunnerCkpt[] = [
    {
      kind: 'header',
      header: { taskId: t.id, launchTimeMs: t.launchMs, sandbox: dirs.sandbox, logDir: dirs.logDir, hostname: 'node-0', user: o.user, uid: o.uid, ports: { http: 31000 } },
    },
    { kind: 'task', task: { state: TaskState.ACTIVE, timestampMs: t.launchMs, runnerPid: t.runnerPid, runnerUid: o.uid } },
  ];
  let pid = t.runnerPid + 1;
  for (let p = 0; p < o.processesPerTask; p++) {
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
  const rand = prng(o.seed);
  const checkpointRoot = path.join(dir, 'thermos');
  const mesosRoot = path.join(dir, 'mesos');
  const sandboxRoot = path.join(dir, 'sandboxes');
  const logRoot = path.join(dir, 'logs');
  const executorsDir = path.join(mesosRoot, 'slaves', 'S0', 'frameworks', 'F0', 'executors');
  for (const d of [
    path.join(checkpointRoot, 'tasks', 'active'),
    path.join(checkpointRoot, 'tasks', 'finished'),
    path.join(checkpointRoot, 'checkpoints'),
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
    plans.push({
      id: `${o.seed}-www-data-prod-job${i}-0-${hex}`,
      active,
      linked: rand() < o.linkedShare,
      latestOnly: rand() < 0.5,
      finalState: pick(rand, FINAL_TASK_STATES),
      launchMs: o.nowMs - o.ageMs - Math.floor(rand() * o.ageMs),
      runnerPid: FAKE_PID_BASE + i * 16,
    });
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
    const id = `${o.seed}-www-data-prod-gone${i}-0-${i.toString(16).padStart(8, '0')}`;
    schedulerOnly.push(id);
    retained.set(id, rand() < 0.5 ? pick(rand, TERMINAL) : pick(rand, LIVE));
  }

  const payload = Buffer.alloc(o.fileBytes, 0x61);
  const taskFile = (t: TaskPlan): string => JSON.stringify({ task_id: t.id, name: `job`, processes: o.processesPerTask });
  let files = 0;
  let bytes = 0;
  const sandboxes = new Map<string, string>();
  const runnerCheckpoints: string[] = [];
  const linked = new Set<string>();
  const jobs: Array<() => Promise<void>> = [];
  const oldSeconds = (o.nowMs - o.ageMs) / 1000;

  for (const t of plans) {
    const sandbox = path.join(sandboxRoot, t.id);
    const logDir = path.join(logRoot, t.id);
    sandboxes.set(t.id, sandbox);
    const ckptDir = path.join(checkpointRoot, 'checkpoints', t.id);
    const runner = path.join(ckptDir, 'runner');
    runnerCheckpoints.push(runner);
    const ckpt = Buffer.concat(checkpointRecords(t, o, { sandbox, logDir }).map(encodeRunnerCkptRecord));
    files += 2;
    bytes += ckpt.length;
    jobs.push(async () => {
      await mkdir(ckptDir);
      await writeFile(runner, ckpt);
      await utimes(runner, oldSeconds, oldSeconds);
      await writeFile(path.join(checkpointRoot, 'tasks', t.active ? 'active' : 'finished', t.id), taskFile(t));
    });
    jobs.push(async () => {
      const sub = path.join(sandbox, 'data');
      await mkdir(sub, { recursive: true });
      for (let f = 0; f < o.filesPerSandbox; f++) await writeFile(path.join(f % 2 === 0 ? sandbox : sub, `f${f}`), payload);
    });
    files += o.filesPerSandbox;
    bytes += o.filesPerSandbox * o.fileBytes;
    jobs.push(async () => {
      for (let p = 0; p < o.processesPerTask; p++) {
        for (let run = 0; run < o.runsPerProcess; run++) {
          const runDir = path.join(logDir, `proc${p}`, String(run));
          await mkdir(runDir, { recursive: true });
          await writeFile(path.join(runDir, 'stdout'), 'out\n');
          await writeFile(path.join(runDir, 'stderr'), '');
        }
      }
    });
    files += o.processesPerTask * o.runsPerProcess * 2;
    const runs = path.join(executorsDir, `thermos-${t.id}`, 'runs');
    if (t.linked) {
      linked.add(t.id);
      jobs.push(async () => {
        await mkdir(path.join(runs, 'R0', 'sandbox'), { recursive: true });
        await writeFile(path.join(runs, 'R0', 'stdout'), '');
        await symlink('R0', path.join(runs, 'latest'));
      });
      files += 1;
    } else if (t.latestOnly) {
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
    mesosRoot,
    sandboxRoot,
    logRoot,
    taskIds: { active, finished },
    linked,
    retained,
    schedulerOnly,
    runnerCheckpoints,
    sandboxes,
    nowMs: o.nowMs,
    files,
    bytes,
  };
}
