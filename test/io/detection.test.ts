import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskFacts } from '../../src/core/facts.js';
import { ThermosGcError } from '../../src/errors.js';
import { detectExecutors, linkedExecutors, linkedTaskIdsSync, scanMesosRoot } from '../../src/io/executor-detector.js';
import { isLegacyLogTree, taskLogPaths } from '../../src/io/log-paths.js';
import { detectTasks, partitionTasks } from '../../src/io/task-detector.js';

let base: string;

async function touch(p: string, text = '{}'): Promise<void> {
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, text);
}

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'thermos-gc-detect-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('detectTasks', () => {
  it('lists active and finished tasks of several roots; first root wins; active wins over finished', async () => {
    const r1 = path.join(base, 'r1');
    const r2 = path.join(base, 'r2');
    await touch(path.join(r1, 'tasks/active/a1'));
    await touch(path.join(r1, 'tasks/active/both'));
    await touch(path.join(r1, 'tasks/finished/both'));
    await touch(path.join(r1, 'tasks/finished/f1'));
    await touch(path.join(r1, 'tasks/finished/.dotted'));
    await mkdir(path.join(r1, 'tasks/finished/a-directory'), { recursive: true });
    await symlink(path.join(r1, 'tasks/finished/f1'), path.join(r1, 'tasks/finished/a-symlink'));
    await touch(path.join(r2, 'tasks/active/f1'));
    await touch(path.join(r2, 'tasks/finished/r2only'));

    const { tasks, rejected } = await detectTasks([r1, r2]);
    expect(tasks).toEqual([
      { taskId: 'a1', root: r1, state: 'active' },
      { taskId: 'both', root: r1, state: 'active' },
      { taskId: '.dotted', root: r1, state: 'finished' },
      { taskId: 'f1', root: r1, state: 'finished' },
      { taskId: 'r2only', root: r2, state: 'finished' },
    ]);
    expect(rejected).toEqual([
      { root: r1, name: 'both', state: 'finished', reason: 'also-active' },
      { root: r2, name: 'f1', state: 'active', reason: 'duplicate', detail: r1 },
    ]);
    const { active, finished } = partitionTasks(tasks);
    expect([...active].sort()).toEqual(['a1', 'both']);
    expect([...finished].sort()).toEqual(['.dotted', 'f1', 'r2only']);
  });

  it('accepts the longest legal file name (255 bytes) as a task id', async () => {
    const r = path.join(base, 'long');
    const longest = 'x'.repeat(255);
    await touch(path.join(r, 'tasks/active', longest));
    const { tasks, rejected } = await detectTasks([r]);
    expect(tasks.map((t) => t.taskId)).toEqual([longest]);
    expect(rejected).toEqual([]);
  });

  it('treats a root without tasks/ as empty', async () => {
    const r = path.join(base, 'empty-root');
    await mkdir(r);
    expect(await detectTasks([r])).toEqual({ tasks: [], rejected: [] });
  });

  it('refuses a missing root or a file as root with ERR_CONFIG naming the path', async () => {
    const missing = path.join(base, 'no-such-root');
    await expect(detectTasks([missing])).rejects.toMatchObject({ code: 'ERR_CONFIG', path: missing });
    const file = path.join(base, 'a-file');
    await touch(file);
    const err = await detectTasks([file]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThermosGcError);
    expect(err).toMatchObject({ code: 'ERR_CONFIG', path: file });
  });
});

