// What `thermos-gc collect` prints: the --json object's shape, and the readable plan and result.
import type { CollectLimits, CollectReason } from '../core/collect-policy.js';
import { formatBytes, formatDuration, formatTable } from './run-report.js';

export interface CollectTaskJson {
  age_s: number;
  sandbox_bytes: number;
  log_bytes: number;
  metadata_bytes: number;
  reason: CollectReason | null;
}

/** The one object `collect --json` prints (other tools script it: keep it stable). */
export interface CollectJson {
  /** Oldest first. */
  selected: string[];
  /** Every candidate considered; reason null for the kept. */
  tasks: Record<string, CollectTaskJson>;
  /** Empty on a dry run. */
  deleted: string[];
  freed_bytes: number;
  freed_inodes: number;
  refused: Record<string, string>;
}

function what(limits: Pick<CollectLimits, 'deleteLogs' | 'deleteMetadata'>): string {
  return ['sandbox', ...(limits.deleteLogs ? ['logs'] : []), ...(limits.deleteMetadata ? ['metadata'] : [])].join('+');
}

/** Tasks an earlier collect already collected (sandbox, and logs if asked, gone; metadata kept). */
export function alreadyCollectedNote(n: number): string {
  return `${n} task(s) already collected (sandbox gone, metadata kept): done, not selected again`;
}

/** Tasks whose runner checkpoint names no usable sandbox, with nothing else to delete (metadata kept). */
export function sandboxUnknownNote(n: number): string {
  return `${n} task(s) with a sandbox unknown (runner checkpoint unreadable or naming none): kept with their metadata; --delete-metadata deletes them`;
}

/** The notes about measured tasks that are not candidates, one line each. */
export function notCandidateNotes(counts: { alreadyCollected?: number; sandboxUnknown?: number }): string[] {
  const lines: string[] = [];
  if ((counts.alreadyCollected ?? 0) > 0) lines.push(alreadyCollectedNote(counts.alreadyCollected ?? 0));
  if ((counts.sandboxUnknown ?? 0) > 0) lines.push(sandboxUnknownNote(counts.sandboxUnknown ?? 0));
  return lines;
}

export function formatCollectPlan(
  result: CollectJson,
  limits: CollectLimits,
  counts: { candidates: number; linkedSkipped: number; alreadyCollected?: number; sandboxUnknown?: number },
): string {
  const goes = what(limits);
  const rows = result.selected.map((id) => {
    const t = result.tasks[id] as CollectTaskJson;
    return [id, formatDuration(t.age_s * 1000), formatBytes(t.sandbox_bytes), formatBytes(t.log_bytes), formatBytes(t.metadata_bytes), goes, t.reason ?? ''];
  });
  let freed = 0;
  for (const id of result.selected) {
    const t = result.tasks[id] as CollectTaskJson;
    freed += t.sandbox_bytes + (limits.deleteLogs ? t.log_bytes : 0) + (limits.deleteMetadata ? t.metadata_bytes : 0);
  }
  const lines = [
    `${result.selected.length} of ${counts.candidates} finished task(s) selected` +
      (counts.linkedSkipped > 0 ? `; ${counts.linkedSkipped} linked task(s) skipped` : '') +
      (result.selected.length > 0 ? `; about ${formatBytes(freed)} to free` : ''),
  ];
  lines.push(...notCandidateNotes(counts));
  const table = rows.length === 0 ? '' : formatTable(['TASK', 'AGE', 'SANDBOX', 'LOGS', 'METADATA', 'DELETES', 'REASON'], rows, new Set([1, 2, 3, 4]));
  return `${lines.join('\n')}\n${table}`;
}

export function formatCollectResult(result: CollectJson, dryRun: boolean): string {
  const out: string[] = [];
  if (dryRun) out.push('dry run: nothing deleted');
  else if (result.deleted.length > 0 || result.freed_bytes > 0) {
    out.push(`deleted ${result.deleted.length} task(s), freed ${formatBytes(result.freed_bytes)} and ${result.freed_inodes} inode(s)`);
  }
  for (const [id, why] of Object.entries(result.refused)) out.push(`refused ${id}: ${why}`);
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
