import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decisionStatuses, type StatusFact } from '../../src/core/facts.js';
import { lastRunnerOf } from '../../src/core/orphans.js';

const status = fc.record({
  state: fc.integer({ min: 0, max: 6 }),
  timestampMs: fc.integer({ min: 0, max: 1_000_000 }),
  runnerPid: fc.option(fc.constantFrom(10, 11, 12), { nil: undefined }),
  runnerUid: fc.option(fc.constantFrom(0, 33), { nil: undefined }),
});

describe('decisionStatuses', () => {
  it('keeps what decisions read: first, last and the last runner, for any history', () => {
    fc.assert(
      fc.property(fc.array(status, { maxLength: 40 }), (all: StatusFact[]) => {
        const kept = decisionStatuses(all);
        expect(kept.length).toBeLessThanOrEqual(4);
        expect(kept[0]).toBe(all[0]);
        expect(kept.at(-1)).toBe(all.at(-1));
        expect(lastRunnerOf(kept)).toEqual(lastRunnerOf(all));
        // In checkpoint order, a subsequence of the original.
        let from = 0;
        for (const s of kept) {
          const at = all.indexOf(s, from);
          expect(at).toBeGreaterThanOrEqual(from);
          from = at + 1;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a runner that comes back after another is its own runner again', () => {
    const s = (runnerPid: number | undefined, timestampMs: number): StatusFact => ({ state: 0, timestampMs, runnerPid });
    const all = [s(10, 1), s(10, 2), s(11, 3), s(11, 4), s(10, 5), s(10, 6), s(undefined, 7)];
    expect(lastRunnerOf(decisionStatuses(all))).toEqual({ pid: 10, timestampMs: 5 });
    expect(decisionStatuses(all).map((x) => x.timestampMs)).toEqual([1, 4, 5, 7]);
  });
});
