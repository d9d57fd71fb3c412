// Resumable deletion: a sandbox is first renamed (atomically) into a trash directory on the
// same filesystem, `<allowedRoot>/.thermos-gc-trash/<taskId>.<random>`, then deleted from
// there. A run killed halfway leaves a half-deleted tree in the trash, not in the agent's work
// dir; finishTrash (called at executor start) completes it.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { INLINE_SLICE_MS } from '../config.js';
import type { ErrorRecord } from '../errors.js';
import { normaliseAbsolute } from '../core/sandbox-policy.js';
import { MAX_COMPONENT_BYTES, isSafeTaskId } from '../core/task-id.js';
import { SliceClock, drive, isPromise, type Steps } from './fs-steps.js';
import {
  type DeleterFs,
  type DirEntry,
  type EntryStat,
  type RemovalContext,
  emptyTally,
  errnoCode,
  isGone,
  mountSet,
  nodeDeleterFs,
  recordError,
  removeDirectory,
  removeNonDirectory,
} from './tree-remover.js';

export const DEFAULT_TRASH_DIR_NAME = '.thermos-gc-trash';

export function trashDirPath(allowedRoot: string, trashDirName = DEFAULT_TRASH_DIR_NAME): string {
  return path.join(allowedRoot, trashDirName);
}

// Random suffixes are cut from one draw of the CSPRNG per 512 names, not one call per sandbox.
let randomPool = Buffer.alloc(0);
let randomAt = 0;
function randomSuffix(): string {
  if (randomAt + 8 > randomPool.length) {
    randomPool = randomBytes(4096);
    randomAt = 0;
  }
  randomAt += 8;
  return randomPool.toString('hex', randomAt - 8, randomAt);
}

/** `<taskId>.<random>`, or just the random part when the task id would make it too long. */
export function trashEntryName(taskId: string): string {
  const random = randomSuffix();
  const withId = `${taskId}.${random}`;
  return isSafeTaskId(taskId) && Buffer.byteLength(withId) <= MAX_COMPONENT_BYTES ? withId : random;
}

/**
 * Ensures the trash dir of `allowedRoot` exists as a real directory on filesystem `dev`.
 * Undefined when it cannot be used (a symlink, another filesystem, not creatable): the caller
 * then deletes in place.
 */
function* usableTrashDir(fs: DeleterFs, allowedRoot: string, trashDirName: string, dev: number): Steps<string | undefined> {
  const dir = trashDirPath(allowedRoot, trashDirName);
  const usable = (st: EntryStat): string | undefined => (st.isDirectory() && !st.isSymbolicLink() && st.dev === dev ? dir : undefined);
  // It exists after the first task of a run: one lstat, not a mkdir that fails with EEXIST.
  try {
    return usable(yield* lstatOf(fs, dir));
  } catch (err) {
    if (!isGone(err)) return undefined;
  }
  try {
    const r = fs.mkdir(dir);
    if (isPromise(r)) yield r;
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') return undefined;
  }
  try {
    return usable(yield* lstatOf(fs, dir));
  } catch {
    return undefined;
  }
}

function* lstatOf(fs: DeleterFs, p: string): Steps<EntryStat> {
  const r = fs.lstat(p);
  return isPromise(r) ? ((yield r) as EntryStat) : r;
}

export type TrashMove = { kind: 'moved'; entry: string } | { kind: 'gone' } | { kind: 'in-place' };

/** Renames `dir` into the trash of `allowedRoot`; 'in-place' when that is not possible (EXDEV, ...). */
export function* moveToTrash(
  fs: DeleterFs,
  dir: string,
  dirStat: EntryStat,
  allowedRoot: string,
  taskId: string,
  trashDirName = DEFAULT_TRASH_DIR_NAME,
): Steps<TrashMove> {
  const trash = yield* usableTrashDir(fs, allowedRoot, trashDirName, dirStat.dev);
  if (trash === undefined) return { kind: 'in-place' };
  const entry = path.join(trash, trashEntryName(taskId));
  try {
    const r = fs.rename(dir, entry);
    if (isPromise(r)) yield r;
    return { kind: 'moved', entry };
  } catch (err) {
    // ENOENT: someone else removed it. Anything else (EXDEV, EBUSY, ...): the rename only buys
    // resumability, so delete in place under the same rules.
    return isGone(err) ? { kind: 'gone' } : { kind: 'in-place' };
  }
}

export interface TrashSummary {
  bytesFreed: number;
  inodesFreed: number;
  /** Trash entries found (fully deleted or not). */
  entries: number;
  refused: Array<{ path: string; reason: string }>;
  errors: ErrorRecord[];
}

export interface FinishTrashOptions {
  trashDirName?: string;
  signal?: AbortSignal;
  fs?: DeleterFs;
}

/** Deletes whatever is left in the trash dirs of the allowed roots (leftovers of a killed run). */
export async function finishTrash(allowedRoots: readonly string[], opts: FinishTrashOptions = {}): Promise<TrashSummary> {
  const fs = opts.fs ?? nodeDeleterFs;
  const roots = allowedRoots.map(normaliseAbsolute).filter((r): r is string => r !== undefined);
  const slice = new SliceClock(INLINE_SLICE_MS);
  const ctx: RemovalContext = { fs, tally: emptyTally(), mounts: await mountSet(fs, roots), links: new Map(), slice };
  if (opts.signal !== undefined) ctx.signal = opts.signal;
  const entries = await drive(finishTrashSteps(new Set(roots), opts.trashDirName ?? DEFAULT_TRASH_DIR_NAME, ctx), slice);
  const { bytesFreed, inodesFreed, refused, errors } = ctx.tally;
  return { bytesFreed, inodesFreed, entries, refused, errors };
}

/** The trash entries found. */
function* finishTrashSteps(roots: ReadonlySet<string>, name: string, ctx: RemovalContext): Steps<number> {
  const { fs } = ctx;
  let entries = 0;
  for (const root of roots) {
    const trash = trashDirPath(root, name);
    let st: EntryStat;
    try {
      st = yield* lstatOf(fs, trash);
    } catch (err) {
      if (!isGone(err)) recordError(ctx, 'lstat', trash, err);
      continue;
    }
    if (st.isSymbolicLink() || !st.isDirectory()) {
      ctx.tally.refused.push({ path: trash, reason: st.isSymbolicLink() ? 'symlink-in-path' : 'not-a-directory' });
      continue;
    }
    let names: string[];
    try {
      let r = fs.readdir(trash);
      if (isPromise(r)) r = (yield r) as DirEntry[];
      names = r.map((e) => e.name).sort();
    } catch (err) {
      recordError(ctx, 'readdir', trash, err);
      continue;
    }
    for (const entryName of names) {
      entries++;
      const entry = path.join(trash, entryName);
      let est: EntryStat;
      try {
        est = yield* lstatOf(fs, entry);
      } catch (err) {
        if (!isGone(err)) recordError(ctx, 'lstat', entry, err);
        continue;
      }
      if (est.isDirectory()) yield* removeDirectory(entry, st.dev, ctx);
      else yield* removeNonDirectory(entry, ctx, est);
    }
  }
  return entries;
}
