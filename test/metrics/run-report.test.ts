import { describe, it, expect } from 'vitest';
import type { GcRunReport } from '../../src/executor/gc-run.js';
import { createProgress, renderProgress } from '../../src/report/progress.js';
import { formatBytes, formatDuration, formatRunReport, formatTable } from '../../src/report/run-report.js';

const report: GcRunReport = {
  gcTaskId: 'gc-7',
  seenActive: 12,
  seenFinished: 30,
  rejectedNames: 0,
  updatesSent: 2,
  killed: ['k1'],
  killFailed: ['k2'],
  garbageCollect: ['d1', 'd2', 'd3'],
  deleted: ['d1', 'd2'],
  deleteFailed: ['d3'],
  deletedTasks: ['d1'],
  refused: [
    { taskId: 'd3', path: '/s/a', reason: 'mount-point' },
    { taskId: 'd4', path: '/s/b', reason: 'shared-with-kept-task' },
    { taskId: 'd5', path: '/s/c', reason: 'shared-with-kept-task' },
  ],
  bytesFreed: 3 * 1024 * 1024,
  inodesFreed: 77,
  phaseMs: { scan: 1500, reconcile: 2, kill: 300, delete: 65_000 },
  cpuSeconds: { process: 4.25, children: 0.5, total: 4.75 },
  finishedMessage: 'Garbage collection finished.',
};

describe('formatRunReport', () => {
  it('shows seen, killed, lost, deleted, refused with why, freed and time per phase', () => {
    const text = formatRunReport(report, { lost: ['o1', 'o2'] });
    expect(text).toContain('GC run gc-7');
    expect(text).toMatch(/tasks seen\s+42 \(12 active, 30 finished\)/);
    expect(text).toMatch(/killed\s+1 \(1 failed\)/);
    expect(text).toMatch(/lost\s+2/);
    expect(text).toMatch(/deleted\s+2 \(1 failed\)/);
    expect(text).toMatch(/refused\s+3 \(shared-with-kept-task ×2, mount-point ×1\)/);
    expect(text).toMatch(/freed\s+3\.0 MiB, 77 inodes/);
    expect(text).toContain('scan 1.5 s, reconcile 2 ms, kill 300 ms, delete 1m 05s');
    expect(text).toMatch(/cpu\s+4\.75 s \(process 4\.25 s, ps children 0\.50 s\)/);
  });

  it('formats units and tables', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatDuration(3 * 86_400_000 + 7_200_000)).toBe('3d 02h');
    expect(formatTable(['A', 'N'], [['x', '1'], ['yy', '22']], new Set([1]))).toBe('A    N\n--  --\nx    1\nyy  22\n');
  });
});

describe('progress', () => {
  const sink = (tty: boolean): { stream: { isTTY: boolean; columns: number; write: (s: string) => void }; out: string[] } => {
    const out: string[] = [];
    return { stream: { isTTY: tty, columns: 80, write: (s: string) => void out.push(s) }, out };
  };

  it('draws nothing on a pipe', () => {
    const s = sink(false);
    let t = 0;
    const p = createProgress({ stream: s.stream, total: 10, label: 'deleting', now: () => t });
    t = 10_000;
    p.tick(5);
    p.done();
    expect(s.out).toEqual([]);
  });

  it('draws on a terminal only once a run is long, throttled, and clears at the end', () => {
    const s = sink(true);
    let t = 0;
    const p = createProgress({ stream: s.stream, total: 4, label: 'deleting', now: () => t, delayMs: 500, intervalMs: 100 });
    p.tick();
    expect(s.out).toEqual([]);
    t = 600;
    p.tick();
    t = 650;
    p.tick();
    expect(s.out).toHaveLength(1);
    expect(s.out[0]).toContain('2/4');
    t = 800;
    p.tick();
    expect(s.out[1]).toContain('4/4 100%');
    p.done();
    expect(s.out[2]).toBe('\r\x1b[K');
    expect(renderProgress('x', 1, 2, 80)).toMatch(/^x \[#+\.+\] 1\/2  50%$/);
  });
});
