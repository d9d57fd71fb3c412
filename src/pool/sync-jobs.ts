// The worker threads' plain-syscall variants of the measurement and inspect jobs (see sync-io.ts
// for why workers use plain syscalls; the deleter's are io/tree-remover.ts nodeDeleterFs), apart
// from the scan's: loaded only by a thread that runs one of these jobs.
import { readFileSync } from 'node:fs';
import type { TaskRef } from '../core/facts.js';
import { replayCheckpoint } from '../core/checkpoint/replay.js';
import { errorMessage } from '../errors.js';
import { runnerCheckpointPath } from '../io/checkpoint-paths.js';
import { measureTaskSync, type MeasureOptions, type TaskPaths, type TaskSizes } from '../io/task-sizes.js';
import { inspectEntry, type InspectEntry } from '../report/inspect-report.js';

/** What `inspect` prints for each task: the full replay (every run), or why it cannot be replayed. */
export function inspectTasksSync(refs: readonly TaskRef[]): InspectEntry[] {
  return refs.map((ref) => {
    const file = runnerCheckpointPath(ref.root, ref.taskId);
    try {
      return inspectEntry(ref, replayCheckpoint(readFileSync(file)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return inspectEntry(ref, { error: `runner checkpoint ${file} does not exist` });
      return inspectEntry(ref, { error: errorMessage(err) });
    }
  });
}

/** Sizes of a batch of tasks, one after the other. */
export function measureTasksSync(tasks: readonly TaskPaths[], opts: MeasureOptions = {}): TaskSizes[] {
  return tasks.map((t) => measureTaskSync(t, opts));
}
