// Reads what the scan needs from one task's runner checkpoint. A missing, unreadable or
// unreplayable checkpoint is a normal finding, not a failure: it becomes `error` with no
// statuses (the GC then treats the task as having no states), and this never throws for it.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { inspectCheckpoints } from '../core/checkpoint/inspection.js';
import type { TaskFacts, TaskRef } from '../core/facts.js';
import type { TaskInspection } from '../core/records.js';
import { DecodeError, ReplayError, ThermosGcError } from '../errors.js';
import { applyCheckpoint, blankFacts, checkpointErrorRecord } from './checkpoint-facts.js';
import { COORDINATOR_PREFIX, checkpointDir, runnerCheckpointPath } from './checkpoint-paths.js';

export { checkpointDir, runnerCheckpointPath, taskFilePath } from './checkpoint-paths.js';

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** The facts of one task over fs/promises (the orphan pass and the local services' default). */
export async function readTaskFacts(ref: TaskRef): Promise<TaskFacts> {
  const facts = blankFacts(ref);
  let file = path.join(ref.root, 'checkpoints', ref.taskId, 'runner');
  let bytes: Buffer;
  try {
    file = runnerCheckpointPath(ref.root, ref.taskId);
    facts.runnerMtimeMs = (await stat(file)).mtimeMs;
    bytes = await readFile(file);
  } catch (err) {
    facts.error = checkpointErrorRecord(err, ref.taskId, file);
    return facts;
  }
  return applyCheckpoint(facts, bytes, file);
}

/**
 * Inspects the runner checkpoint and every `coordinator.*` file of a task. Throws a typed error
 * (ERR_CKPT_MISSING, ERR_CKPT_IO, DecodeError, ReplayError) when the runner stream cannot be used.
 */
export async function readTaskInspection(root: string, taskId: string): Promise<TaskInspection> {
  const dir = checkpointDir(root, taskId);
  const file = runnerCheckpointPath(root, taskId);
  let runner: Buffer;
  let names: string[];
  try {
    runner = await readFile(file);
    names = await readdir(dir);
  } catch (err) {
    const rec = checkpointErrorRecord(err, taskId, file);
    throw new ThermosGcError(rec.code, rec.message, { taskId, path: file, cause: err });
  }
  const coordinators: Buffer[] = [];
  for (const name of names.sort()) {
    if (!name.startsWith(COORDINATOR_PREFIX)) continue;
    try {
      coordinators.push(await readFile(path.join(dir, name)));
    } catch (err) {
      // A coordinator file that vanished or cannot be read adds no evidence; the runner decides.
      if (!isMissing(err) && (err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
    }
  }
  try {
    return inspectCheckpoints(runner, coordinators);
  } catch (err) {
    throw withContext(err, taskId, file);
  }
}

/** The same typed error, now naming the task and file it concerns. */
function withContext(err: unknown, taskId: string, file: string): unknown {
  const details = { taskId, path: file };
  if (err instanceof DecodeError) {
    return new DecodeError(err.code, err.message.replace(/ \(at byte \d+\)$/, ''), err.offset, details);
  }
  if (err instanceof ReplayError) return new ReplayError(err.message, details);
  return err;
}
