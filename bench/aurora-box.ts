// The executor in the box Aurora gives it: a real cgroup (v1 memory + cpu + cpuacct) with the
// GcExecutorLauncher limits (128 MB, 0.2 CPU), the real `thermos-gc executor` process against the
// agent simulator on a generated dense agent, several GC runs. It measures what the box enforces:
// peak RSS (VmHWM of the process and the cgroup's max usage), OOM kills, CPU seconds (cpuacct),
// throttling, wall time per run, how long a GC task queued mid-run waits to be taken and to
// start, the latency of /metrics (the main thread's responsiveness) and the sandbox's bytes.
//
//   node dist/bench/aurora-box.js --tasks 10000 --runs 3 [--workers N] [--memory 128M] [--cpu 0.2]
//        [--no-limits] [--bin bin/thermos-gc-executor, or a .js run as node X executor] [--json out.json] [--keep] [--preset dense|mesos-history|restarts]
//
// Needs root and cgroup v1 memory/cpu/cpuacct under /sys/fs/cgroup (as on a Mesos agent); the
// cgroups are named tgc-box-<pid>-<n> unless --cgroup-prefix says otherwise, and removed after.
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeAdjustRetainedTasks } from '../src/core/aurora-messages.js';
import { AgentSimulator } from '../src/sim/agent-simulator.js';
import { generatePresetAgent, isAgentPresetName, type AgentPresetName } from '../src/sim/agent-presets.js';
import type { DenseAgent } from '../src/sim/dense-agent.js';
import { createCgroups, readKeyed, readNumber } from './box-cgroup.js';

// As Aurora starts it: bin/thermos-gc-executor (a .js --bin, e.g. a profiling wrapper, is run
// with node and `executor`).
const REPO_BIN = fileURLToPath(new URL('../../bin/thermos-gc-executor', import.meta.url));

export interface BoxOptions {
  tasks: number;
  runs: number;
  /** undefined: the executor's default. */
  workers?: number;
  /** Bytes; undefined with noLimits. */
  memoryBytes?: number;
  /** CPUs (cfs quota / period); undefined with noLimits. */
  cpu?: number;
  bin: string;
  cgroupPrefix: string;
  keep: boolean;
  extraArgs: string[];
  seed: number;
  /** The agent's shape. @default 'dense' */
  preset?: AgentPresetName;
  /** Where the agent is generated. @default os.tmpdir() */
  baseDir?: string;
}

export interface RunMeasure {
  gcTaskId: string;
  /** Launch sent → TASK_FINISHED received (ms). */
  wallMs: number;
  /** TASK_FINISHED's message (a skipped task says so). */
  message?: string;
  /** For runs after the first: launched mid-run of the previous one; send → "GC task queued" logged. */
  queuedAfterMs?: number;
  /** Previous run's summary line → this run's "launching garbage collection" (both logged by the executor). */
  startAfterPreviousMs?: number;
  phaseMs?: Record<string, number>;
  cpuSeconds?: unknown;
  killed?: number;
  deleted?: number;
  updates?: number;
  sandboxBytesAfter: number;
}

export interface BoxResult {
  options: Omit<BoxOptions, 'bin'> & { bin: string };
  exit: { code: number | null; signal: string | null };
  oomKills: number;
  memoryFailcnt: number;
  /** VmHWM: peak RSS, including file-backed pages (the node binary) shared with other processes. */
  peakRssMiB: number;
  /** Peak of RssAnon sampled every 50 ms: the process's own memory, what the cgroup is charged for it. */
  peakAnonRssMiB: number;
  cgroupMaxUsageMiB: number | undefined;
  cpuSecondsTotal: number | undefined;
  throttledPeriods: number | undefined;
  throttledSeconds: number | undefined;
  runs: RunMeasure[];
  metricsLatencyMs: { samples: number; p50: number; p99: number; max: number };
  sandboxBytes: number;
  sandboxFiles: Record<string, number>;
  /** What the executor planned (executor_vars.json), when it says. */
  planned?: { workers?: number; workers_that_fit?: number | null; worker_heap_limit_mb?: number; memory_limit_bytes?: number | null; cpu_limit?: number | null };
  finished: boolean;
  error?: string;
}

/** VmHWM (peak RSS, file-backed pages included) and RssAnon (now) of a process, KiB. */
function memKiB(pid: number): { hwm?: number; anon?: number } {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(text);
    const anon = /^RssAnon:\s+(\d+)\s+kB/m.exec(text);
    const out: { hwm?: number; anon?: number } = {};
    if (hwm !== null) out.hwm = Number(hwm[1]);
    if (anon !== null) out.anon = Number(anon[1]);
    return out;
  } catch {
    return {};
  }
}

