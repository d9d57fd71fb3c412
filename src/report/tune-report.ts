// What `thermos-gc tune` prints: the JSON document and the readable table with the recommended
// flags and environment.
import type { Recommendation, TrialSummary } from '../core/tune-plan.js';

const MIB = 2 ** 20;

/** The box the trials were planned for (null: no limit). */
export interface TuneLimits {
  /** --memory-limit, else the cgroup's. */
  memoryLimitBytes: number | null;
  memoryLimitFrom: 'flag' | 'cgroup' | 'none';
  /** What a trial's peak RSS must stay within to fit: 75% of the limit (the rest is page cache). */
  memoryBudgetBytes: number | null;
  /** --cpu-limit, else the cgroup's CFS quota, in CPUs. */
  cpuLimit: number | null;
  cpuLimitFrom: 'flag' | 'cgroup' | 'none';
  cores: number;
  /** The executor's default worker count on this box: the top of the grid unless --max-workers. */
  defaultWorkers: number;
  /** Workers the executor's memory formula lets an explicit --workers have (null: no limit). */
  workersThatFit: number | null;
}

export interface TuneOutput {
  limits: TuneLimits;
  /** scanMs and peakRssMiB are null for a trial the kernel killed (SIGKILL: the OOM killer); it does not fit. */
  trials: Array<{ workers: number; batchSize: number; scanMs: number | null; peakRssMiB: number | null; fits: boolean }>;
  recommended: { workers: number; batchSize: number };
}

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);

export function tuneOutput(limits: TuneLimits, trials: readonly TrialSummary[], rec: Recommendation): TuneOutput {
  return {
    limits,
    trials: trials.map((t) => ({ workers: t.workers, batchSize: t.batchSize, scanMs: finite(t.scanMs), peakRssMiB: finite(t.peakRssMiB), fits: t.fits })),
    recommended: { workers: rec.workers, batchSize: rec.batchSize },
  };
}

const mib = (bytes: number): string => `${Math.round((bytes / MIB) * 10) / 10} MiB`;

function limitsLine(l: TuneLimits): string {
  const memory = l.memoryLimitBytes === null ? 'memory: no limit' : `memory ${mib(l.memoryLimitBytes)} (${l.memoryLimitFrom}), budget ${mib(l.memoryBudgetBytes ?? 0)}`;
  const cpu = l.cpuLimit === null ? 'CPU: no limit' : `CPU ${l.cpuLimit} (${l.cpuLimitFrom})`;
  return `${memory}; ${cpu}; cores ${l.cores}; default workers ${l.defaultWorkers}`;
}

export function formatTuneReport(out: TuneOutput, rec: Recommendation, reps: number): string {
  const head = ['workers', 'batch', `scan ms (median of ${reps})`, 'peak RSS MiB', 'fits'];
  const cell = (n: number | null): string => (n === null ? 'killed' : n.toFixed(1));
  const rows = out.trials.map((t) => [String(t.workers), String(t.batchSize), cell(t.scanMs), cell(t.peakRssMiB), t.fits ? 'yes' : 'no']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  const lines = [limitsLine(out.limits), '', line(head), ...rows.map(line), ''];
  if (!rec.fits) {
    lines.push(`no trial fit the memory budget of ${mib(out.limits.memoryBudgetBytes ?? 0)}: recommending the least memory the scan can use`);
  }
  lines.push(`recommended: --workers ${rec.workers} --batch-size ${rec.batchSize}`);
  lines.push(`environment: THERMOS_GC_WORKERS=${rec.workers} THERMOS_GC_BATCH_SIZE=${rec.batchSize}`);
  const fit = out.limits.workersThatFit;
  if (fit !== null && rec.workers > fit) {
    lines.push(`note: the executor caps --workers to ${fit} under this memory limit (its planned cost per worker); the trial measured less`);
  }
  return `${lines.join('\n')}\n`;
}
