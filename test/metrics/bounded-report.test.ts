// last_gc_run.json stays small on a large agent: each list keeps its first ids and counts the
// rest, and the run table read back from it still shows the full counts.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GcRunReport } from '../../src/executor/gc-run.js';
import { boundedReport, readLastRunReport, writeLastRunReport } from '../../src/executor/run-report-file.js';
import { formatRunReport, reportCount } from '../../src/report/run-report.js';

const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

function bigReport(): GcRunReport {
  return {
    gcTaskId: 'gc-1', seenActive: 20_000, seenFinished: 30_000, rejectedNames: 0, updatesSent: 5,
    killed: ids('k', 12), killFailed: [], garbageCollect: ids('t', 30_000), deleted: ids('t', 29_990), deleteFailed: ids('f', 10),
    deletedTasks: ids('t', 7_000), refused: Array.from({ length: 6_000 }, (_, i) => ({ taskId: `r-${i}`, reason: 'mount-point' })),
    bytesFreed: 1, inodesFreed: 1, phaseMs: { scan: 1, reconcile: 1, kill: 1, delete: 1 },
    cpuSeconds: { process: 1, children: 0, total: 1 }, finishedMessage: 'Garbage collection finished.',
  };
}

describe('last_gc_run.json on a large agent', () => {
  it('keeps the first ids of each long list and counts the rest', () => {
    const r = boundedReport(bigReport(), 5_000);
    expect(r.deleted).toEqual(ids('t', 5_000));
    expect(r.killed).toHaveLength(12);
    expect(r.truncated).toEqual({ garbageCollect: 25_000, deleted: 24_990, deletedTasks: 2_000, refused: 1_000 });
    expect(reportCount(r, 'deleted')).toBe(29_990);
    expect(reportCount(r, 'killed')).toBe(12);
    // A small report is written as it is.
    const small = { ...bigReport(), garbageCollect: ['a'], deleted: ['a'], deletedTasks: [], refused: [] };
    expect(boundedReport(small, 5_000)).toEqual(small);
  });

  it('is written bounded, and the table read back from it shows the full counts', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'thermos-gc-report-'));
    try {
      await writeLastRunReport(dir, bigReport());
      const bytes = (await readFile(path.join(dir, 'last_gc_run.json'))).length;
      expect(bytes).toBeLessThan(400_000); // the whole lists are ~1.2 MB
      const back = await readLastRunReport(dir);
      expect(back).toBeDefined();
      const text = formatRunReport(back!);
      expect(text).toMatch(/deleted\s+29990 \(10 failed\)/);
      expect(text).toMatch(/reported to scheduler\s+7000/);
      expect(text).toMatch(/refused\s+6000 \(mount-point ×5000, the first listed\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