/** Bytes of every file under dir (apparent size), and by top-level entry. */
function treeBytes(dir: string): { total: number; byEntry: Record<string, number> } {
  const byEntry: Record<string, number> = {};
  let total = 0;
  const walk = (p: string, top: string): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) walk(path.join(p, e), top);
    } else {
      total += st.size;
      byEntry[top] = (byEntry[top] ?? 0) + st.size;
    }
  };
  for (const e of existsSync(dir) ? readdirSync(dir) : []) walk(path.join(dir, e), e);
  return { total, byEntry };
}

interface LogLine {
  time?: number;
  msg?: string;
  taskId?: string;
  gcTaskId?: string;
  url?: string;
  phaseMs?: Record<string, number>;
  cpuSeconds?: unknown;
  killed?: number;
  deleted?: number;
  updates?: number;
}

const WANTED = new Set(['serving Prometheus metrics', 'launching garbage collection', 'GC task queued', 'garbage collection finished']);

/**
 * Follows the executor's log files (the current one and its rotations) from where it last read,
 * keeping only the few lines the harness looks for: a 10,000-task run writes tens of MiB.
 */
class LogTail {
  private readonly offsets = new Map<string, number>();
  private readonly rest = new Map<string, string>();
  readonly lines: LogLine[] = [];

  constructor(private readonly dir: string) {}

  poll(): void {
    if (!existsSync(this.dir)) return;
    for (const f of readdirSync(this.dir)) {
      const file = path.join(this.dir, f);
      let st;
      try {
        st = lstatSync(file);
      } catch {
        continue;
      }
      if (!st.isFile()) continue;
      // A rotated file is a renamed one: follow inodes, not names (with the birth time: a file
      // created after a rotation may get the inode number of the one the rotation removed).
      const key = `${st.ino}:${st.birthtimeMs}`;
      let off = this.offsets.get(key) ?? 0;
      if (st.size <= off) continue;
      const fd = openSync(file, 'r');
      try {
        const buf = Buffer.alloc(Math.min(st.size - off, 8 << 20));
        const n = readSync(fd, buf, 0, buf.length, off);
        off += n;
        const text = (this.rest.get(key) ?? '') + buf.toString('utf8', 0, n);
        const cut = text.lastIndexOf('\n');
        this.rest.set(key, text.slice(cut + 1));
        for (const line of text.slice(0, cut + 1).split('\n')) {
          if (!line.startsWith('{')) continue;
          const msg = /"msg":"([^"]*)"/.exec(line)?.[1];
          if (msg === undefined || !WANTED.has(msg)) continue;
          try {
            this.lines.push(JSON.parse(line) as LogLine);
          } catch {
            // not a whole line
          }
        }
      } finally {
        closeSync(fd);
      }
      this.offsets.set(key, off);
    }
  }

  find(pred: (l: LogLine) => boolean): LogLine | undefined {
    this.poll();
    return this.lines.find(pred);
  }
}

