// Executors Mesos still keeps: `slaves/*/frameworks/*/executors/*/runs/*` under the work dir.
// `runs/latest` is a symlink to the newest run; an executor with nothing else under runs/ has
// had its run directories collected by Mesos and no longer counts.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';

export interface ExecutorRun {
  agentId: string;
  frameworkId: string;
  executorId: string;
  runId: string;
  /** Absolute path of the run directory. */
  path: string;
}

export interface MesosScan {
  /** False when the work dir does not exist (an agent that has not run anything yet): worth a log line. */
  rootExists: boolean;
  executors: ExecutorRun[];
}

export const THERMOS_EXECUTOR_PREFIX = 'thermos-';
const LATEST = 'latest';

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Every real run directory under the Mesos work dir, sorted by path. */
export async function scanMesosRoot(mesosRoot: string): Promise<MesosScan> {
  const root = path.resolve(mesosRoot);
  if (!(await isDirectory(root))) return { rootExists: false, executors: [] };
  // Symlinks are followed so that a run kept through a linked directory still protects its
  // task (erring towards keeping); `latest` is excluded by name whatever it points to.
  const found = await fg('slaves/*/frameworks/*/executors/*/runs/*', {
    cwd: root,
    onlyDirectories: true,
    followSymbolicLinks: true,
    dot: true,
  });
  const executors: ExecutorRun[] = [];
  for (const rel of found) {
    const parts = rel.split('/');
    const [, agentId, , frameworkId, , executorId, , runId] = parts;
    if (parts.length !== 8 || agentId === undefined || frameworkId === undefined) continue;
    if (executorId === undefined || runId === undefined || runId === LATEST) continue;
    executors.push({ agentId, frameworkId, executorId, runId, path: path.join(root, rel) });
  }
  executors.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { rootExists: true, executors };
}

/** Real run directories; a missing work dir gives an empty list (use scanMesosRoot to tell). */
export async function detectExecutors(mesosRoot: string): Promise<ExecutorRun[]> {
  return (await scanMesosRoot(mesosRoot)).executors;
}

/** Task ids whose `thermos-<task_id>` executor still has at least one real run directory. */
export function linkedTaskIds(executors: readonly ExecutorRun[]): Set<string> {
  const linked = new Set<string>();
  for (const e of executors) {
    if (e.executorId.startsWith(THERMOS_EXECUTOR_PREFIX) && e.executorId.length > THERMOS_EXECUTOR_PREFIX.length) {
      linked.add(e.executorId.slice(THERMOS_EXECUTOR_PREFIX.length));
    }
  }
  return linked;
}

export async function linkedExecutors(mesosRoot: string): Promise<Set<string>> {
  return linkedTaskIds(await detectExecutors(mesosRoot));
}
