// Where a task's logs are (domain.md §2). With a log_dir from the runner header the logs are
// `<log_dir>/<process>/<run>/{stdout,stderr}`; old checkpoints keep them in `<root>/logs/<task_id>/`.
//
// Ownership: with a log_dir we own only the stdout/stderr files we name. The run, process and
// log_dir directories are listed after them (deepest first) and the deleter removes a log
// directory only when it is empty, so anything else that lives there (another task sharing the
// log_dir, rotated logs) keeps it in place. The legacy `<root>/logs/<task_id>` tree is named
// after the task and is the task's own: the deleter removes it recursively.
import path from 'node:path';
import type { TaskPathFacts } from '../core/facts.js';
import { isStrictlyInside, normaliseAbsolute } from '../core/sandbox-policy.js';
import { isSafePathComponent, isSafeTaskId } from '../core/task-id.js';

export const LOG_FILES: readonly string[] = ['stdout', 'stderr'];
const LEGACY_LOGS_DIR = 'logs';

/** `<root>/logs/<taskId>`: the pre-log_dir location of a task's logs. */
export function legacyLogTree(root: string, taskId: string): string {
  return path.join(root, LEGACY_LOGS_DIR, taskId);
}

/** True when `p` is a task's own legacy logs tree (`…/logs/<taskId>`): deleted recursively. */
export function isLegacyLogTree(p: string, taskId: string): boolean {
  return path.basename(p) === taskId && path.basename(path.dirname(p)) === LEGACY_LOGS_DIR && isSafeTaskId(taskId);
}

/**
 * The log paths to delete for one task, files before the directories that hold them. A
 * relative log_dir, or a process name that is not one plain path component, names nothing:
 * it cannot be placed safely.
 */
export function taskLogPaths(root: string, facts: TaskPathFacts): string[] {
  if (facts.logDir === undefined || facts.logDir === '') {
    return isSafeTaskId(facts.taskId) ? [legacyLogTree(root, facts.taskId)] : [];
  }
  if (!path.isAbsolute(facts.logDir)) return [];
  const logDir = path.normalize(facts.logDir).replace(/(.)\/+$/, '$1');
  // Logs inside the sandbox (Aurora's `<sandbox>/.logs`) go with the sandbox. Named one by one
  // they would be a kept task's files whenever the sandbox is shared (and so refused).
  const sandbox = facts.sandbox === undefined ? undefined : normaliseAbsolute(facts.sandbox);
  if (sandbox !== undefined && sandbox !== '/' && (logDir === sandbox || isStrictlyInside(logDir, sandbox))) return [];
  const files: string[] = [];
  const runDirs: string[] = [];
  const processDirs: string[] = [];
  const processes = Object.keys(facts.processRuns ?? {}).sort();
  for (const process of processes) {
    if (!isSafePathComponent(process)) continue;
    const runs = facts.processRuns?.[process] ?? 0;
    const processDir = path.join(logDir, process);
    for (let run = 0; run < runs; run++) {
      const runDir = path.join(processDir, String(run));
      for (const f of LOG_FILES) files.push(path.join(runDir, f));
      runDirs.push(runDir);
    }
    if (runs > 0) processDirs.push(processDir);
  }
  return logDir === '/' ? [...files, ...runDirs, ...processDirs] : [...files, ...runDirs, ...processDirs, logDir];
}
