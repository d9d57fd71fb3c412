// Deleting whole tasks, as a GC run, disk-pressure GC and `collect` all do: the sandbox policy
// decides which sandboxes may go (a kept task's sandbox never does), one DeletionTarget per task
// goes to the services' deleter, and each task's outcome is what actually happened on disk. A task
// counts as deleted only when the paths that make it exist are gone: its metadata (task file,
// checkpoints), or, when the caller keeps metadata, its sandbox (never "assume removed").
//
// Targets are built a window at a time and dropped with the window's results, so the paths of
// 10,000 tasks never exist at once; each deleted task is logged once, with its reason, the
// top-level paths that went (sandbox, log dir, checkpoint dir, task file), the files and
// directories removed and the bytes freed: enough to audit every deletion from that one line.
import type { Logger } from 'pino';
import { goneBy, outermostPaths, type DeletionResult, type DeletionTarget, type TaskPathFacts } from '../core/facts.js';
import type { ErrorRecord } from '../errors.js';
import type { GcServices, SandboxCandidate } from '../services/services.js';

export type TaskDeletionServices = Pick<GcServices, 'decideSandboxes' | 'logPaths' | 'metadataPaths' | 'deleteTargets' | 'deletePacing'>;

/** Targets handed to the deleter at once, unless the services say otherwise (deletePacing). */
export const DELETE_WINDOW = 1024;

export interface TaskDeletionInput {
  /** The tasks to delete. */
  ids: readonly string[];
  /** Facts of those tasks (their state as on disk now: it names the task file). */
  facts: ReadonlyMap<string, TaskPathFacts>;
  /** Every task that stays (only its sandbox is read): that sandbox, or one nested with it, is not deleted. */
  kept: Iterable<{ taskId: string; sandbox?: string | undefined }>;
  /** Why each task goes (logged with every deleted task). */
  reasonOf: (taskId: string) => string;
  /** What goes besides the sandbox. @default logs and metadata */
  parts?: { logs: boolean; metadata: boolean };
  /** Each task's outcome, as its window finishes (for callers that report per task). */
  onTask?: (outcome: TaskOutcome) => void;
  signal?: AbortSignal;
}

