// `thermos-gc inspect`: decode and replay every task's runner checkpoint, as JSON or a table.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { replayCheckpoint } from '../core/checkpoint/replay.js';
import type { TaskRef } from '../core/facts.js';
import type { ProcessRun, RunnerHeader, RunnerState, TaskStatusRecord } from '../core/records.js';
import { processStateName, taskStateName } from '../core/states.js';
import { ThermosGcError, UsageError, errorMessage } from '../errors.js';
import { runnerCheckpointPath } from '../io/checkpoint-paths.js';
import { detectTasks } from '../io/task-detector.js';
import { mapBounded } from '../map-bounded.js';
import type { CliIo } from './io.js';

const HELP = `usage: thermos-gc inspect --checkpoint-root DIR [--checkpoint-root DIR ...] [--json] [TASK_ID ...]

Decodes and replays the runner checkpoint of every task under the roots (or only the ids given).
--json prints one object keyed by task id; a checkpoint that cannot be replayed gets "error".
`;

interface InspectEntry {
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

async function replayTask(ref: TaskRef): Promise<RunnerState | { error: string }> {
  const file = runnerCheckpointPath(ref.root, ref.taskId);
  try {
    return replayCheckpoint(await readFile(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { error: `runner checkpoint ${file} does not exist` };
    return { error: errorMessage(err) };
  }
}

function formatTable(result: Record<string, InspectEntry>): string {
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

export async function run(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        'checkpoint-root': { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  if (parsed.values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const roots = parsed.values['checkpoint-root'] ?? [];
  if (roots.length === 0) throw new UsageError('--checkpoint-root is required');
  let detection;
  try {
    detection = await detectTasks(roots);
  } catch (err) {
    if (err instanceof ThermosGcError && err.code === 'ERR_CONFIG') throw new UsageError(err.message);
    throw err;
  }
  const wanted = parsed.positionals;
  const byId = new Map(detection.tasks.map((t) => [t.taskId, t]));
  const refs = wanted.length > 0 ? wanted.flatMap((id) => byId.get(id) ?? []) : detection.tasks;
  const replayed = await mapBounded(refs, 32, replayTask);

  const result: Record<string, InspectEntry> = {};
  const ids = wanted.length > 0 ? wanted : refs.map((r) => r.taskId);
  const entryById = new Map(refs.map((ref, i) => [ref.taskId, inspectEntry(ref, replayed[i]!)]));
  for (const id of ids) {
    Object.defineProperty(result, id, {
      value: entryById.get(id) ?? { error: 'no such task under the checkpoint roots' },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  for (const r of detection.rejected) {
    io.stderr.write(`thermos-gc inspect: skipped ${r.root}/tasks/${r.state}/${JSON.stringify(r.name)}: ${r.reason}${r.detail ? ` (${r.detail})` : ''}\n`);
  }
  io.stdout.write(parsed.values.json ? `${JSON.stringify(result, null, 1)}\n` : formatTable(result));
  return 0;
}
