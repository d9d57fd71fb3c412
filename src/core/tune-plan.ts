// `thermos-gc tune`'s choices, pure: which trials to run and in what order, how the repetitions
// of one trial are summed up, whether it fits the memory budget, and which one to recommend.

const MIB = 2 ** 20;

/** One point of the grid: a worker count and a batch size. */
export interface TrialPoint {
  workers: number;
  batchSize: number;
}

/** One child process to run: a point and which repetition of it. */
export interface ScheduledTrial extends TrialPoint {
  /** 1-based. */
  rep: number;
}

/** What one child measured. */
export interface TrialSample extends TrialPoint {
  scanMs: number;
  peakRssBytes: number;
}

/** A point's repetitions summed up, as `tune --json` prints it. */
export interface TrialSummary extends TrialPoint {
  /** Median of the repetitions' scan times. */
  scanMs: number;
  /** The highest peak RSS among the repetitions (the one the budget must hold). */
  peakRssMiB: number;
  fits: boolean;
}

export interface Recommendation extends TrialPoint {
  /** False when no trial fit: then the least memory the scan can use (0 workers, smallest batch). */
  fits: boolean;
}

/** Batch sizes around the default: a quarter of it, it, four times it. */
export function defaultBatchSizes(defaultBatchSize: number): number[] {
  return [...new Set([Math.max(1, Math.floor(defaultBatchSize / 4)), defaultBatchSize, defaultBatchSize * 4])].sort((a, b) => a - b);
}

/** Workers 0 … maxWorkers, each with every batch size (ascending, duplicates dropped). */
export function trialGrid(maxWorkers: number, batchSizes: readonly number[]): TrialPoint[] {
  const sizes = [...new Set(batchSizes)].sort((a, b) => a - b);
  const grid: TrialPoint[] = [];
  for (let workers = 0; workers <= Math.max(0, Math.floor(maxWorkers)); workers++) {
    for (const batchSize of sizes) grid.push({ workers, batchSize });
  }
  return grid;
}

/**
 * Repetition by repetition: the whole grid once, then again. A drift of the machine (another job
 * starting, the page cache filling) then spreads over every point instead of landing on a few.
 */
export function trialSchedule(grid: readonly TrialPoint[], reps: number): ScheduledTrial[] {
  const out: ScheduledTrial[] = [];
  for (let rep = 1; rep <= reps; rep++) for (const p of grid) out.push({ workers: p.workers, batchSize: p.batchSize, rep });
  return out;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * One summary per grid point, in grid order. `budgetBytes` undefined (no memory limit): every
 * trial fits. A point without samples is left out.
 */
export function summariseTrials(grid: readonly TrialPoint[], samples: readonly TrialSample[], budgetBytes: number | undefined): TrialSummary[] {
  const out: TrialSummary[] = [];
  for (const p of grid) {
    const mine = samples.filter((s) => s.workers === p.workers && s.batchSize === p.batchSize);
    if (mine.length === 0) continue;
    const peak = Math.max(...mine.map((s) => s.peakRssBytes));
    out.push({
      workers: p.workers,
      batchSize: p.batchSize,
      scanMs: round1(median(mine.map((s) => s.scanMs))),
      peakRssMiB: round1(peak / MIB),
      // A rep the kernel killed has no finite peak: that point does not fit, limit or not.
      fits: Number.isFinite(peak) && (budgetBytes === undefined || peak <= budgetBytes),
    });
  }
  return out;
}

/**
 * The fitting trial with the lowest scan time (ties: fewer workers, then the smaller batch). When
 * none fits: 0 workers with the smallest batch measured, the least memory the scan can use.
 */
export function recommend(trials: readonly TrialSummary[]): Recommendation {
  let best: TrialSummary | undefined;
  for (const t of trials) {
    if (!t.fits) continue;
    if (best === undefined || t.scanMs < best.scanMs || (t.scanMs === best.scanMs && (t.workers < best.workers || (t.workers === best.workers && t.batchSize < best.batchSize)))) best = t;
  }
  if (best !== undefined) return { workers: best.workers, batchSize: best.batchSize, fits: true };
  const sizes = trials.map((t) => t.batchSize);
  return { workers: 0, batchSize: sizes.length > 0 ? Math.min(...sizes) : 0, fits: false };
}
