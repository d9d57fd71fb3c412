import { describe, expect, it } from 'vitest';
import type { DeletionTarget } from '../../src/core/facts.js';
import { batchTargets, chunk } from '../../src/pool/batching.js';

const target = (taskId: string, paths: { sandbox?: string; logs?: string[]; meta?: string[] } = {}): DeletionTarget => {
  const t: DeletionTarget = { taskId, reason: 'test', logPaths: paths.logs ?? [], metadataPaths: paths.meta ?? [`/ckpt/${taskId}`] };
  if (paths.sandbox !== undefined) t.sandbox = paths.sandbox;
  return t;
};

describe('chunk', () => {
  it('cuts into batches of the given size, the last one shorter', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 3)).toEqual([]);
    expect(chunk([1, 2], 0)).toEqual([[1], [2]]);
  });
});

describe('batchTargets', () => {
  it('gives ceil(n / size) batches for independent targets, covering each once', () => {
    const targets = Array.from({ length: 1000 }, (_, i) => target(`t${i}`, { sandbox: `/sb/t${i}` }));
    const batches = batchTargets(targets, 256);
    expect(batches.map((b) => b.length)).toEqual([256, 256, 256, 232]);
    expect(batches.flat().sort((a, b) => a - b)).toEqual(targets.map((_, i) => i));
  });

  it('keeps targets that share any path in one batch', () => {
    const targets = [
      target('a', { sandbox: '/sb/x' }),
      target('b', { sandbox: '/sb/y' }),
      target('c', { sandbox: '/sb/z', logs: ['/logs/shared'] }),
      target('d', { sandbox: '/sb/x' }),
      target('e', { sandbox: '/sb/w', logs: ['/logs/shared'] }),
      target('f', { sandbox: '/sb/v' }),
    ];
    const batches = batchTargets(targets, 2);
    const batchOf = (i: number): number => batches.findIndex((b) => b.includes(i));
    expect(batchOf(0)).toBe(batchOf(3));
    expect(batchOf(2)).toBe(batchOf(4));
    expect(batches.flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const b of batches) expect([...b].sort((x, y) => x - y)).toEqual(b);
  });

  it('links groups transitively and lets a large group exceed the size', () => {
    const targets = Array.from({ length: 10 }, (_, i) => target(`t${i}`, { logs: [`/l/${i}`, `/l/${i + 1}`] }));
    expect(batchTargets(targets, 3)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  });
});
