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
import { lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { ErrorRecord } from '../errors.js';
import { errorMessage, withoutStackTraces } from '../errors.js';
import { PAUSE, isPromise, type SliceClock, type Steps } from './fs-steps.js';

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

/** A call's result: a value over plain syscalls, a promise from an injected asynchronous fs. */
export type FsResult<T> = T | Promise<T>;

/**
 * The file system as the deleter sees it; injectable so tests can simulate faults (their calls
 * may be async). Errors are thrown (or rejected) with node's `code`.
 */
export interface DeleterFs {
  lstat(p: string): FsResult<EntryStat>;
  /** stat that follows symlinks: used only for configured roots and their known parents. */
  stat(p: string): FsResult<EntryStat>;
  realpath(p: string): FsResult<string>;
  readdir(p: string): FsResult<DirEntry[]>;
  unlink(p: string): FsResult<void>;
  rmdir(p: string): FsResult<void>;
  rename(from: string, to: string): FsResult<void>;
  /** Creates one directory (mode 0700, not recursive). */
  mkdir(p: string): FsResult<void>;
  /** Mount points of this mount namespace (absolute paths); empty when unknown. */
  mountPoints(): FsResult<string[]>;
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

// Plain syscalls with stack traces off (errors.ts withoutStackTraces): a deletion expects
// failures (a coordinator checkpoint never written, a path another task's deletion took), each
// becomes an error code or a record, and capturing a stack for each was a measurable share of a
// GC run's CPU in the 0.2 CPU box. Plain rather than fs/promises: each async call costs a
// threadpool round trip and a promise; the driver (fs-steps.ts) gives the loop its turns.
const quiet = withoutStackTraces;
const withTypes = { withFileTypes: true } as const;
const privateDir = { mode: 0o700 } as const;

/**
 * lstat, with ENOENT as an error built here: node's own (a uvException with its message
 * formatting and errno lookup) cost ~5 µs of user CPU more, and the deleter's lstats of paths
 * already gone (a coordinator checkpoint never written) are expected.
 */
function lstatOrThrow(p: string): EntryStat {
  const st = lstatSync(p, noEntryIsUndefined);
  if (st !== undefined) return st;
  throw Object.assign(new Error(`ENOENT: no such file or directory, lstat '${p}'`), { errno: -2, code: 'ENOENT', syscall: 'lstat', path: p });
}
const noEntryIsUndefined = { throwIfNoEntry: false } as const;

/** The deleter's file system over plain syscalls: for the main thread and the workers alike. */
export const nodeDeleterFs: DeleterFs = {
  lstat: (p) => quiet(() => lstatOrThrow(p)),
  stat: (p) => quiet(() => statSync(p)),
  realpath: (p) => quiet(() => realpathSync(p)),
  readdir: (p) => quiet(() => readdirSync(p, withTypes)),
  unlink: (p) => quiet(() => unlinkSync(p)),
  rmdir: (p) => quiet(() => rmdirSync(p)),
  rename: (from, to) => quiet(() => renameSync(from, to)),
  mkdir: (p) => quiet(() => void mkdirSync(p, privateDir)),
  mountPoints: () => {
    try {
      return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
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
  /** When the walk yields PAUSE (a turn of the event loop); shared by all trees of one call. */
  slice: SliceClock;
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

// The abort signal is looked at once per directory and every this many entries in one.
const ABORT_CHECK_EVERY = 32;

/** Unlinks a non-directory (file, symlink, fifo, ...). True when it is gone. */
export function* removeNonDirectory(p: string, ctx: RemovalContext, known?: EntryStat): Steps<boolean> {
  let st: EntryStat;
  try {
    if (known !== undefined) st = known;
    else {
      let r = ctx.fs.lstat(p);
      if (isPromise(r)) r = (yield r) as EntryStat;
      st = r;
    }
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
    const r = ctx.fs.unlink(p);
    if (isPromise(r)) yield r;
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
export function* removeDirectory(p: string, dev: number, ctx: RemovalContext, known?: EntryStat): Steps<boolean> {
  if (ctx.mounts.has(p)) {
    ctx.tally.refused.push({ path: p, reason: 'mount-point' });
    return false;
  }
  let st: EntryStat;
  try {
    // `known`: the caller lstat'ed this very entry an instant ago (or renamed it into the trash).
    if (known !== undefined) st = known;
    else {
      let r = ctx.fs.lstat(p);
      if (isPromise(r)) r = (yield r) as EntryStat;
      st = r;
    }
  } catch (err) {
    if (isGone(err)) return true;
    recordError(ctx, 'lstat', p, err);
    return false;
  }
  if (!st.isDirectory()) return yield* removeNonDirectory(p, ctx, st);
  if (st.dev !== dev) {
    ctx.tally.refused.push({ path: p, reason: 'mount-point' });
    return false;
  }
  if (!(yield* removeContents(p, dev, ctx))) return false;
  try {
    const r = ctx.fs.rmdir(p);
    if (isPromise(r)) yield r;
  } catch (err) {
    if (isGone(err)) return true;
    recordError(ctx, 'rmdir', p, err);
    return false;
  }
  ctx.tally.dirsRemoved++;
  countFreed(ctx.tally, st);
  return true;
}

/** Everything in `dir`, one entry after the other: files first, then each subdirectory's tree. */
function* removeContents(dir: string, dev: number, ctx: RemovalContext): Steps<boolean> {
  ctx.signal?.throwIfAborted();
  if (ctx.slice.due()) yield PAUSE;
  let entries: DirEntry[];
  try {
    let r = ctx.fs.readdir(dir);
    if (isPromise(r)) r = (yield r) as DirEntry[];
    entries = r;
  } catch (err) {
    if (isGone(err)) return true;
    recordError(ctx, 'readdir', dir, err);
    return false;
  }
  let complete = true;
  let subdirs: string[] | undefined;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as DirEntry;
    // readdir names one path component: a plain concatenation, not path.join's normalisation.
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      (subdirs ??= []).push(p);
      continue;
    }
    if (i % ABORT_CHECK_EVERY === ABORT_CHECK_EVERY - 1) {
      ctx.signal?.throwIfAborted();
      if (ctx.slice.due()) yield PAUSE;
    }
    if (!(yield* removeNonDirectory(p, ctx))) complete = false;
  }
  if (subdirs !== undefined) for (const p of subdirs) if (!(yield* removeDirectory(p, dev, ctx))) complete = false;
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