describe('detectExecutors / linkedExecutors', () => {
  let mesos: string;
  beforeAll(async () => {
    mesos = path.join(base, 'mesos');
    const ex = (agent: string, fw: string, id: string): string =>
      path.join(mesos, 'slaves', agent, 'frameworks', fw, 'executors', id, 'runs');
    // A live thermos executor: a run dir and `latest` pointing at it.
    await mkdir(path.join(ex('S0', 'F0', 'thermos-live'), 'run-1'), { recursive: true });
    await symlink('run-1', path.join(ex('S0', 'F0', 'thermos-live'), 'latest'));
    // Collected: only `latest` is left, dangling.
    await mkdir(ex('S0', 'F0', 'thermos-collected'), { recursive: true });
    await symlink('run-gone', path.join(ex('S0', 'F0', 'thermos-collected'), 'latest'));
    // Only `latest`, pointing at a directory elsewhere: still collected.
    await mkdir(ex('S0', 'F0', 'thermos-latest-dir'), { recursive: true });
    await mkdir(path.join(base, 'elsewhere'), { recursive: true });
    await symlink(path.join(base, 'elsewhere'), path.join(ex('S0', 'F0', 'thermos-latest-dir'), 'latest'));
    // Not a thermos executor.
    await mkdir(path.join(ex('S0', 'F0', 'aurora.gc'), 'run-9'), { recursive: true });
    // Another agent and framework, two runs.
    await mkdir(path.join(ex('S1', 'F1', 'thermos-two-runs'), 'r1'), { recursive: true });
    await mkdir(path.join(ex('S1', 'F1', 'thermos-two-runs'), 'r2'), { recursive: true });
    // A stray file where a run would be: not a run.
    await touch(path.join(ex('S1', 'F1', 'thermos-file-run'), 'not-a-dir'));
    // The bare prefix names no task.
    await mkdir(path.join(ex('S1', 'F1', 'thermos-'), 'r'), { recursive: true });
  });

  it('finds real run directories only', async () => {
    const runs = await detectExecutors(mesos);
    expect(runs.map((r) => `${r.agentId}/${r.frameworkId}/${r.executorId}/${r.runId}`)).toEqual([
      'S0/F0/aurora.gc/run-9',
      'S0/F0/thermos-live/run-1',
      'S1/F1/thermos-/r',
      'S1/F1/thermos-two-runs/r1',
      'S1/F1/thermos-two-runs/r2',
    ]);
    expect(runs[1]?.path).toBe(path.join(mesos, 'slaves/S0/frameworks/F0/executors/thermos-live/runs/run-1'));
  });

  it('links the task ids of thermos- executors that still have a run', async () => {
    expect([...(await linkedExecutors(mesos))].sort()).toEqual(['live', 'two-runs']);
  });

  it('the scan walk (no record per run, sharded) links the same task ids', async () => {
    // A run kept through a link to a directory still links its task; a dangling one does not.
    const runs = path.join(mesos, 'slaves', 'S1', 'frameworks', 'F1', 'executors');
    await mkdir(path.join(runs, 'thermos-via-link', 'runs'), { recursive: true });
    await mkdir(path.join(base, 'linked-run'), { recursive: true });
    await symlink(path.join(base, 'linked-run'), path.join(runs, 'thermos-via-link', 'runs', 'r1'));
    await mkdir(path.join(runs, 'thermos-dangling', 'runs'), { recursive: true });
    await symlink(path.join(base, 'no-such-run'), path.join(runs, 'thermos-dangling', 'runs', 'r1'));
    const expected = [...(await linkedExecutors(mesos))].sort();
    expect(expected).toEqual(['live', 'two-runs', 'via-link']);
    expect(linkedTaskIdsSync(mesos)).toEqual(expected);
    const sharded = [0, 1, 2].flatMap((index) => linkedTaskIdsSync(mesos, { shard: { index, count: 3 } }));
    expect(sharded.sort()).toEqual(expected);
    // Asked about some ids: the linked ones among them, whether linked through a link or not.
    const only = new Set(['via-link', 'two-runs', 'dangling', 'file-run', 'not-here']);
    expect(linkedTaskIdsSync(mesos, { only })).toEqual(['two-runs', 'via-link']);
    expect([...(await linkedExecutors(mesos))].filter((id) => only.has(id)).sort()).toEqual(['two-runs', 'via-link']);
    expect(linkedTaskIdsSync(mesos, { only: new Set() })).toEqual([]);
    const shardedOnly = [0, 1, 2].flatMap((index) => linkedTaskIdsSync(mesos, { only, shard: { index, count: 3 } }));
    expect(shardedOnly.sort()).toEqual(['two-runs', 'via-link']);
  });

  it('asked about fewer ids than a framework holds executors, looks them up by name and finds what the listing finds', async () => {
    const root = path.join(base, 'probed');
    const executors = path.join(root, 'slaves/S0/frameworks/F0/executors');
    const run = async (id: string, ...runs: string[]): Promise<void> => {
      await mkdir(path.join(executors, id, 'runs'), { recursive: true });
      for (const r of runs) await mkdir(path.join(executors, id, 'runs', r), { recursive: true });
    };
    await run('thermos-live', 'R1');
    await run('thermos-history');
    await symlink('R0', path.join(executors, 'thermos-history/runs/latest'));
    await run('thermos-only-latest-dir', 'latest');
    await run('thermos-x');
    await run('thermos-.', 'R1');
    for (let i = 0; i < 8; i++) await run(`thermos-filler-${i}`, 'R1');
    // An executor dir reached through a link counts; a file of that name does not.
    await mkdir(path.join(base, 'elsewhere-executor/runs/R1'), { recursive: true });
    await symlink(path.join(base, 'elsewhere-executor'), path.join(executors, 'thermos-via-link'));
    await writeFile(path.join(executors, 'thermos-a-file'), '');
    // The same id under a second framework (too few executors there to look up by name).
    await mkdir(path.join(root, 'slaves/S0/frameworks/F1/executors/thermos-history/runs/R2'), { recursive: true });
    const only = new Set(['live', 'history', 'only-latest-dir', 'via-link', 'a-file', 'absent', '.', '', 'x/../thermos-live', 'x/../../../F1/executors/thermos-history']);
    // The path this exercises: the link count says F0 holds at least as many executors as asked.
    const { nlink } = await stat(executors);
    expect(nlink - 2).toBeGreaterThanOrEqual(only.size);
    const listed = [...(await linkedExecutors(root))].filter((id) => only.has(id)).sort();
    expect(listed).toEqual(['.', 'history', 'live', 'via-link']);
    expect(linkedTaskIdsSync(root, { only })).toEqual(listed);
    const sharded = [0, 1, 2].flatMap((index) => linkedTaskIdsSync(root, { only, shard: { index, count: 3 } }));
    expect(sharded.sort()).toEqual(listed);
  });

  it('a missing work dir is empty, and says so', async () => {
    const missing = path.join(base, 'no-mesos');
    expect(await scanMesosRoot(missing)).toEqual({ rootExists: false, executors: [] });
    expect((await linkedExecutors(missing)).size).toBe(0);
    expect((await scanMesosRoot(mesos)).rootExists).toBe(true);
  });
});

