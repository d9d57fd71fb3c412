// `thermos-gc plan`: what a GC task with the given scheduler map would do on this node, with no
// side effects (nothing is killed, deleted or sent). Scans through the same services as a run
// (the pool, or inline with `--workers 0`), and applies the same pure decisions, assuming every
// kill and deletion succeeds.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { compileConfig, configParseArgsOptions, rawConfigFromParsed, type GcConfig } from '../config.js';
import { describePlanItem, planGarbageCollection, reconcile, type PlanItem, type ReconcilePlan } from '../core/reconcile.js';
import type { FactsReading } from '../core/facts.js';
import { describeKillBudgetExceeded } from '../core/kill-budget.js';
import { parseScheduleStatus, scheduleStatusName } from '../core/states.js';
import { UsageError, errorMessage } from '../errors.js';
import { quietLogger } from '../services/quiet-logger.js';
// The scan's jobs run here unless --workers: loaded with the command in one pass of the module
// loader, not in a second one when the first batch is sent (~15 ms of every plan).
import '../pool/jobs.js';
import { createServices } from '../pool/pool-services.js';
import { oneShotScanConfig, type CliIo } from './io.js';
import { FOR_RECONCILE, scanRoots, type PlanScan } from './scan-roots.js';

const HELP = `usage: thermos-gc plan --checkpoint-root DIR [--checkpoint-root DIR ...] --mesos-root DIR
                       --retained FILE|- [--now EPOCH_S] [--minimum-kill-age DUR] [--json]

Shows what a GC task would do, with no side effects. --retained is the scheduler's view as JSON,
{"task_id": "RUNNING", ...} (ScheduleStatus names); '-' reads it from stdin. --now (epoch
seconds, default now) is when the GC task is taken to be received. Checkpoints are read on this
thread unless --workers N (or THERMOS_GC_WORKERS) asks for worker threads.
`;

