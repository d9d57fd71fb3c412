// Executes the deletion part of a plan: for each target its sandbox (approved earlier by
// core/sandbox-policy), its logs and its metadata. Everything is re-checked here at delete time
// (symlinks in the sandbox path, mounts, file types) and every path's outcome is recorded;
// nothing is assumed removed.
//
// Per path kind:
// - sandbox: must sit strictly inside an allowed root with no symlink from the root down; it is
//   renamed into the trash (see trash.ts) and deleted there, or in place when it holds a mount.
// - log paths: files are unlinked; directories are removed only when empty ('not-empty' in
//   refused otherwise), except the task's own legacy `logs/<taskId>` tree, removed recursively.
// - metadata paths: files are unlinked; directories (the checkpoint dir) removed recursively.
import path from 'node:path';
import { INLINE_SLICE_MS } from '../config.js';
import type { DeletionResult, DeletionTarget } from '../core/facts.js';
import { isStrictlyInside, normaliseAbsolute } from '../core/sandbox-policy.js';
import { errorMessage } from '../errors.js';
import { PAUSE, SliceClock, drive, isPromise, type Steps } from './fs-steps.js';
import { isLegacyLogTree } from './log-paths.js';
import { DEFAULT_TRASH_DIR_NAME, moveToTrash } from './trash.js';
import {
  type DeleterFs,
  type EntryStat,
  type RemovalContext,
  countFreed,
  emptyTally,
  errnoCode,
  isGone,
  mountSet,
  nodeDeleterFs,
  recordError,
  removeDirectory,
  removeNonDirectory,
} from './tree-remover.js';

export type PathKind = 'sandbox' | 'log' | 'metadata';

/** One event per destructive act, for the caller's structured log. */
export interface DeletionEvent {
  taskId: string;
  path: string;
  kind: PathKind;
  reason: string;
  outcome: 'deleted' | 'gone' | 'kept' | 'duplicate';
}

export interface DeleteOptions {
  allowedRoots: readonly string[];
  /** Targets deleted at once. */
  parallelism: number;
  /** @default '.thermos-gc-trash' under each allowed root. */
  trashDirName?: string;
  signal?: AbortSignal;
  /** Injected file system (tests simulate faults through it). */
  fs?: DeleterFs;
  onEvent?: (event: DeletionEvent) => void;
  /** Also report the files and directories removed and the bytes freed per kind, per target. */
  countEntries?: boolean;
  /** Synchronous work between two turns of the event loop. @default INLINE_SLICE_MS */
  sliceMs?: number;
}

interface Shared {
  fs: DeleterFs;
  roots: string[];
  mounts: ReadonlySet<string>;
  trashDirName: string;
  signal: AbortSignal | undefined;
  /** Path → its claim: the first target to name a path deletes it, the others wait for it. */
  claims: Map<string, Claim>;
  links: Map<string, number>;
  onEvent: ((event: DeletionEvent) => void) | undefined;
  countEntries: boolean;
  /** Allowed root → its st_dev, stat'ed once per call. */
  rootDevs: Map<string, number>;
  /** Parent of a recursively removed metadata dir or legacy log tree → its st_dev, once per call. */
  parentDevs: Map<string, number>;
  slice: SliceClock;
}

/** A path being deleted by one target; `gone` once that is done. */
interface Claim {
  gone?: boolean;
  /** Created only when another target waits while the deletion is suspended (an async fs). */
  done?: { promise: Promise<boolean>; resolve: (gone: boolean) => void };
}

function segments(p: string): number {
  let n = 0;
  for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) === 0x2f) n++;
  return n;
}

/** The allowed root holding `p` (the deepest when roots nest). */
function rootOf(p: string, roots: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const r of roots) if (isStrictlyInside(p, r) && (best === undefined || r.length > best.length)) best = r;
  return best;
}

/** lstat as a step (a value over plain syscalls, awaited by the driver from an async fs). */
function* lstatStep(fs: DeleterFs, p: string): Steps<EntryStat> {
  const r = fs.lstat(p);
  return isPromise(r) ? ((yield r) as EntryStat) : r;
}

