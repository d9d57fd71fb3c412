// Synchronous variants of the scan's file access (the deleter's, measurement's and inspect's are
// in sync-jobs.ts), for worker threads and the main thread's short slices.
// libuv's threadpool (4 threads) is shared by every worker of the process, so async fs calls from
// several workers queue behind each other, and each costs a threadpool round trip; a worker has
// nothing else to serve, so plain syscalls are both faster and actually parallel across workers.
// Measured (10,000 checkpoints on tmpfs, 2 loaded cores): readTaskFacts over the threadpool ~900 ms
// with or without workers; this ~125 ms on one thread (floor: open+read+close alone ~60 ms).
// The semantics stay the reference implementations' own: any checkpoint that does not decode
// cleanly is handed to readTaskFacts, so error records are exactly the ones it produces.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { scanRunnerSummary } from '../core/checkpoint/scan-summary.js';
import { decisionStatuses, type TaskFacts, type TaskRef } from '../core/facts.js';
import { isSafeTaskId } from '../core/task-id.js';
import { linkedTaskIdsSync, type ExecutorShard } from '../io/executor-detector.js';

let scratch = Buffer.allocUnsafe(64 * 1024);

/** mtime of the file readWhole read last (a module variable: no result object per file). */
let lastMtimeMs = 0;

/**
 * Reads a whole file with one open/fstat/read/close into the scratch buffer (reused: the decoder's
 * strings are copies) and returns how many bytes it holds; the mtime is left in lastMtimeMs. The
 * buffer always has room for more than fstat's size, so a read that returns less than it asked
 * for is the end of the (regular) file: no second read to see EOF.
 */
function readWhole(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (st.size + 1 > scratch.length) scratch = Buffer.allocUnsafe(Math.max(st.size + 1, scratch.length * 2));
    let n = 0;
    for (;;) {
      const want = scratch.length - n;
      const got = readSync(fd, scratch, n, want, n);
      n += got;
      if (got < want) break;
      // The file grew past its fstat size: keep reading (a valid prefix or a typed error follows).
      const bigger = Buffer.allocUnsafe(scratch.length * 2);
      scratch.copy(bigger, 0, 0, n);
      scratch = bigger;
    }
    lastMtimeMs = st.mtimeMs;
    return n;
  } finally {
    closeSync(fd);
  }
}

/** `<root>/checkpoints`, joined once per root rather than once per task. */
const checkpointDirs = new Map<string, string>();
function runnerFile(ref: TaskRef): string | undefined {
  if (!isSafeTaskId(ref.taskId)) return undefined;
  let dir = checkpointDirs.get(ref.root);
  if (dir === undefined) checkpointDirs.set(ref.root, (dir = path.join(ref.root, 'checkpoints')));
  return `${dir}/${ref.taskId}/runner`;
}

/** The facts of a cleanly written checkpoint, shaped as readTaskFacts shapes them; undefined otherwise. */
function fastFacts(ref: TaskRef): TaskFacts | undefined {
  try {
    const file = runnerFile(ref);
    if (file === undefined) return undefined;
    const s = scanRunnerSummary(scratch, readWhole(file));
    if (s === undefined) return undefined;
    return {
      taskId: ref.taskId,
      root: ref.root,
      state: ref.state,
      runnerMtimeMs: lastMtimeMs,
      error: undefined,
      sandbox: s.sandbox,
      logDir: s.logDir,
      user: s.user,
      uid: s.uid,
      launchTimeMs: s.launchTimeMs,
      // The summary's own array: kept as it is when it is short enough already.
      statuses: s.statuses.length <= 4 ? s.statuses : decisionStatuses(s.statuses),
      processRuns: s.processRuns,
    };
  } catch {
    return undefined;
  }
}

/**
 * Facts of a batch, one file at a time; unusual checkpoints go through the reference reader.
 * Either way only the statuses decisions read are kept (core/facts.ts decisionStatuses): a task
 * that restarted a thousand times costs the scan four statuses, not a thousand.
 */
export async function readFactsSync(refs: readonly TaskRef[]): Promise<TaskFacts[]> {
  const out: TaskFacts[] = [];
  for (const ref of refs) {
    let f = fastFacts(ref);
    if (f === undefined) {
      // The reference reader (and its error records) for what the fast path cannot take.
      const { readTaskFacts } = await import('../io/task-facts-reader.js');
      f = await readTaskFacts(ref);
      f.statuses = decisionStatuses(f.statuses);
    }
    out.push(f);
  }
  return out;
}

/** The linked executors' task ids (the detector's own walk and id rule), for one shard or all. */
export function linkedExecutorsSync(mesosRoot: string, shard?: ExecutorShard): string[] {
  return linkedTaskIdsSync(mesosRoot, shard);
}

