// End-to-end harness: the compiled `bin/thermos-gc.js` as a real executor process against the
// AgentSimulator over loopback HTTP. Builds dist/ first when a source is newer than the build.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PlanOutput } from '../../src/cli/plan.js';
import { TaskState, scheduleStatusName } from '../../src/core/states.js';
import { runnerCheckpointPath } from '../../src/io/checkpoint-paths.js';
import { lockExclusiveWithTimeout, unlock } from '../../src/io/flock.js';
import type { AgentSimulator, SpawnExecutorOptions } from '../../src/sim/agent-simulator.js';
import { generateAgent, type DenseAgent, type DenseAgentOptions } from '../../src/sim/dense-agent.js';
import type { TaskStatusJson } from '../../src/io/mesos/types.js';
import { writeTask } from '../helpers/checkpoint-builder.js';
import { startFakeRunner } from '../helpers/fake-runner.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(REPO, 'bin', 'thermos-gc.js');
const BUILT = [path.join(REPO, 'dist', 'src', 'cli', 'main.js'), path.join(REPO, 'dist', 'src', 'cli', 'executor.js')];

/**
 * Quick recovery so restarts and failures take well under a second or two. The backoff max is
 * what the simulator's re-registration timeout makes it (the agent passes its own), so tests
 * that restart the agent start it with a short `reregistrationTimeoutMs` (RESTART_WINDOW_MS).
 */
export const FAST_ENV: SpawnExecutorOptions = {
  checkpoint: true,
  recoveryTimeout: '4secs',
  shutdownGracePeriod: '3secs',
};
// Wide enough that a loaded CI machine cannot make a draw near the backoff max miss it.
export const RESTART_WINDOW_MS = 1_000;

/** What a real agent would not have survived or tolerated: an abort, or an executor killed for missing its window. */
export function expectAgentHappy(sim: AgentSimulator): void {
  if (sim.crashed !== undefined) throw new Error(`the agent aborted: ${sim.crashed}`);
  if (sim.executorKills.length > 0) throw new Error(`the agent killed the executor: ${sim.executorKills.join('; ')}`);
  const refused = sim.calls.filter((c) => c.status >= 400 && c.status !== 503);
  if (refused.length > 0) throw new Error(`the agent refused calls: ${JSON.stringify(refused.map((c) => [c.type, c.status, c.answer]))}`);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function buildIsCurrent(): boolean {
  if (!BUILT.every((f) => existsSync(f))) return false;
  const built = Math.min(...BUILT.map((f) => statSync(f).mtimeMs));
  const sources = Math.max(...['src', 'workers'].filter((d) => existsSync(path.join(REPO, d))).map((d) => newestMtime(path.join(REPO, d))));
  return sources <= built;
}

/** Compiles dist/ (tsc -p tsconfig.build.json) unless it is newer than every source; one build at a time. */
export async function ensureBuilt(): Promise<void> {
  if (buildIsCurrent()) return;
  const fd = await lockExclusiveWithTimeout(path.join(os.tmpdir(), 'thermos-gc-e2e-build.lock'), 120_000);
  try {
    if (buildIsCurrent()) return;
    // Type errors in files being edited elsewhere still emit JavaScript; only a missing output is fatal.
    const r = spawnSync(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO, encoding: 'utf8' });
    if (!BUILT.every((f) => existsSync(f))) throw new Error(`build failed:\n${r.stdout}\n${r.stderr}`);
  } finally {
    unlock(fd);
    closeSync(fd);
  }
}

export interface ExecutorProcess {
  child: ChildProcess;
  stderr(): string;
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/** Spawns `thermos-gc executor <args>` as the simulator's executor. */
export function spawnExecutor(sim: AgentSimulator, args: readonly string[], options: SpawnExecutorOptions = {}): ExecutorProcess {
  const child = sim.spawnExecutor([process.execPath, BIN, 'executor', ...args], { ...FAST_ENV, ...options });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, stderr: () => err, stdout: () => out, exited };
}

/** SIGKILLs every executor still running (afterEach). */
export function killExecutors(): void {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A dense agent whose active tasks look alive to the orphan pass (their runner checkpoints were
 * written just now), so the executor's startup orphan pass leaves the tree as the plan sees it.
 */
export async function denseAgent(dir: string, opts: DenseAgentOptions): Promise<DenseAgent> {
  const agent = await generateAgent(dir, opts);
  const now = new Date();
  const active = new Set(agent.taskIds.active);
  await Promise.all(agent.runnerCheckpoints.filter((p) => active.has(path.basename(path.dirname(p)))).map((p) => utimes(p, now, now)));
  return agent;
}

/** The config flags pointing the executor at a dense agent. */
export function agentArgs(agent: DenseAgent): string[] {
  return ['--checkpoint-root', agent.checkpointRoot, '--mesos-root', agent.mesosRoot, '--sandbox-root', agent.sandboxRoot];
}

/** Common flags: no worker threads, short persistence, no periodic orphan passes. */
export const QUICK_FLAGS = ['--workers', '0', '--persistence-wait', '100ms', '--poll-wait', '1h'];

export function updatesFor(sim: AgentSimulator, taskId: string): TaskStatusJson[] {
  return sim.updates.filter((u) => u.status.task_id.value === taskId).map((u) => u.status);
}

export function hasState(sim: AgentSimulator, taskId: string, state: string): boolean {
  return updatesFor(sim, taskId).some((s) => s.state === state);
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

/** `thermos-gc plan --json` for `agent` and a view, "received" at `nowS` (epoch seconds). */
export async function runPlan(agent: DenseAgent, retained: ReadonlyMap<string, number>, nowS: number, dir: string): Promise<PlanOutput> {
  const file = path.join(dir, `retained-${process.hrtime.bigint()}.json`);
  await writeFile(file, JSON.stringify(Object.fromEntries([...retained].map(([id, s]) => [id, scheduleStatusName(s)]))));
  const r = spawnSync(process.execPath, [BIN, 'plan', '--json', '--retained', file, '--now', String(nowS), ...agentArgs(agent)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`plan failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as PlanOutput;
}

/** `<parent>/<name>`, created. */
export async function makeDir(parent: string, name: string): Promise<string> {
  const p = path.join(parent, name);
  await mkdir(p, { recursive: true });
  return p;
}

/**
 * An active task `stuck` under `root` whose run cannot finish: a live fake runner holds the
 * checkpoint lock but is not the runner the checkpoint records (`recordedRunnerPid`, never
 * alive), so the killer leaves it alone and waits for the lock. Its sandbox is `<mesos>/sb`.
 */
export async function writeStuckTask(root: string, mesos: string, recordedRunnerPid: number): Promise<void> {
  const hour = 3_600_000;
  await mkdir(mesos, { recursive: true });
  await startFakeRunner(runnerCheckpointPath(root, 'stuck'));
  const uid = process.getuid?.() ?? 0;
  await writeTask(root, {
    taskId: 'stuck',
    state: 'active',
    header: { taskId: 'stuck', launchTimeMs: Date.now() - hour, sandbox: path.join(mesos, 'sb'), hostname: 'localhost', user: 'root', uid },
    statuses: [{ state: TaskState.ACTIVE, timestampMs: Date.now() - hour, runnerPid: recordedRunnerPid, runnerUid: uid }],
  });
}
