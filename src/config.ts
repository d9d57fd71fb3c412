// Durations and limits in one place. Raw flags and environment are compiled into one frozen
// GcConfig with explicit units; process.env is read only at the edge (the CLI passes it in).
import { availableParallelism } from 'node:os';
import { parseCpus, parseDuration, parseInt10, parseShare, parseSize } from './config-values.js';
import { UsageError } from './errors.js';

export { parseCpus, parseDuration, parseShare, parseSize } from './config-values.js';

export interface GcConfig {
  /** @default 10 min: a task younger than this (from the GC task's receive time) is never killed. */
  readonly minimumKillAgeMs: number;
  /** @default 5 min: wait between loop iterations. */
  readonly pollWaitMs: number;
  /** @default 1 h: a dead runner's checkpoint modified within this is left alone. */
  readonly maxCheckpointDriftMs: number;
  /** @default 10 s: a pid is ours only if it started within this of the recorded time. */
  readonly maxPidDriftMs: number;
  /** @default 1 day: the executor exits after this long. */
  readonly maxLifetimeMs: number;
  /** @default 0 (never): exit after this long without a GC task. */
  readonly maxIdleMs: number;
  /** @default 5 s: wait after the last update before closing the connection. */
  readonly persistenceWaitMs: number;
  /** @default ['/var/run/thermos'] */
  readonly checkpointRoots: readonly string[];
  /** @default '/var/lib/mesos' */
  readonly mesosRoot: string;
  /** @default [mesosRoot]: sandbox deletion is allowed only inside these. */
  readonly sandboxRoots: readonly string[];
  /**
   * @default derived from the box (see planResources): min(cores, 8, what the CPU quota allows,
   * what fits the memory limit). Every thread is a V8 isolate (WORKER_MEMORY_BYTES), and a 64-core
   * agent does not need 64 of them to keep its disk busy. 0 runs everything on the main thread. An
   * explicit count that does not fit the memory limit is capped (with a warning in `resources`).
   */
  readonly workers: number;
  /** Derived: each worker thread's V8 old-generation limit (Piscina resourceLimits), in MiB. */
  readonly workerHeapMb: number;
  /** @default the cgroup's (undefined: none): overrides the memory limit the box is planned for. */
  readonly memoryLimitBytes: number | undefined;
  /** @default the cgroup's CFS quota in CPUs (undefined: none): overrides it (e.g. 0.2). */
  readonly cpuLimit: number | undefined;
  /** @default 8: tasks killed at once (each waits for its runner's checkpoint lock on its own). */
  readonly killParallelism: number;
  /** @default 2 MiB: executor_logs/thermos-gc.log is rotated when it would grow past this. */
  readonly logFileBytes: number;
  /** @default 3: log files kept (the current one and 2 rotated ones). */
  readonly logFiles: number;
  /**
   * @default 1 MiB: stderr (kept in the sandbox, unrotated, by Mesos) gets warnings and errors
   * until this much was written, then one line saying so; the log file keeps everything.
   */
  readonly stderrLogBytes: number;
  /** @default 256 tasks per worker message. */
  readonly batchSize: number;
  /** @default 8 trees deleted at once. */
  readonly deleteParallelism: number;
  /** @default 0.5: a GC task that would kill more than this share of active tasks kills none. */
  readonly killBudget: number;
  /** @default 10 s: how long to wait for a killed runner's checkpoint lock. */
  readonly lockTimeoutMs: number;
  /** @default undefined (off): disk-pressure GC starts above this used share (0..1). */
  readonly diskHigh: number | undefined;
  readonly diskLow: number | undefined;
  readonly inodeHigh: number | undefined;
  readonly inodeLow: number | undefined;
  /** @default undefined (off): serve Prometheus metrics on this port. */
  readonly metricsPort: number | undefined;
  /** What the box allows and what was derived from it (logged at start, exported with the metrics). */
  readonly resources: ResourcePlan;
}

export type ConfigKey = keyof GcConfig;
type Kind = 'duration' | 'int' | 'share' | 'path' | 'paths' | 'port' | 'size' | 'cpus';

interface OptionSpec {
  key: ConfigKey;
  flag: string;
  env: string;
  kind: Kind;
}

