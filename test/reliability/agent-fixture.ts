// A small agent on disk for the reliability suites: a checkpoint root, a Mesos work dir with
// linked or collected executors, an allowed sandbox root and an `outside` dir that nothing may
// ever touch. `gc` runs one full GC task (runGc + createLocalServices) over it with a recording
// driver, a fake clock and a logger whose lines the test can read.
import { RepeatedWarnings } from '../../src/executor/repeated-warnings.js';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { compileConfig, type GcConfig, type RawConfig } from '../../src/config.js';
import { runGc, type GcRunReport } from '../../src/executor/gc-run.js';
import { createLocalServices } from '../../src/services/local-services.js';
import { GcMetrics } from '../../src/executor/metrics.js';
import type { GcServices } from '../../src/services/services.js';
import { buildSnapshot } from '../../src/io/process-table.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { RecordingDriver } from '../helpers/recording-driver.js';
import { typicalActiveTask, typicalFinishedTask, type TaskSpec, type TypicalTaskOptions } from '../helpers/checkpoint-builder.js';

export const HOUR = 3_600_000;

export interface Agent {
  base: string;
  /** Checkpoint root. */
  root: string;
  mesos: string;
  /** The one allowed sandbox root. */
  sandboxes: string;
  /** Data outside every root: must survive every test untouched. */
  outside: string;
  startMs: number;
  config: GcConfig;
  /** `<sandboxes>/<name>`. */
  sandbox(name: string): string;
  /** Typical options for a task launched two hours before `startMs`, checkpoint quiet for one. */
  taskOptions(taskId: string, over?: TypicalTaskOptions): TypicalTaskOptions;
  finished(taskId: string, over?: TypicalTaskOptions): TaskSpec;
  active(taskId: string, over?: TypicalTaskOptions): TaskSpec;
  cleanup(): Promise<void>;
}

export async function makeAgent(raw: RawConfig = {}): Promise<Agent> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'gc-reliability-'));
  const root = path.join(base, 'ckpt');
  const mesos = path.join(base, 'mesos');
  const sandboxes = path.join(mesos, 'sandboxes');
  const outside = path.join(base, 'outside');
  await mkdir(path.join(root, 'tasks', 'active'), { recursive: true });
  await mkdir(path.join(root, 'tasks', 'finished'), { recursive: true });
  await mkdir(sandboxes, { recursive: true });
  await fillDir(outside, { 'precious.txt': 'do not delete', 'nested/deep.txt': 'nor this' });
  const startMs = Date.now();
  const config = { ...compileConfig({ checkpointRoots: [root], mesosRoot: mesos, sandboxRoots: [sandboxes], ...raw }), workers: 0 };
  const taskOptions = (taskId: string, over: TypicalTaskOptions = {}): TypicalTaskOptions => ({
    launchTimeMs: startMs - 2 * HOUR,
    mtimeMs: startMs - HOUR,
    sandbox: path.join(sandboxes, taskId),
    logDir: path.join(base, 'logs', taskId),
    runnerPid: 999_999,
    ...over,
  });
  return {
    base,
    root,
    mesos,
    sandboxes,
    outside,
    startMs,
    config,
    sandbox: (name) => path.join(sandboxes, name),
    taskOptions,
    finished: (id, over) => typicalFinishedTask(id, taskOptions(id, over)),
    active: (id, over) => typicalActiveTask(id, taskOptions(id, over)),
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}

/** Writes `files` (relative path → content) under `dir`. */
export async function fillDir(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, content);
  }
}

/** A `thermos-<taskId>` executor: with a real run dir (linked) or only a dangling `latest` (collected). */
export async function addExecutor(mesos: string, taskId: string, linked: boolean): Promise<void> {
  const runs = path.join(mesos, 'slaves', 'S0', 'frameworks', 'F0', 'executors', `thermos-${taskId}`, 'runs');
  await mkdir(runs, { recursive: true });
  if (linked) await mkdir(path.join(runs, 'R1'));
  await symlink('R1', path.join(runs, 'latest'));
}

/** Sandbox content and log files for a task spec (what the GC may delete, made real). */
export async function addTaskFiles(spec: TaskSpec, sandbox: string | undefined = spec.header?.sandbox): Promise<void> {
  if (sandbox !== undefined && path.isAbsolute(sandbox)) await fillDir(sandbox, { 'data.bin': `data of ${spec.taskId}`, 'sub/more.txt': 'more' });
  const logDir = spec.header?.logDir;
  if (logDir !== undefined && path.isAbsolute(logDir)) {
    for (const name of Object.keys(spec.processes ?? {})) await fillDir(path.join(logDir, name, '0'), { stdout: 'out\n', stderr: '' });
  }
}

/**
 * Every entry under `dir` (relative path → what it is): 'dir', 'link:<target>' or
 * 'file:<content>'. Symlinks are recorded, never followed. Missing dir → empty map.
 */
export async function snapshotTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (p: string, rel: string): Promise<void> => {
    let st;
    try {
      st = await lstat(p);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) out.set(rel, `link:${await readlink(p)}`);
    else if (st.isDirectory()) {
      out.set(rel, 'dir');
      for (const name of (await readdir(p)).sort()) await walk(path.join(p, name), rel === '' ? name : `${rel}/${name}`);
    } else out.set(rel, `file:${(await readFile(p)).toString('utf8')}`);
  };
  await walk(dir, '');
  return out;
}

export async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A debug-level pino logger whose lines land in `lines`. */
export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** Main-thread services over the agent, with no live process (the killer just writes checkpoints). */
export function agentServices(config: GcConfig, logger: Logger): GcServices {
  return createLocalServices({ config, logger, snapshot: async () => buildSnapshot([]), uidForUser: () => undefined });
}

export interface GcOutcome {
  report: GcRunReport;
  driver: RecordingDriver;
  metrics: GcMetrics;
  lines: LogLine[];
}

export interface GcOptions {
  gcTaskId?: string;
  config?: GcConfig;
  startMs?: number;
  /** Replace or wrap services (fault injection). */
  services?: (base: GcServices) => GcServices;
  /** Carried from run to run, as the executor does. */
  repeats?: RepeatedWarnings;
}

/** One full GC task over the agent. */
export async function gc(agent: Agent, retained: ReadonlyMap<string, number>, opts: GcOptions = {}): Promise<GcOutcome> {
  const config = opts.config ?? agent.config;
  const { logger, lines } = recordingLogger();
  const base = agentServices(config, logger);
  const services = opts.services === undefined ? base : opts.services(base);
  const driver = new RecordingDriver();
  const metrics = new GcMetrics();
  const startMs = opts.startMs ?? agent.startMs;
  const report = await runGc(
    { gcTaskId: opts.gcTaskId ?? 'gc-1', retained, startMs },
    { services, driver, clock: new FakeClock(startMs), config, logger, metrics, ...(opts.repeats === undefined ? {} : { repeats: opts.repeats }) },
  );
  return { report, driver, metrics, lines };
}

/** Log lines saying the GC refused to delete something of `taskId`. */
export function refusalsLogged(lines: readonly LogLine[], taskId: string): LogLine[] {
  return lines.filter((l) => l.msg === 'refused to delete' && l.taskId === taskId);
}
