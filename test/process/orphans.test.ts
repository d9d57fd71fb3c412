import { describe, expect, it } from 'vitest';
import { decideOrphans, lastRunnerOf, type OrphanAction, type OrphanCandidate } from '../../src/core/orphans.js';

const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
const runner = { pid: 4321, uid: 0, timestampMs: NOW - 5 * HOUR };

describe('decideOrphans (pure)', () => {
  const table: Array<[string, OrphanCandidate, OrphanAction]> = [
    ['no runner recorded: not started', { taskId: 'a', runnerAlive: false, runnerOurs: false, runnerMtimeMs: NOW - 5 * HOUR }, 'not-started'],
    ['alive and ours, quiet checkpoint: healthy', { taskId: 'b', lastRunner: runner, runnerAlive: true, runnerOurs: true, runnerMtimeMs: NOW - 5 * HOUR }, 'healthy'],
    ['dead, checkpoint written recently: leave', { taskId: 'c', lastRunner: runner, runnerAlive: false, runnerOurs: false, runnerMtimeMs: NOW - 10 * 60_000 }, 'recent-checkpoint'],
    ['dead, checkpoint exactly at the drift: leave', { taskId: 'd', lastRunner: runner, runnerAlive: false, runnerOurs: false, runnerMtimeMs: NOW - HOUR }, 'recent-checkpoint'],
    ['dead, quiet checkpoint: lose', { taskId: 'e', lastRunner: runner, runnerAlive: false, runnerOurs: false, runnerMtimeMs: NOW - HOUR - 1 }, 'lose'],
    ['alive but not ours (pid reused), quiet: lose', { taskId: 'f', lastRunner: runner, runnerAlive: true, runnerOurs: false, runnerMtimeMs: NOW - 2 * HOUR }, 'lose'],
    ['dead, checkpoint mtime unknown: leave', { taskId: 'g', lastRunner: runner, runnerAlive: false, runnerOurs: false }, 'no-checkpoint'],
    ['unreadable checkpoint: leave', { taskId: 'h', runnerAlive: false, runnerOurs: false, runnerMtimeMs: NOW - 5 * HOUR, checkpointError: 'truncated' }, 'no-checkpoint'],
  ];
  it.each(table)('%s', (_name, candidate, action) => {
    const [decision] = decideOrphans({ tasks: [candidate], nowMs: NOW, maxCheckpointDriftMs: HOUR });
    expect(decision).toMatchObject({ taskId: candidate.taskId, action });
    expect(decision!.why.length).toBeGreaterThan(0);
  });
});

describe('lastRunnerOf (pure)', () => {
  it('takes the last runner, timed by the first status that names it', () => {
    expect(
      lastRunnerOf([
        { timestampMs: 1, runnerPid: 10, runnerUid: 0 },
        { timestampMs: 2, runnerPid: 10, runnerUid: 0 },
        { timestampMs: 3, runnerPid: 20 },
        { timestampMs: 4, runnerPid: 20 },
        { timestampMs: 5 },
      ]),
    ).toEqual({ pid: 20, timestampMs: 3 });
  });
  it('is undefined when no status names a runner', () => {
    expect(lastRunnerOf([])).toBeUndefined();
    expect(lastRunnerOf([{ timestampMs: 1 }])).toBeUndefined();
  });
});
