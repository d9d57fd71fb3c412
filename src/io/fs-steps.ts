// The deleter's logic (tree-remover, sandbox-deleter, trash) is written once, as generators over
// a file system whose calls return either a value (plain syscalls, what every command uses) or
// a promise (a test's injected fault). A step `yield`s only a promise some call returned, or
// PAUSE where the walk may give the event loop a turn; over plain syscalls a deletion therefore
// runs as straight synchronous code between turns. Why: one promise and one microtask per
// syscall (the earlier async deleter over sliced plain syscalls) was most of the deletion's
// user CPU in Aurora's 0.2 CPU box.

/** Yielded by a step that may give the event loop a turn (see SliceClock.due). */
export const PAUSE: unique symbol = Symbol('pause');

/** A generator step: yields promises (awaited by the driver) or PAUSE; returns R. */
export type Steps<R> = Generator<unknown, R, unknown>;

/** A call's result is a promise only from an injected asynchronous file system. */
export function isPromise(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** When the synchronous work since the event loop's last turn has lasted `sliceMs`. */
export class SliceClock {
  private start = performance.now();
  constructor(private readonly sliceMs: number) {}

  /** True when a step should yield PAUSE now. */
  due(): boolean {
    return performance.now() - this.start >= this.sliceMs;
  }

  restart(): void {
    this.start = performance.now();
  }
}

/** Runs `steps` to the end: promises are awaited, PAUSE gives the loop a turn when it is due. */
export async function drive<R>(steps: Steps<R>, clock: SliceClock): Promise<R> {
  let input: unknown;
  let thrown: { err: unknown } | undefined;
  for (;;) {
    const r = thrown === undefined ? steps.next(input) : steps.throw(thrown.err);
    thrown = undefined;
    input = undefined;
    if (r.done === true) return r.value;
    if (r.value === PAUSE) {
      // Another driver may have taken the turn already: the clock says whether one is still due.
      if (clock.due()) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        clock.restart();
      }
      continue;
    }
    try {
      input = await (r.value as PromiseLike<unknown>);
    } catch (err) {
      thrown = { err };
    }
  }
}
