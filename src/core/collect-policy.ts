// Which finished tasks `thermos-gc collect` deletes (the modern form of Thermos' own `gc`).
// Pure: ages and sizes are measured by the shell and passed in.
//
// Order of the limits: everything older than max age; then, of the rest, keep the newest tasks
// whose running total fits in max space and select all older ones (the original accumulated from
// the oldest and so selected the newest); then, of what is still kept, select the oldest beyond
// max tasks. With named task ids and no limit, the named tasks are selected ('named').

export type CollectReason = 'max_age' | 'max_space' | 'max_tasks' | 'named';

export interface CollectCandidate {
  taskId: string;
  /** Time since the runner checkpoint was last modified. */
  ageMs: number;
  /** Allocated bytes of the sandbox, the logs and the metadata. */
  sandboxBytes: number;
  logBytes: number;
  metadataBytes: number;
}

export interface CollectLimits {
  maxAgeMs?: number;
  maxSpaceBytes?: number;
  maxTasks?: number;
  /** Logs and metadata count towards max space only when they are being deleted. */
  deleteLogs: boolean;
  deleteMetadata: boolean;
  /** True when the user named task ids: with no limit set, every candidate is selected as 'named'. */
  named: boolean;
}

export interface CollectSelection {
  /** Selected task ids, oldest first. */
  selected: string[];
  /** Every candidate considered → why it is selected, or null when kept. */
  reasons: Map<string, CollectReason | null>;
}

/** Oldest first; equal ages by task id so the order never depends on the input order. */
export function oldestFirst(a: CollectCandidate, b: CollectCandidate): number {
  if (a.ageMs !== b.ageMs) return b.ageMs - a.ageMs;
  return a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0;
}

/** The bytes a task's deletion would free, under the keep/delete options. */
export function collectedBytes(c: CollectCandidate, limits: Pick<CollectLimits, 'deleteLogs' | 'deleteMetadata'>): number {
  return c.sandboxBytes + (limits.deleteLogs ? c.logBytes : 0) + (limits.deleteMetadata ? c.metadataBytes : 0);
}

export function hasLimit(limits: CollectLimits): boolean {
  return limits.maxAgeMs !== undefined || limits.maxSpaceBytes !== undefined || limits.maxTasks !== undefined;
}

export function selectForCollection(candidates: readonly CollectCandidate[], limits: CollectLimits): CollectSelection {
  const ordered = [...candidates].sort(oldestFirst);
  const reasons = new Map<string, CollectReason | null>(ordered.map((c) => [c.taskId, null]));

  if (!hasLimit(limits)) {
    if (limits.named) for (const c of ordered) reasons.set(c.taskId, 'named');
    return { selected: limits.named ? ordered.map((c) => c.taskId) : [], reasons };
  }

  if (limits.maxAgeMs !== undefined) {
    for (const c of ordered) if (c.ageMs > limits.maxAgeMs) reasons.set(c.taskId, 'max_age');
  }

  if (limits.maxSpaceBytes !== undefined) {
    // Newest first: the first task that does not fit marks it and every older one.
    let total = 0;
    let over = false;
    for (let i = ordered.length - 1; i >= 0; i--) {
      const c = ordered[i] as CollectCandidate;
      if (reasons.get(c.taskId) !== null) continue;
      total += collectedBytes(c, limits);
      if (over || total > limits.maxSpaceBytes) {
        over = true;
        reasons.set(c.taskId, 'max_space');
      }
    }
  }

  if (limits.maxTasks !== undefined) {
    const kept = ordered.filter((c) => reasons.get(c.taskId) === null);
    const excess = kept.length - limits.maxTasks;
    for (let i = 0; i < excess; i++) reasons.set((kept[i] as CollectCandidate).taskId, 'max_tasks');
  }

  return { selected: ordered.filter((c) => reasons.get(c.taskId) !== null).map((c) => c.taskId), reasons };
}
