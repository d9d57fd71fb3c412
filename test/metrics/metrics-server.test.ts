import { describe, it, expect, afterEach } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compileConfig } from '../../src/config.js';
import { TaskState } from '../../src/core/states.js';
import { runGc, type GcRunReport } from '../../src/executor/gc-run.js';
import { GcMetrics, writeExecutorVars } from '../../src/executor/metrics.js';
import { GcPrometheus } from '../../src/executor/prometheus.js';
import { startMetricsServer, type MetricsServer } from '../../src/io/metrics-server.js';
import { silentLogger } from '../../src/log.js';
import { FakeServices } from '../executor/fake-services.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { RecordingDriver } from '../helpers/recording-driver.js';

/** Sample value of an unlabelled series (or one with the given label text) in exposition text. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    if (line.slice(0, cut) === series) return Number(line.slice(cut + 1));
  }
  return undefined;
}

let server: MetricsServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('/metrics', () => {
  it('serves the executor metrics over HTTP and they change after a GC run', async () => {
    const metrics = new GcMetrics();
    let pending = 3;
    metrics.setPendingAckSource(() => pending);
    const reports: GcRunReport[] = [];
    const prom = new GcPrometheus({ metrics, reports, poolUtilisation: () => 0.25 });
    server = await startMetricsServer({ source: prom, port: 0, host: '127.0.0.1' });

    const scrape = async (): Promise<string> => {
      const res = await fetch(`http://127.0.0.1:${server?.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      return res.text();
    };

    const before = await scrape();
    expect(sample(before, 'thermos_gc_runs_total')).toBe(0);
    expect(sample(before, 'thermos_gc_tasks_deleted_total')).toBe(0);
    expect(sample(before, 'thermos_gc_updates_pending_ack')).toBe(3);
    expect(sample(before, 'thermos_gc_worker_pool_utilisation')).toBe(0.25);
    expect(sample(before, 'thermos_gc_run_duration_seconds_count')).toBe(0);
    for (const name of ['refusals_total', 'kills_total', 'losses_total', 'dropped_gc_tasks', 'last_scan_duration_seconds', 'disk_used_ratio', 'inode_used_ratio']) {
      expect(sample(before, `thermos_gc_${name}`), name).toBe(0);
    }

    const services = new FakeServices();
    for (const id of ['old-1', 'old-2']) {
      services.add({ taskId: id, root: '/ckpt', state: 'finished', statuses: [{ state: TaskState.SUCCESS, timestampMs: 1 }], sandbox: `/sb/${id}` });
    }
    const clock = new FakeClock();
    const config = compileConfig({ 'checkpointRoots': ['/ckpt'] });
    const report = await runGc(
      { gcTaskId: 'gc-1', retained: new Map(), startMs: clock.now() },
      { services, driver: new RecordingDriver(), clock, config, logger: silentLogger(), metrics },
    );
    reports.push(report);
    pending = 0;

    const after = await scrape();
    expect(sample(after, 'thermos_gc_runs_total')).toBe(1);
    expect(sample(after, 'thermos_gc_tasks_deleted_total')).toBe(2);
    expect(sample(after, 'thermos_gc_bytes_freed_total')).toBe(report.bytesFreed);
    expect(sample(after, 'thermos_gc_inodes_freed_total')).toBe(report.inodesFreed);
    expect(sample(after, 'thermos_gc_updates_pending_ack')).toBe(0);
    expect(sample(after, 'thermos_gc_run_duration_seconds_count')).toBe(1);
    expect(sample(after, 'thermos_gc_phase_duration_seconds_count{phase="delete"}')).toBe(1);
    // Scraping again does not observe the same run twice.
    expect(sample(await scrape(), 'thermos_gc_run_duration_seconds_count')).toBe(1);

    // executor_vars.json is written from the same object: the same numbers.
    dir = await mkdtemp(path.join(tmpdir(), 'thermos-gc-metrics-'));
    const vars = JSON.parse(await readFile(await writeExecutorVars(dir, metrics), 'utf8')) as Record<string, number>;
    expect(vars.gc_runs).toBe(sample(after, 'thermos_gc_runs_total'));
    expect(vars.tasks_deleted).toBe(sample(after, 'thermos_gc_tasks_deleted_total'));
    expect(vars.bytes_reclaimed).toBe(sample(after, 'thermos_gc_bytes_freed_total'));
  });

  it('exports disk usage once sampled, and answers only /metrics and /healthz', async () => {
    const metrics = new GcMetrics() as GcMetrics & { disk_used_share?: number };
    const prom = new GcPrometheus({ metrics });
    server = await startMetricsServer({ source: prom, port: 0, host: '127.0.0.1' });
    metrics.disk_used_share = 0.9;
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    expect(sample(text, 'thermos_gc_disk_used_ratio')).toBe(0.9);
    expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('uses its own registry: two exporters do not clash', () => {
    const a = new GcPrometheus({ metrics: new GcMetrics() });
    const b = new GcPrometheus({ metrics: new GcMetrics() });
    expect(a.registry).not.toBe(b.registry);
  });
});
