// `thermos-gc tune` on a generated agent: every trial in its own child process (the compiled
// trial entry), read-only, recommending the fastest trial that fits the memory budget.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { MEMORY_BUDGET_SHARE } from '../../src/config.js';
import type { TuneOutput } from '../../src/report/tune-report.js';
import { generateAgent, type DenseAgent } from '../../src/sim/dense-agent.js';
import { runCli } from '../helpers/cli-capture.js';
import { ensureBuilt, tempDir } from '../e2e/harness.js';

const MIB = 2 ** 20;

/** Every path under `dir` with its type, size and mtime: what a read-only command must not change. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const rel of (await readdir(dir, { recursive: true })).map(String).sort()) {
    const st = await lstat(path.join(dir, rel));
    out.push(`${rel} ${st.mode} ${st.size} ${st.mtimeMs}`);
  }
  return out;
}

function lowestFitting(out: TuneOutput): { workers: number; batchSize: number } | undefined {
  const fitting = out.trials.filter((t) => t.fits);
  if (fitting.length === 0) return undefined;
  const best = fitting.reduce((a, b) => ((b.scanMs ?? Infinity) < (a.scanMs ?? Infinity) ? b : a));
  return { workers: best.workers, batchSize: best.batchSize };
}

describe('thermos-gc tune', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let agent: DenseAgent;
  let roots: string[];
  let unlimited: TuneOutput | undefined;

  beforeAll(async () => {
    await ensureBuilt();
    tmp = await tempDir('tune-');
    // More tasks than one batch of 256, so the threaded trials start their threads.
    agent = await generateAgent(path.join(tmp.dir, 'agent'), { tasks: 400, filesPerSandbox: 1, fileBytes: 64, seed: 13 });
    roots = ['--checkpoint-root', agent.checkpointRoot, '--mesos-root', agent.mesosRoot];
  }, 120_000);
  afterAll(async () => {
    await tmp?.cleanup();
  });

  it('measures every trial of the grid, recommends the fastest, and changes nothing under the roots', async () => {
    const before = await snapshot(agent.dir);
    const r = await runCli(['tune', ...roots, '--max-workers', '2', '--batch-sizes', '64,256', '--reps', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as TuneOutput;
    unlimited = out;
    expect(Object.keys(out)).toEqual(['limits', 'trials', 'recommended']);
    expect(out.trials.map((t) => [t.workers, t.batchSize])).toEqual([[0, 64], [0, 256], [1, 64], [1, 256], [2, 64], [2, 256]]);
    for (const t of out.trials) {
      expect(Object.keys(t)).toEqual(['workers', 'batchSize', 'scanMs', 'peakRssMiB', 'fits']);
      expect(t.scanMs).toBeGreaterThan(0);
      // A whole Node process, and more with threads: the peak is the child's, not this process's.
      expect(t.peakRssMiB).toBeGreaterThan(20);
      expect(t.fits).toBe(true);
    }
    expect(out.limits.memoryLimitBytes).toBeNull();
    expect(out.limits.memoryBudgetBytes).toBeNull();
    expect(out.recommended).toEqual(lowestFitting(out));
    // Two reps of six trials, one line each, after the warm-up.
    expect(r.stderr).toMatch(/^warm-up: 400 tasks, \d+ linked executors/m);
    expect(r.stderr).toMatch(/^trial 12\/12: workers 2, batch 256, rep 2\/2$/m);
    expect(await snapshot(agent.dir)).toEqual(before);
  }, 120_000);

  it('under a memory limit the threaded trials do not fit, and the recommendation does', async () => {
    expect(unlimited).toBeDefined();
    const peak = (w: (n: number) => boolean): number[] => unlimited!.trials.filter((t) => w(t.workers)).map((t) => t.peakRssMiB ?? Infinity);
    const inline = Math.max(...peak((n) => n === 0));
    const threaded = Math.min(...peak((n) => n > 0));
    // Each thread is a V8 isolate of its own (~10 MiB idle): the gap is what the budget splits.
    expect(threaded - inline).toBeGreaterThan(4);
    const budgetMiB = (inline + threaded) / 2;
    const limitBytes = Math.round((budgetMiB * MIB) / MEMORY_BUDGET_SHARE);
    const r = await runCli(['tune', ...roots, '--memory-limit', String(limitBytes), '--max-workers', '2', '--batch-sizes', '64,256', '--reps', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as TuneOutput;
    expect(out.limits).toMatchObject({ memoryLimitBytes: limitBytes, memoryLimitFrom: 'flag', memoryBudgetBytes: Math.floor(limitBytes * MEMORY_BUDGET_SHARE) });
    // The executor's own formula fits no worker in so little: its default is 0, the grid went on by --max-workers.
    expect(out.limits.defaultWorkers).toBe(0);
    expect(out.trials).toHaveLength(6);
    for (const t of out.trials) {
      const budget = (out.limits.memoryBudgetBytes as number) / MIB;
      const peakMiB = t.peakRssMiB ?? Infinity;
      if (Math.abs(peakMiB - budget) > 0.1) expect(t.fits).toBe(peakMiB <= budget);
      if (t.workers > 0) expect(t.fits).toBe(false);
    }
    expect(out.trials.filter((t) => t.fits).length).toBeGreaterThan(0);
    expect(out.recommended).toEqual(lowestFitting(out));
    expect(out.recommended.workers).toBe(0);
  }, 120_000);

  it('with nothing fitting, says so and recommends 0 workers with the smallest batch', async () => {
    const r = await runCli(['tune', ...roots, '--memory-limit', '8M', '--max-workers', '1', '--batch-sizes', '256,64', '--reps', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^memory 8 MiB \(flag\), budget 6 MiB; CPU: no limit; cores \d+; default workers 0$/m);
    expect(r.stdout).toMatch(/^workers\s+batch\s+scan ms \(median of 1\)\s+peak RSS MiB\s+fits$/m);
    expect(r.stdout.match(/ no$/gm)).toHaveLength(4);
    expect(r.stdout).toMatch(/^no trial fit the memory budget of 6 MiB/m);
    expect(r.stdout).toMatch(/^recommended: --workers 0 --batch-size 64$/m);
    expect(r.stdout).toMatch(/^environment: THERMOS_GC_WORKERS=0 THERMOS_GC_BATCH_SIZE=64$/m);
  }, 120_000);

  it('exits 2 on a missing root or bad usage, naming what is wrong, before any trial', async () => {
    const missing = path.join(tmp.dir, 'nope');
    let r = await runCli(['tune', '--checkpoint-root', agent.checkpointRoot, '--checkpoint-root', missing, '--mesos-root', agent.mesosRoot]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`thermos-gc tune: --checkpoint-root ${missing} does not exist\n`);
    r = await runCli(['tune', '--checkpoint-root', agent.checkpointRoot, '--mesos-root', missing, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`thermos-gc tune: --mesos-root ${missing} does not exist\n`);
    expect(r.stdout).toBe('');
    r = await runCli(['tune', '--checkpoint-root', agent.checkpointRoot, '--mesos-root', path.join(agent.checkpointRoot, '..', 'mesos', 'nope')]);
    expect(r.code).toBe(2);
    r = await runCli(['tune', ...roots, '--reps', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--reps: 0 must be between 1 and 100/);
    r = await runCli(['tune', ...roots, '--batch-sizes', '64,,256']);
    expect(r.code).toBe(2);
    r = await runCli(['tune', ...roots, '--workers', '2']);
    expect(r.code).toBe(2);
  });
});
