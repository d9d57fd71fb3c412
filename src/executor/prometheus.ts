// Prometheus view of the executor's metrics. The GcMetrics object stays the one source of truth
// (executor_vars.json is written from it too): every metric here reads it at scrape time through
// a collect() callback, so nothing is counted twice. Its own prom-client Registry, never the
// global one, so several executors (tests) can live in one process.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GcRunReport } from './gc-run.js';
import { LIMIT_FIELDS, type GcMetrics } from './metrics.js';

export const METRIC_PREFIX = 'thermos_gc_';

type Kind = 'counter' | 'gauge';

interface KnownMetric {
  name: string;
  kind: Kind;
  help: string;
  /** Multiplier from the stored unit (ms → s). */
  scale?: number;
}

/** Snapshot field → exported metric; fields not listed here are exported as plain gauges. */
const KNOWN: Readonly<Record<string, KnownMetric>> = {
  gc_runs: { name: 'runs_total', kind: 'counter', help: 'GC tasks run to completion' },
  tasks_deleted: { name: 'tasks_deleted_total', kind: 'counter', help: 'Tasks whose sandbox, logs and metadata were deleted' },
  bytes_reclaimed: { name: 'bytes_freed_total', kind: 'counter', help: 'Allocated bytes freed by deletions' },
  inodes_reclaimed: { name: 'inodes_freed_total', kind: 'counter', help: 'Inodes freed by deletions' },
  refusals: { name: 'refusals_total', kind: 'counter', help: 'Paths the sandbox policy or the deleter refused to delete' },
  kills: { name: 'kills_total', kind: 'counter', help: 'Tasks killed because the scheduler no longer wants them' },
  losses: { name: 'losses_total', kind: 'counter', help: 'Orphaned tasks marked LOST' },
  kill_budget_exceeded: { name: 'kill_budget_exceeded_total', kind: 'counter', help: 'GC tasks that would have killed too many tasks and killed none' },
  disk_pressure_deleted: { name: 'disk_pressure_deleted_total', kind: 'counter', help: 'Tasks deleted by disk-pressure GC' },
  calls_rejected: { name: 'calls_rejected_total', kind: 'counter', help: 'Calls the agent rejected for good (400, 415, ...): dropped, never resent' },
  foreign_updates_sent: { name: 'foreign_updates_sent_total', kind: 'counter', help: 'Status updates about tasks this executor does not own, accepted by the agent' },
  dropped_tasks: { name: 'dropped_gc_tasks', kind: 'gauge', help: 'GC tasks replaced while queued since the queue was last empty' },
  updates_pending_ack: { name: 'updates_pending_ack', kind: 'gauge', help: 'Status updates about own (GC) tasks not yet acknowledged by the agent' },
  last_run_duration_ms: { name: 'last_run_duration_seconds', kind: 'gauge', help: 'Duration of the last GC run', scale: 1e-3 },
  scan_ms: { name: 'last_scan_duration_seconds', kind: 'gauge', help: 'Scan time of the last GC run', scale: 1e-3 },
  disk_used_share: { name: 'disk_used_ratio', kind: 'gauge', help: 'Used share of the sandbox filesystem, as df (0 until sampled)' },
  inode_used_share: { name: 'inode_used_ratio', kind: 'gauge', help: 'Used inode share of the sandbox filesystem (0 until sampled)' },
  worker_pool_utilisation: { name: 'worker_pool_utilisation', kind: 'gauge', help: 'Share of time the worker pool was busy' },
  last_run_cpu_seconds: { name: 'last_run_cpu_seconds', kind: 'gauge', help: 'CPU seconds of the last GC run: main thread, workers and ps children' },
  last_run_children_cpu_seconds: { name: 'last_run_children_cpu_seconds', kind: 'gauge', help: 'CPU seconds of the ps children of the last GC run (part of last_run_cpu_seconds)' },
  cpu_seconds_total: { name: 'run_cpu_seconds_total', kind: 'counter', help: 'CPU seconds of all GC runs (main thread, workers and ps children)' },
  cgroup_memory_limit_bytes: { name: 'cgroup_memory_limit_bytes', kind: 'gauge', help: "The memory limit of the executor's cgroup, as found (+Inf: none)" },
  cgroup_cpu_limit: { name: 'cgroup_cpu_limit', kind: 'gauge', help: "The CPU quota of the executor's cgroup in CPUs, as found (+Inf: none)" },
  memory_limit_bytes: { name: 'memory_limit_bytes', kind: 'gauge', help: 'The memory limit the executor plans for (--memory-limit or the cgroup; +Inf: none)' },
  cpu_limit: { name: 'cpu_limit', kind: 'gauge', help: 'The CPU limit the executor plans for (--cpu-limit or the cgroup; +Inf: none)' },
  workers: { name: 'workers', kind: 'gauge', help: 'Worker threads configured (derived from the box, or --workers capped to fit)' },
  workers_that_fit: { name: 'workers_that_fit', kind: 'gauge', help: 'Worker threads that fit the memory limit (+Inf: no limit)' },
  worker_heap_limit_mb: { name: 'worker_heap_limit_megabytes', kind: 'gauge', help: "Each worker thread's V8 old-generation limit" },
};

