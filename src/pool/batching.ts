// Cutting work into batches for the pool. Deletion targets that name a common path travel in
// the same batch, so the deleter's own claim table deletes that path once (as it would on one
// thread) instead of two workers racing for it.
import type { DeletionTarget } from '../core/facts.js';

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const n = Math.max(1, Math.floor(size));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

function pathsOf(t: DeletionTarget): string[] {
  const out = [...t.logPaths, ...t.metadataPaths];
  if (t.sandbox !== undefined && t.sandbox !== '') out.push(t.sandbox);
  return out;
}

/**
 * Batches of about `size` targets (indices into `targets`, original order kept inside a batch),
 * where every group of targets linked by a shared path lies in one batch. A group larger than
 * `size` becomes one larger batch.
 */
export function batchTargets(targets: readonly DeletionTarget[], size: number): number[][] {
  const parent = targets.map((_, i) => i);
  const find = (i: number): number => {
    let r = i;
    while (parent[r] !== r) r = parent[r] as number;
    while (parent[i] !== r) {
      const up = parent[i] as number;
      parent[i] = r;
      i = up;
    }
    return r;
  };
  const owner = new Map<string, number>();
  targets.forEach((t, i) => {
    for (const p of pathsOf(t)) {
      const j = owner.get(p);
      if (j === undefined) owner.set(p, i);
      else parent[find(i)] = find(j);
    }
  });
  const groups = new Map<number, number[]>();
  targets.forEach((_, i) => {
    const r = find(i);
    const g = groups.get(r);
    if (g === undefined) groups.set(r, [i]);
    else g.push(i);
  });
  const n = Math.max(1, Math.floor(size));
  const batches: number[][] = [];
  let current: number[] = [];
  for (const g of groups.values()) {
    if (current.length > 0 && current.length + g.length > n) {
      batches.push(current);
      current = [];
    }
    current.push(...g);
  }
  if (current.length > 0) batches.push(current);
  for (const b of batches) b.sort((a, c) => a - c);
  return batches;
}
