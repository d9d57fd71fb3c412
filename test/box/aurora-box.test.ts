// The real executor in the box Aurora gives it (GcExecutorLauncher: 0.2 CPU, 128 MB; 16 MB of
// disk), enforced by real cgroup v1 memory/cpu/cpuacct limits as on a Mesos agent, against the
// strict agent simulator on a generated 2,000-task agent. The 10,000-task version runs in the bench
// (`npm run bench`, suite "box").
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runInBox, type BoxOptions, type BoxResult } from '../../bench/aurora-box.js';
import { cgroupsUnavailable } from '../../bench/box-cgroup.js';
import { GC_FINISHED_MESSAGE } from '../../src/executor/gc-run.js';
import { ensureBuilt } from '../e2e/harness.js';

const MiB = 2 ** 20;
/** Issue 11's bounds: peak RSS (VmHWM, file-backed pages included) and half the 16 MB disk. */
const PEAK_RSS_MIB = 96;
const SANDBOX_BYTES = 8 * MiB;
const TASKS = 2_000;
const BIN = fileURLToPath(new URL('../../bin/thermos-gc.js', import.meta.url));

const unavailable = cgroupsUnavailable();
if (unavailable !== undefined) console.warn(`test/box/aurora-box.test.ts: skipped: ${unavailable}`);

function boxOptions(runs: number, workers?: number): BoxOptions {
  const o: BoxOptions = {
    tasks: TASKS,
    runs,
    memoryBytes: 128 * MiB, // Mesos counts mem in MiB (Bytes::megabytes)
    cpu: 0.2,
    bin: BIN,
    cgroupPrefix: 'tgc-test-box-',
    keep: false,
    extraArgs: [],
    seed: 17,
  };
  if (workers !== undefined) o.workers = workers;
  return o;
}

function expectFitsTheBox(r: BoxResult, runs: number): void {
  const said = JSON.stringify({ exit: r.exit, error: r.error, oom: r.oomKills, peak: r.peakRssMiB, sandbox: r.sandboxBytes, planned: r.planned });
  expect(r.finished, said).toBe(true);
  expect(r.exit, said).toEqual({ code: 0, signal: null });
  expect(r.oomKills, said).toBe(0);
  expect(r.runs).toHaveLength(runs);
  for (const run of r.runs) {
    // Every GC task ran to its end (not skipped, not failed) and said what it cost.
    expect(run.message, run.gcTaskId).toMatch(new RegExp(`^${GC_FINISHED_MESSAGE.replace('.', '\\.')}`));
    expect(run.cpuSeconds, run.gcTaskId).toMatchObject({ total: expect.any(Number) });
  }
  expect(r.peakRssMiB, said).toBeGreaterThan(0);
  expect(r.peakRssMiB, said).toBeLessThanOrEqual(PEAK_RSS_MIB);
  expect(r.sandboxBytes, said).toBeLessThanOrEqual(SANDBOX_BYTES);
  // The executor planned for the box it found: never more workers than fit its memory limit.
  expect(r.planned?.memory_limit_bytes, said).toBe(128 * MiB);
  expect(r.planned?.cpu_limit, said).toBe(0.2);
  expect(r.planned?.workers ?? Number.POSITIVE_INFINITY, said).toBeLessThanOrEqual(r.planned?.workers_that_fit ?? Number.POSITIVE_INFINITY);
}

describe.skipIf(unavailable !== undefined)(`the executor in a real 128 MB / 0.2 CPU cgroup, ${TASKS} tasks`, () => {
  it('default config: three GC runs finish, no OOM kill, peak RSS and sandbox within bounds', async () => {
    await ensureBuilt();
    const r = await runInBox(boxOptions(3));
    expectFitsTheBox(r, 3);
    // The first run did the work: kills and deletions happened inside the box.
    expect(r.runs[0]?.deleted ?? 0).toBeGreaterThan(0);
  }, 600_000);

  it('--workers 8: capped to what fits, the run finishes without an OOM kill', async () => {
    await ensureBuilt();
    const r = await runInBox(boxOptions(1, 8));
    expectFitsTheBox(r, 1);
    expect(r.planned?.workers).toBeLessThan(8);
  }, 600_000);
});