/** Every configurable value: its flag and its environment variable. */
export const CONFIG_OPTIONS: readonly OptionSpec[] = [
  { key: 'minimumKillAgeMs', flag: 'minimum-kill-age', env: 'THERMOS_GC_MINIMUM_KILL_AGE', kind: 'duration' },
  { key: 'pollWaitMs', flag: 'poll-wait', env: 'THERMOS_GC_POLL_WAIT', kind: 'duration' },
  { key: 'maxCheckpointDriftMs', flag: 'max-checkpoint-drift', env: 'THERMOS_GC_MAX_CHECKPOINT_DRIFT', kind: 'duration' },
  { key: 'maxPidDriftMs', flag: 'max-pid-drift', env: 'THERMOS_GC_MAX_PID_DRIFT', kind: 'duration' },
  { key: 'maxLifetimeMs', flag: 'max-lifetime', env: 'THERMOS_GC_MAX_LIFETIME', kind: 'duration' },
  { key: 'maxIdleMs', flag: 'max-idle', env: 'THERMOS_GC_MAX_IDLE', kind: 'duration' },
  { key: 'persistenceWaitMs', flag: 'persistence-wait', env: 'THERMOS_GC_PERSISTENCE_WAIT', kind: 'duration' },
  { key: 'checkpointRoots', flag: 'checkpoint-root', env: 'THERMOS_GC_CHECKPOINT_ROOT', kind: 'paths' },
  { key: 'mesosRoot', flag: 'mesos-root', env: 'THERMOS_GC_MESOS_ROOT', kind: 'path' },
  { key: 'sandboxRoots', flag: 'sandbox-root', env: 'THERMOS_GC_SANDBOX_ROOT', kind: 'paths' },
  { key: 'workers', flag: 'workers', env: 'THERMOS_GC_WORKERS', kind: 'int' },
  { key: 'batchSize', flag: 'batch-size', env: 'THERMOS_GC_BATCH_SIZE', kind: 'int' },
  { key: 'deleteParallelism', flag: 'delete-parallelism', env: 'THERMOS_GC_DELETE_PARALLELISM', kind: 'int' },
  { key: 'killBudget', flag: 'kill-budget', env: 'THERMOS_GC_KILL_BUDGET', kind: 'share' },
  { key: 'lockTimeoutMs', flag: 'lock-timeout', env: 'THERMOS_GC_LOCK_TIMEOUT', kind: 'duration' },
  { key: 'diskHigh', flag: 'disk-high', env: 'THERMOS_GC_DISK_HIGH', kind: 'share' },
  { key: 'diskLow', flag: 'disk-low', env: 'THERMOS_GC_DISK_LOW', kind: 'share' },
  { key: 'inodeHigh', flag: 'inode-high', env: 'THERMOS_GC_INODE_HIGH', kind: 'share' },
  { key: 'inodeLow', flag: 'inode-low', env: 'THERMOS_GC_INODE_LOW', kind: 'share' },
  { key: 'metricsPort', flag: 'metrics-port', env: 'THERMOS_GC_METRICS_PORT', kind: 'port' },
  { key: 'memoryLimitBytes', flag: 'memory-limit', env: 'THERMOS_GC_MEMORY_LIMIT', kind: 'size' },
  { key: 'cpuLimit', flag: 'cpu-limit', env: 'THERMOS_GC_CPU_LIMIT', kind: 'cpus' },
  { key: 'killParallelism', flag: 'kill-parallelism', env: 'THERMOS_GC_KILL_PARALLELISM', kind: 'int' },
  { key: 'logFileBytes', flag: 'log-file-size', env: 'THERMOS_GC_LOG_FILE_SIZE', kind: 'size' },
  { key: 'logFiles', flag: 'log-files', env: 'THERMOS_GC_LOG_FILES', kind: 'int' },
  { key: 'stderrLogBytes', flag: 'stderr-log-limit', env: 'THERMOS_GC_STDERR_LOG_LIMIT', kind: 'size' },
];

const MINUTE = 60_000;
const MIB = 2 ** 20;

// ---- The box: what the worker count and the worker heaps are derived from ----

/** The default never starts more threads than this, whatever the core count. */
export const MAX_DEFAULT_WORKERS = 8;
/**
 * What one worker thread adds to the process's RSS while it works: 20 MiB. Measured with
 * `node dist/bench/worker-cost.js --tasks 10000` (2 cores, Node 20.20, young generation 8 MiB):
 * RSS of a process holding the pool, N threads started and idle, then the peak during full scans
 * of a 10,000-task agent (every checkpoint replayed, the Mesos run dirs walked):
 * idle 67.4 / 79.6 / 90.8 / 113 MiB and busy 105 / 116 / 144 / 185 MiB for N = 0 / 1 / 2 / 4,
 * i.e. ~11.7 MiB per idle thread (WORKER_IDLE_MEMORY_BYTES) and ~20 MiB per busy one.
 */
