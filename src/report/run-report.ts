// Readable summaries for people: the table printed after a GC run (demo, CLI) and the helpers
// the collect command's plan uses. The structured log event stays the machine-readable form.
import type { GcRunReport, ReportList } from '../executor/gc-run.js';

/** How many entries a list had before last_gc_run.json bounded it. */
export function reportCount(report: GcRunReport, list: ReportList): number {
  return report[list].length + (report.truncated?.[list] ?? 0);
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → '1.5 KiB' (binary units, as --max-space parses them). */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${BYTE_UNITS[u]}`;
}

/** Milliseconds as '850 ms', '12.3 s', '4m 05s', '3h 02m' or '9d 04h'. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const pad = (x: number): string => String(x).padStart(2, '0');
  const mins = Math.floor(s / 60);
  if (mins < 60) return `${mins}m ${pad(Math.floor(s % 60))}s`;
  const hours = Math.floor(mins / 60);
  if (hours < 48) return `${hours}h ${pad(mins % 60)}m`;
  return `${Math.floor(hours / 24)}d ${pad(hours % 24)}h`;
}

/** Left-aligned text columns, right-aligned numeric ones, with a header rule. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, numeric: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

export interface RunReportExtras {
  /** Orphaned tasks lost by the loop since the previous run. */
  lost?: readonly string[];
  /** Tasks deleted by disk-pressure GC since the previous run. */
  pressureDeleted?: readonly string[];
}

/** Counts refusals by reason: 'shared-with-kept-task ×2, mount-point ×1'. */
function refusalSummary(refused: GcRunReport['refused']): string {
  const byReason = new Map<string, number>();
  for (const r of refused) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + 1);
  return [...byReason.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([reason, n]) => `${reason} ×${n}`)
    .join(', ');
}

/** The table printed after one GC run. */
export function formatRunReport(report: GcRunReport, extras: RunReportExtras = {}): string {
  const seen = report.seenActive + report.seenFinished;
  // A report read back from last_gc_run.json may list only the first ids of a long list.
  const n = (list: ReportList): number => reportCount(report, list);
  const rows: Array<[string, string]> = [
    ['tasks seen', `${seen} (${report.seenActive} active, ${report.seenFinished} finished)`],
    ['status updates', String(report.updatesSent)],
    ['killed', n('killFailed') > 0 ? `${n('killed')} (${n('killFailed')} failed)` : String(n('killed'))],
    ['lost', String(extras.lost?.length ?? 0)],
    ['deleted', n('deleteFailed') > 0 ? `${n('deleted')} (${n('deleteFailed')} failed)` : String(n('deleted'))],
  ];
  if (extras.pressureDeleted !== undefined) rows.push(['deleted (disk pressure)', String(extras.pressureDeleted.length)]);
  rows.push(
    ['reported to scheduler', String(n('deletedTasks'))],
    ['refused', n('refused') === 0 ? '0' : `${n('refused')} (${refusalSummary(report.refused)}${report.truncated?.refused === undefined ? '' : ', the first listed'})`],
    ['freed', `${formatBytes(report.bytesFreed)}, ${report.inodesFreed} inodes`],
  );
  if (report.killBudgetExceeded !== undefined) rows.push(['kill budget', 'exceeded: no task was killed']);
  const p = report.phaseMs;
  const total = p.scan + p.reconcile + p.kill + p.delete;
  rows.push([
    'time',
    `${formatDuration(total)} (scan ${formatDuration(p.scan)}, reconcile ${formatDuration(p.reconcile)}, kill ${formatDuration(p.kill)}, delete ${formatDuration(p.delete)})`,
  ]);
  // Older reports (last_gc_run.json of an earlier version) carry no CPU figures.
  const cpu = (report as Partial<GcRunReport>).cpuSeconds;
  if (cpu !== undefined) rows.push(['cpu', `${cpu.total.toFixed(2)} s (process ${cpu.process.toFixed(2)} s, ps children ${cpu.children.toFixed(2)} s)`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`GC run ${report.gcTaskId}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n') + '\n';
}
