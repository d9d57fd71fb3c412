// CPU time of this process, for the cost of a GC run. process.cpuUsage() is getrusage(RUSAGE_SELF):
// every thread, so the main thread and the worker threads together. The `ps` that ps-list spawns
// for each process snapshot is a child: its time shows in /proc/self/stat's cutime and cstime
// (fields 16 and 17, clock ticks) once it has been waited for, and is counted apart.
import { readFileSync } from 'node:fs';
import { statFieldsFrom3 } from './proc-stat.js';

export interface CpuSample {
  /** User + system µs of this process, all threads. */
  processUs: number;
  /** User + system µs of its waited-for children; 0 where /proc is missing. */
  childrenUs: number;
}

export interface CpuSeconds {
  /** Main thread and worker threads (RUSAGE_SELF). */
  process: number;
  /** Children (`ps` spawned for process snapshots). */
  children: number;
  /** process + children. */
  total: number;
}

// USER_HZ: fixed at 100 by the Linux user-space ABI.
const TICK_US = 10_000;

/** cutime + cstime (µs) from the text of /proc/<pid>/stat; undefined when it does not parse. */
export function childrenUsFromStat(text: string): number | undefined {
  const rest = statFieldsFrom3(text);
  if (rest === undefined) return undefined;
  const cutime = Number(rest[13]);
  const cstime = Number(rest[14]);
  if (!Number.isFinite(cutime) || !Number.isFinite(cstime)) return undefined;
  return (cutime + cstime) * TICK_US;
}

export function sampleCpu(): CpuSample {
  const { user, system } = process.cpuUsage();
  let childrenUs = 0;
  try {
    childrenUs = childrenUsFromStat(readFileSync('/proc/self/stat', 'latin1')) ?? 0;
  } catch {
    // no /proc: children unknown, counted as 0
  }
  return { processUs: user + system, childrenUs };
}

export function cpuSecondsBetween(a: CpuSample, b: CpuSample): CpuSeconds {
  const round = (us: number): number => Math.round(us / 1000) / 1000;
  const process = round(Math.max(0, b.processUs - a.processUs));
  const children = round(Math.max(0, b.childrenUs - a.childrenUs));
  return { process, children, total: Math.round((process + children) * 1000) / 1000 };
}
