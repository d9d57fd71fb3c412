// Removes a directory tree without following symlinks and without crossing into another
// filesystem or mount. Shared by the sandbox deleter and the trash finisher.
//
// Rules: a symlink is unlinked, never followed. A directory whose st_dev differs from the tree
// root's, or that is a mount point in /proc/self/mountinfo (a bind mount of the same
// filesystem has the same st_dev), is left in place with everything below it and reported as
// 'mount-point'; its ancestors then stay too (not an error). ENOENT means someone else removed
// it: already gone. Other errors are recorded per path and the walk goes on.
//
// Known limit: Node cannot open a directory with O_NOFOLLOW, so a directory swapped for a
// symlink between our lstat and readdir would be listed through the link. Deletion runs only on
// tasks whose processes are gone, and trees are first renamed into a root-owned trash dir.
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import type { ErrorRecord } from '../errors.js';
import { errorMessage } from '../errors.js';

/** The lstat fields the deleter uses (node's Stats fits). */
export interface EntryStat {
  dev: number;
  ino: number;
  nlink: number;
  blocks: number;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

export interface DirEntry {
  name: string;
  isDirectory(): boolean;
}

/** The file system as the deleter sees it; injectable so tests can simulate faults. */
export interface DeleterFs {
  lstat(p: string): Promise<EntryStat>;
  /** stat that follows symlinks: used only for configured roots. */
  stat(p: string): Promise<EntryStat>;
  realpath(p: string): Promise<string>;
  readdir(p: string): Promise<DirEntry[]>;
  unlink(p: string): Promise<void>;
  rmdir(p: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Creates one directory (mode 0700, not recursive). */
  mkdir(p: string): Promise<void>;
  /** Mount points of this mount namespace (absolute paths); empty when unknown. */
  mountPoints(): Promise<string[]>;
}

/** Decodes the octal escapes (\040 space, \011 tab, \012 newline, \134 backslash) of mountinfo. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points (field 5) of /proc/self/mountinfo text. */
export function parseMountInfo(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field !== undefined && field !== '') out.push(unescapeMountPath(field));
  }
  return out;
}

