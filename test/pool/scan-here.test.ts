// `collect`'s arrangement: the scan on this thread whatever the worker count, the threads started
// before any batch (they boot while this thread scans), and the deletion on them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THREAD_DELETE_BATCH } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { LazyPool } from '../../src/pool/lazy-pool.js';
import { createServices, type PooledServices } from '../../src/pool/pool-services.js';
import type { DenseAgent } from '../../src/sim/dense-agent.js';
import { agentIn, byTaskId, configFor, removeDir, targetsFor, tempDir } from './agent-fixture.js';

describe('scanOnThisThread and startThreadsFor', () => {
  let dir: string;
  let agent: DenseAgent;
  let here: PooledServices;
  let pooled: PooledServices;

  beforeAll(async () => {
    dir = await tempDir();
    agent = await agentIn(dir, { tasks: 200 });
    here = createServices(configFor(agent, { workers: 2, batchSize: 32 }), silentLogger(), { scanOnThisThread: true });
    pooled = createServices(configFor(agent, { workers: 2, batchSize: 32 }), silentLogger());
  });
  afterAll(async () => {
    await here.close();
    await pooled.close();
    await removeDir(dir);
  });

  it('reads facts and walks the Mesos dir on this thread, with the same results as the pool', async () => {
    const { refs } = await here.listTasks([agent.checkpointRoot]);
    const facts = await here.readFacts(refs);
    const linked = await here.linkedExecutors();
    // Nothing went to the pool: 200 tasks in batches of 32 would have been 7 messages.
    expect(here.runner.stats.messages).toBe(0);
    expect((here.runner as LazyPool).isStarted).toBe(false);
    expect(byTaskId(facts)).toEqual(byTaskId(await pooled.readFacts(refs)));
    expect([...linked].sort()).toEqual([...(await pooled.linkedExecutors())].sort());
    expect(pooled.runner.stats.messages).toBeGreaterThan(0);
  });

  it('looks up the links of the ids asked about only, the same on this thread and sharded over the pool', async () => {
    const all = [...(await here.linkedExecutors())].sort();
    expect(all.length).toBeGreaterThan(4);
    // Half the linked ids, an unlinked local task, and an id with no executor at all.
    const { refs } = await here.listTasks([agent.checkpointRoot]);
    const unlinked = refs.map((r) => r.taskId).find((id) => !all.includes(id)) as string;
    const asked = [...all.filter((_, i) => i % 2 === 0), unlinked, 'no-such-task'];
    const expected = all.filter((_, i) => i % 2 === 0);
    expect([...(await here.linkedExecutors(asked))].sort()).toEqual(expected);
    expect([...(await pooled.linkedExecutors(asked))].sort()).toEqual(expected);
    expect((await pooled.linkedExecutors([])).size).toBe(0);
  });

  it('starts the threads only for more than one batch, and deletes on them', async () => {
    here.startThreadsFor(32);
    expect((here.runner as LazyPool).isStarted).toBe(false);
    here.startThreadsFor(33);
    expect((here.runner as LazyPool).isStarted).toBe(true);
    const { refs } = await here.listTasks([agent.checkpointRoot]);
    const facts = await here.readFacts(refs);
    const targets = targetsFor(here, facts, await here.linkedExecutors()).slice(0, 40);
    expect(targets.length).toBeGreaterThan(32);
    const results = await here.deleteTargets(targets);
    expect(results.every((r) => r.errors.length === 0 && r.deleted.length > 0)).toBe(true);
    // The deletion's batches (and only they) went to the threads.
    expect(here.runner.stats.messages).toBeGreaterThan(0);
  });

  it('sends deletions to the threads in batches of at most THREAD_DELETE_BATCH targets, whatever batchSize', async () => {
    // Larger than THREAD_DELETE_BATCH, smaller than the targets: the job goes to the threads.
    const big = createServices(configFor(agent, { workers: 2, batchSize: THREAD_DELETE_BATCH * 2 }), silentLogger());
    try {
      const { refs } = await big.listTasks([agent.checkpointRoot]);
      const facts = await big.readFacts(refs);
      const targets = targetsFor(big, facts, await big.linkedExecutors());
      expect(targets.length).toBeGreaterThan(THREAD_DELETE_BATCH * 2);
      const before = big.runner.stats.messages;
      const results = await big.deleteTargets(targets);
      expect(results.every((r) => r.errors.length === 0)).toBe(true);
      expect(big.runner.stats.messages - before).toBe(Math.ceil(targets.length / THREAD_DELETE_BATCH));
    } finally {
      await big.close();
    }
  });
});
