// Synchronous variants of the scan's file access (the deleter's, measurement's and inspect's are
// in sync-jobs.ts), for worker threads and the main thread's short slices.
// libuv's threadpool (4 threads) is shared by every worker of the process, so async fs calls from
// several workers queue behind each other, and each costs a threadpool round trip; a worker has
// nothing else to serve, so plain syscalls are both faster and actually parallel across workers.
// Measured (10,000 checkpoints on tmpfs, 2 loaded cores): readTaskFacts over the threadpool ~900 ms
// with or without workers; this ~125 ms on one thread (floor: open+read+close alone ~60 ms).
// The semantics stay the reference implementations' own: any checkpoint that the flat pass does
// not take goes through the reference replay (io/checkpoint-facts.ts, the one readTaskFacts
// uses), so error records are exactly the ones it produces.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { scanRunnerSummary } from '../core/checkpoint/scan-summary.js';
import { decisionStatuses, type FactsReading, type TaskFacts, type TaskRef } from '../core/facts.js';
import { readsRunnerMtime } from '../core/reconcile.js';
import { isSafeTaskId } from '../core/task-id.js';
import { applyCheckpoint, blankFacts, checkpointErrorRecord } from '../io/checkpoint-facts.js';
import { runnerCheckpointPath } from '../io/checkpoint-paths.js';
import { linkedTaskIdsSync, type LinkedLookup } from '../io/executor-detector.js';

let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads an open file to its end into the scratch buffer (reused: the decoder's strings are
 * copies) and returns how many bytes it holds. No fstat for its size: a read that returns less
 * than it asked for is the end of a regular file; one that fills the buffer grows it and goes on
 * (a checkpoint of a task that restarted often can exceed 64 KiB).
 */
function readToEnd(fd: number): number {
  let n = 0;
  for (;;) {
    const want = scratch.length - n;
    const got = readSync(fd, scratch, n, want, n);
    n += got;
    if (got < want) return n;
    const bigger = Buffer.allocUnsafe(scratch.length * 2);
    scratch.copy(bigger, 0, 0, n);
    scratch = bigger;
  }
}

/** The mtime of an open file, or undefined when even fstat fails (the record says what did). */
function mtimeOf(fd: number): number | undefined {
  try {
    return fstatSync(fd).mtimeMs;
  } catch {
    return undefined;
  }
}

/** `<root>/checkpoints`, joined once per root rather than once per task. */
const checkpointDirs = new Map<string, string>();
function runnerFile(ref: TaskRef): string {
  // An unsafe id throws its typed error here (the caller records it): it is never joined.
  if (!isSafeTaskId(ref.taskId)) return runnerCheckpointPath(ref.root, ref.taskId);
  let dir = checkpointDirs.get(ref.root);
  if (dir === undefined) checkpointDirs.set(ref.root, (dir = path.join(ref.root, 'checkpoints')));
  return `${dir}/${ref.taskId}/runner`;
}

/**
 * Most tasks of an agent run the same processes the same number of times: they share one
 * processRuns object (read only, by log paths and metadata paths) instead of ~50 bytes each.
 */
const sharedProcessRuns = new Map<string, Record<string, number>>();
const SHARED_RUNS_MAX = 4096;
function shareProcessRuns(runs: Record<string, number>): Record<string, number> {
  let key = '';
  for (const name in runs) key += `${name}\u0000${runs[name] as number}\u0000`;
  const known = sharedProcessRuns.get(key);
  if (known !== undefined) return known;
  if (sharedProcessRuns.size < SHARED_RUNS_MAX) sharedProcessRuns.set(key, runs);
  return runs;
}

/**
 * One task's facts, shaped as readTaskFacts shapes them: the flat pass for the plain shape
 * Thermos writes, the reference replay over the same bytes for anything else (its facts or its
 * exact error record), an error record when the file cannot be read. Never throws for a task.
 */
function taskFactsSync(ref: TaskRef, reading: FactsReading): TaskFacts {
  let file: string | undefined;
  let fd: number | undefined;
  try {
    file = runnerFile(ref);
    fd = openSync(file, 'r');
    const facts = factsOfBytes(ref, file, readToEnd(fd), reading.withoutPaths !== true);
    // The fstat is a fifth of a task's read: skipped where reconciliation would not look at it.
    if (reading.mtimeForReconcile !== true || readsRunnerMtime(ref.state, facts.statuses.length)) facts.runnerMtimeMs = mtimeOf(fd);
    return facts;
  } catch (err) {
    const facts = blankFacts(ref);
    // An unreadable checkpoint is judged by its mtime (stale or fresh) when it has one.
    if (fd !== undefined) facts.runnerMtimeMs = mtimeOf(fd);
    // A refused id has no file of ours: named as readTaskFacts names it.
    facts.error = checkpointErrorRecord(err, ref.taskId, file ?? path.join(ref.root, 'checkpoints', ref.taskId, 'runner'));
    return facts;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The facts in the first `length` bytes of scratch (never throws: a bad stream is an error record). */
function factsOfBytes(ref: TaskRef, file: string, length: number, keepPaths: boolean): TaskFacts {
  let s;
  try {
    s = scanRunnerSummary(scratch, length, keepPaths);
  } catch {
    s = undefined; // the reference replay below says what is wrong, with its exact error
  }
  if (s === undefined) {
    const facts = applyCheckpoint(blankFacts(ref), scratch.subarray(0, length), file);
    facts.statuses = decisionStatuses(facts.statuses);
    if (facts.processRuns !== undefined) facts.processRuns = shareProcessRuns(facts.processRuns);
    return facts;
  }
  return {
    taskId: ref.taskId,
    root: ref.root,
    state: ref.state,
    runnerMtimeMs: undefined,
    error: undefined,
    sandbox: s.sandbox,
    logDir: s.logDir,
    user: s.user,
    uid: s.uid,
    launchTimeMs: s.launchTimeMs,
    // Sized to its length (a pushed-to array keeps room for 16): these live for the whole scan.
    statuses: s.statuses.length <= 4 ? s.statuses.slice() : decisionStatuses(s.statuses),
    processRuns: keepPaths ? shareProcessRuns(s.processRuns) : undefined,
  };
}

/**
 * Facts of a batch, one file at a time, all on this thread with plain syscalls (a checkpoint the
 * flat pass declines costs a second decode of bytes already read, no async read or extra I/O).
 * Only the statuses decisions read are kept (core/facts.ts decisionStatuses): a task that
 * restarted a thousand times costs the scan four statuses, not a thousand.
 */
export function readFactsSync(refs: readonly TaskRef[], reading: FactsReading = {}): TaskFacts[] {
  const out: TaskFacts[] = [];
  for (const ref of refs) out.push(taskFactsSync(ref, reading));
  return out;
}

/** The linked executors' task ids (the detector's own walk and id rule), for one shard or all, of some tasks or all. */
export function linkedExecutorsSync(mesosRoot: string, lookup: LinkedLookup = {}): string[] {
  return linkedTaskIdsSync(mesosRoot, lookup);
}