describe('taskLogPaths', () => {
  const facts = (over: Partial<TaskFacts>): TaskFacts => ({ taskId: 't1', root: '/var/run/thermos', state: 'finished', statuses: [], ...over });

  it('with a log_dir: files, then run dirs, then process dirs, then the log dir', () => {
    expect(taskLogPaths('/r', facts({ logDir: '/sb/.logs/', processRuns: { web: 2, init: 1, zero: 0 } }))).toEqual([
      '/sb/.logs/init/0/stdout',
      '/sb/.logs/init/0/stderr',
      '/sb/.logs/web/0/stdout',
      '/sb/.logs/web/0/stderr',
      '/sb/.logs/web/1/stdout',
      '/sb/.logs/web/1/stderr',
      '/sb/.logs/init/0',
      '/sb/.logs/web/0',
      '/sb/.logs/web/1',
      '/sb/.logs/init',
      '/sb/.logs/web',
      '/sb/.logs',
    ]);
  });

  it('skips unsafe process names and relative log dirs', () => {
    expect(taskLogPaths('/r', facts({ logDir: '/l', processRuns: { '..': 1, 'a/b': 1, ok: 1 } }))).toEqual([
      '/l/ok/0/stdout',
      '/l/ok/0/stderr',
      '/l/ok/0',
      '/l/ok',
      '/l',
    ]);
    expect(taskLogPaths('/r', facts({ logDir: 'relative/logs', processRuns: { ok: 1 } }))).toEqual([]);
  });

  it('legacy: the task’s own <root>/logs/<task_id> tree', () => {
    const paths = taskLogPaths('/var/run/thermos', facts({ processRuns: { echo: 1 } }));
    expect(paths).toEqual(['/var/run/thermos/logs/t1']);
    expect(isLegacyLogTree(paths[0] as string, 't1')).toBe(true);
    expect(isLegacyLogTree('/var/run/thermos/logs/t1', 't2')).toBe(false);
    expect(isLegacyLogTree('/var/run/thermos/other/t1', 't1')).toBe(false);
    expect(taskLogPaths('/r', facts({ taskId: '..' }))).toEqual([]);
  });
});
