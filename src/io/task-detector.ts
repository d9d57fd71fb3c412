// Lists the tasks under each checkpoint root: `tasks/active/<id>` and `tasks/finished/<id>`.
// Nothing is logged here: refusals are returned for the caller to log.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { LocalState, TaskRef } from '../core/facts.js';
import { unsafeComponentReason } from '../core/task-id.js';
import { ThermosGcError, errorMessage } from '../errors.js';

export type RejectedTaskReason =
  /** The file name cannot be used as a task id (see core/task-id.ts); `detail` says why. */
  | 'unsafe-id'
  /** Also present in tasks/active of the same root: Thermos treats it as active until the move. */
  | 'also-active'
  /** Already found under an earlier root: the first root wins. */
  | 'duplicate';

export interface RejectedTask {
  root: string;
  name: string;
  state: LocalState;
  reason: RejectedTaskReason;
  detail?: string;
}

export interface TaskDetection {
  /** Sorted by root order, then state (active first), then id. */
  tasks: TaskRef[];
  rejected: RejectedTask[];
}

const STATES: readonly LocalState[] = ['active', 'finished'];

/** One stat of each root, on this thread (a round trip of the thread pool cost more than the call). */
function assertRootIsDirectory(root: string): void {
  try {
    const st = statSync(root);
    if (!st.isDirectory()) {
      throw new ThermosGcError('ERR_CONFIG', `checkpoint root ${root} is not a directory`, { path: root });
    }
  } catch (err) {
    if (err instanceof ThermosGcError) throw err;
    throw new ThermosGcError('ERR_CONFIG', `checkpoint root ${root} cannot be read: ${errorMessage(err)}`, {
      path: root,
      cause: err,
    });
  }
}

/**
 * Task files are plain files: a symlink or directory here is not a task and is not followed. One
 * readdir with file types (~1 ms per 2,000 names; a glob library took 3× as long and ~30 ms to
 * load); a missing state dir has no tasks.
 */
function listStateDir(root: string, state: LocalState): string[] {
  let entries;
  try {
    entries = readdirSync(path.join(root, 'tasks', state), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const names: string[] = [];
  for (const e of entries) if (e.isFile()) names.push(e.name);
  return names.sort();
}

/** One root's tasks; the same id active and finished is reported active. */
async function detectInRoot(root: string): Promise<TaskDetection> {
  assertRootIsDirectory(root);
  const [active, finished] = STATES.map((s) => listStateDir(root, s));
  const tasks: TaskRef[] = [];
  const rejected: RejectedTask[] = [];
  const activeIds = new Set<string>();
  for (const [state, names] of [['active', active], ['finished', finished]] as const) {
    for (const name of names ?? []) {
      const unsafe = unsafeComponentReason(name);
      if (unsafe !== undefined) {
        rejected.push({ root, name, state, reason: 'unsafe-id', detail: unsafe });
      } else if (state === 'finished' && activeIds.has(name)) {
        rejected.push({ root, name, state, reason: 'also-active' });
      } else {
        if (state === 'active') activeIds.add(name);
        tasks.push({ taskId: name, root, state });
      }
    }
  }
  return { tasks, rejected };
}

/**
 * Finds the tasks of every checkpoint root. A root that does not exist or is not a directory is
 * an ERR_CONFIG error (a misconfigured root must not look like "no tasks"). When an id appears
 * under two roots the first root wins and the others are rejected as duplicates.
 */
export async function detectTasks(roots: readonly string[]): Promise<TaskDetection> {
  const perRoot = await Promise.all(roots.map((r) => detectInRoot(r)));
  // One root cannot repeat an id (active wins over finished within it): nothing to look up.
  if (perRoot.length === 1) return perRoot[0] as TaskDetection;
  const tasks: TaskRef[] = [];
  const rejected: RejectedTask[] = [];
  const seen = new Map<string, string>();
  for (const found of perRoot) {
    rejected.push(...found.rejected);
    for (const ref of found.tasks) {
      const firstRoot = seen.get(ref.taskId);
      if (firstRoot !== undefined) {
        rejected.push({ root: ref.root, name: ref.taskId, state: ref.state, reason: 'duplicate', detail: firstRoot });
        continue;
      }
      seen.set(ref.taskId, ref.root);
      tasks.push(ref);
    }
  }
  return { tasks, rejected };
}

export function partitionTasks(refs: readonly TaskRef[]): { active: Set<string>; finished: Set<string> } {
  const active = new Set<string>();
  const finished = new Set<string>();
  for (const ref of refs) (ref.state === 'active' ? active : finished).add(ref.taskId);
  return { active, finished };
}
