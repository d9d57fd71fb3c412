// Real processes standing in for a Thermos task: a runner holding the checkpoint flock, a
// coordinator in its own process group, the process, and the process's child. Everything started
// here is tracked, so `killAllTracked()` in afterEach/afterAll cleans up even after a failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProcessStatusRecord } from '../../src/core/records.js';
import { processRun } from './checkpoint-builder.js';

const CHILD_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-runner-child.mjs');

const tracked = new Set<number>();
const trackedGroups = new Set<number>();

export interface FakeRunnerPids {
  runner: number;
  coordinator: number;
  process: number;
  grandchild: number;
}

export interface FakeRunner {
  pids: FakeRunnerPids;
  child: ChildProcess;
}

/** Starts the fake runner on `ckptPath` and resolves once it holds the lock and printed its pids. */
export async function startFakeRunner(ckptPath: string): Promise<FakeRunner> {
  const child = spawn(process.execPath, [CHILD_SCRIPT, ckptPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: path.resolve(path.dirname(CHILD_SCRIPT), '..', '..'),
  });
  if (child.pid !== undefined) tracked.add(child.pid);
  const pids = await new Promise<FakeRunnerPids>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (c: string) => (err += c));
    child.stdout?.on('data', (c: string) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as FakeRunnerPids);
    });
    child.once('exit', (code) => reject(new Error(`fake runner exited (${code}): ${err}`)));
  });
  for (const pid of [pids.coordinator, pids.process, pids.grandchild]) tracked.add(pid);
  trackedGroups.add(pids.coordinator);
  return { pids, child };
}

/** Starts a plain `sleep` (optionally as another uid) and tracks it. */
export async function startSleeper(options: { uid?: number; gid?: number } = {}): Promise<ChildProcess> {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore', ...options });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  if (child.pid !== undefined) tracked.add(child.pid);
  return child;
}

/** Epoch ms the process started, from /proc (the same source the code under test uses). */
export function procStartTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  const btime = Number(/^btime\s+(\d+)/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1]);
  return btime * 1000 + ticks * 10;
}

/** Alive and not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Polls until none of `pids` is running (SIGKILL is asynchronous); false after `timeoutMs`. */
export async function waitUntilGone(pids: readonly number[], timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isRunning)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export function killAllTracked(): void {
  for (const pgid of trackedGroups) {
    if (isRunning(pgid)) killQuietly(-pgid);
  }
  for (const pid of tracked) if (isRunning(pid)) killQuietly(pid);
  tracked.clear();
  trackedGroups.clear();
}

/** The RUNNING run a fake runner's coordinator and process make, with their real start times. */
export function fakeRunnerProcessRun(name: string, pids: Pick<FakeRunnerPids, 'coordinator' | 'process'>): ProcessStatusRecord[] {
  return processRun(name, {
    final: 'RUNNING',
    coordinatorPid: pids.coordinator,
    forkTime: procStartTimeMs(pids.coordinator) / 1000,
    pid: pids.process,
    startTime: procStartTimeMs(pids.process) / 1000,
  });
}
