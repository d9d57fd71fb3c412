// flock(2) on checkpoint files. A Thermos runner holds an exclusive flock on its runner
// checkpoint for as long as it lives; whoever else appends must hold it too. We only ever try
// the lock without blocking and poll, so the event loop never sits inside a blocking flock.
import { closeSync, openSync } from 'node:fs';
import fsExt from 'fs-ext';
import { ThermosGcError } from '../errors.js';
import { systemClock } from './system-clock.js';

const DEFAULT_POLL_MS = 25;

function isWouldBlock(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

/** Takes an exclusive flock on `fd` without blocking: false when another open file holds it. */
export function tryLockExclusive(fd: number): boolean {
  try {
    fsExt.flockSync(fd, 'exnb');
    return true;
  } catch (err) {
    if (isWouldBlock(err)) return false;
    throw err;
  }
}

export function unlock(fd: number): void {
  fsExt.flockSync(fd, 'un');
}

export interface LockWaitOptions {
  signal?: AbortSignal;
  /** @default 25 ms between attempts. */
  pollMs?: number;
  /** Flags used when `target` is a path. @default 'a' (append, create if missing: how checkpoints are written). */
  openFlags?: string;
}

/**
 * Waits for an exclusive flock on `target` (a path, opened here, or an open fd), polling with a
 * non-blocking attempt. Resolves with the locked fd (the caller unlocks and, for a path, closes it).
 * Throws ERR_LOCK on timeout or abort; a path opened here is closed again in that case.
 */
export async function lockExclusiveWithTimeout(
  target: string | number,
  timeoutMs: number,
  options: LockWaitOptions = {},
): Promise<number> {
  const path = typeof target === 'string' ? target : undefined;
  const fd = typeof target === 'number' ? target : openSync(target, options.openFlags ?? 'a');
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const deadline = performance.now() + timeoutMs;
  try {
    for (;;) {
      if (tryLockExclusive(fd)) return fd;
      if (options.signal?.aborted === true) {
        throw new ThermosGcError('ERR_LOCK', 'gave up waiting for the lock: aborted', pathDetail(path));
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new ThermosGcError('ERR_LOCK', `lock still held after ${timeoutMs} ms`, pathDetail(path));
      }
      await systemClock.sleep(Math.min(pollMs, left), options.signal);
    }
  } catch (err) {
    if (path !== undefined) closeSync(fd);
    throw err;
  }
}

function pathDetail(path: string | undefined): { path?: string } {
  return path === undefined ? {} : { path };
}