function httpGetMs(url: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('error', () => resolve(Number.NaN));
    req.setTimeout(30_000, () => req.destroy());
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** Active tasks' checkpoints touched now, so the executor sees their runners as recently alive. */
export async function freshenActive(agent: DenseAgent): Promise<void> {
  const now = new Date();
  const active = new Set(agent.taskIds.active);
  await Promise.all(agent.runnerCheckpoints.filter((p) => active.has(path.basename(path.dirname(p)))).map((p) => utimes(p, now, now)));
}

/** The agent a box run and its floor work on: the same preset and seed give the same trees. */
export async function boxAgent(dir: string, preset: AgentPresetName, tasks: number, seed: number): Promise<DenseAgent> {
  const agent = await generatePresetAgent(dir, preset, { tasks, filesPerSandbox: 8, fileBytes: 1024, seed });
  await freshenActive(agent);
  return agent;
}

/** `--checkpoint-root R` for every root of the agent. */
export function checkpointRootArgs(agent: DenseAgent): string[] {
  return agent.checkpointRoots.flatMap((r) => ['--checkpoint-root', r]);
}

let boxCount = 0;

export async function runInBox(o: BoxOptions): Promise<BoxResult> {
  const dir = await mkdtemp(path.join(o.baseDir ?? os.tmpdir(), 'thermos-gc-box-'));
  const agent = await boxAgent(path.join(dir, 'agent'), o.preset ?? 'dense', o.tasks, o.seed);
  const sandbox = path.join(dir, 'sandbox');
  mkdirSync(sandbox);
  const cg = createCgroups(`${o.cgroupPrefix}${process.pid}-${boxCount++}`, o.memoryBytes, o.cpu);
  const sim = await AgentSimulator.start();
  const result: BoxResult = {
    options: o,
    exit: { code: null, signal: null },
    oomKills: 0,
    memoryFailcnt: 0,
    peakRssMiB: 0,
    peakAnonRssMiB: 0,
    cgroupMaxUsageMiB: undefined,
    cpuSecondsTotal: undefined,
    throttledPeriods: undefined,
    throttledSeconds: undefined,
    runs: [],
    metricsLatencyMs: { samples: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN },
    sandboxBytes: 0,
    sandboxFiles: {},
    finished: false,
  };
  // As Mesos does: the executor's stdout and stderr are files in its sandbox.
  const outFd = openSync(path.join(sandbox, 'stdout'), 'a');
  const errFd = openSync(path.join(sandbox, 'stderr'), 'a');
  const args = [
    ...checkpointRootArgs(agent), '--mesos-root', agent.mesosRoot, '--sandbox-root', agent.sandboxRoot,
    '--persistence-wait', '100ms', '--poll-wait', '1h', '--metrics-port', '0',
    ...(o.workers === undefined ? [] : ['--workers', String(o.workers)]),
    ...o.extraArgs,
  ];
  const join = Object.values(cg.names).map((d) => `echo $$ > ${path.join(d, 'cgroup.procs')}`).join(' && ');
  const command = o.bin.endsWith('.js') ? [process.execPath, o.bin, 'executor'] : [o.bin];
  const child = sim.spawnExecutor(['/bin/sh', '-c', `${join} && exec "$0" "$@"`, ...command, ...args], {
    sandbox,
    recoveryTimeout: '10mins',
    shutdownGracePeriod: '30secs',
    stdio: ['ignore', outFd, errFd],
    // The launcher runs `node` from PATH: this very node.
    env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` },
  });
  closeSync(outFd);
  closeSync(errFd);
  const pid = child.pid as number;
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let alive = true;
  void exited.then(() => (alive = false));

  let peakKiB = 0;
  let peakAnonKiB = 0;
  const rssTimer = setInterval(() => {
    const v = memKiB(pid);
    if (v.hwm !== undefined) peakKiB = Math.max(peakKiB, v.hwm);
    if (v.anon !== undefined) peakAnonKiB = Math.max(peakAnonKiB, v.anon);
  }, 50);
  const latencies: number[] = [];
  let probing = false;
  let metricsUrl: string | undefined;
  const probeLoop = (async (): Promise<void> => {
    while (alive) {
      if (probing && metricsUrl !== undefined) {
        const ms = await httpGetMs(`${metricsUrl}`);
        if (Number.isFinite(ms)) latencies.push(ms);
      }
      await sleep(250);
    }
  })();

  const fail = (why: string): never => {
    throw new Error(why);
  };
  const finishedOf = (id: string): boolean => sim.updates.some((u) => u.status.task_id.value === id && u.status.state === 'TASK_FINISHED');
  const tail = new LogTail(path.join(sandbox, 'executor_logs'));
  const logTime = (msg: string, taskId: string): number | undefined => tail.find((l) => l.msg === msg && l.taskId === taskId)?.time;
  try {
    await Promise.race([sim.waitFor(() => sim.subscribed, 120_000, 'the executor to subscribe'), exited.then(() => fail('executor exited before subscribing'))]);
    for (let i = 0; i < 200 && metricsUrl === undefined; i++) {
      metricsUrl = tail.find((l) => l.msg === 'serving Prometheus metrics')?.url;
      if (metricsUrl === undefined) await sleep(50);
    }
    probing = true;
    const data = encodeAdjustRetainedTasks(agent.retained);
    const finishTimes: number[] = [];
    let launchedAt = Date.now();
    sim.launch('gc-1', data);
    for (let k = 1; k <= o.runs; k++) {
      const id = `gc-${k}`;
      const next = `gc-${k + 1}`;
      let nextSentAt: number | undefined;
      const started = Date.now();
      while (!finishedOf(id)) {
        if (!alive) fail(`executor exited during ${id}`);
        // Read the log as it grows: at 10,000 tasks a run rotates the log files more than once.
        tail.poll();
        // Queue the next run in the middle of this one (once this one is under way).
        if (k < o.runs && nextSentAt === undefined && logTime('launching garbage collection', id) !== undefined && Date.now() - started > 1_000) {
          nextSentAt = Date.now();
          sim.launch(next, data);
        }
        await sleep(50);
      }
      const finishedAt = Date.now();
      const m: RunMeasure = { gcTaskId: id, wallMs: finishedAt - launchedAt, sandboxBytesAfter: treeBytes(sandbox).total };
      const fin = sim.updates.find((u) => u.status.task_id.value === id && u.status.state === 'TASK_FINISHED');
      if (fin?.status.message !== undefined) m.message = fin.status.message;
      // The executor's own summary line: its figures, and when it finished (updates to the agent may lag).
      let summaryLine: LogLine | undefined;
      for (let i = 0; i < 200 && summaryLine === undefined; i++) {
        summaryLine = tail.find((l) => l.msg === 'garbage collection finished' && l.gcTaskId === id);
        if (summaryLine === undefined) await sleep(50);
      }
      if (summaryLine !== undefined) {
        if (summaryLine.phaseMs !== undefined) m.phaseMs = summaryLine.phaseMs;
        if (summaryLine.cpuSeconds !== undefined) m.cpuSeconds = summaryLine.cpuSeconds;
        if (summaryLine.killed !== undefined) m.killed = summaryLine.killed;
        if (summaryLine.deleted !== undefined) m.deleted = summaryLine.deleted;
        if (summaryLine.updates !== undefined) m.updates = summaryLine.updates;
      }
      if (k === 1 && summaryLine?.time !== undefined) m.wallMs = summaryLine.time - launchedAt;
      if (k > 1) {
        const queued = logTime('GC task queued', id);
        const prevFinish = finishTimes.at(-1);
        if (queued !== undefined) m.queuedAfterMs = queued - launchedAt;
        const launched = logTime('launching garbage collection', id);
        if (launched !== undefined && prevFinish !== undefined) m.startAfterPreviousMs = launched - prevFinish;
        // wall time of a queued run counts from when it started, to its summary line
        if (launched !== undefined) m.wallMs = (summaryLine?.time ?? finishedAt) - launched;
      }
      finishTimes.push(summaryLine?.time ?? finishedAt);
      result.runs.push(m);
      if (k < o.runs && nextSentAt === undefined) {
        // The run ended before it could be interrupted: queue the next one now.
        sim.launch(next, data);
        nextSentAt = Date.now();
      }
      launchedAt = nextSentAt ?? Date.now();
    }
    probing = false;
    // Let the post-run orphan pass settle.
    await sleep(1_000);
    result.cpuSecondsTotal = (readNumber(path.join(cg.names.cpuacct, 'cpuacct.usage')) ?? Number.NaN) / 1e9;
    sim.shutdown();
    // A deadline for the exit that does not itself keep this process alive once the executor is gone.
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<{ code: null; signal: string }>((resolve) => {
      deadline = setTimeout(() => resolve({ code: null, signal: 'timeout' }), 60_000);
    });
    result.exit = await Promise.race([exited, timedOut]);
    clearTimeout(deadline);
    result.finished = true;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    if (alive) child.kill('SIGKILL');
    result.exit = await exited;
  } finally {
    clearInterval(rssTimer);
    alive = false;
    await probeLoop;
    const oom = readKeyed(path.join(cg.names.memory, 'memory.oom_control'));
    result.oomKills = oom.oom_kill ?? 0;
    result.memoryFailcnt = readNumber(path.join(cg.names.memory, 'memory.failcnt')) ?? 0;
    const maxUsage = readNumber(path.join(cg.names.memory, 'memory.max_usage_in_bytes'));
    result.cgroupMaxUsageMiB = maxUsage === undefined ? undefined : maxUsage / 2 ** 20;
    result.cpuSecondsTotal ??= (readNumber(path.join(cg.names.cpuacct, 'cpuacct.usage')) ?? Number.NaN) / 1e9;
    const stat = readKeyed(path.join(cg.names.cpu, 'cpu.stat'));
    result.throttledPeriods = stat.nr_throttled;
    result.throttledSeconds = stat.throttled_time === undefined ? undefined : stat.throttled_time / 1e9;
    result.peakRssMiB = peakKiB / 1024;
    result.peakAnonRssMiB = peakAnonKiB / 1024;
    const sorted = [...latencies].sort((a, b) => a - b);
    result.metricsLatencyMs = { samples: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN };
    try {
      const vars = JSON.parse(readFileSync(path.join(sandbox, 'executor_vars.json'), 'utf8')) as Record<string, number | null>;
      result.planned = {};
      for (const k of ['workers', 'workers_that_fit', 'worker_heap_limit_mb', 'memory_limit_bytes', 'cpu_limit'] as const) {
        if (k in vars) (result.planned as Record<string, number | null | undefined>)[k] = vars[k];
      }
    } catch {
      // an older executor, or none written
    }
    const bytes = treeBytes(sandbox);
    result.sandboxBytes = bytes.total;
    result.sandboxFiles = bytes.byEntry;
    await sim.stop();
    cg.remove();
    if (!o.keep) await rm(dir, { recursive: true, force: true });
    else result.options = { ...o, baseDir: dir };
  }
  return result;
}

function parseSizeArg(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)i?b?$/i.exec(text.trim());
  if (m === null) throw new Error(`not a size: ${text}`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * scale);
}

function summary(r: BoxResult): string {
  const lines = [
    `tasks ${r.options.tasks}, workers ${r.options.workers ?? 'default'}, limits ${r.options.memoryBytes === undefined ? 'none' : `${r.options.memoryBytes / 2 ** 20} MiB`} / ${r.options.cpu ?? 'none'} CPU`,
    `  exit ${JSON.stringify(r.exit)}, finished ${r.finished}${r.error === undefined ? '' : `, error: ${r.error}`}${r.planned === undefined ? '' : `, planned ${JSON.stringify(r.planned)}`}`,
    `  OOM kills ${r.oomKills}, peak RSS ${r.peakRssMiB.toFixed(1)} MiB (anon ${r.peakAnonRssMiB.toFixed(1)} MiB), cgroup max usage ${r.cgroupMaxUsageMiB?.toFixed(1) ?? '-'} MiB`,
    `  CPU ${r.cpuSecondsTotal?.toFixed(2) ?? '-'} s total, throttled ${r.throttledPeriods ?? '-'} periods / ${r.throttledSeconds?.toFixed(1) ?? '-'} s`,
    `  /metrics latency during runs: p50 ${r.metricsLatencyMs.p50.toFixed(0)} ms, p99 ${r.metricsLatencyMs.p99.toFixed(0)} ms, max ${r.metricsLatencyMs.max.toFixed(0)} ms (${r.metricsLatencyMs.samples} samples)`,
    `  sandbox ${(r.sandboxBytes / 2 ** 20).toFixed(2)} MiB: ${Object.entries(r.sandboxFiles).map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(2)}`).join(', ')}`,
  ];
  for (const run of r.runs) {
    lines.push(
      `  ${run.gcTaskId}${run.message !== undefined && !run.message.startsWith('Garbage collection finished') ? ` [${run.message}]` : ''}: wall ${(run.wallMs / 1000).toFixed(1)} s${run.queuedAfterMs === undefined ? '' : `, queued after ${run.queuedAfterMs} ms`}${run.startAfterPreviousMs === undefined ? '' : `, started ${run.startAfterPreviousMs} ms after the previous run`}, phases ${JSON.stringify(run.phaseMs ?? {})}, cpu ${JSON.stringify(run.cpuSeconds ?? null)}, killed ${run.killed ?? '-'}, deleted ${run.deleted ?? '-'}, sandbox after ${(run.sandboxBytesAfter / 2 ** 20).toFixed(2)} MiB`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string', default: '10000' },
      runs: { type: 'string', default: '3' },
      workers: { type: 'string' },
      memory: { type: 'string', default: '128M' },
      cpu: { type: 'string', default: '0.2' },
      'no-limits': { type: 'boolean', default: false },
      bin: { type: 'string', default: REPO_BIN },
      'cgroup-prefix': { type: 'string', default: 'tgc-box-' },
      json: { type: 'string' },
      keep: { type: 'boolean', default: false },
      seed: { type: 'string', default: '11' },
      preset: { type: 'string', default: 'dense' },
      dir: { type: 'string' },
      arg: { type: 'string', multiple: true },
    },
  });
  const noLimits = values['no-limits'] === true;
  const o: BoxOptions = {
    tasks: Number(values.tasks),
    runs: Number(values.runs),
    bin: path.resolve(values.bin ?? REPO_BIN),
    cgroupPrefix: values['cgroup-prefix'] ?? 'tgc-box-',
    keep: values.keep === true,
    extraArgs: values.arg ?? [],
    seed: Number(values.seed),
  };
  if (values.dir !== undefined) o.baseDir = values.dir;
  const preset = values.preset ?? 'dense';
  if (!isAgentPresetName(preset)) throw new Error(`unknown --preset ${preset}`);
  o.preset = preset;
  if (values.workers !== undefined) o.workers = Number(values.workers);
  if (!noLimits) {
    o.memoryBytes = parseSizeArg(values.memory ?? '128M');
    o.cpu = Number(values.cpu);
  }
  const r = await runInBox(o);
  process.stdout.write(summary(r));
  if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(r, null, 2)}\n`);
  if (!r.finished || r.oomKills > 0) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
