// The pool's utilisation: thread-time busy with batches over the threads' capacity, with a
// queued batch (more in flight than threads) not counted twice.
import { describe, expect, it } from 'vitest';
import { BusyClock } from '../../src/pool/gc-pool.js';

describe('BusyClock', () => {
  it('integrates min(in flight, threads) over time', () => {
    let t = 0;
    const c = new BusyClock(2, () => t);
    expect(c.utilisation()).toBe(0);
    c.change(+1); // one thread busy for 10 ms
    t = 10;
    c.change(+1); // both busy for 10 ms
    c.change(+1); // a third batch queued: still two threads' worth
    t = 20;
    c.change(-1);
    c.change(-1);
    c.change(-1);
    t = 40; // idle for 20 ms
    // busy 10 + 20 = 30 thread-ms of 2 × 40 = 80
    expect(c.utilisation()).toBeCloseTo(30 / 80, 10);
  });

  it('is 1 when every thread was busy all along, and never more', () => {
    let t = 0;
    const c = new BusyClock(1, () => t);
    c.change(+3);
    t = 100;
    expect(c.utilisation()).toBe(1);
  });
});
