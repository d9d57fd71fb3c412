import { describe, expect, it } from 'vitest';
import { defaultBatchSizes, median, recommend, summariseTrials, trialGrid, trialSchedule, type TrialSample, type TrialSummary } from '../../src/core/tune-plan.js';

const MIB = 2 ** 20;

describe('tune plan: the grid', () => {
  it('batch sizes around the default are a quarter, it, and four times it', () => {
    expect(defaultBatchSizes(256)).toEqual([64, 256, 1024]);
    expect(defaultBatchSizes(2)).toEqual([1, 2, 8]);
    expect(defaultBatchSizes(1)).toEqual([1, 4]);
  });

  it('has every worker count from 0 to the cap with every batch size, in order', () => {
    expect(trialGrid(2, [256, 64, 256])).toEqual([
      { workers: 0, batchSize: 64 }, { workers: 0, batchSize: 256 },
      { workers: 1, batchSize: 64 }, { workers: 1, batchSize: 256 },
      { workers: 2, batchSize: 64 }, { workers: 2, batchSize: 256 },
    ]);
    expect(trialGrid(0, [64])).toEqual([{ workers: 0, batchSize: 64 }]);
  });

  it('runs the whole grid once per repetition', () => {
    const s = trialSchedule(trialGrid(1, [64]), 2);
    expect(s).toEqual([
      { workers: 0, batchSize: 64, rep: 1 }, { workers: 1, batchSize: 64, rep: 1 },
      { workers: 0, batchSize: 64, rep: 2 }, { workers: 1, batchSize: 64, rep: 2 },
    ]);
  });
});

describe('tune plan: summaries and the recommendation', () => {
  const sample = (workers: number, batchSize: number, scanMs: number, rssMiB: number): TrialSample => ({ workers, batchSize, scanMs, peakRssBytes: rssMiB * MIB });

  it('takes the median scan time and the highest peak of the reps', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const grid = trialGrid(0, [64]);
    const [t] = summariseTrials(grid, [sample(0, 64, 30, 50), sample(0, 64, 10, 70), sample(0, 64, 20, 60)], undefined);
    expect(t).toEqual({ workers: 0, batchSize: 64, scanMs: 20, peakRssMiB: 70, fits: true });
  });

  it('fits a trial whose highest peak is within the budget, every trial with no budget', () => {
    const grid = trialGrid(1, [64]);
    const samples = [sample(0, 64, 10, 50), sample(1, 64, 5, 60), sample(1, 64, 5, 59)];
    expect(summariseTrials(grid, samples, 60 * MIB).map((t) => t.fits)).toEqual([true, true]);
    expect(summariseTrials(grid, samples, 59.5 * MIB).map((t) => t.fits)).toEqual([true, false]);
    expect(summariseTrials(grid, samples, undefined).map((t) => t.fits)).toEqual([true, true]);
  });

  it('recommends the fitting trial with the lowest scan time, not a faster one that does not fit', () => {
    const trials: TrialSummary[] = [
      { workers: 0, batchSize: 64, scanMs: 300, peakRssMiB: 50, fits: true },
      { workers: 0, batchSize: 256, scanMs: 250, peakRssMiB: 50, fits: true },
      { workers: 1, batchSize: 64, scanMs: 260, peakRssMiB: 70, fits: true },
      { workers: 2, batchSize: 256, scanMs: 100, peakRssMiB: 90, fits: false },
    ];
    expect(recommend(trials)).toEqual({ workers: 0, batchSize: 256, fits: true });
    // Ties go to fewer workers, then the smaller batch.
    expect(recommend([...trials, { workers: 1, batchSize: 256, scanMs: 250, peakRssMiB: 60, fits: true }])).toEqual({ workers: 0, batchSize: 256, fits: true });
    expect(recommend([{ workers: 1, batchSize: 1024, scanMs: 5, peakRssMiB: 1, fits: true }, { workers: 1, batchSize: 64, scanMs: 5, peakRssMiB: 1, fits: true }])).toEqual({ workers: 1, batchSize: 64, fits: true });
  });

  it('recommends 0 workers with the smallest batch when nothing fits', () => {
    const trials: TrialSummary[] = [
      { workers: 1, batchSize: 1024, scanMs: 10, peakRssMiB: 90, fits: false },
      { workers: 0, batchSize: 256, scanMs: 20, peakRssMiB: 80, fits: false },
      { workers: 0, batchSize: 64, scanMs: 30, peakRssMiB: 80, fits: false },
    ];
    expect(recommend(trials)).toEqual({ workers: 0, batchSize: 64, fits: false });
  });
});