export const WORKER_MEMORY_BYTES = 20 * MIB;
export const WORKER_IDLE_MEMORY_BYTES = 12 * MIB;
/**
 * What the main thread holds at its peak during a GC run at 10,000 tasks when the heavy jobs run
 * in a worker: ~85 MiB. Measured in Aurora's box (`node dist/bench/aurora-box.js --tasks 10000
 * --workers 1`, 128 MB / 0.2 CPU cgroup): peak anonymous RSS of the process 98.4 / 104.9 / 103.7
 * MiB in three tries, less one busy worker (~20 MiB). With no worker the main thread does the
 * jobs itself and peaked higher there (anon 114.3 / 115.9 MiB), and far higher with no limit
 * (181 MiB: V8 collects lazily when nothing presses): re-measure when the scan and deletion
 * stream (issue 11 item 3).
 */
export const MAIN_THREAD_MEMORY_BYTES = 85 * MIB;
/**
 * Share of the memory limit the process plans to use: the kernel charges the page cache of the
 * files the GC reads and deletes to the same cgroup (96 MiB of Aurora's 128 MB).
 */
export const MEMORY_BUDGET_SHARE = 0.75;
/**
 * Share of the memory limit a worker's heap limit is cut from: a runaway batch is stopped by V8
 * before the process reaches the cgroup's limit (the page cache gives way first).
 */
export const WORKER_HEAP_SHARE = 0.9;
/**
 * Workers under a CPU quota below one CPU (Aurora's 0.2): 0. Measured at 10,000 tasks in a
 * 128 MB / 0.2 CPU cgroup (bench/aurora-box.ts, three tries each, shared 2-core machine), first
 * GC run with 0 / 1 worker: wall 110-124 s / 115-118 s; CPU 21.6-24.1 s / 22.4-23.1 s; peak
 * anonymous RSS 105-116 MiB / 98-105 MiB; /metrics latency p99 360-540 ms / 450-690 ms, max
 * 2.9-5.7 s / 5.3-5.7 s; cgroup throttled in 1,230-1,380 / 1,220-1,300 periods. A thread adds no
 * CPU under a quota the process already uses up (CFS throttles the whole cgroup), and no time,
 * CPU or latency win showed; the memory ranges overlap. So no thread: nothing to start, nothing
 * to clone across, one heap.
 */
export const LOW_CPU_WORKERS = 0;
/** V8 young generation of each worker: a batch's garbage is small and short-lived. */
export const WORKER_YOUNG_GENERATION_MB = 8;
/**
 * Work on the main thread (`--workers 0`: checkpoint reads, deletion) runs plain syscalls and gives
 * the event loop a turn after this much, so the agent connection and /metrics never wait longer.
 */
export const INLINE_SLICE_MS = 10;
/**
 * Deletion targets per worker message (at most; `batchSize` when smaller). A batch is deleted on
 * one thread, so the last batches decide when a deletion ends: at ~150 µs an entry on this disk,
 * a batch of 256 tasks (~4,600 entries with their logs and checkpoints) kept one thread busy for
 * ~0.7 s after the other had run out of work. On the main thread the batch size stays.
 */
export const THREAD_DELETE_BATCH = 32;
/**
 * Task ids kept per list in last_gc_run.json (the rest counted in `truncated`): at 50,000 tasks
 * the full lists took ~3 MB of the sandbox's 16 MB; every deleted task is in the log at info.
 */
export const LAST_RUN_MAX_IDS = 5_000;
/**
 * Unusable runner checkpoints named one per line per run (the rest are counted by error code in
 * one summary line, and named at debug): on an agent where one task in eight has a checkpoint a
 * killed runner left undecodable, 1,250 warn lines per run would push the executor's own log out
 * of its 16 MB sandbox and say nothing the counts do not.
 */
export const UNUSABLE_CHECKPOINTS_NAMED = 20;
/**
 * Tasks a GC run reads (and decides) per readFacts call, at least (with worker threads, two
 * deletion windows: enough batches for every thread). At most two chunks' full facts exist at
 * once; the rest of the agent is only what its decisions keep (executor/gc-scan.ts).
 */
