// A manual clock: time moves only when a test says so, and sleepers wake when it passes their
// deadline (or when their signal aborts). No real timers.
import type { Clock } from '../../src/core/ports.js';

interface Sleeper {
  until: number;
  resolve: () => void;
}

export class FakeClock implements Clock {
  private nowMs: number;
  private sleepers: Sleeper[] = [];
  /** Every requested sleep, in order (ms). */
  readonly sleeps: number[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    if (signal?.aborted === true) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const sleeper: Sleeper = { until: this.nowMs + ms, resolve: () => undefined };
      const onAbort = (): void => wake();
      const wake = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      sleeper.resolve = wake;
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** Number of sleeps not yet woken. */
  get pendingSleeps(): number {
    return this.sleepers.length;
  }

  /** Moves time forward and wakes every sleeper whose deadline has passed. */
  advance(ms: number): void {
    this.nowMs += ms;
    for (const s of [...this.sleepers]) if (s.until <= this.nowMs) s.resolve();
  }

  /** Moves time to the earliest pending deadline (if any) and wakes it. */
  advanceToNextSleep(): boolean {
    const next = this.sleepers.reduce<number | undefined>((m, s) => (m === undefined || s.until < m ? s.until : m), undefined);
    if (next === undefined) return false;
    this.advance(Math.max(0, next - this.nowMs));
    return true;
  }
}

/** Lets pending promise callbacks (and I/O already completed) run. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Runs the event loop until something sleeps on the clock (the code under test is waiting).
 * Real I/O may be in flight, so the bound is generous real time, not a number of turns: a loaded
 * CI machine must not turn a slow disk into a failure.
 */
export async function untilSleeping(clock: FakeClock, count = 1, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; clock.pendingSleeps < count && Date.now() < deadline; i++) {
    // Spin on setImmediate first (fast when nothing waits on I/O), then yield to timers and I/O.
    await new Promise<void>((r) => (i < 1000 ? setImmediate(r) : setTimeout(r, 2)));
  }
  if (clock.pendingSleeps < count) throw new Error('nothing went to sleep on the fake clock');
}
