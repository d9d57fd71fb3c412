// A tune trial the kernel kills (SIGKILL, as the OOM killer does in a cgroup) is a trial that does
// not fit: tune goes on with the others instead of stopping.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTrial } from '../../src/cli/tune.js';
import { recommend, summariseTrials } from '../../src/core/tune-plan.js';
import { tuneOutput } from '../../src/report/tune-report.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'thermos-gc-tune-kill-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const request = (workers: number) => ({ checkpointRoots: ['/nonexistent'], mesosRoot: '/nonexistent', workers, batchSize: 256, workerHeapMb: 64 });

describe('a killed tune trial', () => {
  it('comes back as an unmeasured trial that does not fit; a trial that fails otherwise is an error', async () => {
    // Stands in for the trial entry: killed when asked for threads, a result otherwise.
    const fake = path.join(dir, 'trial.mjs');
    await writeFile(fake, `const req = JSON.parse(process.argv[2]);
if (req.workers > 0) process.kill(process.pid, 'SIGKILL');
else if (req.batchSize === 1) process.exit(3);
else process.stdout.write(JSON.stringify({ scanMs: 12.5, peakRssBytes: 50 * 2 ** 20, tasks: 1, linked: 0 }) + '\\n');
`);
    const killed = await runTrial(fake, request(1));
    expect(killed.peakRssBytes).toBe(Number.POSITIVE_INFINITY);
    const ok = await runTrial(fake, request(0));
    expect(ok.scanMs).toBe(12.5);
    await expect(runTrial(fake, { ...request(0), batchSize: 1 })).rejects.toThrow(/exited 3/);

    const grid = [{ workers: 0, batchSize: 256 }, { workers: 1, batchSize: 256 }];
    const samples = [{ workers: 0, batchSize: 256, ...ok }, { workers: 1, batchSize: 256, ...killed }];
    // No memory limit: still not a fit.
    const trials = summariseTrials(grid, samples, undefined);
    expect(trials.map((t) => t.fits)).toEqual([true, false]);
    const rec = recommend(trials);
    expect(rec).toMatchObject({ workers: 0, batchSize: 256, fits: true });
    const json = JSON.parse(JSON.stringify(tuneOutput({
      memoryLimitBytes: null, memoryLimitFrom: 'none', memoryBudgetBytes: null, cpuLimit: null, cpuLimitFrom: 'none', cores: 2, defaultWorkers: 1, workersThatFit: null,
    }, trials, rec)));
    expect(json.trials[1]).toEqual({ workers: 1, batchSize: 256, scanMs: null, peakRssMiB: null, fits: false });
  });
});