export const SCAN_CHUNK_TASKS = 1024;
export const MIN_WORKER_HEAP_MB = 24;
/** With no memory limit: still a bound, so one runaway batch cannot take the node's memory. */
export const MAX_WORKER_HEAP_MB = 512;

export type CgroupVersion = 'v1' | 'v2';

/** A cgroup's limits as core/cgroup.ts reads them (absent: no limit). */
export interface CgroupLimits {
  memoryBytes?: number;
  memorySource?: string;
  /** CPUs the quota allows per period (0.2 for 20 ms per 100 ms). */
  cpu?: number;
  cpuSource?: string;
  /** The process's cgroup of each controller, as /proc/self/cgroup names it. */
  memoryCgroup?: string;
  cpuCgroup?: string;
  version?: CgroupVersion;
  /** Files that exist but could not be read or parsed (not "absent"). */
  problems?: string[];
}

/** What the process finds about its box: the core count and its cgroup's limits. */
export interface BoxFacts {
  /** os.availableParallelism() (the CPU affinity mask, not the quota). */
  cores: number;
  cgroup: CgroupLimits;
}

export interface ResourcePlan {
  cores: number;
  /** The cgroup's limits as read (absent: none). */
  found: CgroupLimits;
  /** The memory limit planned for (bytes): --memory-limit, else the cgroup's; undefined: none. */
  memoryLimitBytes: number | undefined;
  memoryLimitFrom: 'flag' | 'cgroup' | 'none';
  /** CPUs planned for: --cpu-limit, else the cgroup's quota; undefined: none. */
  cpuLimit: number | undefined;
  cpuLimitFrom: 'flag' | 'cgroup' | 'none';
  /** Workers that fit the memory budget (undefined: no limit). */
  workersThatFit: number | undefined;
  workers: number;
  workersFrom: 'flag' | 'derived' | 'capped';
  /** How the count came out, for the start-up log line. */
  workersWhy: string;
  workerHeapMb: number;
  /** Said once at start as warnings (an explicit --workers capped, a limit below the main thread's need). */
  warnings: string[];
}

/** What the process plans to use of a memory limit: the rest is the page cache's (MEMORY_BUDGET_SHARE). */
export function memoryBudgetBytes(memoryLimitBytes: number): number {
  return memoryLimitBytes * MEMORY_BUDGET_SHARE;
}

/**
 * Each worker's V8 old generation for `workers` threads under a memory limit (MiB): its share of
 * WORKER_HEAP_SHARE of the limit after the main thread and the threads' idle cost.
 */
export function workerHeapMbFor(memoryLimitBytes: number | undefined, workers: number): number {
  if (memoryLimitBytes === undefined || workers <= 0) return MAX_WORKER_HEAP_MB;
  const share = (memoryLimitBytes * WORKER_HEAP_SHARE - MAIN_THREAD_MEMORY_BYTES - workers * WORKER_IDLE_MEMORY_BYTES) / workers / MIB - WORKER_YOUNG_GENERATION_MB;
  return Math.max(MIN_WORKER_HEAP_MB, Math.min(MAX_WORKER_HEAP_MB, Math.floor(share)));
}

function fmtMiB(bytes: number): string {
  return `${Math.round((bytes / MIB) * 10) / 10} MiB`;
}

/**
 * The worker count and worker heap for a box (pure). Overrides win over what the cgroup says; an
 * explicit worker count is kept unless it cannot fit the memory limit.
 */
