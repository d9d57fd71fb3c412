// What deleting one task would free, in allocated bytes and inodes, counted the way the deleter
// deletes: the sandbox and metadata directories as whole trees, log directories only as
// themselves (the deleter removes them only when empty; other tasks may share a log_dir), except
// a task's own legacy `logs/<task_id>` tree.
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { isStrictlyInside } from '../core/sandbox-policy.js';
import { treeUsage, type TreeUsage } from './disk-usage.js';
import { isLegacyLogTree } from './log-paths.js';
import { isGone } from './tree-remover.js';

export interface TaskSizes {
  sandbox: TreeUsage;
  logs: TreeUsage;
  metadata: TreeUsage;
}

export interface TaskPaths {
  taskId: string;
  sandbox?: string;
  logPaths: readonly string[];
  metadataPaths: readonly string[];
}

export interface MeasureOptions {
  /** Count only paths on this device (st_dev): what a deletion frees on one filesystem. */
  device?: number;
}

const empty = (): TreeUsage => ({ bytes: 0, inodes: 0 });

function add(into: TreeUsage, u: TreeUsage): void {
  into.bytes += u.bytes;
  into.inodes += u.inodes;
}

/** Paths not inside another listed path (a file inside a listed directory is counted with it). */
function outermost(paths: readonly string[]): string[] {
  const unique = [...new Set(paths.map((p) => path.normalize(p)))];
  return unique.filter((p) => !unique.some((q) => q !== p && isStrictlyInside(p, q)));
}

async function usageOf(p: string, recursive: boolean, opts: MeasureOptions): Promise<TreeUsage> {
  let st;
  try {
    st = await lstat(p);
  } catch (err) {
    if (isGone(err)) return empty();
    throw err;
  }
  if (opts.device !== undefined && st.dev !== opts.device) return empty();
  if (st.isDirectory() && recursive) return treeUsage(p);
  return { bytes: st.blocks * 512, inodes: 1 };
}

export async function measureTask(t: TaskPaths, opts: MeasureOptions = {}): Promise<TaskSizes> {
  const sizes: TaskSizes = { sandbox: empty(), logs: empty(), metadata: empty() };
  if (t.sandbox !== undefined && path.isAbsolute(t.sandbox)) add(sizes.sandbox, await usageOf(t.sandbox, true, opts));
  const logs = t.logPaths.filter((p) => isLegacyLogTree(p, t.taskId) || !t.logPaths.some((q) => q !== p && isLegacyLogTree(q, t.taskId) && isStrictlyInside(p, q)));
  for (const p of logs) add(sizes.logs, await usageOf(p, isLegacyLogTree(p, t.taskId), opts));
  for (const p of outermost(t.metadataPaths)) add(sizes.metadata, await usageOf(p, true, opts));
  return sizes;
}
