// Real Aurora-written checkpoints (shared/conformance beside the repo) decode and replay to the
// content Apache Thrift's own decoder produced.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { inspectCheckpoints } from '../../src/core/checkpoint/inspection.js';
import { replayCheckpoint, replayTaskSummary } from '../../src/core/checkpoint/replay.js';
import { decodeCheckpointStream } from '../../src/core/checkpoint/runner-ckpt.js';
import { taskStateName } from '../../src/core/states.js';
import { readTaskFacts, readTaskInspection } from '../../src/io/task-facts-reader.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const conformance = path.resolve(repo, '../shared/conformance');
const root = path.join(conformance, 'thermos-root');
const exists = existsSync(path.join(conformance, 'expected-runner-decode.json'));

interface Expected {
  header: { hostname: string; launch_time_ms: number; ports: Record<string, number>; sandbox: string; task_id: string; user: string };
  process_records: Record<string, number>;
  records: number;
  state_dir: 'active' | 'finished';
  statuses: Array<{ runner_pid: number; runner_uid: number; state: string; timestamp_ms: number }>;
}

const expected: Record<string, Expected> = exists
  ? (JSON.parse(readFileSync(path.join(conformance, 'expected-runner-decode.json'), 'utf8')) as Record<string, Expected>)
  : {};

describe.skipIf(!exists)(`conformance checkpoints in ${conformance} (skipped when that folder does not exist)`, () => {
  it('covers the seven tasks', () => {
    expect(Object.keys(expected).sort()).toEqual(
      ['failure', 'failure_limit', 'hello_world', 'ordering', 'ports', 'sleep60', 'sleep60-lost'].sort(),
    );
  });

  for (const taskId of Object.keys(expected)) {
    it(`${taskId}: decode and replay match Apache Thrift's decode`, () => {
      const want = expected[taskId]!;
      const buf = readFileSync(path.join(root, 'checkpoints', taskId, 'runner'));
      const records = decodeCheckpointStream(buf);
      expect(records).toHaveLength(want.records);

      const perProcess: Record<string, number> = {};
      for (const r of records) if (r.kind === 'process') perProcess[r.process.process!] = (perProcess[r.process.process!] ?? 0) + 1;
      expect(perProcess).toEqual(want.process_records);

      const state = replayCheckpoint(buf);
      const h = state.header!;
      expect({
        hostname: h.hostname,
        launch_time_ms: h.launchTimeMs,
        ports: h.ports,
        sandbox: h.sandbox,
        task_id: h.taskId,
        user: h.user,
      }).toEqual(want.header);
      expect(h.uid).toBeUndefined();
      expect(h.logDir).toBeUndefined();
      expect(
        state.statuses.map((s) => ({ runner_pid: s.runnerPid, runner_uid: s.runnerUid, state: taskStateName(s.state!), timestamp_ms: s.timestampMs })),
      ).toEqual(want.statuses);
      expect(Object.keys(state.processes).sort()).toEqual(Object.keys(want.process_records).sort());

      const summary = replayTaskSummary(buf);
      expect(summary.records).toBe(want.records);
      expect(summary.statuses).toEqual(state.statuses);
      expect(summary.header).toEqual(state.header);
      for (const [name, runs] of Object.entries(state.processes)) expect(summary.processRuns[name]).toBe(runs.length);

      expect(existsSync(path.join(root, 'tasks', want.state_dir, taskId))).toBe(true);
    });
  }

  it('sleep60: the terminal task status before the KILLED process record replays', () => {
    const buf = readFileSync(path.join(root, 'checkpoints', 'sleep60', 'runner'));
    const kinds = decodeCheckpointStream(buf).map((r) => (r.kind === 'task' ? `task:${taskStateName(r.task.state!)}` : r.kind));
    expect(kinds.indexOf('task:KILLED')).toBeLessThan(kinds.lastIndexOf('process'));
    const state = replayCheckpoint(buf);
    const runs = state.processes['sleep']!;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ state: 4, returnCode: -1, seq: 3 });
    expect(runs[0]!.pid).toBeTypeOf('number');
    expect(runs[0]!.stopTime).toBeGreaterThan(runs[0]!.startTime!);
  });

  it('inspection finds both sleep60 runners and the recorded pids', () => {
    const dir = path.join(root, 'checkpoints', 'sleep60');
    const coord = readdirSync(dir).filter((n) => n.startsWith('coordinator.')).map((n) => readFileSync(path.join(dir, n)));
    const ins = inspectCheckpoints(readFileSync(path.join(dir, 'runner')), coord);
    expect(ins.runners.map((r) => r.pid)).toEqual([43573, 43580]);
    expect(ins.runners[0]).toEqual({ pid: 43573, uid: 501, timestampMs: 1337098156615 });
    expect(ins.coordinators).toHaveLength(1);
    expect(ins.coordinators[0]!.process).toBe('sleep');
    expect(ins.processes).toHaveLength(1);
    // The KILLED process record (stop_time, epoch s) comes after the KILLED task status.
    expect(ins.latestUpdateMs).toBeCloseTo(1337098162561.089, 2);
  });

  it('readTaskFacts and readTaskInspection read every task of the root', async () => {
    for (const [taskId, want] of Object.entries(expected)) {
      const facts = await readTaskFacts({ taskId, root, state: want.state_dir });
      expect(facts.error).toBeUndefined();
      expect(facts.runnerMtimeMs).toBeTypeOf('number');
      expect(facts.sandbox).toBe(want.header.sandbox);
      expect(facts.user).toBe(want.header.user);
      expect(facts.launchTimeMs).toBe(want.header.launch_time_ms);
      expect(facts.statuses.map((s) => taskStateName(s.state))).toEqual(want.statuses.map((s) => s.state));
      const runs = Object.keys(want.process_records);
      expect(Object.keys(facts.processRuns ?? {}).sort()).toEqual(runs.sort());
      const ins = await readTaskInspection(root, taskId);
      expect(ins.runners.length).toBeGreaterThan(0);
    }
  });
});
