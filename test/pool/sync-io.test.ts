// The worker-side sync readers must agree with the reference implementations, including on the
// odd cases: broken and missing checkpoints, symlinked and dangling run directories.
import { mkdir, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FactsReading, TaskFacts, TaskRef } from '../../src/core/facts.js';
import { readsRunnerMtime, reconcile } from '../../src/core/reconcile.js';
import { ScheduleStatus } from '../../src/core/states.js';
import { linkedExecutors } from '../../src/io/executor-detector.js';
import { detectTasks } from '../../src/io/task-detector.js';
import { readTaskFacts } from '../../src/io/task-facts-reader.js';
import { linkedExecutorsSync, readFactsSync } from '../../src/pool/sync-io.js';
import { generatePresetAgent } from '../../src/sim/agent-presets.js';
import type { DenseAgent } from '../../src/sim/dense-agent.js';
import { agentIn, removeDir, tempDir } from './agent-fixture.js';

describe('worker-side sync readers', () => {
  let dir: string;
  let agent: DenseAgent;
  let refs: TaskRef[];
  beforeAll(async () => {
    dir = await tempDir();
    agent = await agentIn(dir, { tasks: 40 });
    refs = (await detectTasks([agent.checkpointRoot])).tasks;
  });
  afterAll(async () => removeDir(dir));

  it('reads the same facts as readTaskFacts, errors included', async () => {
    const [truncated, missing, garbage] = refs.slice(-3) as [TaskRef, TaskRef, TaskRef];
    const ckpt = (r: TaskRef): string => path.join(r.root, 'checkpoints', r.taskId, 'runner');
    await truncate(ckpt(truncated), 30);
    await unlink(ckpt(missing));
    await writeFile(ckpt(garbage), Buffer.from([0, 0, 0, 3, 99, 1, 2]));
    const expected = await Promise.all(refs.map((r) => readTaskFacts(r)));
    const got = await readFactsSync(refs);
    expect(got).toStrictEqual(expected);
    expect(got.slice(-3).map((f) => f.error?.code)).toEqual([expect.stringMatching(/^ERR_/), 'ERR_CKPT_MISSING', expect.stringMatching(/^ERR_/)]);
  });

  it('on the damaged presets, reads every checkpoint on this thread (no promise, no async read) with the reference reader\'s facts and errors', async () => {
    for (const preset of ['mesos-history', 'restarts'] as const) {
      const a = await generatePresetAgent(path.join(dir, preset), preset, { tasks: 120, filesPerSandbox: 1, fileBytes: 16, seed: 5 });
      const presetRefs = (await detectTasks(a.checkpointRoots)).tasks;
      // A runner checkpoint that is a directory: fstat works, the read fails (mtime kept, ERR_CKPT_IO).
      const odd = presetRefs[0] as TaskRef;
      const oddFile = path.join(odd.root, 'checkpoints', odd.taskId, 'runner');
      await unlink(oddFile);
      await mkdir(oddFile);
      const got = readFactsSync(presetRefs);
      expect(Array.isArray(got)).toBe(true);
      expect(got).toStrictEqual(await Promise.all(presetRefs.map((r) => readTaskFacts(r))));
      const bad = new Set(got.filter((f) => f.error !== undefined).map((f) => f.taskId));
      for (const id of [...a.corrupt, ...a.truncated]) expect(bad.has(id), id).toBe(true);
      expect(got[0]?.error?.code).toBe('ERR_CKPT_IO');
      expect(got[0]?.runnerMtimeMs).toEqual(expect.any(Number));
    }
  });

  it('for reconciliation, leaves out only what the table does not read, and the plan is the same', async () => {
    const a = await generatePresetAgent(path.join(dir, 'readings'), 'mesos-history', { tasks: 160, filesPerSandbox: 1, fileBytes: 16, seed: 9 });
    const presetRefs = (await detectTasks(a.checkpointRoots)).tasks;
    const full = readFactsSync(presetRefs);
    const forReconcile = readFactsSync(presetRefs, { mtimeForReconcile: true });
    const decisionsOnly = readFactsSync(presetRefs, { mtimeForReconcile: true, withoutPaths: true });
    let skipped = 0;
    let stripped = 0;
    full.forEach((f, i) => {
      const r = forReconcile[i] as TaskFacts;
      const d = decisionsOnly[i] as TaskFacts;
      const kept = readsRunnerMtime(f.state, f.statuses.length);
      if (!kept) skipped++;
      expect(r).toStrictEqual({ ...f, runnerMtimeMs: kept ? f.runnerMtimeMs : undefined });
      expect(kept ? f.runnerMtimeMs : 0).toEqual(expect.any(Number));
      // The plain shape loses its paths; what the reference replay read keeps them.
      const plain = f.error === undefined && f.sandbox !== undefined && d.sandbox === undefined;
      if (plain) stripped++;
      const expected = plain ? { ...r, sandbox: undefined, logDir: undefined, user: undefined, processRuns: undefined } : r;
      expect(d).toStrictEqual(expected);
    });
    expect(skipped).toBeGreaterThan(20);
    expect(stripped).toBeGreaterThan(20);
    expect(full.some((f) => f.error !== undefined && f.runnerMtimeMs !== undefined)).toBe(true);
    // Every column of the table, with everything stale and with nothing stale.
    const statuses = [ScheduleStatus.RUNNING, ScheduleStatus.STARTING, ScheduleStatus.FINISHED, undefined];
    const retained = new Map<string, number>();
    presetRefs.forEach((ref, i) => {
      const s = statuses[i % statuses.length];
      if (s !== undefined) retained.set(ref.taskId, s);
    });
    const planOf = (facts: TaskFacts[], startMs: number): unknown =>
      reconcile({ retained, facts: new Map(facts.map((f) => [f.taskId, f])), startMs, minimumKillAgeMs: 600_000, killBudget: 1 });
    for (const startMs of [a.nowMs, a.nowMs + 86_400_000]) {
      const expected = planOf(full, startMs);
      expect(planOf(forReconcile, startMs)).toStrictEqual(expected);
      expect(planOf(decisionsOnly, startMs)).toStrictEqual(expected);
    }
    const reading: FactsReading = {};
    expect(readFactsSync(presetRefs, reading)).toStrictEqual(full);
  });

  it('gives an id the path rules refuse its error and no mtime, even right after a readable checkpoint', async () => {
    const good = refs[0] as TaskRef;
    const refused: TaskRef = { taskId: '..', root: good.root, state: 'finished' };
    const [, got] = readFactsSync([good, refused]);
    expect(got).toStrictEqual(await readTaskFacts(refused));
    expect(got?.error?.code).toBe('ERR_UNSAFE_TASK_ID');
    expect(got?.runnerMtimeMs).toBeUndefined();
  });

  it('finds the same linked executors as the detector, links followed and latest excluded', async () => {
    const executors = path.join(agent.mesosRoot, 'slaves/S0/frameworks/F0/executors');
    const real = path.join(dir, 'elsewhere');
    await mkdir(real, { recursive: true });
    // A run dir that is a link to a directory counts; a dangling link, a file and `latest` do not.
    await mkdir(path.join(executors, 'thermos-linked-run/runs'), { recursive: true });
    await symlink(real, path.join(executors, 'thermos-linked-run/runs/R9'));
    await mkdir(path.join(executors, 'thermos-dangling/runs'), { recursive: true });
    await symlink(path.join(dir, 'nowhere'), path.join(executors, 'thermos-dangling/runs/R1'));
    await mkdir(path.join(executors, 'thermos-file/runs'), { recursive: true });
    await writeFile(path.join(executors, 'thermos-file/runs/R1'), '');
    await mkdir(path.join(executors, 'thermos-latest-dir/runs/latest'), { recursive: true });
    await mkdir(path.join(executors, 'thermos-hidden/runs/.R1'), { recursive: true });
    await mkdir(path.join(executors, 'other-executor/runs/R1'), { recursive: true });
    // A framework reached through a link is walked too.
    await mkdir(path.join(real, 'executors/thermos-via-link/runs/R1'), { recursive: true });
    await symlink(real, path.join(agent.mesosRoot, 'slaves/S0/frameworks/F1'));

    const expected = [...(await linkedExecutors(agent.mesosRoot))].sort();
    expect(linkedExecutorsSync(agent.mesosRoot)).toEqual(expected);
    // Sharded across threads, the shards are disjoint and their union is the same set.
    for (const count of [2, 3, 7]) {
      const shards = Array.from({ length: count }, (_, index) => linkedExecutorsSync(agent.mesosRoot, { shard: { index, count } }));
      expect(shards.flat().sort()).toEqual(expected);
      expect(shards.every((s) => s.length < expected.length)).toBe(true);
    }
    expect(expected).toEqual(expect.arrayContaining(['linked-run', 'hidden', 'via-link', ...agent.linked]));
    expect(expected).not.toContain('dangling');
    expect(expected).not.toContain('file');
    expect(expected).not.toContain('latest-dir');
    expect(linkedExecutorsSync(path.join(dir, 'no-such-root'))).toEqual([]);
  });
});
