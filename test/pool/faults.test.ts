// A worker that crashes or hangs fails its batch with a typed WorkerError; the pool replaces the
// thread and the next batches are served. The faulty worker wraps the real jobs.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRef } from '../../src/core/facts.js';
import { silentLogger } from '../../src/log.js';
import { GcPool, resolveWorkerFile } from '../../src/pool/gc-pool.js';
import { WorkerError } from '../../src/pool/job-runner.js';
import { createServices, type PooledServices } from '../../src/pool/pool-services.js';
import type { DenseAgent } from '../../src/sim/dense-agent.js';
import { agentIn, configFor, removeDir, targetsFor, tempDir } from './agent-fixture.js';

/** A worker whose jobs crash (process.exit in the thread), hang or throw on marked task ids. */
function faultyWorkerSource(): string {
  const jobs = pathToFileURL(path.join(path.dirname(resolveWorkerFile()), '..', 'src', 'pool', 'jobs.js')).href;
  return `
import { readFactsJob, deleteTargetsJob, snapshotProcessesJob } from ${JSON.stringify(jobs)};
function fault(ids) {
  if (ids.includes('crash')) process.exit(7);
  if (ids.includes('hang')) return new Promise(() => { setInterval(() => {}, 1000); });
  if (ids.includes('throw')) throw new Error('job threw');
  if (ids.includes('hog')) {
    // A runaway batch: keeps allocating on the heap until something stops it.
    const keep = [];
    for (;;) keep.push(new Array(1 << 16).fill(keep.length));
  }
  return undefined;
}
export async function readFacts(req) {
  await fault(req.refs.map((r) => r.taskId));
  return readFactsJob(req);
}
export async function deleteTargets(batch) {
  await fault(batch.targets.map((t) => t.taskId));
  return deleteTargetsJob(batch);
}
export const snapshotProcesses = snapshotProcessesJob;
`;
}

describe('faulty workers', () => {
  let dir: string;
  let agent: DenseAgent;
  let pool: GcPool;
  let services: PooledServices;
  let refs: TaskRef[];

  beforeAll(async () => {
    dir = await tempDir();
    agent = await agentIn(dir, { tasks: 60 });
    const workerFile = path.join(dir, 'faulty-worker.mjs');
    await writeFile(workerFile, faultyWorkerSource());
    pool = new GcPool({ threads: 2, workerFile, batchTimeoutMs: 1_500 });
    services = createServices(configFor(agent, { workers: 2, batchSize: 16 }), silentLogger(), { runner: pool });
    refs = (await services.listTasks([agent.checkpointRoot])).refs;
  });
  afterAll(async () => {
    await services.close();
    await removeDir(dir);
  });

  const marked = (taskId: string): TaskRef => ({ taskId, root: agent.checkpointRoot, state: 'finished' });

  it('a crashing worker fails its batch with ERR_WORKER, then the pool serves again', async () => {
    const err = await services.readFacts([...refs.slice(0, 3), marked('crash')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect(err).toMatchObject({ code: 'ERR_WORKER', job: 'readFacts', failure: 'crashed', items: 4 });
    const facts = await services.readFacts(refs);
    expect(facts.map((f) => f.taskId)).toEqual(refs.map((r) => r.taskId));
    expect(facts.every((f) => f.error === undefined)).toBe(true);
  });

  it('a hanging worker times out, is replaced, and the pool serves again', async () => {
    const err = await services.readFacts([marked('hang')]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WORKER', failure: 'timeout' });
    expect(await services.readFacts(refs.slice(0, 5))).toHaveLength(5);
  });

  it('a job that throws is a failed batch with its message', async () => {
    const err = await services.readFacts([marked('throw')]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WORKER', failure: 'failed' });
    expect((err as Error).message).toContain('job threw');
  });

  it('a crashed deletion batch fails only its own targets, each with its path', async () => {
    const facts = await services.readFacts(refs);
    const targets = targetsFor(services, facts, agent.linked);
    expect(targets.length).toBeGreaterThan(20);
    // The crash marker lands in the first batch (16 targets); the others go on.
    targets.splice(1, 0, { taskId: 'crash', reason: 'test', logPaths: [], metadataPaths: [path.join(dir, 'nothing')] });
    const results = await services.deleteTargets(targets);
    expect(results.map((r) => r.taskId)).toEqual(targets.map((t) => t.taskId));
    const failed = results.filter((r) => r.errors.length > 0);
    expect(failed.length).toBe(16);
    for (const r of failed) {
      expect(r.deleted).toEqual([]);
      expect(r.errors[0]).toMatchObject({ code: 'ERR_WORKER', taskId: r.taskId });
      expect(r.errors[0]?.path).toBeTypeOf('string');
    }
    const ok = results.filter((r) => r.errors.length === 0);
    expect(ok.length).toBe(targets.length - 16);
    for (const r of ok) expect(r.deleted).toContain(agent.sandboxes.get(r.taskId));
  });

  it('a batch that allocates past the worker heap limit fails alone as an out-of-memory ERR_WORKER', { timeout: 60_000 }, async () => {
    const workerFile = path.join(dir, 'faulty-worker.mjs');
    const small = new GcPool({ threads: 1, workerFile, batchTimeoutMs: 30_000, maxOldGenerationSizeMb: 32 });
    try {
      const rssBefore = process.memoryUsage().rss;
      const err = await small.run('readFacts', { refs: [marked('hog')], reading: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkerError);
      expect(err).toMatchObject({ code: 'ERR_WORKER', job: 'readFacts', failure: 'out-of-memory', items: 1 });
      // The thread stopped at its own limit: the process did not take on the runaway's appetite.
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 2 ** 20);
      const facts = await small.run('readFacts', { refs: refs.slice(0, 5), reading: {} });
      expect(facts).toHaveLength(5);
    } finally {
      await small.close();
    }
  });

  it('an aborted run reports its batches aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await pool.run('readFacts', { refs: refs.slice(0, 2), reading: {} }, { signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WORKER', failure: 'aborted' });
    expect(pool.stats.failures).toBeGreaterThanOrEqual(5);
  });
});
