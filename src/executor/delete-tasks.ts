// Deleting whole tasks, as a GC run and disk-pressure GC both do: the sandbox policy decides
// which sandboxes may go (a kept task's sandbox never does), one DeletionTarget per task goes to
// the services' deleter, and each task's outcome is what actually happened on disk. A task counts
// as deleted only when every one of its metadata paths is gone (never "assume removed").
import type { Logger } from 'pino';
import type { DeletionTarget, TaskFacts } from '../core/facts.js';
import type { GcServices } from '../services/services.js';

export type TaskDeletionServices = Pick<GcServices, 'decideSandboxes' | 'logPaths' | 'metadataPaths' | 'deleteTargets'>;

export interface TaskDeletionInput {
  /** The tasks to delete. */
  ids: readonly string[];
  /** Facts of those tasks (their state as on disk now: it names the task file). */
  facts: ReadonlyMap<string, TaskFacts>;
  /** Every task that stays: its sandbox, or one nested with it, is not deleted. */
  kept: Iterable<TaskFacts>;
  /** Why each task goes (logged with every deleted path). */
  reasonOf: (taskId: string) => string;
  signal?: AbortSignal;
}

export interface TaskDeletionOutcome {
  /** Tasks whose metadata is all gone. */
  deleted: string[];
  /** Tasks whose deletion did not complete (or that had no facts to delete by). */
  failed: string[];
  /** Refusals by the sandbox policy and by the deleter, each logged once here. */
  refused: Array<{ taskId: string; path?: string; reason: string }>;
  bytes: number;
  inodes: number;
}

export async function deleteTasks(input: TaskDeletionInput, services: TaskDeletionServices, log: Logger): Promise<TaskDeletionOutcome> {
  const out: TaskDeletionOutcome = { deleted: [], failed: [], refused: [], bytes: 0, inodes: 0 };
  const present = input.ids.filter((id) => input.facts.has(id));
  for (const id of input.ids) if (!input.facts.has(id)) out.failed.push(id);

  const going = new Set(present);
  const decisions = services.decideSandboxes(
    present.map((id) => ({ taskId: id, sandbox: input.facts.get(id)?.sandbox })),
    [...input.kept].filter((f) => !going.has(f.taskId)).map((f) => ({ taskId: f.taskId, sandbox: f.sandbox })),
  );
  out.refused.push(...decisions.refused);

  const targets: DeletionTarget[] = present.map((id) => {
    const f = input.facts.get(id) as TaskFacts;
    const t: DeletionTarget = { taskId: id, reason: input.reasonOf(id), logPaths: services.logPaths(f), metadataPaths: services.metadataPaths(f) };
    const sandbox = decisions.approved.get(id);
    if (sandbox !== undefined) t.sandbox = sandbox;
    return t;
  });
  const results = targets.length === 0 ? [] : await services.deleteTargets(targets, input.signal);

  const byTask = new Map(results.map((r) => [r.taskId, r]));
  for (const t of targets) {
    const r = byTask.get(t.taskId);
    if (r === undefined) {
      out.failed.push(t.taskId);
      log.error({ taskId: t.taskId }, 'deleter returned no result for task');
      continue;
    }
    out.bytes += r.bytesFreed;
    out.inodes += r.inodesFreed;
    for (const x of r.refused) out.refused.push({ taskId: t.taskId, path: x.path, reason: x.reason });
    for (const e of r.errors) log.error({ taskId: t.taskId, path: e.path, code: e.code }, e.message);
    for (const path of r.deleted) log.info({ taskId: t.taskId, path, reason: t.reason }, 'deleted');
    const gone = new Set(r.deleted);
    (t.metadataPaths.every((p) => gone.has(p)) ? out.deleted : out.failed).push(t.taskId);
  }
  for (const r of out.refused) log.warn({ taskId: r.taskId, path: r.path, reason: r.reason }, 'refused to delete');
  return out;
}
