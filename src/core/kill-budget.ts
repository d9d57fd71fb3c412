// A guard against a scheduler whose map is wrong: one GC task may not kill a large share of the
// node's live tasks. A bogus or truncated AdjustRetainedTasks would otherwise look exactly like
// "the scheduler forgot everything, kill it all".

export interface KillBudgetExceeded {
  /** Tasks the reconciliation table would have killed. */
  wouldKill: number;
  /** Locally active tasks on the node. */
  active: number;
  /** The configured share (0..1). */
  budget: number;
  /** 'share': more than `budget` of the active tasks; 'empty-map': the scheduler listed nothing. */
  why: 'share' | 'empty-map';
}

export interface KillBudgetInput {
  wouldKill: number;
  active: number;
  /** Number of entries in the scheduler's retained map. */
  retainedSize: number;
  budget: number;
}

/**
 * Returns why the kills must be held back, or undefined when they are within budget.
 *
 * One kill is always within the share budget: a node whose only live task is a stray the
 * scheduler already killed must still be able to kill it. An empty scheduler map is the
 * exception: with tasks running locally it is far more likely a broken message than the truth.
 */
export function checkKillBudget(input: KillBudgetInput): KillBudgetExceeded | undefined {
  const { wouldKill, active, retainedSize, budget } = input;
  if (wouldKill === 0) return undefined;
  if (retainedSize === 0 && active > 0) return { wouldKill, active, budget, why: 'empty-map' };
  if (wouldKill > 1 && wouldKill > budget * active) return { wouldKill, active, budget, why: 'share' };
  return undefined;
}

export function describeKillBudgetExceeded(e: KillBudgetExceeded): string {
  return e.why === 'empty-map'
    ? `kill budget exceeded: the scheduler's map is empty while ${e.active} task(s) are active; killed none of ${e.wouldKill}`
    : `kill budget exceeded: would kill ${e.wouldKill} of ${e.active} active task(s), more than ${Math.round(e.budget * 100)}%; killed none`;
}
