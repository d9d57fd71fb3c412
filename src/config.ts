// Durations and limits in one place. Raw flags and environment are compiled into one frozen
// GcConfig with explicit units; process.env is read only at the edge (the CLI passes it in).
import { availableParallelism } from 'node:os';
import { UsageError } from './errors.js';

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
   * @default min(os.availableParallelism(), 8): every thread is a V8 isolate (tens of MiB), and a
   * 64-core agent does not need 64 of them to keep its disk busy. 0 runs everything on the main thread.
   */
  readonly workers: number;
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
}

export type ConfigKey = keyof GcConfig;
type Kind = 'duration' | 'int' | 'share' | 'path' | 'paths' | 'port';

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
];

const MINUTE = 60_000;
const MAX_DEFAULT_WORKERS = 8;
export function defaultConfig(): GcConfig {
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
    workers: Math.min(availableParallelism(), MAX_DEFAULT_WORKERS),
    batchSize: 256,
    deleteParallelism: 8,
    killBudget: 0.5,
    lockTimeoutMs: 10_000,
    diskHigh: undefined,
    diskLow: undefined,
    inodeHigh: undefined,
    inodeLow: undefined,
    metricsPort: undefined,
  };
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, ms: 1,
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: MINUTE, min: MINUTE, mins: MINUTE, minute: MINUTE, minutes: MINUTE,
  h: 60 * MINUTE, hr: 60 * MINUTE, hrs: 60 * MINUTE, hour: 60 * MINUTE, hours: 60 * MINUTE,
  d: 24 * 60 * MINUTE, day: 24 * 60 * MINUTE, days: 24 * 60 * MINUTE,
  w: 7 * 24 * 60 * MINUTE, week: 7 * 24 * 60 * MINUTE, weeks: 7 * 24 * 60 * MINUTE,
};

/** Parses `10m`, `5mins`, `250ms`, `1d`, `1.5hrs`, `0` into milliseconds (Mesos and Aurora forms). */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (m === null) throw new UsageError(`${what}: '${text}' is not a duration (e.g. 10m, 5mins, 250ms, 1d)`);
  const value = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  if (unit === '') {
    if (value === 0) return 0;
    throw new UsageError(`${what}: '${text}' needs a unit (ms, s, m, h, d)`);
  }
  const scale = DURATION_UNITS[unit];
  if (scale === undefined) throw new UsageError(`${what}: unknown unit '${m[2]}' in '${text}'`);
  return Math.round(value * scale);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4,
};

/** Parses `20G`, `512M`, `1.5GiB`, `4096` into bytes (binary units, as Thermos' own gc did). */
export function parseSize(text: string, what = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const scale = m === null ? undefined : SIZE_UNITS[(m[2] ?? '').toLowerCase()];
  if (m === null || scale === undefined) throw new UsageError(`${what}: '${text}' is not a size (e.g. 20G, 512M)`);
  return Math.round(Number(m[1]) * scale);
}

/** Parses `85%` or `0.85` into a share in [0, 1]. */
export function parseShare(text: string, what = 'share'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  if (m === null) throw new UsageError(`${what}: '${text}' is not a share (e.g. 85% or 0.85)`);
  const value = m[2] === '%' ? Number(m[1]) / 100 : Number(m[1]);
  if (!(value >= 0 && value <= 1)) throw new UsageError(`${what}: '${text}' must be between 0 and 100%`);
  return value;
}

function parseInt10(text: string, what: string, min: number, max: number): number {
  if (!/^\s*\d+\s*$/.test(text)) throw new UsageError(`${what}: '${text}' is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${what}: ${n} must be between ${min} and ${max}`);
  return n;
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
 * or variable at fault.
 */
export function compileConfig(flags: RawConfig, env: Readonly<Record<string, string | undefined>> = {}): GcConfig {
  const out: Record<string, unknown> = { ...defaultConfig() };
  for (const spec of CONFIG_OPTIONS) {
    const fromFlag = flags[spec.key];
    const fromEnv = env[spec.env];
    if (fromFlag !== undefined) out[spec.key] = compileValue(spec, fromFlag, `--${spec.flag}`);
    else if (fromEnv !== undefined && fromEnv !== '') out[spec.key] = compileValue(spec, fromEnv, spec.env);
  }
  const cfg = out as unknown as GcConfig & { sandboxRoots: readonly string[] };
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
