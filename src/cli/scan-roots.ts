// The read-only scan `plan`, `demo` and `tune` share: list the checkpoint roots, replay every
// runner checkpoint and walk the Mesos work dir, through the services every command uses. A
// missing root is a usage error naming it.
import type { GcConfig } from '../config.js';
import type { TaskFacts } from '../core/facts.js';
import { ThermosGcError, UsageError } from '../errors.js';
import type { GcServices } from '../services/services.js';

export interface PlanScan {
  facts: Map<string, TaskFacts>;
  linked: Set<string>;
}

/** Reads every local task's facts and the linked executors with `services` (left open). */
export async function scanRoots(services: Pick<GcServices, 'listTasks' | 'readFacts' | 'linkedExecutors'>, config: Pick<GcConfig, 'checkpointRoots' | 'mesosRoot'>): Promise<PlanScan> {
  let listing;
  try {
    listing = await services.listTasks(config.checkpointRoots);
  } catch (err) {
    if (err instanceof ThermosGcError && err.code === 'ERR_CONFIG') throw new UsageError(err.message);
    throw err;
  }
  // The Mesos walk and the checkpoint reads share the threads.
  const linkedP = services.linkedExecutors().catch((err: unknown) => {
    if (err instanceof ThermosGcError && err.code === 'ERR_MESOS_ROOT_MISSING') throw new UsageError(`--mesos-root ${config.mesosRoot} is not a directory`);
    throw err;
  });
  const [linked, read] = await Promise.all([linkedP, services.readFacts(listing.refs)]);
  const facts = new Map<string, TaskFacts>();
  for (const f of read) facts.set(f.taskId, f);
  return { facts, linked };
}
