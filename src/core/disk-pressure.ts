// Disk-pressure GC: when the filesystem holding the sandboxes is above its high mark (space or
// inodes), which finished tasks to delete, oldest first, to bring it under the low mark. Pure:
// the shell passes in statfs numbers, candidate sizes and ages, and the last scheduler view.
import type { LocalState } from './facts.js';
import { classifyScheduleStatus } from './states.js';

/** The statfs(2) fields we use, as node's fs.statfs returns them (counts of bsize blocks). */
export interface StatfsNumbers {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

export interface FsUsage {
  usedBytes: number;
  /** Used plus available to unprivileged users: the reserved blocks count as full, as in df. */
  usableBytes: number;
  usedInodes: number;
  totalInodes: number;
}

export interface PressureMarks {
  diskHigh?: number;
  diskLow?: number;
  inodeHigh?: number;
  inodeLow?: number;
}

export interface PressureCandidate {
  taskId: string;
  state: LocalState;
  /** Mesos still keeps the task's executor run directory. */
  linked: boolean;
  ageMs: number;
  /** Allocated bytes and inodes the deletion would free on this filesystem. */
  bytes: number;
  inodes: number;
}

export type PressureSkipReason = 'active' | 'retained-live' | 'retained-starting' | 'linked';

export interface PressureInput {
  usage: FsUsage;
  marks: PressureMarks;
  candidates: readonly PressureCandidate[];
  /** The retained map of the last GC task (task id → ScheduleStatus); undefined before the first. */
  lastRetained: ReadonlyMap<string, number> | undefined;
  /** Also delete tasks whose executor Mesos still keeps. @default false */
  includeLinked?: boolean;
}

export interface PressureSelection {
  /** Which marks are exceeded now. */
  pressure: { bytes: boolean; inodes: boolean };
  /** Task ids to delete, oldest first; empty when there is no pressure. */
  selected: string[];
  skipped: Array<{ taskId: string; reason: PressureSkipReason }>;
  /** Usage once the selected tasks are gone (from their allocated sizes). */
  projected: FsUsage;
  /** False when even deleting every eligible task leaves usage at or over a low mark. */
  reachesLow: boolean;
}

export function fsUsageFromStatfs(s: StatfsNumbers): FsUsage {
  const usedBytes = (s.blocks - s.bfree) * s.bsize;
  return {
    usedBytes,
    usableBytes: usedBytes + s.bavail * s.bsize,
    usedInodes: s.files - s.ffree,
    totalInodes: s.files,
  };
}

export function byteShare(u: FsUsage): number {
  return u.usableBytes > 0 ? u.usedBytes / u.usableBytes : 0;
}

export function inodeShare(u: FsUsage): number {
  return u.totalInodes > 0 ? u.usedInodes / u.totalInodes : 0;
}

function skipReason(c: PressureCandidate, input: PressureInput): PressureSkipReason | undefined {
  if (c.state !== 'finished') return 'active';
  const status = input.lastRetained?.get(c.taskId);
  if (status !== undefined) {
    const cls = classifyScheduleStatus(status);
    if (cls === 'active') return 'retained-live';
    if (cls === 'starting') return 'retained-starting';
  }
  if (c.linked && input.includeLinked !== true) return 'linked';
  return undefined;
}

export function selectForDiskPressure(input: PressureInput): PressureSelection {
  const { usage, marks } = input;
  const pressure = {
    bytes: marks.diskHigh !== undefined && marks.diskLow !== undefined && byteShare(usage) > marks.diskHigh,
    inodes: marks.inodeHigh !== undefined && marks.inodeLow !== undefined && inodeShare(usage) > marks.inodeHigh,
  };
  const skipped: PressureSelection['skipped'] = [];
  const selected: string[] = [];
  const projected: FsUsage = { ...usage };
  const under = (): boolean =>
    (!pressure.bytes || byteShare(projected) < (marks.diskLow as number)) &&
    (!pressure.inodes || inodeShare(projected) < (marks.inodeLow as number));
  if (!pressure.bytes && !pressure.inodes) return { pressure, selected, skipped, projected, reachesLow: true };

  const eligible: PressureCandidate[] = [];
  for (const c of input.candidates) {
    const reason = skipReason(c, input);
    if (reason === undefined) eligible.push(c);
    else skipped.push({ taskId: c.taskId, reason });
  }
  eligible.sort((a, b) => (a.ageMs !== b.ageMs ? b.ageMs - a.ageMs : a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
  for (const c of eligible) {
    if (under()) break;
    selected.push(c.taskId);
    projected.usedBytes = Math.max(0, projected.usedBytes - c.bytes);
    projected.usedInodes = Math.max(0, projected.usedInodes - c.inodes);
  }
  return { pressure, selected, skipped, projected, reachesLow: under() };
}