/** Fields exported even when the metrics object does not carry them (yet). */
const ALWAYS = ['disk_used_share', 'inode_used_share', 'disk_pressure_deleted'];

export interface PrometheusSources {
  metrics: GcMetrics;
  /** Reports of finished runs, appended as runs finish (GcExecutor.reports): fed to the histograms. */
  reports?: readonly GcRunReport[];
  /** Worker pool utilisation 0..1; absent without a pool. */
  poolUtilisation?: () => number;
}

const LIMITS: ReadonlySet<string> = new Set(LIMIT_FIELDS);

/** Every numeric value the metrics object holds: its JSON snapshot plus own numeric fields; a null limit is +Inf. */
export function metricValues(metrics: GcMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(metrics)) if (typeof v === 'number') out[k] = v;
  for (const [k, v] of Object.entries(metrics.toJSON())) {
    if (typeof v === 'number') out[k] = v;
    else if (v === null && LIMITS.has(k)) out[k] = Number.POSITIVE_INFINITY;
  }
  return out;
}

export class GcPrometheus {
  readonly registry = new Registry();
  private readonly runDuration: Histogram<string>;
  private readonly phaseDuration: Histogram<'phase'>;
  private reportsSeen = 0;

  constructor(private readonly sources: PrometheusSources) {
    const fields = new Set([...Object.keys(metricValues(sources.metrics)), ...ALWAYS]);
    for (const field of [...fields].sort()) this.register(field);

    if (sources.poolUtilisation !== undefined && !fields.has('worker_pool_utilisation')) {
      const read = sources.poolUtilisation;
      new Gauge({
        name: `${METRIC_PREFIX}worker_pool_utilisation`,
        help: KNOWN.worker_pool_utilisation?.help ?? '',
        registers: [this.registry],
        collect(): void {
          this.set(read());
        },
      });
    }

    const buckets = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
    const self = this;
    this.runDuration = new Histogram({
      name: `${METRIC_PREFIX}run_duration_seconds`,
      help: 'Duration of GC runs (scan to delete)',
      buckets,
      registers: [this.registry],
      collect(): void {
        self.drainReports();
      },
    });
    this.phaseDuration = new Histogram({
      name: `${METRIC_PREFIX}phase_duration_seconds`,
      help: 'Duration of each phase of GC runs',
      labelNames: ['phase'],
      buckets,
      registers: [this.registry],
      collect(): void {
        self.drainReports();
      },
    });
  }

  /** Records one run in the duration histograms (called for runs not in `sources.reports`). */
  observeRun(report: GcRunReport): void {
    const p = report.phaseMs;
    this.runDuration.observe((p.scan + p.reconcile + p.kill + p.delete) / 1000);
    for (const [phase, ms] of Object.entries(p)) this.phaseDuration.observe({ phase }, ms / 1000);
  }

  /** The exposition text for GET /metrics. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private drainReports(): void {
    const reports = this.sources.reports;
    if (reports === undefined) return;
    // The executor only appends; observe what arrived since the last scrape.
    while (this.reportsSeen < reports.length) this.observeRun(reports[this.reportsSeen++] as GcRunReport);
  }

  private register(field: string): void {
    const known = KNOWN[field];
    const name = METRIC_PREFIX + (known?.name ?? field.replace(/[^a-zA-Z0-9_]/g, '_'));
    const help = known?.help ?? field;
    const scale = known?.scale ?? 1;
    const { metrics } = this.sources;
    const pool = this.sources.poolUtilisation;
    // An explicit pool source wins over the metrics object's own (unset → 0) gauge.
    const read = (): number | undefined => (field === 'worker_pool_utilisation' && pool !== undefined ? pool() : metricValues(metrics)[field]);
    if (known?.kind === 'counter') {
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect(): void {
          // Mirror the stored total: reset then add it (a Counter cannot be set).
          this.reset();
          const v = read();
          if (v !== undefined && v > 0) this.inc(v * scale);
        },
      });
    } else {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect(): void {
          this.set((read() ?? 0) * scale);
        },
      });
    }
  }
}
