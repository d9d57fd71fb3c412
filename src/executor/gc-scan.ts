// A GC run's scan: lists every task, reads the checkpoints a chunk at a time and decides each task
// as its facts arrive (core/reconcile's Reconciliation). What leaves is the plan and each task's
// path facts: no task's statuses, times or user outlive its decision, so the run's memory is what
// its decisions need, not everything the checkpoints say (at 100,000 tasks the difference is
// ~30 MiB, a quarter of Aurora's 128 MB box).
import type { Logger } from 'pino';
import { PathFactsCompactor } from '../core/compact-path-facts.js';
import { FOR_RECONCILE, type TaskFacts, type TaskPathFacts, type TaskRef } from '../core/facts.js';
import { Reconciliation, type ReconcilePlan, type ReconciliationOptions } from '../core/reconcile.js';
import { SCAN_CHUNK_TASKS, UNUSABLE_CHECKPOINTS_NAMED } from '../config.js';
import type { RepeatedWarnings } from './repeated-warnings.js';
import type { GcServices } from '../services/services.js';

export interface GcScan {
  /** Every local task, by id: where its files are (its state as the scan found it). */
  tasks: Map<string, TaskPathFacts>;
  plan: ReconcilePlan;
  /** Makes the same compact path facts of tasks read later in the run (found by the rescan). */
  compactor: PathFactsCompactor;
  seenActive: number;
  rejectedNames: number;
}

export interface GcScanOptions {
  roots: readonly string[];
  decide: ReconciliationOptions;
  log: Logger;
  repeats: RepeatedWarnings;
  /** Tasks per readFacts call. @default SCAN_CHUNK_TASKS, or two of the services' deletion windows if more (they keep every thread busy) */
  chunk?: number;
}

/** Lists, reads and decides every task; the listing and each chunk's facts are dropped as it goes. */
export async function scanAndDecide(services: Pick<GcServices, 'listTasks' | 'readFacts' | 'deletePacing'>, o: GcScanOptions): Promise<GcScan> {
  const { log, repeats } = o;
  const listing = await services.listTasks(o.roots);
  for (const r of listing.rejected) repeats.warn(log, `${r.root}/${r.name}`, { root: r.root, name: r.name, reason: r.reason }, 'ignoring unsafe task name');
  const rejectedNames = listing.rejected.length;
  const refs = listing.refs;
  listing.refs = [];

  const reconciliation = new Reconciliation(o.decide);
  const tasks = new Map<string, TaskPathFacts>();
  const compactor = new PathFactsCompactor();
  const unusable = new UnusableCheckpoints(log, repeats);
  // The scheduler's own id strings for the tasks it lists: the scan's copies (from readdir) are
  // dropped, not held beside them for the rest of the run (56 bytes a task at Aurora's ids).
  const canonical = new Map<string, string>();
  for (const id of o.decide.retained.keys()) canonical.set(id, id);
  let seenActive = 0;
  const size = Math.max(1, Math.floor(o.chunk ?? Math.max(SCAN_CHUNK_TASKS, 2 * (services.deletePacing?.window ?? 0))));
  // A chunk's refs leave the listing as it is read: by the end of the scan only the ids remain.
  const chunkAt = (i: number): TaskRef[] => {
    const chunk = refs.slice(i, i + size);
    refs.fill(DONE, i, i + size);
    return chunk;
  };
  // The next chunk is read while this one is decided (workers stay busy across chunks).
  // The facts go to `decideLocal` and the deletion: the mtime only where the table reads it.
  let next: Promise<TaskFacts[]> | undefined = refs.length > 0 ? services.readFacts(chunkAt(0), FOR_RECONCILE) : undefined;
  for (let i = 0; next !== undefined; i += size) {
    const facts = await next;
    next = i + size < refs.length ? services.readFacts(chunkAt(i + size), FOR_RECONCILE) : undefined;
    // Should this chunk's decisions throw, the chunk in flight must not be left unobserved.
    next?.catch(() => undefined);
    for (const f of facts) {
      if (f.state === 'active') seenActive++;
      if (f.error !== undefined) unusable.add(f);
      const id = canonical.get(f.taskId) ?? f.taskId;
      reconciliation.decideLocal(f, id);
      tasks.set(id, compactor.of(f, id));
    }
  }
  canonical.clear();
  unusable.summarise();
  const plan = reconciliation.finish((id) => tasks.has(id));
  return { tasks, plan, compactor, seenActive, rejectedNames };
}

const DONE: TaskRef = { taskId: '', root: '', state: 'finished' };

/**
 * A checkpoint that cannot be used makes a task look state-less: the first few are named at warn
 * with their code, all of them at debug, and one line counts them by code.
 */
class UnusableCheckpoints {
  private readonly byCode: Record<string, number> = {};
  private count = 0;

  constructor(
    private readonly log: Logger,
    private readonly repeats: RepeatedWarnings,
  ) {}

  add(f: TaskFacts): void {
    if (f.error === undefined) return;
    const code = f.error.code;
    this.byCode[code] = (this.byCode[code] ?? 0) + 1;
    const what = { taskId: f.taskId, code, path: f.error.path, err: f.error.message };
    if (this.count++ < UNUSABLE_CHECKPOINTS_NAMED) this.repeats.warn(this.log, `${f.taskId}/${code}`, what, 'runner checkpoint cannot be used');
    else this.log.debug(what, 'runner checkpoint cannot be used');
  }

  summarise(): void {
    if (this.count === 0) return;
    this.log.warn(
      { unusableCheckpoints: this.count, byCode: this.byCode, named: Math.min(this.count, UNUSABLE_CHECKPOINTS_NAMED) },
      'runner checkpoints that cannot be used (their tasks count as having no states)',
    );
  }
}
