// What deleting one task would free, in allocated bytes and inodes, counted the way the deleter
// deletes: the sandbox and metadata directories as whole trees, log directories only as
// themselves (the deleter removes them only when empty; other tasks may share a log_dir), except
// a task's own legacy `logs/<task_id>` tree. `measureTask` runs over fs/promises (main thread);
// `measureTaskSync` over plain syscalls (worker threads, see pool/sync-io.ts): the same rules.
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { SizeTally, TaskSizes } from '../core/facts.js';
import { isStrictlyInside } from '../core/sandbox-policy.js';
import { countEntry, treeUsage } from './disk-usage.js';
import { isLegacyLogTree } from './log-paths.js';
import { isGone } from './tree-remover.js';

export type { TaskSizes } from '../core/facts.js';

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

const empty = (): SizeTally => ({ bytes: 0, inodes: 0 });

function add(into: SizeTally, u: SizeTally): void {
  into.bytes += u.bytes;
  into.inodes += u.inodes;
}

/** Paths not inside another listed path (a file inside a listed directory is counted with it). */
function outermost(paths: readonly string[]): string[] {
  const unique = [...new Set(paths.map((p) => path.normalize(p)))];
  return unique.filter((p) => !unique.some((q) => q !== p && isStrictlyInside(p, q)));
}

/** Each path to measure, and whether it counts as a whole tree. */
function measuredPaths(t: TaskPaths): Array<{ part: keyof TaskSizes; p: string; tree: boolean }> {
  const out: Array<{ part: keyof TaskSizes; p: string; tree: boolean }> = [];
  if (t.sandbox !== undefined && path.isAbsolute(t.sandbox)) out.push({ part: 'sandbox', p: t.sandbox, tree: true });
  const logs = t.logPaths.filter((p) => isLegacyLogTree(p, t.taskId) || !t.logPaths.some((q) => q !== p && isLegacyLogTree(q, t.taskId) && isStrictlyInside(p, q)));
  for (const p of logs) out.push({ part: 'logs', p, tree: isLegacyLogTree(p, t.taskId) });
  for (const p of outermost(t.metadataPaths)) out.push({ part: 'metadata', p, tree: true });
  return out;
}

async function usageOf(p: string, recursive: boolean, opts: MeasureOptions): Promise<SizeTally> {
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
  for (const m of measuredPaths(t)) add(sizes[m.part], await usageOf(m.p, m.tree, opts));
  return sizes;
}

function lstatOrGone(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

/** treeUsage over plain syscalls: symlinks not followed, other filesystems not entered, hard links once. */
export function treeUsageSync(root: string): SizeTally {
  const usage = empty();
  const top = lstatOrGone(root);
  if (top === undefined) return usage;
  usage.bytes += top.blocks * 512;
  usage.inodes += 1;
  if (!top.isDirectory()) return usage;
  const seenLinked = new Set<string>();
  const pending: string[] = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      if (isGone(err)) continue;
      throw err;
    }
    for (const name of names) {
      const p = path.join(dir, name);
      const st = lstatOrGone(p);
      if (st !== undefined) countEntry(usage, seenLinked, pending, p, st, top.dev);
    }
  }
  return usage;
}

export function measureTaskSync(t: TaskPaths, opts: MeasureOptions = {}): TaskSizes {
  const sizes: TaskSizes = { sandbox: empty(), logs: empty(), metadata: empty() };
  for (const m of measuredPaths(t)) {
    const st = lstatOrGone(m.p);
    if (st === undefined || (opts.device !== undefined && st.dev !== opts.device)) continue;
    add(sizes[m.part], st.isDirectory() && m.tree ? treeUsageSync(m.p) : { bytes: st.blocks * 512, inodes: 1 });
  }
  return sizes;
}
