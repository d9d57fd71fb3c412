import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  byteShare,
  fsUsageFromStatfs,
  inodeShare,
  selectForDiskPressure,
  type FsUsage,
  type PressureCandidate,
} from '../../src/core/disk-pressure.js';
import { ScheduleStatus } from '../../src/core/states.js';

const usage = (usedBytes: number, usableBytes = 1000, usedInodes = 10, totalInodes = 1000): FsUsage => ({
  usedBytes,
  usableBytes,
  usedInodes,
  totalInodes,
});
const c = (taskId: string, ageMs: number, bytes: number, more: Partial<PressureCandidate> = {}): PressureCandidate => ({
  taskId,
  state: 'finished',
  linked: false,
  ageMs,
  bytes,
  inodes: 1,
  ...more,
});
const marks = { diskHigh: 0.85, diskLow: 0.75 };

describe('selectForDiskPressure', () => {
  it('does nothing at or below the high mark', () => {
    const s = selectForDiskPressure({ usage: usage(850), marks, candidates: [c('a', 5, 500)], lastRetained: undefined });
    expect(s.selected).toEqual([]);
    expect(s.pressure).toEqual({ bytes: false, inodes: false });
  });

  it('deletes oldest first until under the low mark', () => {
    const cands = [c('new', 1, 50), c('old', 9, 60), c('mid', 5, 30), c('older', 7, 20)];
    const s = selectForDiskPressure({ usage: usage(900), marks, candidates: cands, lastRetained: undefined });
    // 900 → old 840 → older 820 → mid 790 → new 740 < 750.
    expect(s.selected).toEqual(['old', 'older', 'mid', 'new']);
    expect(s.projected.usedBytes).toBe(740);
    expect(s.reachesLow).toBe(true);
  });

  it('stops as soon as the low mark is passed', () => {
    const s = selectForDiskPressure({ usage: usage(900), marks, candidates: [c('a', 3, 200), c('b', 2, 200)], lastRetained: undefined });
    expect(s.selected).toEqual(['a']);
  });

  it('never selects active, retained live or starting, or linked tasks', () => {
    const retained = new Map<string, number>([
      ['live', ScheduleStatus.RUNNING],
      ['starting', ScheduleStatus.ASSIGNED],
      ['done', ScheduleStatus.FINISHED],
    ]);
    const cands = [
      c('active', 9, 100, { state: 'active' }),
      c('live', 9, 100),
      c('starting', 9, 100),
      c('linked', 9, 100, { linked: true }),
      c('done', 1, 100),
    ];
    const s = selectForDiskPressure({ usage: usage(990), marks, candidates: cands, lastRetained: retained });
    expect(s.selected).toEqual(['done']);
    expect(s.reachesLow).toBe(false);
    expect(Object.fromEntries(s.skipped.map((x) => [x.taskId, x.reason]))).toEqual({
      active: 'active',
      live: 'retained-live',
      starting: 'retained-starting',
      linked: 'linked',
    });
    const withLinked = selectForDiskPressure({ usage: usage(990), marks, candidates: cands, lastRetained: retained, includeLinked: true });
    expect(withLinked.selected).toEqual(['linked', 'done']);
  });

  it('acts on inode pressure alone', () => {
    const s = selectForDiskPressure({
      usage: usage(100, 1000, 95, 100),
      marks: { inodeHigh: 0.9, inodeLow: 0.5 },
      candidates: [c('a', 3, 0, { inodes: 30 }), c('b', 2, 0, { inodes: 30 }), c('c', 1, 0, { inodes: 30 })],
      lastRetained: undefined,
    });
    expect(s.pressure).toEqual({ bytes: false, inodes: true });
    expect(s.selected).toEqual(['a', 'b']);
  });

  it('computes usage as df does', () => {
    const u = fsUsageFromStatfs({ bsize: 4096, blocks: 100, bfree: 20, bavail: 10, files: 50, ffree: 40 });
    expect(u).toEqual({ usedBytes: 80 * 4096, usableBytes: 90 * 4096, usedInodes: 10, totalInodes: 50 });
    expect(byteShare(u)).toBeCloseTo(80 / 90);
    expect(inodeShare(u)).toBeCloseTo(0.2);
  });

  it('selects a minimal oldest-first prefix that brings usage under the low mark when possible', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.uniqueArray(fc.record({ taskId: fc.stringMatching(/^[a-z]{1,3}$/), ageMs: fc.nat(100), bytes: fc.nat(200) }), {
          selector: (x) => x.taskId,
          maxLength: 20,
        }),
        (used, raw) => {
          const cands = raw.map((r) => c(r.taskId, r.ageMs, r.bytes));
          const s = selectForDiskPressure({ usage: usage(used), marks, candidates: cands, lastRetained: undefined });
          if (used / 1000 <= 0.85) {
            expect(s.selected).toEqual([]);
            return;
          }
          const freed = s.selected.reduce((sum, id) => sum + (cands.find((x) => x.taskId === id)?.bytes ?? 0), 0);
          expect(s.reachesLow).toBe((used - freed) / 1000 < 0.75);
          if (!s.reachesLow) expect(s.selected.length).toBe(cands.length);
          else if (s.selected.length > 0) {
            const last = cands.find((x) => x.taskId === s.selected[s.selected.length - 1]);
            expect((used - freed + (last?.bytes ?? 0)) / 1000 >= 0.75).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
