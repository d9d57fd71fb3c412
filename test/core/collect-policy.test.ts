import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { selectForCollection, type CollectCandidate, type CollectLimits } from '../../src/core/collect-policy.js';
import { naiveSelection } from '../collect/naive-policy.js';

const DAY = 86_400_000;

function cand(taskId: string, ageDays: number, sandboxBytes: number, logBytes = 0, metadataBytes = 0): CollectCandidate {
  return { taskId, ageMs: ageDays * DAY, sandboxBytes, logBytes, metadataBytes };
}

const base: CollectLimits = { deleteLogs: false, deleteMetadata: false, named: false };

describe('selectForCollection', () => {
  it('selects by age, oldest first', () => {
    const s = selectForCollection([cand('a', 1, 10), cand('b', 9, 10), cand('c', 8, 10)], { ...base, maxAgeMs: 7 * DAY });
    expect(s.selected).toEqual(['b', 'c']);
    expect(Object.fromEntries(s.reasons)).toEqual({ a: null, b: 'max_age', c: 'max_age' });
  });

  it('keeps the newest tasks that fit in max space and selects the older rest', () => {
    // newest first: d(1) 40, c(2) 40 → 80 fits in 100; b(3) would make 130: b and a go.
    const cands = [cand('a', 4, 10), cand('b', 3, 50), cand('c', 2, 40), cand('d', 1, 40)];
    const s = selectForCollection(cands, { ...base, maxSpaceBytes: 100 });
    expect(s.selected).toEqual(['a', 'b']);
    // a would still fit after b is skipped, but the policy keeps only a newest run: a is older than b.
    expect(s.reasons.get('a')).toBe('max_space');
  });

  it('counts logs and metadata only when they are deleted', () => {
    const cands = [cand('old', 2, 10, 100, 100), cand('new', 1, 10, 100, 100)];
    expect(selectForCollection(cands, { ...base, maxSpaceBytes: 50 }).selected).toEqual([]);
    expect(selectForCollection(cands, { ...base, maxSpaceBytes: 150, deleteLogs: true }).selected).toEqual(['old']);
    expect(selectForCollection(cands, { ...base, maxSpaceBytes: 150, deleteLogs: true, deleteMetadata: true }).selected).toEqual(['old', 'new']);
  });

  it('selects the oldest beyond max tasks, after the other limits', () => {
    const cands = [cand('a', 10, 1), cand('b', 5, 1), cand('c', 4, 1), cand('d', 3, 1), cand('e', 2, 1)];
    const s = selectForCollection(cands, { ...base, maxAgeMs: 7 * DAY, maxTasks: 2 });
    expect(s.selected).toEqual(['a', 'b', 'c']);
    expect(s.reasons.get('a')).toBe('max_age');
    expect(s.reasons.get('b')).toBe('max_tasks');
    expect(s.reasons.get('e')).toBeNull();
  });

  it('named ids with no limit select every candidate as named; with no ids and no limit nothing', () => {
    const cands = [cand('x', 1, 1), cand('y', 2, 1)];
    expect(selectForCollection(cands, { ...base, named: true }).selected).toEqual(['y', 'x']);
    expect(selectForCollection(cands, { ...base, named: true }).reasons.get('x')).toBe('named');
    expect(selectForCollection(cands, base).selected).toEqual([]);
    expect(selectForCollection(cands, { ...base, named: true, maxTasks: 1 }).selected).toEqual(['y']);
  });

  it('orders equal ages by task id, whatever the input order', () => {
    const a = selectForCollection([cand('b', 1, 1), cand('a', 1, 1)], { ...base, maxTasks: 0 });
    expect(a.selected).toEqual(['a', 'b']);
  });

  it('matches a naive implementation on random candidate sets', () => {
    const candidates = fc.uniqueArray(
      fc.record({
        taskId: fc.stringMatching(/^[a-z]{1,4}$/),
        ageMs: fc.integer({ min: 0, max: 20 }).map((d) => d * DAY),
        sandboxBytes: fc.integer({ min: 0, max: 1000 }),
        logBytes: fc.integer({ min: 0, max: 300 }),
        metadataBytes: fc.integer({ min: 0, max: 50 }),
      }),
      { selector: (c) => c.taskId, maxLength: 40 },
    );
    const limits = fc.record({
      maxAgeMs: fc.option(fc.integer({ min: 0, max: 20 }).map((d) => d * DAY), { nil: undefined }),
      maxSpaceBytes: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
      maxTasks: fc.option(fc.integer({ min: 0, max: 45 }), { nil: undefined }),
      deleteLogs: fc.boolean(),
      deleteMetadata: fc.boolean(),
      named: fc.boolean(),
    });
    fc.assert(
      fc.property(candidates, limits, (cands, lim) => {
        const got = selectForCollection(cands, lim);
        const want = naiveSelection(cands, lim);
        expect(Object.fromEntries(got.reasons)).toEqual(Object.fromEntries(want));
        const selectedWant = cands.filter((c) => want.get(c.taskId) !== null);
        expect(new Set(got.selected)).toEqual(new Set(selectedWant.map((c) => c.taskId)));
        // Oldest first.
        for (let i = 1; i < got.selected.length; i++) {
          const prev = cands.find((c) => c.taskId === got.selected[i - 1]);
          const cur = cands.find((c) => c.taskId === got.selected[i]);
          expect((prev?.ageMs ?? 0) >= (cur?.ageMs ?? 0)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
