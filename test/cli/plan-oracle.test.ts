// `thermos-gc plan` against an independent implementation of the reconciliation table, written
// here straight from domain.md §6 (and the original's reconcile_states / garbage_collect), over a
// generated agent of thousands of tasks and many random scheduler views. The oracle reads the
// tree with plain fs calls and decodes checkpoints with Apache Thrift's own package, so it shares
// no code with the project's detection, codec or decision core.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleStatus, type ScheduleStatusName } from '../../src/core/states.js';
// The generator's seeded PRNG, so a failing view can be reproduced from its index.
import { generateAgent, prng, type DenseAgent } from '../../src/sim/dense-agent.js';
import { oracleRead, readRunnerCkpt } from '../../bench/reference/thrift-oracle.js';
import { runCli } from '../helpers/cli-capture.js';

const TASKS = 3000;
const VIEWS = 12;
const KILL_AGE_S = 600;
const NAMES = Object.keys(ScheduleStatus) as ScheduleStatusName[];
const TERMINAL = new Set<ScheduleStatusName>(['FAILED', 'FINISHED', 'KILLED', 'LOST', 'SANDBOX_DELETED']);
const STARTING = new Set<ScheduleStatusName>(['STARTING', 'ASSIGNED']);
// Thermos TaskState → ScheduleStatus name, as domain.md §5 states it.
const THERMOS_TO_SCHEDULE = ['RUNNING', 'FINISHED', 'FAILED', 'KILLED', 'LOST', 'RUNNING', 'RUNNING'];

interface OracleTask {
  statuses: Array<{ state: number; ts: number }> | null; // null: cannot be read
  mtimeS: number | null; // null: no runner checkpoint
}

/** Reads a runner checkpoint with Apache Thrift's decoder; null when any record is broken. */
function oracleStatuses(file: string): Array<{ state: number; ts: number }> | null {
  const buf = readFileSync(file);
  const out: Array<{ state: number; ts: number }> = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + 4 > buf.length) return null;
    const len = buf.readUInt32BE(pos);
    if (pos + 4 + len > buf.length) return null;
    let rec;
    try {
      rec = oracleRead(buf.subarray(pos + 4, pos + 4 + len), readRunnerCkpt);
    } catch {
      return null;
    }
    if (rec === undefined) return null;
    if (rec.kind === 'task') out.push({ state: rec.task.state!, ts: rec.task.timestampMs! / 1000 });
    pos += 4 + len;
  }
  return out;
}

function readLocal(agent: DenseAgent): { active: Set<string>; finished: Set<string>; tasks: Map<string, OracleTask>; linked: Set<string> } {
  const root = agent.checkpointRoot;
  const active = new Set(readdirSync(path.join(root, 'tasks', 'active')));
  const finished = new Set(readdirSync(path.join(root, 'tasks', 'finished')));
  const tasks = new Map<string, OracleTask>();
  for (const id of [...active, ...finished]) {
    const runner = path.join(root, 'checkpoints', id, 'runner');
    if (!existsSync(runner)) tasks.set(id, { statuses: null, mtimeS: null });
    else tasks.set(id, { statuses: oracleStatuses(runner), mtimeS: statSync(runner).mtimeMs / 1000 });
  }
  const linked = new Set<string>();
  const executors = path.join(agent.mesosRoot, 'slaves', 'S0', 'frameworks', 'F0', 'executors');
  for (const ex of readdirSync(executors)) {
    if (!ex.startsWith('thermos-')) continue;
    const runs = path.join(executors, ex, 'runs');
    if (existsSync(runs) && readdirSync(runs).some((r) => r !== 'latest')) linked.add(ex.slice('thermos-'.length));
  }
  return { active, finished, tasks, linked };
}

