// Paths inside a Thermos checkpoint root (domain.md §2). Task ids come from disk listings and
// from the scheduler, so each is checked to be one plain path component before it is joined.
import path from 'node:path';
import type { LocalState } from '../core/facts.js';
import { assertSafeTaskId, isSafePathComponent } from '../core/task-id.js';
import { ThermosGcError } from '../errors.js';

export { assertSafeTaskId };

/** `<root>/tasks/<state>/<taskId>`: the task description file. */
export function taskFilePath(root: string, state: LocalState, taskId: string): string {
  assertSafeTaskId(taskId);
  return path.join(root, 'tasks', state, taskId);
}

/** `<root>/checkpoints/<taskId>`: the task's checkpoint directory. */
export function checkpointDir(root: string, taskId: string): string {
  assertSafeTaskId(taskId);
  return path.join(root, 'checkpoints', taskId);
}

/** `<root>/checkpoints/<taskId>/runner`: the runner checkpoint stream. */
export function runnerCheckpointPath(root: string, taskId: string): string {
  return path.join(checkpointDir(root, taskId), 'runner');
}

/** Prefix of the per-process coordinator checkpoints in the checkpoint dir. */
export const COORDINATOR_PREFIX = 'coordinator.';

/** `<root>/checkpoints/<taskId>/coordinator.<process>`. */
export function coordinatorCheckpointPath(root: string, taskId: string, process: string): string {
  if (!isSafePathComponent(process)) {
    throw new ThermosGcError('ERR_UNSAFE_PATH', `unsafe process name ${JSON.stringify(process)}`, { taskId });
  }
  return path.join(checkpointDir(root, taskId), COORDINATOR_PREFIX + process);
}