export interface PlanOutput {
  terminate: string[];
  local_gc: string[];
  remote_gc: string[];
  updates: Record<string, string>;
  garbage_collect: string[];
  deleted_tasks: string[];
  kill_budget_exceeded?: { would_kill: number; active: number; budget: number; why: string };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses `{"task_id": "RUNNING", ...}` into task id → ScheduleStatus value. */
export function parseRetainedJson(text: string, source: string): Map<string, number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--retained ${source}: not valid JSON (${errorMessage(err)})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--retained ${source}: expected an object of task id → ScheduleStatus name`);
  }
  const out = new Map<string, number>();
  const obj = parsed as Record<string, unknown>;
  // for-in over JSON.parse's own plain object: no array of [key, value] pairs for 10,000 tasks.
  for (const taskId in obj) {
    const name = obj[taskId];
    const status = typeof name === 'string' ? parseScheduleStatus(name) : undefined;
    if (status === undefined) throw new UsageError(`--retained ${source}: task ${JSON.stringify(taskId)} has unknown status ${JSON.stringify(name)}`);
    out.set(taskId, status);
  }
  return out;
}

export type { PlanScan } from './scan-roots.js';

/** Nothing is deleted: the decisions' facts only, not the paths a deletion would need. */
const PLAN_READING: FactsReading = Object.freeze({ ...FOR_RECONCILE, withoutPaths: true });

/**
 * Reads what the plan of the scheduler's map `retained` reads: the local tasks' facts and the
 * linked executors, less what in-sync active tasks would need (scan-roots.ts); without a map,
 * every task's. A missing root is a usage error. `reading`: what of each checkpoint (default: no
 * paths; FOR_RECONCILE for the facts a GC run's scan has).
 */
export async function scanForPlan(config: GcConfig, retained?: ReadonlyMap<string, number>, reading: FactsReading = PLAN_READING): Promise<PlanScan> {
  const services = createServices(config, quietLogger());
  try {
    return await scanRoots(services, config, retained, reading);
  } finally {
    await services.close();
  }
}

/** The plan of one GC task, as `plan --json` prints it. */
export function planOutput(
  scan: PlanScan,
  retained: ReadonlyMap<string, number>,
  startMs: number,
  config: Pick<GcConfig, 'minimumKillAgeMs' | 'killBudget'>,
): { plan: ReconcilePlan; output: PlanOutput } {
  const plan = reconcile({
    retained,
    facts: scan.facts,
    inSyncActive: scan.inSyncActive,
    startMs,
    minimumKillAgeMs: config.minimumKillAgeMs,
    killBudget: config.killBudget,
  });
  const finished = new Set<string>();
  for (const f of scan.facts.values()) if (f.state === 'finished') finished.add(f.taskId);
  for (const t of plan.terminate) finished.add(t.taskId);
  const gc = planGarbageCollection({
    finishedAfterKills: finished,
    linked: scan.linked,
    localGc: new Set(plan.localGc.map((i) => i.taskId)),
    retained,
    remoteGc: new Set(plan.remoteGc.map((i) => i.taskId)),
  });
  const sorted = (items: readonly PlanItem[]): string[] => items.map((i) => i.taskId).sort();
  const updates: Record<string, string> = {};
  for (const u of [...plan.updates].sort((a, b) => (a.taskId < b.taskId ? -1 : 1))) updates[u.taskId] = scheduleStatusName(u.scheduleStatus);
  const output: PlanOutput = {
    terminate: sorted(plan.terminate),
    local_gc: sorted(plan.localGc),
    remote_gc: sorted(plan.remoteGc),
    updates,
    garbage_collect: gc.garbageCollect,
    deleted_tasks: gc.deletedTasks,
  };
  const e = plan.killBudgetExceeded;
  if (e !== undefined) output.kill_budget_exceeded = { would_kill: e.wouldKill, active: e.active, budget: e.budget, why: e.why };
  return { plan, output };
}

function summary(plan: ReconcilePlan, out: PlanOutput, scan: PlanScan): string {
  let active = scan.inSyncActive.length;
  for (const f of scan.facts.values()) if (f.state === 'active') active++;
  const local = scan.facts.size + scan.inSyncActive.length;
  const lines = [
    `local tasks: ${active} active, ${local - active} finished; linked executors (of the tasks that may be deleted): ${scan.linked.size}`,
    `terminate ${out.terminate.length}, local gc ${out.local_gc.length}, remote gc ${out.remote_gc.length}, updates ${Object.keys(out.updates).length}, garbage collect ${out.garbage_collect.length}, reported deleted ${out.deleted_tasks.length}`,
  ];
  if (plan.killBudgetExceeded !== undefined) lines.push(describeKillBudgetExceeded(plan.killBudgetExceeded));
  const decisions: Array<[string, string, PlanItem]> = [
    ...plan.terminate.map((i): [string, string, PlanItem] => [i.taskId, 'kill', i]),
    ...plan.localGc.map((i): [string, string, PlanItem] => [i.taskId, 'delete', i]),
    ...plan.remoteGc.map((i): [string, string, PlanItem] => [i.taskId, 'report deleted', i]),
    ...plan.updates.map((i): [string, string, PlanItem] => [i.taskId, `report ${scheduleStatusName(i.scheduleStatus)}`, i]),
    ...plan.noAction.map((i): [string, string, PlanItem] => [i.taskId, 'leave', i]),
  ].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  lines.push('');
  for (const [taskId, what, i] of decisions) lines.push(`${taskId}: ${what} (${i.reason}): ${describePlanItem(i)}`);
  const gcOnly = out.garbage_collect.filter((id) => !plan.localGc.some((i) => i.taskId === id));
  for (const id of gcOnly) lines.push(`${id}: delete (finished-unlinked): finished locally and Mesos no longer keeps its executor`);
  return `${lines.join('\n')}\n`;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...configParseArgsOptions(),
        retained: { type: 'string' },
        now: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  if (values.help === true) {
    io.stdout.write(HELP);
    return 0;
  }
  const config = oneShotScanConfig(compileConfig(rawConfigFromParsed(values), io.env), values, io.env);
  const retainedArg = values.retained;
  if (typeof retainedArg !== 'string') throw new UsageError('--retained FILE|- is required');
  let startMs = Date.now();
  if (typeof values.now === 'string') {
    const now = Number(values.now);
    if (values.now.trim() === '' || !Number.isFinite(now) || now < 0) throw new UsageError(`--now: '${values.now}' is not epoch seconds`);
    startMs = Math.round(now * 1000);
  }
  // Touch nothing before the inputs are known to be valid.
  let text: string;
  try {
    // One read (fs/promises took four round trips of the thread pool for a 1 MB map): nothing else runs yet.
    text = retainedArg === '-' ? await readAll(io.stdin) : readFileSync(retainedArg, 'utf8');
  } catch (err) {
    throw new UsageError(`--retained ${retainedArg}: ${errorMessage(err)}`);
  }
  const retained = parseRetainedJson(text, retainedArg === '-' ? '(stdin)' : retainedArg);
  const scan = await scanForPlan(config, retained);
  const { plan, output } = planOutput(scan, retained, startMs, config);
  io.stdout.write(values.json === true ? `${JSON.stringify(output, null, 2)}\n` : summary(plan, output, scan));
  return 0;
}
