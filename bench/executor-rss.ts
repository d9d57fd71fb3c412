// Peak memory of the WHOLE executor process through one GC run: a generated dense agent, the
// agent simulator on loopback, the real `thermos-gc executor` process (optionally inside a cgroup
// v1 memory limit), one GC task with the agent's scheduler view, then SHUTDOWN. VmHWM is polled
// from /proc/<pid>/status until the process exits (it only grows, so the last read is the peak).
//
//   node dist/bench/executor-rss.js --tasks 10000 --workers 0 [--memory-limit 128M] [--dir D]
//
// Prints one JSON line; `executorRss()` is what the bench suite calls.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeAdjustRetainedTasks } from '../src/core/aurora-messages.js';
import { AgentSimulator } from '../src/sim/agent-simulator.js';
import { generateAgent, type DenseAgent } from '../src/sim/dense-agent.js';

const BIN = fileURLToPath(new URL('../../bin/thermos-gc.js', import.meta.url));
const MEMORY_CGROUP_ROOT = '/sys/fs/cgroup/memory';
const GC_TASK_ID = 'system-gc-rss-0001';

export interface ExecutorRssOptions {
  tasks: number;
  /** undefined: the executor's default. */
  workers?: number;
  /** Bytes; run inside a fresh cgroup v1 memory cgroup with this limit. */
  memoryLimitBytes?: number;
  /** cgroup name (under the memory hierarchy) when memoryLimitBytes is set. */
  cgroupName?: string;
  baseDir?: string;
  filesPerSandbox?: number;
  /** Extra executor flags. */
  flags?: string[];
}

export interface ExecutorRssResult {
  tasks: number;
  workers: number | 'default';
  memoryLimitMiB?: number;
  /** Peak resident set of the executor process (VmHWM). */
  vmHwmMiB: number;
  /** Resident set once subscribed and past its startup orphan pass, before the GC task. */
  idleRssMiB: number | undefined;
  /** The cgroup's peak charge (RSS + page cache the kernel charged to it). */
  cgroupMaxUsageMiB?: number;
  oomKills?: number;
  runMs: number;
  exitCode: number | null;
  signal: string | null;
  deleted: number;
  updates: number;
}

function vmRssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

function vmHwmKiB(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Live tasks write their checkpoints: fresh mtimes keep the startup orphan pass off them. */
async function freshenActiveRunners(agent: DenseAgent): Promise<void> {
  const now = new Date();
  const active = new Set(agent.taskIds.active);
  await Promise.all(agent.runnerCheckpoints.filter((p) => active.has(path.basename(path.dirname(p)))).map((p) => utimes(p, now, now)));
}

function makeCgroup(name: string, limitBytes: number): string {
  const dir = path.join(MEMORY_CGROUP_ROOT, name);
  if (!existsSync(dir)) mkdirSync(dir);
  writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(limitBytes));
  // No swap on these machines; where there is, the limit must cover it too.
  try {
    writeFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes));
  } catch {
    // memsw accounting off: nothing to limit.
  }
  return dir;
}

function oomKills(dir: string): number {
  const m = /^oom_kill (\d+)/m.exec(readFileSync(path.join(dir, 'memory.oom_control'), 'utf8'));
  return m === null ? 0 : Number(m[1]);
}

