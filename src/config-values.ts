// The value parsers of the configuration: durations (`10m`, `5mins`), sizes (`128M`), shares
// (`85%`), CPU counts (`0.2`) and bounded whole numbers. Errors name the flag or variable.
import { UsageError } from './errors.js';

const MINUTE = 60_000;

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

/** Parses a CPU count such as `0.2`, `1` or `2.5` (a CFS quota in CPUs). */
export function parseCpus(text: string, what = 'cpus'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
  const value = m === null ? Number.NaN : Number(m[1]);
  if (!(value > 0 && value <= 4096)) throw new UsageError(`${what}: '${text}' is not a CPU count (e.g. 0.2 or 2)`);
  return value;
}

export function parseInt10(text: string, what: string, min: number, max: number): number {
  if (!/^\s*\d+\s*$/.test(text)) throw new UsageError(`${what}: '${text}' is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${what}: ${n} must be between ${min} and ${max}`);
  return n;
}
