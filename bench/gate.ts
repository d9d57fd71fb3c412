// The bench gate: bounds on ratios measured in the same run (absolute times are not stable on
// shared machines), read from bench/thresholds.json as `{"<measure>": {"max": x} | {"min": y}}`.
// A bound whose measure was not taken fails: a gate that silently checks nothing is no gate.
// Pure except for `loadThresholds`; the bench supplies the measures and how to retake them.
import { readFile } from 'node:fs/promises';

export interface Bound {
  max?: number;
  min?: number;
}

export type Thresholds = ReadonlyMap<string, Bound>;

export class GateConfigError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'GateConfigError';
  }
}

const MEASURE_NAME = /^[a-z0-9][a-z0-9_.-]*$/;

/** Parses and checks a thresholds file's text; every error names the file and the measure. */
export function parseThresholds(text: string, path: string): Thresholds {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new GateConfigError(`not valid JSON (${err instanceof Error ? err.message : String(err)})`, path);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new GateConfigError('expected an object of measure → {"max": x} or {"min": y}', path);
  }
  const out = new Map<string, Bound>();
  for (const [measure, spec] of Object.entries(raw as Record<string, unknown>)) {
    if (!MEASURE_NAME.test(measure)) throw new GateConfigError(`measure name ${JSON.stringify(measure)} is not lower-case [a-z0-9_.-]`, path);
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
      throw new GateConfigError(`${measure}: expected {"max": x} or {"min": y}`, path);
    }
    const bound: Bound = {};
    for (const [key, value] of Object.entries(spec as Record<string, unknown>)) {
      if (key !== 'max' && key !== 'min') throw new GateConfigError(`${measure}: unknown key ${JSON.stringify(key)} (only "max" and "min")`, path);
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new GateConfigError(`${measure}.${key}: ${JSON.stringify(value)} is not a finite number`, path);
      bound[key] = value;
    }
    if (bound.max === undefined && bound.min === undefined) throw new GateConfigError(`${measure}: needs "max" or "min"`, path);
    if (bound.max !== undefined && bound.min !== undefined && bound.min > bound.max) {
      throw new GateConfigError(`${measure}: min ${bound.min} is above max ${bound.max}`, path);
    }
    out.set(measure, bound);
  }
  if (out.size === 0) throw new GateConfigError('no measure is guarded', path);
  return out;
}

export async function loadThresholds(path: string): Promise<Thresholds> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new GateConfigError(`cannot read (${err instanceof Error ? err.message : String(err)})`, path);
  }
  return parseThresholds(text, path);
}

export function meetsBound(value: number, bound: Bound): boolean {
  if (!Number.isFinite(value)) return false;
  if (bound.max !== undefined && value > bound.max) return false;
  if (bound.min !== undefined && value < bound.min) return false;
  return true;
}

export interface GateLine {
  measure: string;
  /** Undefined when the run did not take this measure. */
  measured: number | undefined;
  bound: Bound;
  met: boolean;
  /** The first sample failed and the measure was taken again (this line shows the retake). */
  retried: boolean;
  /** The first sample, when retried. */
  firstSample?: number;
}

export function evaluateGate(measured: ReadonlyMap<string, number>, thresholds: Thresholds): GateLine[] {
  return [...thresholds].map(([measure, bound]) => {
    const value = measured.get(measure);
    return { measure, measured: value, bound, met: value !== undefined && meetsBound(value, bound), retried: false };
  });
}

export interface GateRun {
  lines: GateLine[];
  passed: boolean;
}

/**
 * Checks every bound; a measure that fails is taken once more (one noisy sample must not fail a
 * build) through `retake`, which re-runs whatever produced it and returns fresh measures (it may
 * return others too: only the failed ones are replaced). A measure that was never taken is not
 * retaken: nothing produced it, so another try cannot either.
 */
export async function runGate(
  measured: ReadonlyMap<string, number>,
  thresholds: Thresholds,
  retake: (failed: readonly string[]) => Promise<ReadonlyMap<string, number>>,
): Promise<GateRun> {
  const first = evaluateGate(measured, thresholds);
  const failed = first.filter((l) => !l.met && l.measured !== undefined).map((l) => l.measure);
  if (failed.length === 0) return { lines: first, passed: first.every((l) => l.met) };
  const again = await retake(failed);
  const lines = first.map((line): GateLine => {
    if (!failed.includes(line.measure)) return line;
    const value = again.get(line.measure);
    const out: GateLine = { ...line, measured: value, met: value !== undefined && meetsBound(value, line.bound), retried: true };
    if (line.measured !== undefined) out.firstSample = line.measured;
    return out;
  });
  return { lines, passed: lines.every((l) => l.met) };
}

function num(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  return a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : a >= 1 ? n.toFixed(2) : n.toPrecision(2);
}

export function describeBound(bound: Bound): string {
  const parts: string[] = [];
  if (bound.min !== undefined) parts.push(`≥ ${num(bound.min)}`);
  if (bound.max !== undefined) parts.push(`≤ ${num(bound.max)}`);
  return parts.join(' and ');
}

/** One line per measure: measured, bound, met or not (and the first sample when retried). */
export function formatGateLine(line: GateLine): string {
  const measured = line.measured === undefined ? 'not measured' : num(line.measured);
  const retry = line.retried ? ` (retried; first sample ${line.firstSample === undefined ? '-' : num(line.firstSample)})` : '';
  return `gate ${line.met ? 'met    ' : 'NOT MET'} ${line.measure}: ${measured}, bound ${describeBound(line.bound)}${retry}`;
}
