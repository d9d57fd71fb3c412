// Issue "scale out": a full GC run on a generated 10,000-task agent gives the same result with 0
// and with N workers, and both are what `plan` predicted. Two identical agents (same seed) are
// generated side by side; each gets one run; outcomes and the trees left on disk are compared.
import { execFileSync } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSchedulerMessageDeletedTasks } from '../../src/core/aurora-messages.js';
import { planOutput, scanForPlan, type PlanOutput } from '../../src/cli/plan.js';
import { buildServices } from '../../src/pool/build-services.js';
import { runGc, type GcRunReport } from '../../src/executor/gc-run.js';
import { GcMetrics } from '../../src/executor/metrics.js';
import { systemClock } from '../../src/io/system-clock.js';
import { silentLogger } from '../../src/log.js';
import type { DenseAgent } from '../../src/sim/dense-agent.js';
import { RecordingDriver } from '../helpers/recording-driver.js';
import { NOW_MS, agentIn, configFor, removeDir, tempDir } from './agent-fixture.js';

const TASKS = 10_000;
const WORKERS = Math.max(2, availableParallelism());

interface Outcome {
  report: GcRunReport;
  updates: Array<{ taskId: string; state: string }>;
  deletedMessage: string[];
  tree: string[];
}

/** Every path under the agent, relative to it (the two agents live in different dirs). */
async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((e) => !e.includes('.thermos-gc-trash')).sort();
}

async function runOnce(agent: DenseAgent, workers: number): Promise<Outcome> {
  const config = configFor(agent, { workers });
  const built = await buildServices(config, silentLogger());
  const driver = new RecordingDriver();
  try {
    const report = await runGc(
      { gcTaskId: 'gc-1', retained: agent.retained, startMs: NOW_MS },
      { services: built.services, driver, clock: systemClock, config, logger: silentLogger(), metrics: new GcMetrics() },
    );
    const messages = driver.messages.map((m) => decodeSchedulerMessageDeletedTasks(m).sort());
    expect(messages.length).toBeLessThanOrEqual(1);
    return {
      report,
      updates: driver.updates.map((u) => ({ taskId: u.taskId, state: u.state })),
      deletedMessage: messages[0] ?? [],
      tree: await listTree(agent.dir),
    };
  } finally {
    await built.close();
  }
}

describe(`a full GC run on a ${TASKS}-task agent`, () => {
  let dirs: string[] = [];
  let predicted: PlanOutput;
  let inline: Outcome;
  let pooled: Outcome;

  let mount: string | undefined;

  beforeAll(async () => {
    // On a tmpfs (as root) the 2 × 10,000 sandboxes are written and deleted at memory speed; on
    // a slow disk the same test only takes longer.
    const base = await tempDir('full-10k-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1g', 'tmpfs', base], { stdio: 'ignore' });
      mount = base;
    } catch {
      mount = undefined;
    }
    dirs = [path.join(base, 'a'), path.join(base, 'b')];
    await Promise.all(dirs.map((d) => mkdir(d)));
    dirs.push(base);
    const opts = { tasks: TASKS, filesPerSandbox: 2, fileBytes: 16 };
    const [a, b] = await Promise.all(dirs.slice(0, 2).map((d) => agentIn(d, opts)));
    predicted = planOutput(await scanForPlan(configFor(a!), a!.retained), a!.retained, NOW_MS, configFor(a!)).output;
    inline = await runOnce(a!, 0);
    pooled = await runOnce(b!, WORKERS);
  }, 300_000);
  afterAll(async () => {
    if (mount !== undefined) execFileSync('umount', [mount]);
    await removeDir(dirs[2]!);
  });

  it(`is the same with 0 and ${WORKERS} workers`, () => {
    const core = (o: Outcome) => ({
      killed: [...o.report.killed].sort(),
      killFailed: o.report.killFailed,
      deleted: [...o.report.deleted].sort(),
      deleteFailed: o.report.deleteFailed,
      refused: o.report.refused.length,
      deletedTasks: o.report.deletedTasks,
      bytesFreed: o.report.bytesFreed,
      inodesFreed: o.report.inodesFreed,
    });
    expect(core(pooled)).toEqual(core(inline));
    expect(pooled.updates).toEqual(inline.updates);
    expect(pooled.deletedMessage).toEqual(inline.deletedMessage);
    expect(pooled.tree).toEqual(inline.tree);
  });

  it('does what plan predicted', () => {
    expect([...inline.report.killed].sort()).toEqual(predicted.terminate);
    expect([...inline.report.deleted].sort()).toEqual(predicted.garbage_collect);
    expect(inline.deletedMessage).toEqual(predicted.deleted_tasks);
    const lost = inline.updates.filter((u) => u.state === 'TASK_LOST').map((u) => u.taskId).sort();
    const predictedLost = Object.entries(predicted.updates).filter(([, s]) => s === 'LOST').map(([id]) => id).sort();
    expect(lost).toEqual(predictedLost);
    // A real workload, not an empty one.
    expect(predicted.terminate.length).toBeGreaterThan(10);
    expect(predicted.garbage_collect.length).toBeGreaterThan(1000);
    // What is left on disk: no sandbox of a deleted task, every sandbox of a kept one.
    const sandboxes = new Set(inline.tree.filter((p) => /^sandboxes\/[^/]+$/.test(p)).map((p) => path.basename(p)));
    for (const id of predicted.garbage_collect) expect(sandboxes.has(id)).toBe(false);
    expect(sandboxes.size).toBe(TASKS - predicted.garbage_collect.length);
  });
});
