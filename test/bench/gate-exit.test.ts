// The gate as CI runs it: `npm run bench -- --quick --thresholds FILE` (here only the replay
// suite, the quickest) exits 1 and names the measure when a bound cannot be met, after retaking
// it once; exits 0 when every bound is met; exits 2 on a thresholds file it cannot use.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../e2e/harness.js';

const RUN = fileURLToPath(new URL('../../dist/bench/run.js', import.meta.url));
let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(path.join(tmpdir(), 'thermos-gc-gate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function bench(thresholds: unknown): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const file = path.join(dir, `thresholds-${process.hrtime.bigint()}.json`);
  await writeFile(file, typeof thresholds === 'string' ? thresholds : JSON.stringify(thresholds));
  const r = spawnSync(process.execPath, [RUN, '--quick', '--only', 'replay', '--dir', dir, '--thresholds', file], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the bench gate, run as CI runs it', () => {
  it('exits 1 and names the measure when a bound cannot be met, after retaking it once', async () => {
    const r = await bench({ 'replay.x_thrift': { min: 1e9 } });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^gate NOT MET replay\.x_thrift: [\d.]+, bound ≥ 1000000000 \(retried; first sample [\d.]+\)$/m);
    expect(r.stdout).toMatch(/^gate: FAILED \(replay\.x_thrift\)$/m);
    // The retake ran the suite again: its table is printed twice.
    expect(r.stdout.match(/^Checkpoint replay \(codec\)/gm)).toHaveLength(2);
  });

  it('exits 0 when every bound is met, one line per measure', async () => {
    const r = await bench({ 'replay.x_thrift': { min: 0.001 } });
    expect(r.stdout).toMatch(/^gate met {5}replay\.x_thrift: [\d.]+, bound ≥ 0\.0010$/m);
    expect(r.stdout).toMatch(/^gate: every bound met$/m);
    expect(r.status).toBe(0);
  });

  it('fails a bound whose measure the suite did not take', async () => {
    const r = await bench({ 'replay.no_such_measure': { max: 1 } });
    expect(r.stdout).toMatch(/^gate NOT MET replay\.no_such_measure: not measured, bound ≤ 1\.00$/m);
    expect(r.status).toBe(1);
  });

  it('exits 2 on a thresholds file it cannot use, before measuring', async () => {
    const r = await bench('{"replay.x_thrift": {"below": 3}}');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown key "below"/);
    expect(r.stdout).not.toMatch(/Checkpoint replay/);
  });
});