export async function executorRss(opts: ExecutorRssOptions): Promise<ExecutorRssResult> {
  const base = await mkdtemp(path.join(opts.baseDir ?? tmpdir(), 'thermos-gc-rss-'));
  let sim: AgentSimulator | undefined;
  let cgroupDir: string | undefined;
  try {
    const agent = await generateAgent(path.join(base, 'agent'), { tasks: opts.tasks, filesPerSandbox: opts.filesPerSandbox ?? 2, fileBytes: 256, seed: 17 });
    await freshenActiveRunners(agent);
    const sandbox = path.join(base, 'executor-sandbox');
    await mkdir(sandbox);
    sim = await AgentSimulator.start();
    const flags = ['--checkpoint-root', agent.checkpointRoot, '--mesos-root', agent.mesosRoot, '--sandbox-root', agent.sandboxRoot];
    if (opts.workers !== undefined) flags.push('--workers', String(opts.workers));
    const command = [process.execPath, BIN, 'executor', ...flags, '--poll-wait', '1h', '--persistence-wait', '200ms', ...(opts.flags ?? [])];
    let argv: string[] = command;
    if (opts.memoryLimitBytes !== undefined) {
      cgroupDir = makeCgroup(opts.cgroupName ?? `tgc-rss-${process.pid}`, opts.memoryLimitBytes);
      // The shell joins the cgroup, then becomes the executor: the same pid, charged from its start.
      argv = ['/bin/sh', '-c', `echo $$ > ${path.join(cgroupDir, 'cgroup.procs')} && exec "$@"`, 'sh', ...command];
    }
    const child = sim.spawnExecutor(argv, { sandbox, recoveryTimeout: '10secs', shutdownGracePeriod: '30secs', stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
    const pid = child.pid as number;
    let peakKiB = 0;
    const poll = setInterval(() => {
      const v = vmHwmKiB(pid);
      if (v !== undefined && v > peakKiB) peakKiB = v;
    }, 20);
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const theSim = sim;
    const until = async (pred: () => boolean, what: string, timeoutMs: number): Promise<boolean> => {
      const died = exited.then(() => false);
      return Promise.race([theSim.waitFor(pred, timeoutMs, what).then(() => true), died]);
    };
    let runMs = NaN;
    let idleKiB: number | undefined;
    if (await until(() => theSim.subscribed, 'subscribe', 60_000)) {
      // Let the startup orphan pass finish: what the executor holds before its first GC task.
      await new Promise((r) => setTimeout(r, 1_000));
      idleKiB = vmRssKiB(pid);
      const t0 = Date.now();
      theSim.launch(GC_TASK_ID, encodeAdjustRetainedTasks(agent.retained));
      const isGc = (id: string): boolean => id === GC_TASK_ID;
      if (await until(() => theSim.updates.some((u) => isGc(u.status.task_id.value) && u.status.state === 'TASK_FINISHED'), 'TASK_FINISHED', 1_800_000)) {
        runMs = Date.now() - t0;
        theSim.shutdown();
      }
    }
    const end = await exited;
    clearInterval(poll);
    const updates = theSim.updates.filter((u) => u.status.task_id.value !== GC_TASK_ID).length;
    let deleted = 0;
    try {
      const report = JSON.parse(readFileSync(path.join(sandbox, 'last_gc_run.json'), 'utf8')) as { deleted?: unknown[]; truncated?: { deleted?: number } };
      deleted = (report.deleted?.length ?? 0) + (report.truncated?.deleted ?? 0);
    } catch {
      deleted = -1;
    }
    const result: ExecutorRssResult = {
      tasks: opts.tasks,
      workers: opts.workers ?? 'default',
      vmHwmMiB: Math.round((peakKiB / 1024) * 10) / 10,
      idleRssMiB: idleKiB === undefined ? undefined : Math.round((idleKiB / 1024) * 10) / 10,
      runMs,
      exitCode: end.code,
      signal: end.signal,
      deleted,
      updates,
    };
    if (cgroupDir !== undefined && opts.memoryLimitBytes !== undefined) {
      result.memoryLimitMiB = opts.memoryLimitBytes / 2 ** 20;
      result.cgroupMaxUsageMiB = Math.round((Number(readFileSync(path.join(cgroupDir, 'memory.max_usage_in_bytes'), 'utf8')) / 2 ** 20) * 10) / 10;
      result.oomKills = oomKills(cgroupDir);
    }
    if (end.code !== 0) process.stderr.write(`executor exited ${end.code ?? end.signal}:\n${stderr}\n`);
    return result;
  } finally {
    await sim?.stop();
    if (cgroupDir !== undefined) {
      try {
        rmdirSync(cgroupDir);
      } catch {
        // still has a member for a moment after exit; the caller's prefix cleanup gets it
      }
    }
    await rm(base, { recursive: true, force: true });
  }
}

function canMakeCgroups(): boolean {
  try {
    const probe = path.join(MEMORY_CGROUP_ROOT, `tgc-rss-probe-${process.pid}`);
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

/** The bench suite: peak RSS of the whole executor per worker count, and a large agent inside 128 MB. */
export async function executorRssBench(ctx: { quick: boolean; baseDir: string }): Promise<ExecutorRssResult[]> {
  const out: ExecutorRssResult[] = [];
  const sizes = ctx.quick ? [{ tasks: 200, workers: [0] }] : [{ tasks: 10_000, workers: [0, 1, 2] }];
  for (const { tasks, workers } of sizes) {
    for (const w of workers) out.push(await executorRss({ tasks, workers: w, baseDir: ctx.baseDir }));
  }
  if (!ctx.quick) {
    if (canMakeCgroups()) {
      for (const w of [0, 1]) out.push(await executorRss({ tasks: 50_000, workers: w, baseDir: ctx.baseDir, memoryLimitBytes: 128 * 2 ** 20, cgroupName: `tgc-rss-${process.pid}-${w}` }));
    } else {
      console.log('\nexecutor inside a 128 MB memory cgroup: SKIPPED (cannot create cgroups under /sys/fs/cgroup/memory here)');
    }
  }
  return out;
}

function parseSize(text: string): number {
  const m = /^(\d+)([KMG]?)$/i.exec(text);
  if (m === null) throw new Error(`bad size ${text}`);
  const unit = { '': 1, K: 1024, M: 2 ** 20, G: 2 ** 30 }[(m[2] ?? '').toUpperCase()] as number;
  return Number(m[1]) * unit;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string', default: '10000' },
      workers: { type: 'string' },
      'memory-limit': { type: 'string' },
      cgroup: { type: 'string' },
      dir: { type: 'string' },
      files: { type: 'string' },
    },
  });
  const o: ExecutorRssOptions = { tasks: Number(values.tasks) };
  if (values.workers !== undefined) o.workers = Number(values.workers);
  if (values['memory-limit'] !== undefined) o.memoryLimitBytes = parseSize(values['memory-limit']);
  if (values.cgroup !== undefined) o.cgroupName = values.cgroup;
  if (values.dir !== undefined) o.baseDir = values.dir;
  if (values.files !== undefined) o.filesPerSandbox = Number(values.files);
  process.stdout.write(`${JSON.stringify(await executorRss(o))}\n`);
}