export function planResources(box: BoxFacts, over: { memoryLimitBytes?: number | undefined; cpuLimit?: number | undefined; workers?: number | undefined } = {}): ResourcePlan {
  const memoryLimitBytes = over.memoryLimitBytes ?? box.cgroup.memoryBytes;
  const cpuLimit = over.cpuLimit ?? box.cgroup.cpu;
  const warnings: string[] = [];
  const workersThatFit =
    memoryLimitBytes === undefined ? undefined : Math.max(0, Math.floor((memoryBudgetBytes(memoryLimitBytes) - MAIN_THREAD_MEMORY_BYTES) / WORKER_MEMORY_BYTES));
  if (memoryLimitBytes !== undefined && memoryBudgetBytes(memoryLimitBytes) < MAIN_THREAD_MEMORY_BYTES) {
    warnings.push(
      `memory limit ${fmtMiB(memoryLimitBytes)} leaves less than the ~${fmtMiB(MAIN_THREAD_MEMORY_BYTES)} the main thread needs at its peak on a 10,000-task agent: no worker threads, and a large agent may still not fit`,
    );
  }
  const cpuWorkers = cpuLimit === undefined ? Number.POSITIVE_INFINITY : cpuLimit >= 1 ? Math.floor(cpuLimit) : LOW_CPU_WORKERS;
  let workers: number;
  let workersFrom: ResourcePlan['workersFrom'];
  let workersWhy: string;
  if (over.workers !== undefined) {
    workers = over.workers;
    workersFrom = 'flag';
    workersWhy = `--workers ${over.workers}`;
    if (workersThatFit !== undefined && workers > workersThatFit) {
      warnings.push(
        `--workers ${over.workers} does not fit the memory limit ${fmtMiB(memoryLimitBytes as number)}: ${MEMORY_BUDGET_SHARE * 100}% of it holds the main thread (~${fmtMiB(MAIN_THREAD_MEMORY_BYTES)}) and ${workersThatFit} worker(s) of ~${fmtMiB(WORKER_MEMORY_BYTES)}; using ${workersThatFit}`,
      );
      workers = workersThatFit;
      workersFrom = 'capped';
      workersWhy = `--workers ${over.workers} capped to ${workersThatFit} by the memory limit`;
    }
  } else {
    const terms: Array<[string, number]> = [
      [`cores ${box.cores}`, box.cores],
      [`cap ${MAX_DEFAULT_WORKERS}`, MAX_DEFAULT_WORKERS],
    ];
    if (cpuLimit !== undefined) terms.push([`CPU limit ${cpuLimit} → ${cpuWorkers}`, cpuWorkers]);
    if (workersThatFit !== undefined) terms.push([`memory limit ${fmtMiB(memoryLimitBytes as number)} fits ${workersThatFit}`, workersThatFit]);
    workers = Math.max(0, Math.min(...terms.map(([, n]) => n)));
    workersFrom = 'derived';
    workersWhy = `min(${terms.map(([t]) => t).join(', ')}) = ${workers}`;
  }
  const workerHeapMb = workerHeapMbFor(memoryLimitBytes, workers);
  return {
    cores: box.cores,
    found: box.cgroup,
    memoryLimitBytes,
    memoryLimitFrom: over.memoryLimitBytes !== undefined ? 'flag' : box.cgroup.memoryBytes !== undefined ? 'cgroup' : 'none',
    cpuLimit,
    cpuLimitFrom: over.cpuLimit !== undefined ? 'flag' : box.cgroup.cpu !== undefined ? 'cgroup' : 'none',
    workersThatFit,
    workers,
    workersFrom,
    workersWhy,
    workerHeapMb,
    warnings,
  };
}

/** Tasks per worker message (`--batch-size`). */
export const DEFAULT_BATCH_SIZE = 256;

/** The box when nothing was read: the cores, no cgroup limits. */
export function unknownBox(): BoxFacts {
  return { cores: availableParallelism(), cgroup: {} };
}

export function defaultConfig(box: BoxFacts = unknownBox()): GcConfig {
  const resources = planResources(box);
  return {
    minimumKillAgeMs: 10 * MINUTE,
    pollWaitMs: 5 * MINUTE,
    maxCheckpointDriftMs: 60 * MINUTE,
    maxPidDriftMs: 10_000,
    maxLifetimeMs: 24 * 60 * MINUTE,
    maxIdleMs: 0,
    persistenceWaitMs: 5_000,
    checkpointRoots: ['/var/run/thermos'],
    mesosRoot: '/var/lib/mesos',
    sandboxRoots: [],
    workers: resources.workers,
    workerHeapMb: resources.workerHeapMb,
    memoryLimitBytes: undefined,
    cpuLimit: undefined,
    killParallelism: 8,
    logFileBytes: 2 * MIB,
    logFiles: 3,
    stderrLogBytes: MIB,
    batchSize: DEFAULT_BATCH_SIZE,
    deleteParallelism: 8,
    killBudget: 0.5,
    lockTimeoutMs: 10_000,
    diskHigh: undefined,
    diskLow: undefined,
    inodeHigh: undefined,
    inodeLow: undefined,
    metricsPort: undefined,
    resources,
  };
}

