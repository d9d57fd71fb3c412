// The worker threads' plain-syscall variants of the deletion, measurement and inspect jobs (see
// sync-io.ts for why workers use plain syscalls), apart from the scan's: loaded only by a thread
// that runs one of these jobs.
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import type { TaskRef } from '../core/facts.js';
import { replayCheckpoint } from '../core/checkpoint/replay.js';
import { errorMessage } from '../errors.js';
import { runnerCheckpointPath } from '../io/checkpoint-paths.js';
import { measureTaskSync, type MeasureOptions, type TaskPaths, type TaskSizes } from '../io/task-sizes.js';
import { parseMountInfo, type DeleterFs } from '../io/tree-remover.js';
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

function sync<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The deleter's file system over plain syscalls (for worker threads). */
export const syncDeleterFs: DeleterFs = {
  lstat: (p) => sync(() => lstatSync(p)),
  stat: (p) => sync(() => statSync(p)),
  realpath: (p) => sync(() => realpathSync(p)),
  readdir: (p) => sync(() => readdirSync(p, { withFileTypes: true })),
  unlink: (p) => sync(() => unlinkSync(p)),
  rmdir: (p) => sync(() => rmdirSync(p)),
  rename: (from, to) => sync(() => renameSync(from, to)),
  mkdir: (p) => sync(() => void mkdirSync(p, { mode: 0o700 })),
  mountPoints: () =>
    sync(() => {
      try {
        return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
      } catch {
        return [];
      }
    }),
};
