// The GC killed with SIGKILL in the middle of a deletion, then started again: the second run
// finishes the job (the half-deleted tree waits in the trash; finishTrash runs at start) and no
// retained task was touched. The first run is a real child process over a real tree.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleStatus } from '../../src/core/states.js';
import { decodeSchedulerMessageDeletedTasks } from '../../src/core/aurora-messages.js';
import { DEFAULT_TRASH_DIR_NAME } from '../../src/io/trash.js';
import { writeTask } from '../helpers/checkpoint-builder.js';
import { addExecutor, addTaskFiles, agentServices, exists, fillDir, gc, makeAgent, recordingLogger, snapshotTree, type Agent } from './agent-fixture.js';
import { compiledRoot } from './build-for-child.js';

const CHILD = path.join(import.meta.dirname, 'gc-child.mjs');
let buildRoot: string;
let agent: Agent | undefined;

beforeAll(async () => {
  buildRoot = await compiledRoot();
}, 120_000);
afterEach(async () => {
  await agent?.cleanup();
  agent = undefined;
});

/** Runs the child until it prints DELETING, then SIGKILLs it. Resolves with what it printed. */
function runAndKill(input: unknown): Promise<{ lines: string[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, buildRoot, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line === 'DELETING') child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === null) reject(new Error(`child exited ${code} before deleting: ${lines.join('\n')}\n${stderr}`));
      else resolve({ lines, signal });
    });
  });
}

describe('SIGKILL in the middle of a deletion', () => {
  it('the next run finishes the half-deleted tree and the task; retained tasks are untouched', async () => {
    const a = (agent = await makeAgent());
    // big: finished, retained as FINISHED, executor collected: to be deleted. 25 dirs x 40 files.
    const big = a.finished('big');
    await writeTask(a.root, big);
    await addTaskFiles(big);
    await addExecutor(a.mesos, 'big', false);
    for (let d = 0; d < 25; d++) {
      const files: Record<string, string> = {};
      for (let f = 0; f < 40; f++) files[`f${f}`] = `${d}/${f}`;
      await fillDir(path.join(a.sandbox('big'), `d${d}`), files);
    }
    // Two tasks that stay: a live one and a finished one whose executor Mesos keeps.
    for (const spec of [a.active('live'), a.finished('kept-fin')]) {
      await writeTask(a.root, spec);
      await addTaskFiles(spec);
      await addExecutor(a.mesos, spec.taskId, true);
    }
    const retained = { big: ScheduleStatus.FINISHED, live: ScheduleStatus.RUNNING, 'kept-fin': ScheduleStatus.FINISHED };
    const keptBefore = {
      live: await snapshotTree(a.sandbox('live')),
      keptFin: await snapshotTree(a.sandbox('kept-fin')),
      ckptLive: await snapshotTree(path.join(a.root, 'checkpoints', 'live')),
      ckptKeptFin: await snapshotTree(path.join(a.root, 'checkpoints', 'kept-fin')),
      logs: await snapshotTree(path.join(a.base, 'logs', 'live')),
    };
    const input = {
      raw: { checkpointRoots: [a.root], mesosRoot: a.mesos, sandboxRoots: [a.sandboxes] },
      retained,
      startMs: a.startMs,
      slowAfter: 300,
    };

    const killed = await runAndKill(input);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.lines.some((l) => l.startsWith('RENAMED '))).toBe(true);
    expect(killed.lines.some((l) => l.startsWith('DONE'))).toBe(false);
    // Mid-deletion: the sandbox left its place, part of it waits in the trash, the task is listed.
    const trash = path.join(a.sandboxes, DEFAULT_TRASH_DIR_NAME);
    expect(await exists(a.sandbox('big'))).toBe(false);
    const leftovers = await readdir(trash);
    expect(leftovers).toHaveLength(1);
    expect((await snapshotTree(path.join(trash, leftovers[0]!))).size).toBeGreaterThan(100);
    expect(await exists(path.join(a.root, 'tasks', 'finished', 'big'))).toBe(true);

    // Started again (the executor runs finishTrash first, then the GC task comes again).
    const { logger } = recordingLogger();
    await agentServices(a.config, logger).finishTrash();
    expect(await readdir(trash)).toEqual([]);
    const second = await gc(a, new Map(Object.entries(retained)), { gcTaskId: 'gc-2' });
    expect(second.report.deleted).toEqual(['big']);
    expect(decodeSchedulerMessageDeletedTasks(second.driver.messages[0]!)).toEqual(['big']);
    expect(await exists(path.join(a.root, 'checkpoints', 'big'))).toBe(false);
    expect(await exists(path.join(a.base, 'logs', 'big'))).toBe(false);

    expect(await snapshotTree(a.sandbox('live'))).toEqual(keptBefore.live);
    expect(await snapshotTree(a.sandbox('kept-fin'))).toEqual(keptBefore.keptFin);
    expect(await snapshotTree(path.join(a.root, 'checkpoints', 'live'))).toEqual(keptBefore.ckptLive);
    expect(await snapshotTree(path.join(a.root, 'checkpoints', 'kept-fin'))).toEqual(keptBefore.ckptKeptFin);
    expect(await snapshotTree(path.join(a.base, 'logs', 'live'))).toEqual(keptBefore.logs);
  });

  it('a run that starts with leftovers in the trash finishes them before anything else (child, no kill)', async () => {
    const a = (agent = await makeAgent());
    const trash = path.join(a.sandboxes, DEFAULT_TRASH_DIR_NAME);
    await fillDir(path.join(trash, 'old.0123456789abcdef'), { 'x/y/z': 'half-deleted', w: 'w' });
    const done = await new Promise<string[]>((resolve, reject) => {
      const input = { raw: { checkpointRoots: [a.root], mesosRoot: a.mesos, sandboxRoots: [a.sandboxes] }, retained: {}, startMs: a.startMs, slowAfter: 1e9 };
      const child = spawn(process.execPath, [CHILD, buildRoot, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const lines: string[] = [];
      createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
      child.on('exit', (code) => (code === 0 ? resolve(lines) : reject(new Error(`exit ${code}`))));
    });
    expect(done.at(-1)).toBe('DONE []');
    expect(await readdir(trash)).toEqual([]);
  });
});
