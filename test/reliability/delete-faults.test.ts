// File-system faults during deletion, through full GC runs (the deleter's injected fs): EACCES,
// EBUSY, ENOSPC and ENOENT races. A task whose deletion did not complete is never reported to
// the scheduler as deleted, the error is logged with its path, and a later run finishes the job.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ScheduleStatus } from '../../src/core/states.js';
import type { GcServices } from '../../src/services/services.js';
import { deleteTargets } from '../../src/io/sandbox-deleter.js';
import { DEFAULT_TRASH_DIR_NAME } from '../../src/io/trash.js';
import { type DeleterFs, nodeDeleterFs } from '../../src/io/tree-remover.js';
import { writeTask } from '../helpers/checkpoint-builder.js';
import { addExecutor, addTaskFiles, agentServices, exists, fillDir, gc, makeAgent, recordingLogger, type Agent } from './agent-fixture.js';

let agent: Agent | undefined;
afterEach(async () => {
  await agent?.cleanup();
  agent = undefined;
});

type Op = 'unlink' | 'rmdir' | 'rename' | 'mkdir';

function errno(code: string, op: string, p: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${op} '${p}'`), { code, path: p });
}

/** The real fs, failing `op` with `code` on paths that match. */
function faultyFs(faults: Array<{ op: Op; match: (p: string) => boolean; code: string }>, hits: string[]): DeleterFs {
  const fail = (op: Op, p: string): void => {
    const f = faults.find((x) => x.op === op && x.match(p));
    if (f !== undefined) {
      hits.push(`${op} ${p}`);
      throw errno(f.code, op, p);
    }
  };
  return {
    ...nodeDeleterFs,
    unlink: async (p) => (fail('unlink', p), nodeDeleterFs.unlink(p)),
    rmdir: async (p) => (fail('rmdir', p), nodeDeleterFs.rmdir(p)),
    rename: async (a, b) => (fail('rename', a), nodeDeleterFs.rename(a, b)),
    mkdir: async (p) => (fail('mkdir', p), nodeDeleterFs.mkdir(p)),
  };
}

function withFs(a: Agent, fs: DeleterFs): (base: GcServices) => GcServices {
  return (base) => ({
    ...base,
    deleteTargets: (targets, signal) =>
      deleteTargets(targets, { allowedRoots: a.config.sandboxRoots, parallelism: 2, fs, ...(signal === undefined ? {} : { signal }) }),
  });
}

/** Finished, retained as FINISHED, executor collected: deleted and reported. */
async function addDeletable(a: Agent, ids: readonly string[]): Promise<Map<string, number>> {
  for (const id of ids) {
    const spec = a.finished(id);
    await writeTask(a.root, spec);
    await addTaskFiles(spec);
    await fillDir(path.join(a.sandbox(id), 'tree', 'a'), { '1': '1', '2': '2' });
    await addExecutor(a.mesos, id, false);
  }
  return new Map(ids.map((id) => [id, ScheduleStatus.FINISHED]));
}

const trashOf = (a: Agent): string => path.join(a.sandboxes, DEFAULT_TRASH_DIR_NAME);

describe('deletion faults in a full GC run', () => {
  it('EACCES on a task file: not reported deleted, error logged with its path; the next run finishes and reports it', async () => {
    const a = (agent = await makeAgent());
    const retained = await addDeletable(a, ['ok', 'stuck']);
    const taskFile = path.join(a.root, 'tasks', 'finished', 'stuck');
    const hits: string[] = [];
    const first = await gc(a, retained, { services: withFs(a, faultyFs([{ op: 'unlink', match: (p) => p === taskFile, code: 'EACCES' }], hits)) });

    expect(hits).toEqual([`unlink ${taskFile}`]);
    expect(first.report.deleted).toEqual(['ok']);
    expect(first.report.deleteFailed).toEqual(['stuck']);
    expect(first.report.deletedTasks).toEqual(['ok']);
    expect(first.lines.some((l) => l.level >= 50 && l.taskId === 'stuck' && l.path === taskFile && /EACCES/.test(l.msg))).toBe(true);
    expect(await exists(taskFile)).toBe(true);

    const second = await gc(a, retained, { gcTaskId: 'gc-2' });
    expect(second.report.deleted).toEqual(['stuck']);
    expect(second.report.deletedTasks).toEqual(['ok', 'stuck']);
    expect(await exists(taskFile)).toBe(false);
  });

  it('EBUSY inside a sandbox: the rest goes, the leftover waits in the trash, finishTrash completes it', async () => {
    const a = (agent = await makeAgent());
    const retained = await addDeletable(a, ['busy', 'fine']);
    const hits: string[] = [];
    const fs = faultyFs([{ op: 'rmdir', match: (p) => p.includes(DEFAULT_TRASH_DIR_NAME) && p.endsWith('/tree/a'), code: 'EBUSY' }], hits);
    const { report, lines } = await gc(a, retained, { services: withFs(a, fs) });

    expect(hits.filter((h) => h.startsWith('rmdir')).length).toBe(2);
    expect(lines.some((l) => l.level >= 50 && /EBUSY/.test(l.msg))).toBe(true);
    expect(await exists(a.sandbox('busy'))).toBe(false);
    expect(await exists(a.sandbox('fine'))).toBe(false);
    expect(report.deleted).toEqual(['busy', 'fine']);
    const left = await readdir(trashOf(a));
    expect(left.length).toBe(2);

    await agentServices(a.config, recordingLogger().logger).finishTrash();
    expect(await readdir(trashOf(a))).toEqual([]);
  });

  it('ENOSPC creating the trash dir: the sandbox is deleted in place', async () => {
    const a = (agent = await makeAgent());
    const retained = await addDeletable(a, ['nospace']);
    const hits: string[] = [];
    const { report } = await gc(a, retained, { services: withFs(a, faultyFs([{ op: 'mkdir', match: () => true, code: 'ENOSPC' }], hits)) });
    expect(hits).toEqual([`mkdir ${trashOf(a)}`]);
    expect(report.deleted).toEqual(['nospace']);
    expect(await exists(a.sandbox('nospace'))).toBe(false);
    expect(await exists(trashOf(a))).toBe(false);
  });

  it('ENOSPC on the rename into the trash: deleted in place too', async () => {
    const a = (agent = await makeAgent());
    const retained = await addDeletable(a, ['norename']);
    const hits: string[] = [];
    const { report } = await gc(a, retained, { services: withFs(a, faultyFs([{ op: 'rename', match: () => true, code: 'ENOSPC' }], hits)) });
    expect(hits).toEqual([`rename ${a.sandbox('norename')}`]);
    expect(report.deleted).toEqual(['norename']);
    expect(report.deletedTasks).toEqual(['norename']);
    expect(await exists(a.sandbox('norename'))).toBe(false);
  });

  it('ENOENT races (someone removes files and dirs first) are not errors', async () => {
    const a = (agent = await makeAgent());
    const retained = await addDeletable(a, ['racy']);
    let stolen = 0;
    // Before each unlink and rmdir, someone else removes the entry.
    const fs: DeleterFs = {
      ...nodeDeleterFs,
      unlink: async (p) => {
        await rm(p, { force: true });
        stolen++;
        return nodeDeleterFs.unlink(p);
      },
      rmdir: async (p) => {
        await rm(p, { recursive: true, force: true });
        stolen++;
        return nodeDeleterFs.rmdir(p);
      },
    };
    const { report, lines } = await gc(a, retained, { services: withFs(a, fs) });
    expect(stolen).toBeGreaterThan(5);
    expect(report.deleted).toEqual(['racy']);
    expect(report.deleteFailed).toEqual([]);
    expect(report.deletedTasks).toEqual(['racy']);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });
});