/** The table, as the original wrote it, assuming every kill succeeds. */
function oraclePlan(local: ReturnType<typeof readLocal>, retained: Map<string, ScheduleStatusName>, startS: number) {
  const sa = new Set<string>(), ss = new Set<string>(), sf = new Set<string>();
  for (const [id, s] of retained) (TERMINAL.has(s) ? sf : STARTING.has(s) ? ss : sa).add(id);
  const localIds = new Set([...local.active, ...local.finished]);
  const all = new Set([...localIds, ...retained.keys()]);
  const terminate: string[] = [], localGc = new Set<string>(), remoteGc: string[] = [];
  const updates: Record<string, string> = {};
  const shouldGc = (id: string): boolean => {
    const t = local.tasks.get(id)!;
    return t.mtimeS !== null && startS - t.mtimeS > KILL_AGE_S;
  };
  for (const id of all) {
    const t = local.tasks.get(id);
    const states = t?.statuses ?? [];
    if (local.active.has(id) && !sa.has(id) && !ss.has(id)) {
      if (states.length > 0 && startS - states[0]!.ts > KILL_AGE_S) terminate.push(id);
      else if (shouldGc(id)) localGc.add(id);
    }
    if (local.finished.has(id) && !retained.has(id)) localGc.add(id);
    if (local.finished.has(id) && (sa.has(id) || ss.has(id))) {
      if (states.length > 0) updates[id] = THERMOS_TO_SCHEDULE[states[states.length - 1]!.state] ?? 'SANDBOX_DELETED';
      else if (shouldGc(id)) localGc.add(id);
    }
    if (sf.has(id) && !localIds.has(id)) remoteGc.push(id);
    if (!localIds.has(id) && sa.has(id)) updates[id] = 'LOST';
  }
  const finishedAfter = new Set([...local.finished, ...terminate]);
  const gc = new Set([...finishedAfter].filter((id) => !local.linked.has(id)));
  for (const id of localGc) gc.add(id);
  const deleted = new Set(remoteGc);
  for (const id of gc) if (retained.has(id)) deleted.add(id);
  const sortedUpdates = Object.fromEntries(Object.entries(updates).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    terminate: terminate.sort(),
    local_gc: [...localGc].sort(),
    remote_gc: remoteGc.sort(),
    updates: sortedUpdates,
    garbage_collect: [...gc].sort(),
    deleted_tasks: [...deleted].sort(),
  };
}

describe(`plan agrees with an independent table on a ${TASKS}-task agent`, () => {
  let dir = '';
  let agent: DenseAgent;
  let local: ReturnType<typeof readLocal>;
  const nowMs = Date.UTC(2026, 10, 1, 12, 0, 0);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'thermos-gc-plan-oracle-'));
    // Launches spread over [now − 60 min, now − 30 min], checkpoints written at now − 30 min:
    // views received around those times put tasks on both sides of the 10-minute kill age.
    agent = await generateAgent(dir, { tasks: TASKS, filesPerSandbox: 0, nowMs, ageMs: 30 * 60_000, seed: 7, activeShare: 0.4 });
    // Some checkpoints broken (cut inside a record) or missing, on both sides.
    const ids = [...agent.taskIds.active, ...agent.taskIds.finished];
    for (let i = 0; i < ids.length; i += 37) {
      const runner = path.join(agent.checkpointRoot, 'checkpoints', ids[i]!, 'runner');
      if (i % 2 === 0) await truncate(runner, 30);
      else await unlink(runner);
    }
    local = readLocal(agent);
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (let v = 0; v < VIEWS; v++) {
    it(`random scheduler view #${v}`, async () => {
      const rand = prng(1000 + v);
      const ids = [...local.active, ...local.finished];
      const retained = new Map<string, ScheduleStatusName>();
      const listShare = 0.3 + rand() * 0.6;
      for (const id of ids) if (rand() < listShare) retained.set(id, NAMES[Math.floor(rand() * NAMES.length)]!);
      for (let i = 0; i < 50; i++) retained.set(`sched-only-${v}-${i}`, NAMES[Math.floor(rand() * NAMES.length)]!);
      // Received somewhere between 70 minutes before and 10 minutes after the agent's "now".
      const startS = Math.floor((nowMs - 70 * 60_000 + rand() * 80 * 60_000) / 1000);
      const file = path.join(dir, `view-${v}.json`);
      await writeFile(file, JSON.stringify(Object.fromEntries(retained)));

      const res = await runCli([
        'plan', '--checkpoint-root', agent.checkpointRoot, '--mesos-root', agent.mesosRoot,
        '--retained', file, '--now', String(startS), '--kill-budget', '100%', '--json',
      ]);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const want = oraclePlan(local, retained, startS);
      expect(JSON.parse(res.stdout)).toEqual(want);
      // The views must exercise the interesting cells, not just agree on empty sets.
      expect(want.garbage_collect.length + want.terminate.length + Object.keys(want.updates).length).toBeGreaterThan(0);
    });
  }

  it('the views covered kills, young tasks, stale and fresh broken checkpoints', () => {
    // One view well after the agent's now (everything old) and one in the middle (mixed ages).
    const old = oraclePlan(local, new Map([['x', 'RUNNING']]), nowMs / 1000 + 3600);
    const mid = oraclePlan(local, new Map([['x', 'RUNNING']]), nowMs / 1000 - 45 * 60);
    expect(old.terminate.length).toBeGreaterThan(0);
    expect(mid.terminate.length).toBeGreaterThan(0);
    expect(mid.terminate.length).toBeLessThan(old.terminate.length);
    expect([...local.tasks.values()].filter((t) => t.statuses === null).length).toBeGreaterThan(0);
  });
});
