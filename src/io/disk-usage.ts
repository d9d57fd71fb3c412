// Disk usage of a tree (what deleting it would free) and of a whole filesystem (disk pressure).
import { lstat, readdir, statfs } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { isGone } from './tree-remover.js';

const STAT_BATCH = 64;

export interface TreeUsage {
  /** Allocated bytes (st_blocks * 512), as `du` counts them. */
  bytes: number;
  inodes: number;
}

/**
 * Counts one entry of a tree walk, the rules every size walk shares: a directory on another
 * filesystem is neither counted nor entered, a hard-linked file counts once, blocks are what
 * the entry holds on disk. Directories to enter go on `pending`.
 */
export function countEntry(usage: TreeUsage, seenLinked: Set<string>, pending: string[], p: string, st: Stats, rootDev: number): void {
  if (st.isDirectory()) {
    if (st.dev !== rootDev) return;
    pending.push(p);
  } else if (st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    if (seenLinked.has(key)) return;
    seenLinked.add(key);
  }
  usage.bytes += st.blocks * 512;
  usage.inodes += 1;
}

/**
 * Allocated bytes and inodes of a tree, by lstat: symlinks are not followed, directories on
 * another filesystem are not entered, and a hard-linked file is counted once. A missing path
 * is empty; entries that vanish meanwhile are skipped.
 */
export async function treeUsage(root: string): Promise<TreeUsage> {
  const usage: TreeUsage = { bytes: 0, inodes: 0 };
  const seenLinked = new Set<string>();
  let rootDev: number;
  try {
    const st = await lstat(root);
    rootDev = st.dev;
    usage.bytes += st.blocks * 512;
    usage.inodes += 1;
    if (!st.isDirectory()) return usage;
  } catch (err) {
    if (isGone(err)) return usage;
    throw err;
  }
  const pending: string[] = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (isGone(err)) continue;
      throw err;
    }
    const stats: Array<{ p: string; st: Stats } | undefined> = [];
    for (let i = 0; i < names.length; i += STAT_BATCH) {
      const batch = names.slice(i, i + STAT_BATCH).map(async (name) => {
        const p = path.join(dir as string, name);
        try {
          return { p, st: await lstat(p) };
        } catch (err) {
          if (isGone(err)) return undefined;
          throw err;
        }
      });
      stats.push(...(await Promise.all(batch)));
    }
    for (const item of stats) if (item !== undefined) countEntry(usage, seenLinked, pending, item.p, item.st, rootDev);
  }
  return usage;
}

export interface FilesystemUsage {
  /** Used share of the space available to unprivileged users, as df's Use% (0..1). */
  usedShare: number;
  inodeUsedShare: number;
  totalBytes: number;
  availBytes: number;
  totalInodes: number;
  freeInodes: number;
}

export async function filesystemUsage(p: string): Promise<FilesystemUsage> {
  const s = await statfs(p);
  const used = s.blocks - s.bfree;
  // df: used / (used + available to non-root), so the reserved blocks count as full.
  const usable = used + s.bavail;
  const usedInodes = s.files - s.ffree;
  return {
    usedShare: usable > 0 ? used / usable : 0,
    inodeUsedShare: s.files > 0 ? usedInodes / s.files : 0,
    totalBytes: s.blocks * s.bsize,
    availBytes: s.bavail * s.bsize,
    totalInodes: s.files,
    freeInodes: s.ffree,
  };
}
