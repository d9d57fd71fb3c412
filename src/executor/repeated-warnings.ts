// The same warning about the same thing on every GC run (an unusable checkpoint, an unsafe task
// name) says nothing new after the first time: it is logged at warn when it appears, at debug
// while it persists, and at warn again if it goes away and comes back. One set of keys per run.
import type { Logger } from 'pino';

export class RepeatedWarnings {
  private previous = new Set<string>();
  private current = new Set<string>();

  /** Logs `msg` at warn when the previous run did not warn about `key`, else at debug. */
  warn(log: Pick<Logger, 'warn' | 'debug'>, key: string, obj: object, msg: string): void {
    const key2 = `${msg}\u0000${key}`;
    this.current.add(key2);
    if (this.previous.has(key2)) log.debug({ ...obj, repeated: true }, msg);
    else log.warn(obj, msg);
  }

  /** Ends a run: what it warned about is what the next run compares with. */
  endRun(): void {
    this.previous = this.current;
    this.current = new Set();
  }
}
