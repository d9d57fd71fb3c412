// Which pids a kill of a task may signal, from its replayed checkpoint (pure): the last runner,
// and the coordinator and process of every run that has not ended.
import { lastRunnerOf } from './orphans.js';
import type { ProcessRun, RunnerState } from './records.js';
import { isTerminalProcessState } from './states.js';

/** The unfinished last run of every process. */
export function openRuns(state: RunnerState): Array<[string, ProcessRun]> {
  const open: Array<[string, ProcessRun]> = [];
  for (const [name, runs] of Object.entries(state.processes)) {
    const run = runs[runs.length - 1];
    if (run !== undefined && !isTerminalProcessState(run.state)) open.push([name, run]);
  }
  return open;
}

/** The pids a kill of this task may signal: the last runner, and each open run's coordinator and process. */
export function candidatePids(state: RunnerState): number[] {
  const out: number[] = [];
  const runner = lastRunnerOf(state.statuses);
  if (runner !== undefined) out.push(runner.pid);
  for (const [, run] of openRuns(state)) {
    if (run.coordinatorPid !== undefined) out.push(run.coordinatorPid);
    if (run.pid !== undefined) out.push(run.pid);
  }
  return out;
}