/** What happened to one task. */
export interface TaskOutcome {
  taskId: string;
  /** The paths that make the task exist are gone (see the top of this file). */
  deleted: boolean;
  /** The sandbox policy approved its sandbox (and so the deleter was asked to remove it). */
  sandboxApproved: boolean;
  /** That approved sandbox is gone. */
  sandboxGone: boolean;
  bytes: number;
  inodes: number;
  /** `bytes` by what was deleted (absent when the deleter did not say). */
  freedByKind?: { sandbox: number; log: number; metadata: number };
  /** Why the sandbox policy kept its sandbox (no path: the task names none). */
  policyRefused: Array<{ path?: string; reason: string }>;
  /** What the deleter refused at delete time (symlink in the path, a mount, a non-empty log dir...). */
  refused: Array<{ path: string; reason: string }>;
  errors: ErrorRecord[];
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

/**
 * The tasks cut into windows of about `size`. Tasks naming the same sandbox or log dir are
 * moved next to each other and never split across windows: one call's batches keep them together
 * (batching.ts), so a shared tree is deleted once rather than raced for by two windows in flight.
 */
function windows(ids: readonly string[], approved: ReadonlyMap<string, string>, facts: ReadonlyMap<string, TaskPathFacts>, size: number): string[][] {
  const keyOf = (id: string): string => approved.get(id) ?? facts.get(id)?.logDir ?? id;
  // A group is its one id until a second task shares the key: no array per task.
  const groups = new Map<string, string | string[]>();
  for (const id of ids) {
    const k = keyOf(id);
    const g = groups.get(k);
    if (g === undefined) groups.set(k, id);
    else if (typeof g === 'string') groups.set(k, [g, id]);
    else g.push(id);
  }
  // A task whose sandbox and log dir differ can link two groups: join them by log dir too (an
  // earlier window may be joined: windows are only cut here and deleted after).
  const out: string[][] = [];
  let current: string[] = [];
  const logDirWindow = new Map<string, string[]>();
  for (const value of groups.values()) {
    const g = typeof value === 'string' ? [value] : value;
    // Each log dir read once (a GC run's compact facts build the path on each read).
    const dirs = g.map((id) => facts.get(id)?.logDir);
    const logDir = dirs[0];
    const joined = logDir === undefined ? undefined : logDirWindow.get(logDir);
    if (joined !== undefined && joined !== current) {
      joined.push(...g);
      continue;
    }
    if (current.length > 0 && current.length + g.length > size) {
      out.push(current);
      current = [];
    }
    current.push(...g);
    for (const d of dirs) if (d !== undefined) logDirWindow.set(d, current);
  }
  if (current.length > 0) out.push(current);
  return out;
}

export async function deleteTasks(input: TaskDeletionInput, services: TaskDeletionServices, log: Logger): Promise<TaskDeletionOutcome> {
  const out: TaskDeletionOutcome = { deleted: [], failed: [], refused: [], bytes: 0, inodes: 0 };
  const parts = input.parts ?? { logs: true, metadata: true };
  const present = input.ids.filter((id) => input.facts.has(id));
  for (const id of input.ids) if (!input.facts.has(id)) out.failed.push(id);

  const going = new Set(present);
  // Read once by the policy, one at a time: no list (or sandbox string) of every kept task.
  const kept = function* (): Generator<SandboxCandidate> {
    for (const f of input.kept) if (!going.has(f.taskId)) yield f;
  };
  const decisions = services.decideSandboxes(
    present.map((id) => input.facts.get(id) as TaskPathFacts),
    kept(),
  );
  going.clear();
  const policyRefusals = new Map<string, Array<{ path?: string; reason: string }>>();
  for (const r of decisions.refused) {
    out.refused.push(r);
    const list = policyRefusals.get(r.taskId) ?? [];
    list.push(r.path === undefined ? { reason: r.reason } : { path: r.path, reason: r.reason });
    policyRefusals.set(r.taskId, list);
  }

  // With two windows in flight the next one's batches queue behind the current one's, so no
  // thread idles while the slowest batch of a window finishes. Outcomes are recorded in order.
  const pacing = services.deletePacing ?? { window: DELETE_WINDOW, inFlight: 1 };
  const inFlight: Array<{ targets: DeletionTarget[]; results: Promise<DeletionResult[]> }> = [];
  const settle = async (w: { targets: DeletionTarget[]; results: Promise<DeletionResult[]> }): Promise<void> => {
    const byTask = new Map((await w.results).map((r) => [r.taskId, r]));
    for (const t of w.targets) record(t, byTask.get(t.taskId), parts.metadata, policyRefusals.get(t.taskId) ?? [], out, input.onTask, log);
  };
  const cut = windows(present, decisions.approved, input.facts, pacing.window);
  // Which tasks' sandboxes go, not the paths: a window's targets read them again from the facts
  // (the same text), so 100,000 approved paths are not all held through the deletion.
  const approved = new Set(decisions.approved.keys());
  decisions.approved.clear();
  for (const ids of cut) {
    const targets: DeletionTarget[] = ids.map((id) => {
      const f = input.facts.get(id) as TaskPathFacts;
      const t: DeletionTarget = {
        taskId: id,
        reason: input.reasonOf(id),
        logPaths: parts.logs ? services.logPaths(f) : [],
        metadataPaths: parts.metadata ? services.metadataPaths(f) : [],
      };
      const sandbox = approved.has(id) ? f.sandbox : undefined;
      if (sandbox !== undefined) t.sandbox = sandbox;
      return t;
    });
    const current = { targets, results: services.deleteTargets(targets, input.signal) };
    // Should an earlier window's call fail, this one must not be left unobserved.
    current.results.catch(() => undefined);
    inFlight.push(current);
    if (inFlight.length >= Math.max(1, pacing.inFlight)) await settle(inFlight.shift() as (typeof inFlight)[number]);
  }
  for (const w of inFlight) await settle(w);
  for (const r of out.refused) log.warn({ taskId: r.taskId, path: r.path, reason: r.reason }, 'refused to delete');
  return out;
}

function record(
  t: DeletionTarget,
  r: DeletionResult | undefined,
  metadata: boolean,
  policyRefused: Array<{ path?: string; reason: string }>,
  out: TaskDeletionOutcome,
  onTask: TaskDeletionInput['onTask'],
  log: Logger,
): void {
  if (r === undefined) {
    out.failed.push(t.taskId);
    log.error({ taskId: t.taskId }, 'deleter returned no result for task');
    onTask?.({ taskId: t.taskId, deleted: false, sandboxApproved: t.sandbox !== undefined, sandboxGone: false, bytes: 0, inodes: 0, policyRefused, refused: [], errors: [] });
    return;
  }
  out.bytes += r.bytesFreed;
  out.inodes += r.inodesFreed;
  for (const x of r.refused) out.refused.push({ taskId: t.taskId, path: x.path, reason: x.reason });
  for (const e of r.errors) log.error({ taskId: t.taskId, path: e.path, code: e.code }, e.message);
  const gone = new Set(r.deleted);
  const deleted = metadata ? t.metadataPaths.every((p) => goneBy(gone, p)) : t.sandbox !== undefined && goneBy(gone, t.sandbox);
  (deleted ? out.deleted : out.failed).push(t.taskId);
  if (r.deleted.length > 0) {
    log.info(
      {
        taskId: t.taskId,
        reason: t.reason,
        paths: outermostPaths(r.deleted),
        files: r.filesRemoved,
        dirs: r.dirsRemoved,
        bytes: r.bytesFreed,
        complete: deleted,
      },
      'deleted task',
    );
  }
  const outcome: TaskOutcome = {
    taskId: t.taskId,
    deleted,
    sandboxApproved: t.sandbox !== undefined,
    sandboxGone: t.sandbox !== undefined && goneBy(gone, t.sandbox),
    bytes: r.bytesFreed,
    inodes: r.inodesFreed,
    policyRefused,
    refused: r.refused,
    errors: r.errors,
  };
  if (r.freedByKind !== undefined) outcome.freedByKind = r.freedByKind;
  onTask?.(outcome);
}
