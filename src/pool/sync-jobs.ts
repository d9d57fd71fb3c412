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
import { errorMessage, withoutStackTraces } from '../errors.js';
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
export const syncDeleterFs: DeleterFs = syncFs(sync);

/**
 * The same plain syscalls for the main thread (`--workers 0`, the default in Aurora's 0.2 CPU
 * box): every `sliceMs` of work the deletion gives the event loop a turn, so the agent
 * connection and /metrics are served while it runs. Each async fs call costs a threadpool round
 * trip and a promise; at 1,000 tasks the async deleter took ~2.9 CPU s, this a fraction.
 */
export function slicedSyncDeleterFs(sliceMs: number): DeleterFs {
  let sliceStart = performance.now();
  const sliced = async <T>(fn: () => T): Promise<T> => {
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
    return fn();
  };
  return syncFs(sliced);
}

// Each syscall runs with stack traces off (errors.ts withoutStackTraces): a deletion expects
// failures (a task file in the other state dir, a coordinator checkpoint never written, a path
// another task's deletion took), each becomes an error code or a record, and capturing a stack
// for every one of them was a measurable share of a GC run's CPU in the 0.2 CPU box.
function syncFs(outer: <T>(fn: () => T) => Promise<T>): DeleterFs {
  const wrap = <T>(fn: () => T): Promise<T> => outer(() => withoutStackTraces(fn));
  return {
    lstat: (p) => wrap(() => lstatSync(p)),
    stat: (p) => wrap(() => statSync(p)),
    realpath: (p) => wrap(() => realpathSync(p)),
    readdir: (p) => wrap(() => readdirSync(p, { withFileTypes: true })),
    unlink: (p) => wrap(() => unlinkSync(p)),
    rmdir: (p) => wrap(() => rmdirSync(p)),
    rename: (from, to) => wrap(() => renameSync(from, to)),
    mkdir: (p) => wrap(() => void mkdirSync(p, { mode: 0o700 })),
    mountPoints: () =>
      wrap(() => {
        try {
          return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
        } catch {
          return [];
        }
      }),
  };
}

