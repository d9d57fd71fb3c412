// A small agent on disk for the GC run and `plan` tests: a checkpoint root, a Mesos work dir with
// linked and pulled executors, sandboxes and logs. Every case of domain.md §6 that touches files.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compileConfig, type GcConfig } from '../../src/config.js';
import { ScheduleStatus } from '../../src/core/states.js';
import { typicalActiveTask, typicalFinishedTask, writeTask, type TaskSpec } from '../helpers/checkpoint-builder.js';

const HOUR = 3_600_000;

export interface Tree {
  base: string;
  root: string;
  mesos: string;
  startMs: number;
  config: GcConfig;
  retained: Map<string, number>;
  sandbox(taskId: string): string;
  cleanup(): Promise<void>;
}

async function executor(mesos: string, taskId: string, linked: boolean): Promise<void> {
  const runs = path.join(mesos, 'slaves', 'S0', 'frameworks', 'F0', 'executors', `thermos-${taskId}`, 'runs');
  await mkdir(runs, { recursive: true });
  if (linked) {
    await mkdir(path.join(runs, 'R1'));
    await symlink('R1', path.join(runs, 'latest'));
  } else {
    // Mesos collected the run directory: only the dangling `latest` link is left.
    await symlink('R1', path.join(runs, 'latest'));
  }
}

export async function buildTree(): Promise<Tree> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'gc-tree-'));
  const root = path.join(base, 'ckpt');
  const mesos = path.join(base, 'mesos');
  await mkdir(path.join(root, 'tasks', 'active'), { recursive: true });
  await mkdir(path.join(root, 'tasks', 'finished'), { recursive: true });
  const startMs = Date.now();
  const launchTimeMs = startMs - 2 * HOUR;
  const mtimeMs = startMs - HOUR;
  const sandbox = (id: string): string => path.join(mesos, 'sandboxes', id);

  const write = async (spec: TaskSpec, sandboxDir: string): Promise<void> => {
    await writeTask(root, spec);
    await mkdir(sandboxDir, { recursive: true });
    await writeFile(path.join(sandboxDir, 'data.bin'), Buffer.alloc(4096, 1));
    const logDir = spec.header?.logDir;
    if (logDir !== undefined) {
      await mkdir(path.join(logDir, 'hello', '0'), { recursive: true });
      await writeFile(path.join(logDir, 'hello', '0', 'stdout'), 'out\n');
      await writeFile(path.join(logDir, 'hello', '0', 'stderr'), '');
    }
  };
  const opts = (id: string, sb = sandbox(id)) => ({ launchTimeMs, mtimeMs, sandbox: sb, logDir: path.join(base, 'logs', id), runnerPid: 999_999 });

  await write(typicalFinishedTask('kept-linked', opts('kept-linked')), sandbox('kept-linked'));
  await executor(mesos, 'kept-linked', true);
  await write(typicalFinishedTask('pulled', opts('pulled')), sandbox('pulled'));
  await executor(mesos, 'pulled', false);
  await write(typicalFinishedTask('unretained-linked', opts('unretained-linked')), sandbox('unretained-linked'));
  await executor(mesos, 'unretained-linked', true);
  await write(typicalActiveTask('active-linked', opts('active-linked')), sandbox('active-linked'));
  await executor(mesos, 'active-linked', true);
  await write(typicalFinishedTask('shared', opts('shared', sandbox('active-linked'))), sandbox('active-linked'));
  await write({ taskId: 'corrupt', state: 'active', statuses: [], runnerBytes: Buffer.from([0, 0, 0, 9, 1]), mtimeMs }, sandbox('corrupt'));
  await write(typicalActiveTask('stray', opts('stray')), sandbox('stray'));
  await executor(mesos, 'stray', false);

  const retained = new Map<string, number>([
    ['kept-linked', ScheduleStatus.FINISHED],
    ['pulled', ScheduleStatus.FINISHED],
    ['active-linked', ScheduleStatus.RUNNING],
    ['shared', ScheduleStatus.FINISHED],
    ['stray', ScheduleStatus.KILLED],
    ['ghost-term', ScheduleStatus.LOST],
    ['ghost-live', ScheduleStatus.RUNNING],
    ['ghost-starting', ScheduleStatus.ASSIGNED],
  ]);
  const config = { ...compileConfig({ checkpointRoots: [root], mesosRoot: mesos, sandboxRoots: [path.join(mesos, 'sandboxes')] }), workers: 0 };
  return { base, root, mesos, startMs, config, retained, sandbox, cleanup: () => rm(base, { recursive: true, force: true }) };
}

/** The retained map as `plan --retained` reads it. */
export function retainedJson(retained: ReadonlyMap<string, number>): string {
  const names = Object.fromEntries(Object.entries(ScheduleStatus).map(([k, v]) => [v, k]));
  return JSON.stringify(Object.fromEntries([...retained].map(([id, s]) => [id, names[s]])));
}
