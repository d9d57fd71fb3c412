// The worker count and worker heap planned for a box: cores, CPU quota, memory limit, overrides.
import { describe, expect, it } from 'vitest';
import {
  LOW_CPU_WORKERS,
  MAIN_THREAD_MEMORY_BYTES,
  MAX_DEFAULT_WORKERS,
  MEMORY_BUDGET_SHARE,
  MIN_WORKER_HEAP_MB,
  MAX_WORKER_HEAP_MB,
  WORKER_MEMORY_BYTES,
  compileConfig,
  planResources,
  type BoxFacts,
} from '../../src/config.js';

const MIB = 2 ** 20;
const box = (cores: number, memoryBytes?: number, cpu?: number): BoxFacts => ({
  cores,
  cgroup: { ...(memoryBytes === undefined ? {} : { memoryBytes, memorySource: 'memory.limit_in_bytes' }), ...(cpu === undefined ? {} : { cpu, cpuSource: 'cpu.cfs_quota_us' }) },
});
const fit = (memoryBytes: number): number => Math.max(0, Math.floor((memoryBytes * MEMORY_BUDGET_SHARE - MAIN_THREAD_MEMORY_BYTES) / WORKER_MEMORY_BYTES));

describe('planResources', () => {
  it('with no limits: the cores, capped at 8, and the widest worker heap', () => {
    expect(planResources(box(2))).toMatchObject({ workers: 2, workersFrom: 'derived', memoryLimitFrom: 'none', cpuLimitFrom: 'none', workerHeapMb: MAX_WORKER_HEAP_MB, warnings: [] });
    expect(planResources(box(64)).workers).toBe(MAX_DEFAULT_WORKERS);
  });

  it('a CPU quota bounds the default: below one CPU the measured low-CPU count, else whole CPUs', () => {
    expect(planResources(box(16, undefined, 0.2)).workers).toBe(LOW_CPU_WORKERS);
    expect(planResources(box(16, undefined, 2.5)).workers).toBe(2);
    expect(planResources(box(16, undefined, 1)).workers).toBe(1);
    expect(planResources(box(16, undefined, 2.5)).workersWhy).toContain('CPU limit 2.5 → 2');
  });

  it('a memory limit bounds the default to what fits next to the main thread', () => {
    const oneGiB = 1024 * MIB;
    expect(planResources(box(16, oneGiB)).workers).toBe(Math.min(8, fit(oneGiB)));
    expect(planResources(box(16, 256 * MIB)).workers).toBe(fit(256 * MIB));
    expect(planResources(box(16, 256 * MIB)).workersThatFit).toBe(fit(256 * MIB));
  });

  it('an explicit --workers that does not fit the memory limit is capped, with a warning', () => {
    const plan = planResources(box(16, 128 * MIB), { workers: 8 });
    expect(plan.workers).toBe(fit(128 * MIB));
    expect(plan.workers).toBeLessThan(8);
    expect(plan.workersFrom).toBe('capped');
    expect(plan.warnings.join('\n')).toMatch(/--workers 8 does not fit the memory limit 128 MiB.*using \d/);
  });

  it('an explicit --workers that fits is kept as given, even over the CPU quota', () => {
    expect(planResources(box(2, undefined, 0.2), { workers: 3 })).toMatchObject({ workers: 3, workersFrom: 'flag', warnings: [] });
  });

  it('overrides win over the cgroup: --memory-limit and --cpu-limit', () => {
    const plan = planResources(box(16, 64 * 1024 * MIB, 8), { memoryLimitBytes: 128 * MIB, cpuLimit: 0.2 });
    expect(plan).toMatchObject({ memoryLimitBytes: 128 * MIB, memoryLimitFrom: 'flag', cpuLimit: 0.2, cpuLimitFrom: 'flag', workers: Math.min(LOW_CPU_WORKERS, fit(128 * MIB)) });
  });

  it('worker heaps shrink with the limit and the count, never below the floor', () => {
    const big = planResources(box(4, 2048 * MIB), { workers: 4 });
    const small = planResources(box(4, 512 * MIB), { workers: 4 });
    expect(big.workerHeapMb).toBeGreaterThan(small.workerHeapMb);
    expect(planResources(box(4, 140 * MIB), { workers: 1 }).workerHeapMb).toBeGreaterThanOrEqual(MIN_WORKER_HEAP_MB);
  });

  it('a limit below what the main thread needs says so', () => {
    expect(planResources(box(2, 64 * MIB)).warnings.join()).toMatch(/main thread needs/);
  });
});

describe('compileConfig with a box', () => {
  it('takes --memory-limit as a size and --cpu-limit as CPUs, flags over environment', () => {
    const c = compileConfig({ memoryLimitBytes: '128M' }, { THERMOS_GC_CPU_LIMIT: '0.2', THERMOS_GC_MEMORY_LIMIT: '1G' }, box(8));
    expect(c.memoryLimitBytes).toBe(128 * MIB);
    expect(c.cpuLimit).toBeCloseTo(0.2);
    expect(c.resources).toMatchObject({ memoryLimitBytes: 128 * MIB, cpuLimit: 0.2, memoryLimitFrom: 'flag' });
    expect(c.workers).toBe(c.resources.workers);
  });

  it('an explicit worker count from the environment is capped like a flag', () => {
    const c = compileConfig({}, { THERMOS_GC_WORKERS: '8' }, box(8, 128 * MIB));
    expect(c.workers).toBe(fit(128 * MIB));
    expect(c.resources.workersFrom).toBe('capped');
  });

  it('refuses a CPU count or size that is not one', () => {
    expect(() => compileConfig({ cpuLimit: '0' })).toThrow(/--cpu-limit/);
    expect(() => compileConfig({ cpuLimit: 'lots' })).toThrow(/--cpu-limit/);
    expect(() => compileConfig({ memoryLimitBytes: '0' })).toThrow(/--memory-limit/);
    expect(() => compileConfig({}, { THERMOS_GC_LOG_FILE_SIZE: '2 parsecs' })).toThrow(/THERMOS_GC_LOG_FILE_SIZE/);
  });
});
