// Synchronous variants of the scan's and the deleter's file access, for worker threads only.
// libuv's threadpool (4 threads) is shared by every worker of the process, so async fs calls from
// several workers queue behind each other, and each costs a threadpool round trip; a worker has
// nothing else to serve, so plain syscalls are both faster and actually parallel across workers.
// Measured (10,000 checkpoints on tmpfs, 2 loaded cores): readTaskFacts over the threadpool ~900 ms
// with or without workers; this ~125 ms on one thread (floor: open+read+close alone ~60 ms).
// The semantics stay the reference implementations' own: any checkpoint that does not decode
// cleanly is handed to readTaskFacts, so error records are exactly the ones it produces.
import {
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import path from 'node:path';
import { replayTaskSummary } from '../core/checkpoint/replay.js';
import type { StatusFact, TaskFacts, TaskRef } from '../core/facts.js';
import { runnerCheckpointPath } from '../io/checkpoint-paths.js';
import { THERMOS_EXECUTOR_PREFIX, linkedTaskIds, type ExecutorRun } from '../io/executor-detector.js';
import { readTaskFacts } from '../io/task-facts-reader.js';
import { parseMountInfo, type DeleterFs } from '../io/tree-remover.js';

let scratch = Buffer.allocUnsafe(64 * 1024);

/** Reads a whole file with one open/fstat/read/close; the scratch buffer is reused (copied out by the decoder's strings). */
function readWhole(file: string): { bytes: Buffer; mtimeMs: number } {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (st.size + 1 > scratch.length) scratch = Buffer.allocUnsafe(Math.max(st.size + 1, scratch.length * 2));
    let n = 0;
    for (let got = readSync(fd, scratch, n, scratch.length - n, n); got > 0; got = readSync(fd, scratch, n, scratch.length - n, n)) {
      n += got;
      if (n === scratch.length) {
        const bigger = Buffer.allocUnsafe(scratch.length * 2);
        scratch.copy(bigger, 0, 0, n);
        scratch = bigger;
      }
    }
    return { bytes: scratch.subarray(0, n), mtimeMs: st.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/** The facts of a cleanly replayable checkpoint, shaped as readTaskFacts shapes them; undefined otherwise. */
function fastFacts(ref: TaskRef): TaskFacts | undefined {
  try {
    const { bytes, mtimeMs } = readWhole(runnerCheckpointPath(ref.root, ref.taskId));
    const summary = replayTaskSummary(bytes);
    const statuses: StatusFact[] = [];
    for (const s of summary.statuses) {
      if (s.state === undefined || s.timestampMs === undefined) return undefined;
      statuses.push({ state: s.state, timestampMs: s.timestampMs, runnerPid: s.runnerPid, runnerUid: s.runnerUid });
    }
    const h = summary.header;
    return {
      taskId: ref.taskId,
      root: ref.root,
      state: ref.state,
      runnerMtimeMs: mtimeMs,
      error: undefined,
      sandbox: h?.sandbox,
      logDir: h?.logDir,
      user: h?.user,
      uid: h?.uid,
      launchTimeMs: h?.launchTimeMs,
      statuses,
      processRuns: summary.processRuns,
    };
  } catch {
    return undefined;
  }
}

/** Facts of a batch, one file at a time; unusual checkpoints go through the reference reader. */
export async function readFactsSync(refs: readonly TaskRef[]): Promise<TaskFacts[]> {
  const out: TaskFacts[] = [];
  for (const ref of refs) out.push(fastFacts(ref) ?? (await readTaskFacts(ref)));
  return out;
}

function isDirFollowing(p: string, isLink: boolean, isDir: boolean): boolean {
  if (!isLink) return isDir;
  try {
    return statSync(p).isDirectory();
  } catch {
    return false; // dangling link
  }
}

/** Directory entries that are directories or links to directories (as fast-glob sees them when following links). */
function subdirs(dir: string, skip?: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e.name !== skip && isDirFollowing(path.join(dir, e.name), e.isSymbolicLink(), e.isDirectory())) out.push(e.name);
  }
  return out;
}

/** Splits the Mesos walk across threads: shard `index` of `count` takes the executors hashing to it. */
export interface ExecutorShard {
  index: number;
  count: number;
}

/** FNV-1a over the UTF-16 code units: a stable shard for a name, whatever order readdir returns. */
function shardOf(name: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

/**
 * The linked executors' task ids, walking `slaves/*\/frameworks/*\/executors/*\/runs/*` with one
 * readdir per directory: the same runs io/executor-detector.ts finds (links followed, `latest`
 * excluded by name), the same id rule (its linkedTaskIds). Only `thermos-` executors can be
 * linked, so only their run dirs are read; with a shard, only the executors hashing to it.
 */
export function linkedExecutorsSync(mesosRoot: string, shard?: ExecutorShard): string[] {
  const root = path.resolve(mesosRoot);
  const runs: ExecutorRun[] = [];
  const slaves = path.join(root, 'slaves');
  for (const agentId of subdirs(slaves)) {
    const frameworks = path.join(slaves, agentId, 'frameworks');
    for (const frameworkId of subdirs(frameworks)) {
      const executors = path.join(frameworks, frameworkId, 'executors');
      for (const executorId of subdirs(executors)) {
        if (!executorId.startsWith(THERMOS_EXECUTOR_PREFIX)) continue;
        if (shard !== undefined && shard.count > 1 && shardOf(executorId, shard.count) !== shard.index) continue;
        const runsDir = path.join(executors, executorId, 'runs');
        for (const runId of subdirs(runsDir, 'latest')) {
          runs.push({ agentId, frameworkId, executorId, runId, path: path.join(runsDir, runId) });
        }
      }
    }
  }
  return [...linkedTaskIds(runs)].sort();
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
