import { describe, expect, it } from 'vitest';
import type { StatusFact, TaskFacts, TaskRef } from '../../src/core/facts.js';
import { reconcile } from '../../src/core/reconcile.js';
import { ScheduleStatus, TaskState } from '../../src/core/states.js';
import { scanAndDecide } from '../../src/executor/gc-scan.js';
import { RepeatedWarnings } from '../../src/executor/repeated-warnings.js';
import { silentLogger } from '../../src/log.js';
import { FakeServices } from './fake-services.js';

const NOW = 1_700_000_000_000;
const MIN = 60_000;
const S = ScheduleStatus;

function task(taskId: string, state: 'active' | 'finished', ageMin: number, extra: Partial<TaskFacts> = {}): TaskFacts {
  const at = NOW - ageMin * MIN;
  const statuses: StatusFact[] = [{ state: TaskState.ACTIVE, timestampMs: at, runnerPid: 7 }];
  if (state === 'finished') statuses.push({ state: TaskState.FAILED, timestampMs: at + 1 });
  return { taskId, root: '/ckpt', state, statuses, runnerMtimeMs: at, sandbox: `/sb/${taskId}`, logDir: `/logs/${taskId}`, user: 'www-data', uid: 33, launchTimeMs: at, processRuns: { hello: 2 }, ...extra };
}

/** Records every readFacts call: how many refs, and how many calls were in flight at its start. */
class ChunkRecordingServices extends FakeServices {
  readonly chunks: Array<{ size: number; inFlight: number }> = [];
  private inFlight = 0;
  override async readFacts(refs: readonly TaskRef[]): Promise<TaskFacts[]> {
    this.chunks.push({ size: refs.length, inFlight: this.inFlight });
    this.inFlight++;
    await new Promise((r) => setTimeout(r, 1));
    this.inFlight--;
    return super.readFacts(refs);
  }
}

describe('scanAndDecide: the scan a GC run decides as it reads', () => {
  const tasks = [
    task('stray', 'active', 60),
    task('young', 'active', 1),
    task('running', 'active', 60),
    task('done', 'finished', 60),
    task('unknown-done', 'finished', 60),
    task('detected', 'finished', 60),
    task('broken', 'finished', 120, { statuses: [], error: { code: 'ERR_CKPT_BAD_TYPE', message: 'bad', path: '/ckpt/checkpoints/broken/runner' } }),
  ];
  const retained = new Map<string, number>([
    ['stray', S.KILLED],
    ['young', S.FINISHED],
    ['running', S.RUNNING],
    ['done', S.FAILED],
    ['detected', S.RUNNING],
    ['broken', S.RUNNING],
    ['lost', S.RUNNING],
    ['gone', S.FINISHED],
    ['launching', S.STARTING],
  ]);
  const decide = { retained, startMs: NOW, minimumKillAgeMs: 10 * MIN, killBudget: 1 };

  it('makes the plan reconcile makes over every task at once, reading one chunk ahead', async () => {
    const s = new ChunkRecordingServices();
    for (const t of tasks) s.add(t);
    const noAction: string[] = [];
    const scan = await scanAndDecide(s, {
      roots: ['/ckpt'],
      log: silentLogger(),
      repeats: new RepeatedWarnings(),
      chunk: 2,
      decide: { ...decide, onNoAction: (i) => noAction.push(`${i.taskId}:${i.reason}`) },
    });
    const all = reconcile({ ...decide, facts: new Map(tasks.map((t) => [t.taskId, structuredClone(t)])) });
    expect(noAction).toEqual(all.noAction.map((i) => `${i.taskId}:${i.reason}`));
    expect({ ...scan.plan, noAction: [] }).toEqual({ ...all, noAction: [] });
    expect(scan.plan.terminate.map((i) => i.taskId)).toEqual(['stray']);
    expect(scan.plan.updates.map((u) => u.taskId).sort()).toEqual(['detected', 'lost']);
    expect(noAction).toContain('launching:scheduler-starting');
    expect(scan.seenActive).toBe(3);
    expect(s.chunks.map((c) => c.size)).toEqual([2, 2, 2, 1]);
    // One read in flight (the next chunk's) while a chunk is decided: never more than two chunks' facts.
    expect(s.chunks.map((c) => c.inFlight)).toEqual([0, 0, 0, 0]);
  });

  it('keeps of each task only where its files are', async () => {
    const s = new FakeServices();
    for (const t of tasks) s.add(t);
    const scan = await scanAndDecide(s, { roots: ['/ckpt'], log: silentLogger(), repeats: new RepeatedWarnings(), chunk: 3, decide });
    expect([...scan.tasks.keys()].sort()).toEqual(tasks.map((t) => t.taskId).sort());
    for (const t of tasks) {
      const kept = scan.tasks.get(t.taskId);
      const paths = { taskId: kept?.taskId, root: kept?.root, state: kept?.state, sandbox: kept?.sandbox, logDir: kept?.logDir, processRuns: kept?.processRuns };
      expect(paths).toEqual({ taskId: t.taskId, root: t.root, state: t.state, sandbox: t.sandbox, logDir: t.logDir, processRuns: t.processRuns });
      // Nothing only the decision read: no statuses, times, user or error.
      for (const gone of ['statuses', 'runnerMtimeMs', 'launchTimeMs', 'user', 'uid', 'error']) expect(kept).not.toHaveProperty(gone);
    }
  });
});