function* deleteSandbox(p: string, ctx: RemovalContext, sh: Shared, taskId: string): Steps<boolean> {
  const refuse = (reason: string): boolean => {
    ctx.tally.refused.push({ path: p, reason });
    return false;
  };
  const norm = normaliseAbsolute(p);
  if (norm === undefined) return refuse('relative');
  if (norm !== p || p.split('/').includes('..')) return refuse('not-normalised');
  const root = rootOf(p, sh.roots);
  if (root === undefined) return refuse(sh.roots.includes(p) ? 'is-allowed-root' : 'outside-allowed-roots');

  // Walk down from the root with lstat: no component may be a symlink.
  let parentDev: number;
  try {
    parentDev = yield* rootDev(root, sh);
  } catch (err) {
    if (isGone(err)) return true;
    recordError(ctx, 'stat', root, err);
    return false;
  }
  let cur = root;
  let st: EntryStat | undefined;
  for (const seg of p.slice(root === '/' ? 1 : root.length + 1).split('/')) {
    cur = path.join(cur, seg);
    if (st !== undefined) parentDev = st.dev;
    try {
      st = yield* lstatStep(sh.fs, cur);
    } catch (err) {
      if (isGone(err)) return true;
      recordError(ctx, 'lstat', cur, err);
      return false;
    }
    if (st.isSymbolicLink()) return refuse('symlink-in-path');
    if (!st.isDirectory()) return cur === p ? refuse('not-a-directory') : true;
  }
  if (st === undefined) return refuse('is-allowed-root');
  if (sh.mounts.has(p) || st.dev !== parentDev) return refuse('mount-point');

  let holdsMount = false;
  for (const m of sh.mounts) if (isStrictlyInside(m, p)) holdsMount = true;
  if (!holdsMount) {
    const move = yield* moveToTrash(sh.fs, p, st, root, taskId, sh.trashDirName);
    if (move.kind === 'gone') return true;
    if (move.kind === 'moved') {
      // The sandbox is gone from where the task named it; leftovers of a failed walk stay in the
      // trash (errors recorded) for finishTrash.
      try {
        yield* removeDirectory(move.entry, st.dev, ctx, st);
      } catch (err) {
        recordError(ctx, 'delete trash entry', move.entry, err);
      }
      return true;
    }
  }
  return yield* removeDirectory(p, st.dev, ctx, st);
}

/** The device of an allowed root (a configured path, followed if a link): once per call. */
function* rootDev(root: string, sh: Shared): Steps<number> {
  let dev = sh.rootDevs.get(root);
  if (dev === undefined) sh.rootDevs.set(root, (dev = yield* statDev(sh.fs, root)));
  return dev;
}

function* statDev(fs: DeleterFs, p: string): Steps<number> {
  const r = fs.stat(p);
  return (isPromise(r) ? ((yield r) as EntryStat) : r).dev;
}

/**
 * The task-owned directories `p` is reached through: its ancestors that the same target also
 * names (run, process and log dirs; the checkpoint dir), and the `logs` dir of a legacy log tree.
 * A symlink there would redirect the deletion outside the task's files.
 */
function ownedAncestors(p: string, listed: ReadonlySet<string>, legacy: boolean): string[] {
  const chain: string[] = [];
  for (let a = path.dirname(p); listed.has(a) && a !== path.dirname(a); a = path.dirname(a)) chain.push(a);
  if (legacy) chain.push(path.dirname(p));
  return chain;
}

/**
 * A log or metadata path: unlink files; directories recursively or only when empty. `realDirs`:
 * this target's directories lstat'ed as real directories moments ago, with that lstat.
 */
