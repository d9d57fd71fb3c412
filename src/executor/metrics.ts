// Counters and gauges of the GC executor, with stable snake_case names (Prometheus is added on
// top of these names, and executor_vars.json mirrors what the original exported).
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResourcePlan } from '../config.js';

export interface MetricsSnapshot {
  dropped_tasks: number;
  gc_runs: number;
  tasks_deleted: number;
  bytes_reclaimed: number;
  inodes_reclaimed: number;
  refusals: number;
  kills: number;
  losses: number;
  last_run_duration_ms: number;
  scan_ms: number;
  updates_pending_ack: number;
  kill_budget_exceeded: number;
  disk_used_share: number;
  inode_used_share: number;
  disk_pressure_deleted: number;
  worker_pool_utilisation: number;
  calls_rejected: number;
  foreign_updates_sent: number;
  last_run_cpu_seconds: number;
  last_run_children_cpu_seconds: number;
  cpu_seconds_total: number;
  /** The box as found (null: no limit) and as planned for; absent until setResources. */
  cgroup_memory_limit_bytes?: number | null;
  cgroup_cpu_limit?: number | null;
  memory_limit_bytes?: number | null;
  cpu_limit?: number | null;
  workers?: number;
  workers_that_fit?: number | null;
  worker_heap_limit_mb?: number;
}

/** What the agent connection counts (the Mesos driver's CallStats). */
export interface AgentCallStats {
  /** Calls the agent refused for good (400, 415, ...): dropped, never resent. */
  callsRejected: number;
  /** Updates about tasks the executor does not own, accepted by the agent and then forgotten. */
  foreignUpdatesSent: number;
}

/** The limit fields of the snapshot: null means "no limit" (Prometheus: +Inf). */
export const LIMIT_FIELDS = ['cgroup_memory_limit_bytes', 'cgroup_cpu_limit', 'memory_limit_bytes', 'cpu_limit', 'workers_that_fit'] as const;

export class GcMetrics {
  /** Gauge: GC tasks replaced while queued since the queue was last empty. */
  dropped_tasks = 0;
  gc_runs = 0;
  tasks_deleted = 0;
  bytes_reclaimed = 0;
  inodes_reclaimed = 0;
  /** Sandboxes and paths the policy or the deleter refused. */
  refusals = 0;
  kills = 0;
  losses = 0;
  last_run_duration_ms = 0;
  scan_ms = 0;
  kill_budget_exceeded = 0;
  /** Gauge: used share of the fullest sandbox filesystem (0 until disk-pressure GC samples it). */
  disk_used_share = 0;
  inode_used_share = 0;
  /** Tasks deleted by disk-pressure GC. */
  disk_pressure_deleted = 0;
  /** CPU seconds of the last GC run: process (main + workers) plus its `ps` children. */
  last_run_cpu_seconds = 0;
  last_run_children_cpu_seconds = 0;
  /** CPU seconds of every GC run so far (process + children). */
  cpu_seconds_total = 0;
  private resources: ResourcePlan | undefined;
  private poolUtilisationSource: (() => number) | undefined;
  /** Where the pending-acknowledgement count comes from (the driver); 0 when unset. */
  private pendingAckSource: (() => number) | undefined;

  /** Where the agent call counters come from (the driver); 0 when unset. */
  private callStatsSource: (() => Readonly<AgentCallStats>) | undefined;

  /** What the box allows and what was derived from it (constant for the process's life). */
  setResources(plan: ResourcePlan): void {
    this.resources = plan;
  }

  setPendingAckSource(source: () => number): void {
    this.pendingAckSource = source;
  }

  setCallStatsSource(source: () => Readonly<AgentCallStats>): void {
    this.callStatsSource = source;
  }

  get calls_rejected(): number {
    return this.callStatsSource?.().callsRejected ?? 0;
  }

  get foreign_updates_sent(): number {
    return this.callStatsSource?.().foreignUpdatesSent ?? 0;
  }

  /** Where the worker pool's busy share (0..1) comes from; 0 when unset (no pool). */
  setPoolUtilisationSource(source: () => number): void {
    this.poolUtilisationSource = source;
  }

  get worker_pool_utilisation(): number {
    return this.poolUtilisationSource === undefined ? 0 : this.poolUtilisationSource();
  }

  get updates_pending_ack(): number {
    return this.pendingAckSource === undefined ? 0 : this.pendingAckSource();
  }

  toJSON(): MetricsSnapshot {
    return {
      dropped_tasks: this.dropped_tasks,
      gc_runs: this.gc_runs,
      tasks_deleted: this.tasks_deleted,
      bytes_reclaimed: this.bytes_reclaimed,
      inodes_reclaimed: this.inodes_reclaimed,
      refusals: this.refusals,
      kills: this.kills,
      losses: this.losses,
      last_run_duration_ms: this.last_run_duration_ms,
      scan_ms: this.scan_ms,
      updates_pending_ack: this.updates_pending_ack,
      kill_budget_exceeded: this.kill_budget_exceeded,
      disk_used_share: this.disk_used_share,
      inode_used_share: this.inode_used_share,
      disk_pressure_deleted: this.disk_pressure_deleted,
      worker_pool_utilisation: this.worker_pool_utilisation,
      calls_rejected: this.calls_rejected,
      foreign_updates_sent: this.foreign_updates_sent,
      last_run_cpu_seconds: this.last_run_cpu_seconds,
      last_run_children_cpu_seconds: this.last_run_children_cpu_seconds,
      cpu_seconds_total: this.cpu_seconds_total,
      ...this.resourceFields(),
    };
  }

  private resourceFields(): Partial<MetricsSnapshot> {
    const r = this.resources;
    if (r === undefined) return {};
    return {
      cgroup_memory_limit_bytes: r.found.memoryBytes ?? null,
      cgroup_cpu_limit: r.found.cpu ?? null,
      memory_limit_bytes: r.memoryLimitBytes ?? null,
      cpu_limit: r.cpuLimit ?? null,
      workers: r.workers,
      workers_that_fit: r.workersThatFit ?? null,
      worker_heap_limit_mb: r.workerHeapMb,
    };
  }
}

export const EXECUTOR_VARS_FILE = 'executor_vars.json';

/** Writes `<dir>/executor_vars.json` atomically: readers never see a half-written file. */
export async function writeExecutorVars(dir: string, metrics: GcMetrics): Promise<string> {
  const target = join(dir, EXECUTOR_VARS_FILE);
  const tmp = `${target}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(metrics.toJSON(), null, 2)}\n`);
  await rename(tmp, target);
  return target;
}
