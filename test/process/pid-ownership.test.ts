import { describe, expect, it } from 'vitest';
import { isOurProcess } from '../../src/core/pid-ownership.js';

const T = 1_700_000_000_000;

describe('isOurProcess (pure)', () => {
  const cases: Array<{ name: string; proc: Parameters<typeof isOurProcess>[0]; expected: Parameters<typeof isOurProcess>[1]; ours: boolean; why: RegExp }> = [
    { name: 'same uid, started at the recorded time', proc: { uid: 1000, startTimeMs: T + 300 }, expected: { uid: 1000, timeMs: T }, ours: true, why: /uid 1000/ },
    { name: 'drift exactly at the limit', proc: { uid: 1000, startTimeMs: T - 10_000 }, expected: { uid: 1000, timeMs: T }, ours: true, why: /10000 ms/ },
    { name: 'drift over the limit (pid reused later)', proc: { uid: 1000, startTimeMs: T + 10_001 }, expected: { uid: 1000, timeMs: T }, ours: false, why: /10001 ms from the recorded time/ },
    { name: 'another uid', proc: { uid: 65534, startTimeMs: T }, expected: { uid: 1000, timeMs: T }, ours: false, why: /uid 65534 is not the recorded uid 1000/ },
    { name: 'real uid wins over the effective uid', proc: { uid: 1000, realUid: 0, startTimeMs: T }, expected: { uid: 1000, timeMs: T }, ours: false, why: /uid 0 is not/ },
    { name: 'old checkpoint: uid of the header user', proc: { uid: 33, startTimeMs: T }, expected: { userUid: 33, timeMs: T }, ours: true, why: /uid 33/ },
    { name: 'recorded uid beats the user fallback', proc: { uid: 33, startTimeMs: T }, expected: { uid: 0, userUid: 33, timeMs: T }, ours: false, why: /not the recorded uid 0/ },
    { name: 'no uid or user recorded', proc: { uid: 0, startTimeMs: T }, expected: { timeMs: T }, ours: false, why: /no recorded uid/ },
    { name: 'unknown start time', proc: { uid: 0 }, expected: { uid: 0, timeMs: T }, ours: false, why: /start time unknown/ },
    { name: 'unknown process uid', proc: { startTimeMs: T }, expected: { uid: 0, timeMs: T }, ours: false, why: /uid unknown/ },
    { name: 'no recorded time', proc: { uid: 0, startTimeMs: T }, expected: { uid: 0, timeMs: Number.NaN }, ours: false, why: /no recorded time/ },
    { name: 'no such process', proc: undefined, expected: { uid: 0, timeMs: T }, ours: false, why: /no such process/ },
    { name: 'zombie', proc: { uid: 0, startTimeMs: T, zombie: true }, expected: { uid: 0, timeMs: T }, ours: false, why: /zombie/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const verdict = isOurProcess(c.proc, c.expected, 10_000);
      expect(verdict.ours).toBe(c.ours);
      expect(verdict.why).toMatch(c.why);
    });
  }

  it('compares with the start time, not the age (the original bug)', () => {
    // A healthy runner started an hour ago: its age (3.6e6 ms) is nowhere near its start time.
    const started = T - 3_600_000;
    expect(isOurProcess({ uid: 0, startTimeMs: started }, { uid: 0, timeMs: started + 50 }, 10_000).ours).toBe(true);
  });
});