function* deletePath(
  p: string,
  kind: PathKind,
  ctx: RemovalContext,
  sh: Shared,
  taskId: string,
  listed: ReadonlySet<string>,
  realDirs: Map<string, EntryStat>,
): Steps<boolean> {
  if (!path.isAbsolute(p)) {
    ctx.tally.refused.push({ path: p, reason: 'relative' });
    return false;
  }
  const legacy = kind === 'log' && isLegacyLogTree(p, taskId);
  for (const a of ownedAncestors(p, listed, legacy)) {
    // Siblings share ancestors (stdout and stderr of one run, every run of a process): one that
    // was a real directory moments ago for this target is not lstat'ed again for the next path.
    if (realDirs.has(a)) continue;
    try {
      const ast = yield* lstatStep(sh.fs, a);
      if (ast.isSymbolicLink()) {
        // A link this target names itself is unlinked later (never followed): `p` goes with it.
        if (listed.has(a)) return true;
        ctx.tally.refused.push({ path: p, reason: 'symlink-in-path' });
        return false;
      }
      realDirs.set(a, ast);
    } catch (err) {
      if (isGone(err)) return true;
      recordError(ctx, 'lstat', a, err);
      return false;
    }
  }
  const recursive = kind === 'metadata' || legacy;
  // A log dir removed only when empty was lstat'ed as a real directory moments ago, as the
  // ancestor of its files: rmdir never follows a link, and a directory's blocks do not change
  // when its entries go, so that lstat stands. A tree about to be walked is lstat'ed afresh.
  let st = recursive ? undefined : realDirs.get(p);
  if (st === undefined) {
    try {
      st = yield* lstatStep(sh.fs, p);
    } catch (err) {
      if (isGone(err)) return true;
      recordError(ctx, 'lstat', p, err);
      return false;
    }
  }
  if (!st.isDirectory()) return yield* removeNonDirectory(p, ctx, st);
  if (recursive) {
    const parent = path.dirname(p);
    let parentDev = sh.parentDevs.get(parent);
    if (parentDev === undefined) {
      try {
        sh.parentDevs.set(parent, (parentDev = yield* statDev(sh.fs, parent)));
      } catch (err) {
        recordError(ctx, 'stat', parent, err);
        return false;
      }
    }
    if (st.dev !== parentDev) {
      ctx.tally.refused.push({ path: p, reason: 'mount-point' });
      return false;
    }
    return yield* removeDirectory(p, st.dev, ctx, st);
  }
  if (sh.mounts.has(p)) {
    ctx.tally.refused.push({ path: p, reason: 'mount-point' });
    return false;
  }
  try {
    const r = sh.fs.rmdir(p);
    if (isPromise(r)) yield r;
  } catch (err) {
    if (isGone(err)) return true;
    const code = errnoCode(err);
    if (code === 'ENOTEMPTY' || code === 'EEXIST') ctx.tally.refused.push({ path: p, reason: 'not-empty' });
    else recordError(ctx, 'rmdir', p, err);
    return false;
  }
  ctx.tally.dirsRemoved++;
  countFreed(ctx.tally, st);
  return true;
}