function compileValue(spec: OptionSpec, raw: string | readonly string[], source: string): unknown {
  const what = source;
  const one = (): string => (typeof raw === 'string' ? raw : raw[raw.length - 1] ?? '');
  switch (spec.kind) {
    case 'duration':
      return parseDuration(one(), what);
    case 'int':
      return parseInt10(one(), what, spec.key === 'workers' ? 0 : 1, 1_000_000);
    case 'share':
      return parseShare(one(), what);
    case 'port':
      return parseInt10(one(), what, 0, 65535);
    case 'size': {
      const n = parseSize(one(), what);
      if (n <= 0) throw new UsageError(`${what}: must be more than 0`);
      return n;
    }
    case 'cpus':
      return parseCpus(one(), what);
    case 'path': {
      const p = one();
      if (p === '') throw new UsageError(`${what}: empty path`);
      return p;
    }
    case 'paths': {
      // Environment values are colon-separated lists; flags repeat.
      const list = typeof raw === 'string' ? raw.split(':') : [...raw];
      const paths = list.filter((p) => p !== '');
      if (paths.length === 0) throw new UsageError(`${what}: no path given`);
      return paths;
    }
  }
}

/** Raw values by config key, as strings from flags (repeatable ones as arrays). */
export type RawConfig = Partial<Record<ConfigKey, string | readonly string[]>>;

/**
 * Compiles flags over environment over defaults into one frozen GcConfig. Errors name the flag
 * or variable at fault. `box` is what the caller read of its cgroup (src/io/cgroup-limits.ts):
 * the worker count and heap are planned for it, with --memory-limit / --cpu-limit over it.
 */
export function compileConfig(flags: RawConfig, env: Readonly<Record<string, string | undefined>> = {}, box: BoxFacts = unknownBox()): GcConfig {
  const out: Record<string, unknown> = { ...defaultConfig(box) };
  const given = new Set<ConfigKey>();
  for (const spec of CONFIG_OPTIONS) {
    const fromFlag = flags[spec.key];
    const fromEnv = env[spec.env];
    if (fromFlag !== undefined) out[spec.key] = compileValue(spec, fromFlag, `--${spec.flag}`);
    else if (fromEnv !== undefined && fromEnv !== '') out[spec.key] = compileValue(spec, fromEnv, spec.env);
    else continue;
    given.add(spec.key);
  }
  const cfg = out as unknown as GcConfig & { sandboxRoots: readonly string[] };
  const resources = planResources(box, {
    memoryLimitBytes: cfg.memoryLimitBytes,
    cpuLimit: cfg.cpuLimit,
    workers: given.has('workers') ? cfg.workers : undefined,
  });
  const sandboxRoots = cfg.sandboxRoots.length > 0 ? cfg.sandboxRoots : [cfg.mesosRoot];
  if ((cfg.diskHigh === undefined) !== (cfg.diskLow === undefined)) {
    throw new UsageError('--disk-high and --disk-low go together');
  }
  if (cfg.diskHigh !== undefined && cfg.diskLow !== undefined && cfg.diskLow >= cfg.diskHigh) {
    throw new UsageError('--disk-low must be below --disk-high');
  }
  if ((cfg.inodeHigh === undefined) !== (cfg.inodeLow === undefined)) {
    throw new UsageError('--inode-high and --inode-low go together');
  }
  if (cfg.inodeHigh !== undefined && cfg.inodeLow !== undefined && cfg.inodeLow >= cfg.inodeHigh) {
    throw new UsageError('--inode-low must be below --inode-high');
  }
  return Object.freeze({
    ...cfg,
    workers: resources.workers,
    workerHeapMb: resources.workerHeapMb,
    resources: Object.freeze(resources),
    checkpointRoots: Object.freeze([...cfg.checkpointRoots]),
    sandboxRoots: Object.freeze([...sandboxRoots]),
  });
}

/** The flag table for node:util parseArgs, so every command accepts the same config flags. */
export function configParseArgsOptions(): Record<string, { type: 'string'; multiple?: boolean }> {
  const opts: Record<string, { type: 'string'; multiple?: boolean }> = {};
  for (const spec of CONFIG_OPTIONS) {
    opts[spec.flag] = spec.kind === 'paths' ? { type: 'string', multiple: true } : { type: 'string' };
  }
  return opts;
}

/** Picks the config flags out of parseArgs values. */
export function rawConfigFromParsed(values: Record<string, unknown>): RawConfig {
  const raw: RawConfig = {};
  for (const spec of CONFIG_OPTIONS) {
    const v = values[spec.flag];
    if (typeof v === 'string' || Array.isArray(v)) raw[spec.key] = v as string | string[];
  }
  return raw;
}
