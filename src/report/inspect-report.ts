// What `thermos-gc inspect` prints: one plain JSON entry per replayed task (every header field,
// status and process run, with state names), and the readable table. Only inspect builds these;
// the scan that plan, collect and the executor share keeps the compact TaskFacts.
import type { TaskRef } from '../core/facts.js';
import type { ProcessRun, RunnerHeader, RunnerState, TaskStatusRecord } from '../core/records.js';
import { processStateName, taskStateName } from '../core/states.js';

export interface InspectEntry {
  root?: string;
  state?: 'active' | 'finished';
  header?: Record<string, unknown>;
  statuses?: Array<Record<string, unknown>>;
  processes?: Record<string, Array<Record<string, unknown>>>;
  error?: string;
}

function headerJson(h: RunnerHeader): Record<string, unknown> {
  return {
    task_id: h.taskId,
    launch_time_ms: h.launchTimeMs,
    sandbox: h.sandbox,
    log_dir: h.logDir,
    hostname: h.hostname,
    user: h.user,
    uid: h.uid,
    ports: h.ports,
  };
}

function statusJson(s: TaskStatusRecord): Record<string, unknown> {
  return {
    state: s.state === undefined ? undefined : taskStateName(s.state),
    timestamp_ms: s.timestampMs,
    runner_pid: s.runnerPid,
    runner_uid: s.runnerUid,
  };
}

function runJson(r: ProcessRun): Record<string, unknown> {
  return {
    seq: r.seq,
    state: processStateName(r.state),
    coordinator_pid: r.coordinatorPid,
    fork_time: r.forkTime,
    start_time: r.startTime,
    pid: r.pid,
    stop_time: r.stopTime,
    return_code: r.returnCode,
  };
}

/** Plain JSON for one replayed task; undefined fields vanish when serialised. */
export function inspectEntry(ref: TaskRef, replayed: RunnerState | { error: string }): InspectEntry {
  if ('error' in replayed) return { root: ref.root, state: ref.state, error: replayed.error };
  const processes: Record<string, Array<Record<string, unknown>>> = {};
  for (const [name, runs] of Object.entries(replayed.processes)) processes[name] = runs.map(runJson);
  const entry: InspectEntry = { root: ref.root, state: ref.state };
  if (replayed.header !== undefined) entry.header = headerJson(replayed.header);
  entry.statuses = replayed.statuses.map(statusJson);
  entry.processes = processes;
  return entry;
}

/** The table printed without --json: one row per task. */
export function formatInspectTable(result: Record<string, InspectEntry>): string {
  const rows: string[][] = [['TASK', 'DIR', 'STATE', 'RUNNERS', 'PROCESSES', 'SANDBOX']];
  for (const [id, e] of Object.entries(result)) {
    if (e.error !== undefined) {
      rows.push([id, e.state ?? '-', 'ERROR', '-', '-', e.error]);
      continue;
    }
    const last = e.statuses?.[e.statuses.length - 1];
    const runners = new Set((e.statuses ?? []).map((s) => s['runner_pid'])).size;
    const procs = Object.entries(e.processes ?? {})
      .map(([n, runs]) => `${n}:${String(runs[runs.length - 1]?.['state'] ?? '?')}${runs.length > 1 ? `x${runs.length}` : ''}`)
      .join(',');
    rows.push([id, e.state ?? '-', String(last?.['state'] ?? '-'), String(runners), procs || '-', String(e.header?.['sandbox'] ?? '-')]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