function* deleteTarget(target: DeletionTarget, sh: Shared): Steps<DeletionResult> {
  const { taskId } = target;
  const ctx: RemovalContext = { fs: sh.fs, tally: emptyTally(), mounts: sh.mounts, links: sh.links, slice: sh.slice, taskId };
  if (sh.signal !== undefined) ctx.signal = sh.signal;
  const deleted: string[] = [];

  function* one(p: string, kind: PathKind, run: () => Steps<boolean>): Steps<void> {
    const claimed = sh.claims.get(p);
    if (claimed !== undefined) {
      let gone = claimed.gone;
      if (gone === undefined) {
        // The target deleting it is suspended in an async call: wait for it.
        if (claimed.done === undefined) {
          let resolve!: (g: boolean) => void;
          const promise = new Promise<boolean>((r) => (resolve = r));
          claimed.done = { promise, resolve };
        }
        gone = (yield claimed.done.promise) as boolean;
      }
      if (gone) deleted.push(p);
      sh.onEvent?.({ taskId, path: p, kind, reason: target.reason, outcome: 'duplicate' });
      return;
    }
    const claim: Claim = {};
    sh.claims.set(p, claim);
    let gone: boolean;
    try {
      gone = yield* run();
    } catch (err) {
      recordError(ctx, kind === 'sandbox' ? 'delete sandbox' : 'delete', p, err);
      gone = false;
    }
    claim.gone = gone;
    claim.done?.resolve(gone);
    if (gone) deleted.push(p);
    sh.onEvent?.({ taskId, path: p, kind, reason: target.reason, outcome: gone ? 'deleted' : 'kept' });
  }

  if (target.sandbox !== undefined && target.sandbox !== '') {
    const sandbox = target.sandbox;
    yield* one(sandbox, 'sandbox', () => deleteSandbox(sandbox, ctx, sh, taskId));
  }
  const sandboxBytes = ctx.tally.bytesFreed;
  let logBytes = 0;
  const listed = new Set([...target.logPaths, ...target.metadataPaths]);
  const realDirs = new Map<string, EntryStat>();
  // Deepest first, so files go before the directories that hold them.
  for (const [kind, paths] of [['log', target.logPaths], ['metadata', target.metadataPaths]] as const) {
    const ordered = [...new Set(paths)].sort((a, b) => segments(b) - segments(a));
    for (const p of ordered) {
      if (sh.signal?.aborted === true) break;
      if (sh.slice.due()) yield PAUSE;
      yield* one(p, kind, () => deletePath(p, kind, ctx, sh, taskId, listed, realDirs));
    }
    if (kind === 'log') logBytes = ctx.tally.bytesFreed - sandboxBytes;
  }
  if (sh.signal?.aborted === true && !ctx.tally.errors.some((e) => e.message.includes('abort'))) {
    ctx.tally.errors.push({ code: 'ERR_DELETE', message: 'deletion aborted', taskId });
  }
  const { bytesFreed, inodesFreed, refused, errors } = ctx.tally;
  const result: DeletionResult = { taskId, deleted, refused, errors, bytesFreed, inodesFreed };
  if (sh.countEntries) {
    result.filesRemoved = ctx.tally.filesRemoved;
    result.dirsRemoved = ctx.tally.dirsRemoved;
    result.freedByKind = { sandbox: sandboxBytes, log: logBytes, metadata: bytesFreed - sandboxBytes - logBytes };
  }
  return result;
}

/**
 * Deletes every target (at most `parallelism` at once: they interleave only where an injected
 * async fs suspends one) and reports, per target, what is gone, what was refused and why, and
 * what failed. One target's failure never stops the others; a path named twice in one call is
 * deleted once. Over plain syscalls the event loop gets a turn every `sliceMs`.
 */
export async function deleteTargets(targets: readonly DeletionTarget[], opts: DeleteOptions): Promise<DeletionResult[]> {
  const fs = opts.fs ?? nodeDeleterFs;
  const roots = [...new Set(opts.allowedRoots.map(normaliseAbsolute).filter((r): r is string => r !== undefined))];
  const sh: Shared = {
    fs,
    roots,
    mounts: await mountSet(fs, roots),
    trashDirName: opts.trashDirName ?? DEFAULT_TRASH_DIR_NAME,
    signal: opts.signal,
    claims: new Map(),
    links: new Map(),
    onEvent: opts.onEvent,
    countEntries: opts.countEntries === true,
    rootDevs: new Map(),
    parentDevs: new Map(),
    slice: new SliceClock(opts.sliceMs ?? INLINE_SLICE_MS),
  };
  const results: DeletionResult[] = new Array(targets.length);
  let next = 0;
  function* worker(): Steps<void> {
    for (let i = next++; i < targets.length; i = next++) {
      const target = targets[i] as DeletionTarget;
      if (sh.signal?.aborted === true) {
        results[i] = abortedResult(target.taskId);
        continue;
      }
      try {
        results[i] = yield* deleteTarget(target, sh);
      } catch (err) {
        results[i] = { ...abortedResult(target.taskId), errors: [{ code: 'ERR_DELETE', message: errorMessage(err), taskId: target.taskId }] };
      }
    }
  }
  const width = Math.max(1, Math.min(opts.parallelism, targets.length));
  await Promise.all(Array.from({ length: width }, () => drive(worker(), sh.slice)));
  return results;
}

function abortedResult(taskId: string): DeletionResult {
  return {
    taskId,
    deleted: [],
    refused: [],
    errors: [{ code: 'ERR_DELETE', message: 'deletion aborted before it started', taskId }],
    bytesFreed: 0,
    inodesFreed: 0,
  };
}
