// The read-only scan `plan`, `demo` and `tune` share: list the checkpoint roots, replay the
// runner checkpoints and walk the Mesos work dir, through the services every command uses. A
// missing root is a usage error naming it.
import type { GcConfig } from '../config.js';
import { FOR_RECONCILE, type FactsReading, type TaskFacts } from '../core/facts.js';
import { isInSyncActive } from '../core/reconcile.js';
import { ThermosGcError, UsageError } from '../errors.js';
import type { GcServices } from '../services/services.js';

export interface PlanScan {
  /** The local tasks whose checkpoints were read, by id. */
  facts: Map<string, TaskFacts>;
  /**
   * Local tasks active and listed as active or starting in the scheduler's map the scan was given:
   * the table leaves them alone whatever their checkpoints say, so those were not read.
   */
  inSyncActive: string[];
  /** Linked executors' task ids (with a map: of the tasks not in `inSyncActive`). */
  linked: Set<string>;
}

export { FOR_RECONCILE } from '../core/facts.js';

/**
 * Reads the local tasks' facts and the linked executors with `services` (left open). Given the
 * scheduler's map, only what the plan's decisions read: not the checkpoints or the executor links
 * of tasks `isInSyncActive` (a steady agent's running tasks, ~30% of one); without it, everything.
 * `reading` says what of each checkpoint (default: what a GC run's scan reads, as `tune` times it).
 */
export async function scanRoots(
  services: Pick<GcServices, 'listTasks' | 'readFacts' | 'linkedExecutors'>,
  config: Pick<GcConfig, 'checkpointRoots' | 'mesosRoot'>,
  retained?: ReadonlyMap<string, number>,
  reading: FactsReading = FOR_RECONCILE,
): Promise<PlanScan> {
  let listing;
  try {
    listing = await services.listTasks(config.checkpointRoots);
  } catch (err) {
    if (err instanceof ThermosGcError && err.code === 'ERR_CONFIG') throw new UsageError(err.message);
    throw err;
  }
  let refs = listing.refs;
  const inSyncActive: string[] = [];
  // With a map: the ids whose links the plan reads (undefined: every executor's).
  let asked: Set<string> | undefined;
  if (retained !== undefined) {
    refs = [];
    asked = new Set();
    for (const ref of listing.refs) {
      if (isInSyncActive(ref.state, retained.get(ref.taskId))) inSyncActive.push(ref.taskId);
      else {
        refs.push(ref);
        asked.add(ref.taskId);
      }
    }
  }
  // The Mesos walk and the checkpoint reads share the threads.
  const linkedP = services.linkedExecutors(asked).catch((err: unknown) => {
    if (err instanceof ThermosGcError && err.code === 'ERR_MESOS_ROOT_MISSING') throw new UsageError(`--mesos-root ${config.mesosRoot} is not a directory`);
    throw err;
  });
  const [linked, read] = await Promise.all([linkedP, services.readFacts(refs, reading)]);
  const facts = new Map<string, TaskFacts>();
  for (const f of read) facts.set(f.taskId, f);
  return { facts, inSyncActive, linked };
}
