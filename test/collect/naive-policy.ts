// An independent, deliberately naive reading of the collect policy, for property tests.
import type { CollectCandidate, CollectLimits, CollectReason } from '../../src/core/collect-policy.js';

/**
 * A second, deliberately naive reading of the policy: for each task, decide from scratch by
 * looking at every other task, with no running totals and no shared sort.
 */
export function naiveSelection(cands: readonly CollectCandidate[], limits: CollectLimits): Map<string, CollectReason | null> {
  const olderThan = (a: CollectCandidate, b: CollectCandidate): boolean => a.ageMs > b.ageMs || (a.ageMs === b.ageMs && a.taskId < b.taskId);
  const out = new Map<string, CollectReason | null>();
  const noLimit = limits.maxAgeMs === undefined && limits.maxSpaceBytes === undefined && limits.maxTasks === undefined;
  for (const c of cands) out.set(c.taskId, noLimit && limits.named ? 'named' : null);
  if (noLimit) return out;
  const size = (c: CollectCandidate): number =>
    c.sandboxBytes + (limits.deleteLogs ? c.logBytes : 0) + (limits.deleteMetadata ? c.metadataBytes : 0);
  for (const c of cands) if (limits.maxAgeMs !== undefined && c.ageMs > limits.maxAgeMs) out.set(c.taskId, 'max_age');
  if (limits.maxSpaceBytes !== undefined) {
    const afterAge = cands.filter((c) => out.get(c.taskId) === null);
    for (const c of afterAge) {
      // c and every newer survivor together: if that exceeds the budget, c goes.
      const sum = afterAge.filter((o) => o === c || olderThan(c, o)).reduce((s, o) => s + size(o), 0);
      if (sum > limits.maxSpaceBytes) out.set(c.taskId, 'max_space');
    }
  }
  if (limits.maxTasks !== undefined) {
    const survivors = cands.filter((c) => out.get(c.taskId) === null);
    for (const c of survivors) {
      const newerOrSelf = survivors.filter((o) => o === c || olderThan(c, o)).length;
      if (newerOrSelf > limits.maxTasks) out.set(c.taskId, 'max_tasks');
    }
  }
  return out;
}
