// `collect` and the executor delete through one path: on two identical agents, a GC run that
// deletes every finished task and `collect` deleting the same tasks (logs and metadata too) leave
// the same trees, report the same tasks deleted and free the same bytes and inodes. The agents
// include the cases the sandbox policy decides: a sandbox two deleted tasks share (deleted once),
// and one a kept, live task shares with a deleted one (kept).
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleStatus } from '../../src/core/states.js';
import { runGc, type GcRunReport } from '../../src/executor/gc-run.js';
import { GcMetrics } from '../../src/executor/metrics.js';
import { silentLogger } from '../../src/log.js';
import { buildServices } from '../../src/pool/build-services.js';
import type { CollectJson } from '../../src/report/collect-report.js';
import type { DenseAgent } from '../../src/sim/dense-agent.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { typicalActiveTask, typicalFinishedTask, writeTask } from '../helpers/checkpoint-builder.js';
import { runCli } from '../helpers/cli-capture.js';
import { RecordingDriver } from '../helpers/recording-driver.js';
import { NOW_MS, agentIn, configFor, removeDir, tempDir } from '../pool/agent-fixture.js';
import { addTaskFiles, snapshotTree } from '../reliability/agent-fixture.js';

/** Shared-sandbox cases on top of the generated tasks. */
async function addSharedSandboxes(agent: DenseAgent): Promise<void> {
  const root = agent.checkpointRoot;
  const at = (name: string): string => path.join(agent.sandboxRoot, name);
  const o = { launchTimeMs: NOW_MS - 3 * 86_400_000, mtimeMs: NOW_MS - 3 * 86_400_000 };
  const specs = [
    typicalActiveTask('zz-keeper', { ...o, sandbox: at('with-live'), logDir: path.join(at('with-live'), '.logs') }),
    typicalFinishedTask('zz-twin', { ...o, sandbox: at('with-live'), logDir: path.join(at('with-live'), '.logs') }),
    typicalFinishedTask('zz-pair-a', { ...o, sandbox: at('pair'), logDir: path.join(agent.logRoot, 'zz-pair-a') }),
    typicalFinishedTask('zz-pair-b', { ...o, sandbox: at('pair'), logDir: path.join(agent.logRoot, 'zz-pair-b') }),
    // Never deleted, by either: outside the sandbox root, relative, reached through a symlink.
    typicalFinishedTask('zz-outside', { ...o, sandbox: path.join(agent.dir, 'outside', 'zz-outside'), logDir: path.join(agent.logRoot, 'zz-outside') }),
    typicalFinishedTask('zz-relative', { ...o, sandbox: 'sandboxes/zz-relative', logDir: path.join(agent.logRoot, 'zz-relative') }),
    typicalFinishedTask('zz-link', { ...o, sandbox: path.join(at('via-link'), 'zz-link'), logDir: path.join(agent.logRoot, 'zz-link') }),
  ];
  await mkdir(path.join(agent.dir, 'outside', 'linked'), { recursive: true });
  await symlink(path.join(agent.dir, 'outside', 'linked'), at('via-link'));
  for (const s of specs) {
    await writeTask(root, s);
    await addTaskFiles(s);
  }
}

describe('collect deletes what the executor deletes, the same way', () => {
  let base: string;
  let a: DenseAgent;
  let b: DenseAgent;
  let report: GcRunReport;
  let collected: CollectJson;
  let finished: string[];

  beforeAll(async () => {
    base = await tempDir('collect-vs-executor-');
    await Promise.all(['a', 'b'].map((d) => mkdir(path.join(base, d))));
    [a, b] = await Promise.all(['a', 'b'].map((d) => agentIn(path.join(base, d), { tasks: 240, filesPerSandbox: 3 }))) as [DenseAgent, DenseAgent];
    await Promise.all([addSharedSandboxes(a), addSharedSandboxes(b)]);
    finished = [...a.taskIds.finished, 'zz-twin', 'zz-pair-a', 'zz-pair-b', 'zz-outside', 'zz-relative', 'zz-link'].sort();

    // The scheduler lists every live task as RUNNING and no finished one: the run kills nothing
    // and deletes every finished task, linked or not (finished-unknown).
    const retained = new Map([...a.taskIds.active, 'zz-keeper'].map((id) => [id, ScheduleStatus.RUNNING]));
    const config = configFor(a, { workers: 0 });
    const built = await buildServices(config, silentLogger());
    try {
      report = await runGc(
        { gcTaskId: 'gc-1', retained, startMs: NOW_MS },
        { services: built.services, driver: new RecordingDriver(), clock: new FakeClock(NOW_MS), config, logger: silentLogger(), metrics: new GcMetrics() },
      );
    } finally {
      await built.close();
    }

    const res = await runCli([
      'collect',
      '--checkpoint-root', b.checkpointRoot,
      '--mesos-root', b.mesosRoot,
      '--sandbox-root', b.sandboxRoot,
      '--max-age', '0s',
      '--include-linked',
      '--delete-logs',
      '--delete-metadata',
      '--yes',
      '--json',
      '--workers', '2',
    ]);
    // 1: zz-link's sandbox was refused at delete time (collect's "deleted" includes the sandbox).
    expect(res.code, res.stderr).toBe(1);
    collected = JSON.parse(res.stdout) as CollectJson;
  }, 120_000);
  afterAll(async () => {
    await removeDir(base);
  });

  it('deletes the same tasks', () => {
    expect([...report.deleted].sort()).toEqual(finished);
    // Both removed zz-link's metadata; collect does not call it deleted while its sandbox is refused.
    expect([...collected.deleted].sort()).toEqual(finished.filter((id) => id !== 'zz-link'));
    expect(collected.refused['zz-link']).toContain('symlink-in-path');
    expect(report.killed).toEqual([]);
  });

  it('leaves the same trees behind, keeping the sandbox a live task shares', async () => {
    const left = async (agent: DenseAgent): Promise<string[]> =>
      [...(await snapshotTree(agent.dir))]
        .filter(([p]) => !p.includes('.thermos-gc-trash'))
        // Checkpoints and the link name their agent's own directory: compare them relative to it.
        .map(([p, what]) => `${p} ${p.startsWith('thermos/checkpoints/') ? what.split(':')[0] : what.replace(agent.dir, '<agent>')}`);
    const [ta, tb] = await Promise.all([left(a), left(b)]);
    expect(tb).toEqual(ta);
    expect(ta.some((l) => l.startsWith('sandboxes/with-live/data.bin'))).toBe(true);
    expect(ta.some((l) => l.startsWith('sandboxes/pair'))).toBe(false);
    for (const kept of ['outside/zz-outside/data.bin', 'outside/linked/zz-link/data.bin']) expect(ta.some((l) => l.startsWith(kept)), kept).toBe(true);
  });

  it('frees the same bytes and inodes, and refuses the same sandbox', () => {
    expect(collected.freed_bytes).toBe(report.bytesFreed);
    expect(collected.freed_inodes).toBe(report.inodesFreed);
    expect(report.refused).toContainEqual(expect.objectContaining({ taskId: 'zz-twin', reason: 'shared-with-kept-task' }));
    expect(collected.refused['zz-twin']).toContain('shared-with-kept-task');
    for (const id of ['zz-outside', 'zz-relative', 'zz-link']) {
      expect(report.refused.some((r) => r.taskId === id), id).toBe(true);
      expect(collected.refused[id], id).toBeDefined();
    }
  });
});