export const nodeDeleterFs: DeleterFs = {
  lstat: (p) => fsp.lstat(p),
  stat: (p) => fsp.stat(p),
  realpath: (p) => fsp.realpath(p),
  readdir: (p) => fsp.readdir(p, { withFileTypes: true }),
  unlink: (p) => fsp.unlink(p),
  rmdir: (p) => fsp.rmdir(p),
  rename: (from, to) => fsp.rename(from, to),
  mkdir: async (p) => {
    await fsp.mkdir(p, { mode: 0o700 });
  },
  mountPoints: async () => {
    try {
      return parseMountInfo(await fsp.readFile('/proc/self/mountinfo', 'utf8'));
    } catch {
      return [];
    }
  },
};

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isGone(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** What one deletion did, accumulated across the paths of one target (or one trash pass). */
export interface RemovalTally {
  bytesFreed: number;
  inodesFreed: number;
  refused: Array<{ path: string; reason: string }>;
  errors: ErrorRecord[];
  /** Entries this deletion removed (unlinked; rmdir'd): what the one log line per task counts. */
  filesRemoved: number;
  dirsRemoved: number;
}

export function emptyTally(): RemovalTally {
  return { bytesFreed: 0, inodesFreed: 0, refused: [], errors: [], filesRemoved: 0, dirsRemoved: 0 };
}

export interface RemovalContext {
  fs: DeleterFs;
  tally: RemovalTally;
  /** Mount points, in the same path terms as the paths being removed. */
  mounts: ReadonlySet<string>;
  /** Hard-linked inodes (dev:ino) → links not yet unlinked; shared by all trees of one call. */
  links: Map<string, number>;
  /** Directory walks in progress in this tree, to bound the fan-out. */
  openWalks: { count: number };
  taskId?: string;
  signal?: AbortSignal;
}

export function recordError(ctx: RemovalContext, op: string, p: string, err: unknown): void {
  const rec: ErrorRecord = { code: 'ERR_DELETE', message: `${op} ${p}: ${errnoCode(err) ?? errorMessage(err)}`, path: p };
  if (ctx.taskId !== undefined) rec.taskId = ctx.taskId;
  ctx.tally.errors.push(rec);
}

/** Counts an inode (and its allocated blocks) as freed. */
export function countFreed(tally: RemovalTally, st: EntryStat): void {
  tally.bytesFreed += st.blocks * 512;
  tally.inodesFreed += 1;
}

/**
 * Counts an unlinked non-directory: a hard-linked file frees its blocks only with its last
 * link, so links are tallied per inode (a link outside the tree keeps it from being counted).
 */
function countUnlinked(ctx: RemovalContext, st: EntryStat): void {
  if (st.nlink <= 1) return countFreed(ctx.tally, st);
  const key = `${st.dev}:${st.ino}`;
  const left = (ctx.links.get(key) ?? st.nlink) - 1;
  if (left > 0) {
    ctx.links.set(key, left);
  } else {
    ctx.links.delete(key);
    countFreed(ctx.tally, st);
  }
}

// Unlinks in one directory are issued this many at a time: enough to keep libuv's pool busy.
const UNLINK_BATCH = 32;
const SUBDIR_WIDTH = 4;
const MAX_OPEN_WALKS = 16;

/** Unlinks a non-directory (file, symlink, fifo, ...). True when it is gone. */
export async function removeNonDirectory(p: string, ctx: RemovalContext, known?: EntryStat): Promise<boolean> {
  let st = known;
  try {
    st ??= await ctx.fs.lstat(p);
  } catch (err) {
    if (isGone(err)) return true;
    recordError(ctx, 'lstat', p, err);
    return false;
  }
  if (st.isDirectory()) {
    // The entry became a directory after readdir: someone is writing here; leave it for next time.
    recordError(ctx, 'unlink', p, new Error('changed into a directory during deletion'));
    return false;
  }
  try {
    await ctx.fs.unlink(p);
  } catch (err) {
    if (isGone(err)) return true;
    recordError(ctx, 'unlink', p, err);
    return false;
  }
  ctx.tally.filesRemoved++;
  countUnlinked(ctx, st);
  return true;
}

/**
 * Removes directory `p` and everything in it that is on filesystem `dev` and not a mount.
 * True when `p` is gone afterwards. `known` saves the lstat when the caller just made it.
 */
export async function removeDirectory(p: string, dev: number, ctx: RemovalContext, known?: EntryStat): Promise<boolean> {
  if (ctx.mounts.has(p)) {
    ctx.tally.refused.push({ path: p, reason: 'mount-point' });
    return false;
  }
  let st: EntryStat;
  try {
    // `known`: the caller lstat'ed this very entry an instant ago (or renamed it into the trash).
    st = known ?? (await ctx.fs.lstat(p));
  } catch (err) {
    if (isGone(err)) return true;
    recordError(ctx, 'lstat', p, err);
    return false;
  }
  if (!st.isDirectory()) return removeNonDirectory(p, ctx, st);
  if (st.dev !== dev) {
    ctx.tally.refused.push({ path: p, reason: 'mount-point' });
    return false;
  }
  if (!(await removeContents(p, dev, ctx))) return false;
  try {
    await ctx.fs.rmdir(p);
  } catch (err) {
    if (isGone(err)) return true;
    recordError(ctx, 'rmdir', p, err);
    return false;
  }
  ctx.tally.dirsRemoved++;
  countFreed(ctx.tally, st);
  return true;
}

async function removeContents(dir: string, dev: number, ctx: RemovalContext): Promise<boolean> {
  ctx.signal?.throwIfAborted();
  let entries: DirEntry[];
  try {
    entries = await ctx.fs.readdir(dir);
  } catch (err) {
    if (isGone(err)) return true;
    recordError(ctx, 'readdir', dir, err);
    return false;
  }
  let complete = true;
  const subdirs: string[] = [];
  const others: string[] = [];
  for (const e of entries) (e.isDirectory() ? subdirs : others).push(path.join(dir, e.name));
  for (let i = 0; i < others.length; i += UNLINK_BATCH) {
    ctx.signal?.throwIfAborted();
    const done = await Promise.all(others.slice(i, i + UNLINK_BATCH).map((f) => removeNonDirectory(f, ctx)));
    if (done.includes(false)) complete = false;
  }
  // Sibling subdirectories are walked a few at a time while few walks are open (small
  // directories alone cannot keep libuv's pool busy), one at a time beyond that, so the open
  // walks (each holding a listing) stay bounded.
  const width = ctx.openWalks.count < MAX_OPEN_WALKS ? Math.min(SUBDIR_WIDTH, subdirs.length) : 1;
  let next = 0;
  const walker = async (): Promise<void> => {
    for (let i = next++; i < subdirs.length; i = next++) {
      if (!(await removeDirectory(subdirs[i] as string, dev, ctx))) complete = false;
    }
  };
  ctx.openWalks.count += width;
  // allSettled: on abort, every walker has stopped before the abort propagates.
  const settled = await Promise.allSettled(Array.from({ length: width }, walker));
  ctx.openWalks.count -= width;
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return complete;
}

/**
 * Maps mount points into the terms of the configured roots: when a root is reached through a
 * symlink (/var/lib/mesos → /data/mesos), mountinfo names the real path.
 */
export async function mountSet(fs: DeleterFs, roots: readonly string[]): Promise<Set<string>> {
  const mounts = await fs.mountPoints();
  const out = new Set<string>(mounts);
  for (const root of roots) {
    let real: string;
    try {
      real = await fs.realpath(root);
    } catch {
      continue;
    }
    if (real === root) continue;
    for (const m of mounts) {
      if (m === real) out.add(root);
      else if (m.startsWith(real.endsWith('/') ? real : real + '/')) out.add(path.join(root, m.slice(real.length)));
    }
  }
  return out;
}
