// CPU seconds per GC run: the process (all threads) and its waited-for children, read for real,
// and carried into the report, the metrics, executor_vars.json and Prometheus.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planResources, defaultConfig } from '../../src/config.js';
import { runGc } from '../../src/executor/gc-run.js';
import { GcMetrics, writeExecutorVars } from '../../src/executor/metrics.js';
import { GcPrometheus } from '../../src/executor/prometheus.js';
import { childrenUsFromStat, cpuSecondsBetween, sampleCpu } from '../../src/io/cpu-usage.js';
import { silentLogger } from '../../src/log.js';
import { FakeServices } from '../executor/fake-services.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { RecordingDriver } from '../helpers/recording-driver.js';

describe('CPU usage', () => {
  it('reads cutime + cstime from /proc/self/stat, a command name with spaces and parentheses included', () => {
    const stat = '4242 (node (a b)) S 1 4242 4242 0 -1 4194560 100 0 0 0 50 7 30 12 20 0 11 0 1234 0 0';
    expect(childrenUsFromStat(stat)).toBe((30 + 12) * 10_000);
    expect(childrenUsFromStat(readFileSync('/proc/self/stat', 'latin1'))).toBeTypeOf('number');
  });

  it('a child that burns CPU shows in children once waited for, not in the process', () => {
    const before = sampleCpu();
    spawnSync('/bin/sh', ['-c', 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done']);
    const after = sampleCpu();
    const spent = cpuSecondsBetween(before, after);
    expect(spent.children).toBeGreaterThan(0.05);
    expect(spent.process).toBeLessThan(spent.children);
    expect(spent.total).toBeCloseTo(spent.process + spent.children, 3);
  });

  it('a GC run reports its CPU seconds in the report, the metrics, executor_vars.json and Prometheus', async () => {
    const clock = new FakeClock();
    const samples = [
      { processUs: 1_000_000, childrenUs: 200_000 },
      { processUs: 3_500_000, childrenUs: 450_000 },
    ];
    const metrics = new GcMetrics();
    metrics.setResources(planResources({ cores: 2, cgroup: { memoryBytes: 128 * 2 ** 20, cpu: 0.2 } }));
    const report = await runGc(
      { gcTaskId: 'gc-1', retained: new Map(), startMs: clock.now() },
      { services: new FakeServices(), driver: new RecordingDriver(), clock, config: { ...defaultConfig(), checkpointRoots: ['/ckpt'] }, logger: silentLogger(), metrics, cpu: () => samples.shift() ?? { processUs: 0, childrenUs: 0 } },
    );
    expect(report.cpuSeconds).toEqual({ process: 2.5, children: 0.25, total: 2.75 });
    expect(metrics.toJSON()).toMatchObject({ last_run_cpu_seconds: 2.75, last_run_children_cpu_seconds: 0.25, cpu_seconds_total: 2.75 });

    const dir = await mkdtemp(path.join(tmpdir(), 'gc-vars-'));
    try {
      const vars = JSON.parse(await readFile(await writeExecutorVars(dir, metrics), 'utf8')) as Record<string, unknown>;
      expect(vars).toMatchObject({ cpu_seconds_total: 2.75, cgroup_memory_limit_bytes: 128 * 2 ** 20, cgroup_cpu_limit: 0.2, memory_limit_bytes: 128 * 2 ** 20, workers: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const text = await new GcPrometheus({ metrics }).text();
    expect(text).toMatch(/^thermos_gc_run_cpu_seconds_total 2\.75$/m);
    expect(text).toMatch(/^thermos_gc_last_run_cpu_seconds 2\.75$/m);
    expect(text).toMatch(/^thermos_gc_cgroup_memory_limit_bytes 134217728$/m);
    expect(text).toMatch(/^thermos_gc_cpu_limit 0\.2$/m);
    expect(text).toMatch(/^thermos_gc_workers 0$/m);
  });

  it('no limit is +Inf in Prometheus and null in executor_vars.json', async () => {
    const metrics = new GcMetrics();
    metrics.setResources(planResources({ cores: 2, cgroup: {} }));
    expect(metrics.toJSON()).toMatchObject({ memory_limit_bytes: null, cpu_limit: null, cgroup_memory_limit_bytes: null, workers: 2 });
    const text = await new GcPrometheus({ metrics }).text();
    expect(text).toMatch(/^thermos_gc_memory_limit_bytes \+Inf$/m);
    expect(text).toMatch(/^thermos_gc_cgroup_cpu_limit \+Inf$/m);
  });
});
