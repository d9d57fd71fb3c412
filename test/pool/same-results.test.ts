// The pool must not change outcomes: the same facts and the same deletions with the local
// services, with `--workers 0` (inline batches) and with a pool of worker threads.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeletionResult } from '../../src/core/facts.js';
import { createLocalServices } from '../../src/services/local-services.js';
import { silentLogger } from '../../src/log.js';
import { createServices, type PooledServices } from '../../src/pool/pool-services.js';
import type { DenseAgent } from '../../src/sim/dense-agent.js';
import { agentIn, byTaskId, configFor, removeDir, targetsFor, tempDir } from './agent-fixture.js';

describe('pool services give the same results as the main thread', () => {
  let dir: string;
  let agent: DenseAgent;
  let inline: PooledServices;
  let pooled: PooledServices;

  beforeAll(async () => {
    dir = await tempDir();
    agent = await agentIn(dir, { tasks: 300 });
    inline = createServices(configFor(agent, { workers: 0, batchSize: 64 }), silentLogger());
    pooled = createServices(configFor(agent, { workers: 2, batchSize: 64 }), silentLogger());
  });
  afterAll(async () => {
    await pooled.close();
    await inline.close();
    await removeDir(dir);
  });

  it('reads the same facts with 0 and 2 workers as the local services', async () => {
    const local = createLocalServices({ config: configFor(agent), logger: silentLogger() });
    const { refs } = await local.listTasks([agent.checkpointRoot]);
    expect(refs).toHaveLength(300);
    const reference = byTaskId(await local.readFacts(refs));
    expect(byTaskId(await inline.readFacts(refs))).toEqual(reference);
    expect(byTaskId(await pooled.readFacts(refs))).toEqual(reference);
    // Order is kept too: the result lines up with the refs.
    expect((await pooled.readFacts(refs)).map((f) => f.taskId)).toEqual(refs.map((r) => r.taskId));
    expect(reference.every((f) => f.error === undefined && f.statuses.length > 0)).toBe(true);
  });

  it('sends one message per batch', async () => {
    const { refs } = await pooled.listTasks([agent.checkpointRoot]);
    const before = pooled.runner.stats.messages;
    await pooled.readFacts(refs);
    expect(pooled.runner.stats.messages - before).toBe(Math.ceil(refs.length / 64));
  });

  it('takes the process snapshot in a worker, with details for the pids asked', async () => {
    const rows = await pooled.runner.run('snapshotProcesses', { detailsFor: [process.pid, 4_200_000] });
    const self = rows.find((p) => p.pid === process.pid);
    expect(self?.startTimeMs).toBeTypeOf('number');
    expect(self?.ppid).toBe(process.ppid);
    expect(rows.some((p) => p.pid === 4_200_000)).toBe(false);
  });

  it('decides orphans as the local services do', async () => {
    // At the checkpoints' own mtime every dead runner's checkpoint is recent: decisions, no losing.
    const at = agent.nowMs - 2 * 24 * 3_600_000;
    const local = createLocalServices({ config: configFor(agent), logger: silentLogger() });
    const expected = byTaskId(await local.cleanOrphans(at));
    expect(expected).toHaveLength(agent.taskIds.active.length);
    expect(new Set(expected.map((o) => o.action))).toEqual(new Set(['recent-checkpoint']));
    expect(byTaskId(await pooled.cleanOrphans(at))).toEqual(expected);
    expect(byTaskId(await inline.cleanOrphans(at))).toEqual(expected);
  });
});

describe('deletion through the pool', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await removeDir(d);
  });

  /** Deletes the finished, unlinked tasks of a fresh agent (two targets share one sandbox). */
  async function deleteWith(workers: number): Promise<{ agent: DenseAgent; results: DeletionResult[]; messages: number }> {
    const dir = await tempDir();
    dirs.push(dir);
    const agent = await agentIn(dir, { tasks: 240 });
    const services = createServices(configFor(agent, { workers, batchSize: 32, deleteParallelism: 4 }), silentLogger());
    try {
      const { refs } = await services.listTasks([agent.checkpointRoot]);
      const facts = await services.readFacts(refs);
      const targets = targetsFor(services, facts, agent.linked);
      // Two targets naming one tree: it must be deleted once, both see it gone.
      const [a, b] = targets;
      if (a === undefined || b === undefined) throw new Error('agent has too few finished tasks');
      b.sandbox = a.sandbox;
      const before = services.runner.stats.messages;
      const results = await services.deleteTargets(targets);
      return { agent, results, messages: services.runner.stats.messages - before };
    } finally {
      await services.close();
    }
  }

  it('deletes the same paths with 0 and 2 workers, each tree once', async () => {
    const zero = await deleteWith(0);
    const two = await deleteWith(2);
    const strip = (r: DeletionResult[], agent: DenseAgent): unknown =>
      JSON.parse(JSON.stringify(r).split(agent.dir).join('<dir>').replace(/\.thermos-gc-trash\/[^"]+/g, '<trash>'));
    expect(strip(two.results, two.agent)).toEqual(strip(zero.results, zero.agent));
    expect(two.results.every((r) => r.errors.length === 0)).toBe(true);
    const [a, b] = two.results;
    expect(a?.deleted).toContain(two.agent.sandboxes.get(a?.taskId ?? ''));
    expect(b?.deleted).toContain(two.agent.sandboxes.get(a?.taskId ?? ''));
    // The sandbox b named originally was not its target's: it is still there.
    expect(existsSync(two.agent.sandboxes.get(b?.taskId ?? '') ?? '')).toBe(true);
    for (const r of two.results.slice(2)) {
      expect(existsSync(two.agent.sandboxes.get(r.taskId) ?? '')).toBe(false);
      expect(r.deleted.length).toBeGreaterThan(3);
    }
    expect(two.messages).toBeGreaterThanOrEqual(Math.floor(two.results.length / 32));
    expect(two.messages).toBeLessThanOrEqual(Math.ceil(two.results.length / 32));
  });
});

describe('orphans through the pool', () => {
  it('loses every active task whose runner is gone and whose checkpoint is quiet', async () => {
    const dir = await tempDir();
    const agent = await agentIn(dir, { tasks: 24, activeShare: 0.5 });
    const services = createServices(configFor(agent, { workers: 1, batchSize: 8 }), silentLogger());
    try {
      const outcomes = await services.cleanOrphans(agent.nowMs);
      expect(outcomes.map((o) => o.taskId).sort()).toEqual([...agent.taskIds.active].sort());
      for (const o of outcomes) expect(o).toMatchObject({ action: 'lose', lostOk: true });
      const { refs } = await services.listTasks([agent.checkpointRoot]);
      expect(refs.filter((r) => r.state === 'active')).toEqual([]);
    } finally {
      await services.close();
      await removeDir(dir);
    }
  });
});
