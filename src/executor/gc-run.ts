// One GC run (domain.md §6): scan → reconcile → kill → rescan → delete → tell the scheduler.
// Decisions come from the pure core; this module executes them over the injected services and
// records what actually happened to each task (never "assume removed").
import type { Logger } from 'pino';
import type { TaskFacts, TaskRef } from '../core/facts.js';
import type { Clock, Driver } from '../core/ports.js';
import { encodeSchedulerMessageDeletedTasks } from '../core/aurora-messages.js';
import { describeKillBudgetExceeded, type KillBudgetExceeded } from '../core/kill-budget.js';
import { deletedTasksToReport, describePlanItem, planGarbageCollection, reconcile, type PlanItem } from '../core/reconcile.js';
import { UNUSABLE_CHECKPOINTS_NAMED, type GcConfig } from '../config.js';
import { ThermosGcError, errorMessage } from '../errors.js';
import { cpuSecondsBetween, sampleCpu, type CpuSample, type CpuSeconds } from '../io/cpu-usage.js';
import { deleteTasks } from './delete-tasks.js';
import type { GcMetrics } from './metrics.js';
import { RepeatedWarnings } from './repeated-warnings.js';
import type { GcServices } from '../services/services.js';

export const GC_FINISHED_MESSAGE = 'Garbage collection finished.';

export interface GcRunInput {
  gcTaskId: string;
  retained: ReadonlyMap<string, number>;
  /** When the GC task was received (epoch ms). */
  startMs: number;
  signal?: AbortSignal;
  /** Task ids deleted outside this run (disk-pressure GC) to report in deleted_tasks too. */
  alsoDeleted?: readonly string[];
}

export interface GcRunDeps {
  services: GcServices;
  driver: Driver;
  clock: Clock;
  config: Pick<GcConfig, 'checkpointRoots' | 'minimumKillAgeMs' | 'killBudget'>;
  logger: Logger;
  metrics: GcMetrics;
  /** CPU time of the process so far. @default sampleCpu (process.cpuUsage and /proc/self/stat) */
  cpu?: () => CpuSample;
  /** Warnings of the previous run: the same ones again go to debug. @default none remembered */
  repeats?: RepeatedWarnings;
}

export interface GcRunReport {
  gcTaskId: string;
  seenActive: number;
  seenFinished: number;
  rejectedNames: number;
  updatesSent: number;
  killed: string[];
  killFailed: string[];
  garbageCollect: string[];
  /** Tasks whose metadata is gone after this run. */
  deleted: string[];
  /** Tasks whose deletion did not complete (kept out of deletedTasks). */
  deleteFailed: string[];
  /** The ids sent to the scheduler in SchedulerMessage.deletedTasks. */
  deletedTasks: string[];
  refused: Array<{ taskId: string; path?: string; reason: string }>;
  bytesFreed: number;
  inodesFreed: number;
  killBudgetExceeded?: KillBudgetExceeded;
  /** True when the Mesos work dir was missing (or unreadable): only local_gc was collected. */
  linksUnknown?: boolean;
  phaseMs: { scan: number; reconcile: number; kill: number; delete: number };
  /** CPU seconds the run cost: the process (main thread and workers) and its `ps` children. */
  cpuSeconds: CpuSeconds;
  finishedMessage: string;
  /** In last_gc_run.json: how many entries each long list left out (the lists keep their first LAST_RUN_MAX_IDS). */
  truncated?: Partial<Record<ReportList, number>>;
}

/** The report's lists of task ids (and refusals), which grow with the agent. */
export type ReportList = 'killed' | 'killFailed' | 'garbageCollect' | 'deleted' | 'deleteFailed' | 'deletedTasks' | 'refused';
export const REPORT_LISTS: readonly ReportList[] = ['killed', 'killFailed', 'garbageCollect', 'deleted', 'deleteFailed', 'deletedTasks', 'refused'];


const ids = (items: readonly PlanItem[]): Set<string> => new Set(items.map((i) => i.taskId));

/** Runs one GC task to completion and sends its TASK_FINISHED. */
export async function runGc(input: GcRunInput, deps: GcRunDeps): Promise<GcRunReport> {
  const { services, driver, clock, config, metrics } = deps;
  const log = deps.logger.child({ gcTaskId: input.gcTaskId });
  const roots = config.checkpointRoots;
  const cpu = deps.cpu ?? sampleCpu;
  const cpu0 = cpu();
  const t0 = clock.now();

  // Scan.
  const repeats = deps.repeats ?? new RepeatedWarnings();
  const { facts, seenActive, rejectedNames } = await scan(services, roots, log, repeats);
  const seenTotal = facts.size;
  const t1 = clock.now();

  // Reconcile and report what the scheduler has wrong.
  const plan = reconcile({
    retained: input.retained,
    facts,
    startMs: input.startMs,
    minimumKillAgeMs: config.minimumKillAgeMs,
    killBudget: config.killBudget,
  });
  for (const u of plan.updates) {
    log.info({ taskId: u.taskId, reason: u.reason, state: u.mesosState }, describePlanItem(u));
    driver.sendStatusUpdate({ taskId: u.taskId, state: u.mesosState, message: u.message });
  }
  if (log.isLevelEnabled('debug')) for (const i of plan.noAction) log.debug({ taskId: i.taskId, reason: i.reason }, describePlanItem(i));
  // Most tasks need nothing: their items are not kept for the rest of the run.
  plan.noAction = [];
  if (plan.killBudgetExceeded !== undefined) {
    metrics.kill_budget_exceeded++;
    log.error({ ...plan.killBudgetExceeded }, describeKillBudgetExceeded(plan.killBudgetExceeded));
  }
  const t2 = clock.now();

  // Kill; a stale task whose kill failed is deleted instead.
  const localGc = ids(plan.localGc);
  const reasons = new Map<string, string>([...plan.localGc, ...plan.terminate].map((i) => [i.taskId, i.reason]));
  const staleIfKillFails = new Set(plan.staleIfKillFails.map((s) => s.taskId));
  const killed: string[] = [];
  const killFailed: string[] = [];
  // One batch: one process snapshot for all of them, kills of different tasks side by side.
  const toKill = plan.terminate.filter((t) => facts.has(t.taskId));
  const outcomes = await services.killTasks(toKill.map((t) => toRef(facts.get(t.taskId) as TaskRef)), 'kill');
  for (const [i, t] of toKill.entries()) {
    const outcome = outcomes[i];
    if (outcome?.ok === true) {
      killed.push(t.taskId);
      metrics.kills++;
      log.info({ taskId: t.taskId, reason: t.reason, outcome: outcome.outcome, killedPids: outcome.killedPids }, `killed task: ${describePlanItem(t)}`);
    } else {
      killFailed.push(t.taskId);
      log.error({ taskId: t.taskId, reason: t.reason, err: outcome?.error }, 'could not kill task');
      if (staleIfKillFails.has(t.taskId)) {
        localGc.add(t.taskId);
        reasons.set(t.taskId, 'stale-checkpoint');
      }
    }
  }
  const t3 = clock.now();

  // Rescan: the kills moved tasks to finished. The facts are updated in place (a killed task's
  // file is now under finished/): no second copy of them for the deletion.
  const after = await services.listTasks(roots);
  const linked = await linkedOrUnknown(services, log);
  const finishedAfter = new Set<string>();
  const presentAfter = new Set<string>();
  const missing: TaskRef[] = [];
  for (const ref of after.refs) {
    const f = facts.get(ref.taskId);
    // The facts' own id strings, not the new listing's: the listing is dropped after this loop.
    const id = f?.taskId ?? ref.taskId;
    presentAfter.add(id);
    if (ref.state === 'finished') finishedAfter.add(id);
    else if (linked !== undefined && !linked.has(id)) repeats.warn(log, id, { taskId: id }, 'active task had its executor sandbox pulled');
    // Facts for tasks that appeared between the scans (finished meanwhile, say) are read below.
    if (f === undefined) missing.push(ref);
    else if (f.state !== ref.state) f.state = ref.state;
  }
  after.refs = [];
  // Links unknown: collect only what reconciliation marked, never (finished - linked).
  const gcPlan = planGarbageCollection({
    finishedAfterKills: linked === undefined ? new Set() : finishedAfter,
    linked: linked ?? new Set(),
    localGc,
    retained: input.retained,
    remoteGc: ids(plan.remoteGc),
  });
  if (missing.length > 0) for (const f of await services.readFacts(missing)) facts.set(f.taskId, f);

  // From here on a task that stays is only its sandbox (the policy keeps it); its facts go.
  const going = new Set(gcPlan.garbageCollect);
  const kept: Array<{ taskId: string; sandbox: string | undefined }> = [];
  for (const [id, f] of facts) {
    if (going.has(id)) continue;
    if (presentAfter.has(id)) kept.push({ taskId: id, sandbox: f.sandbox });
    facts.delete(id);
  }
  presentAfter.clear();
  finishedAfter.clear();
  const outcome = await deleteTasks(
    {
      ids: gcPlan.garbageCollect,
      facts,
      kept,
      reasonOf: (id) => reasons.get(id) ?? 'finished-unlinked',
      ...(input.signal === undefined ? {} : { signal: input.signal }),
    },
    services,
    log,
  );
  const t4 = clock.now();
  const refused = outcome.refused;

  // Only tasks whose deletion actually happened are reported (scheduler-only ones always are).
  // Plus what disk-pressure GC deleted since the last run that the last scheduler view knew.
  const deletedTasks = [...new Set([...deletedTasksToReport(input.retained, outcome.deleted, ids(plan.remoteGc)), ...(input.alsoDeleted ?? [])])].sort();
  if (deletedTasks.length > 0) driver.sendFrameworkMessage(encodeSchedulerMessageDeletedTasks(deletedTasks));

  const finishedMessage =
    plan.killBudgetExceeded === undefined
      ? GC_FINISHED_MESSAGE
      : `${GC_FINISHED_MESSAGE} ${describeKillBudgetExceeded(plan.killBudgetExceeded)}.`;
  driver.sendStatusUpdate({ taskId: input.gcTaskId, state: 'TASK_FINISHED', message: finishedMessage });

  const report: GcRunReport = {
    gcTaskId: input.gcTaskId,
    seenActive,
    seenFinished: seenTotal - seenActive,
    rejectedNames,
    updatesSent: plan.updates.length,
    killed,
    killFailed,
    garbageCollect: gcPlan.garbageCollect,
    deleted: outcome.deleted.sort(),
    deleteFailed: outcome.failed.sort(),
    deletedTasks,
    refused,
    bytesFreed: outcome.bytes,
    inodesFreed: outcome.inodes,
    phaseMs: { scan: t1 - t0, reconcile: t2 - t1, kill: t3 - t2, delete: t4 - t3 },
    cpuSeconds: cpuSecondsBetween(cpu0, cpu()),
    finishedMessage,
  };
  if (plan.killBudgetExceeded !== undefined) report.killBudgetExceeded = plan.killBudgetExceeded;
  if (linked === undefined) report.linksUnknown = true;

  repeats.endRun();
  metrics.gc_runs++;
  metrics.tasks_deleted += report.deleted.length;
  metrics.bytes_reclaimed += report.bytesFreed;
  metrics.inodes_reclaimed += report.inodesFreed;
  metrics.refusals += refused.length;
  metrics.scan_ms = report.phaseMs.scan;
  metrics.last_run_duration_ms = clock.now() - t0;
  metrics.last_run_cpu_seconds = report.cpuSeconds.total;
  metrics.last_run_children_cpu_seconds = report.cpuSeconds.children;
  metrics.cpu_seconds_total += report.cpuSeconds.total;
  log.info(
    {
      seenActive: report.seenActive,
      seenFinished: report.seenFinished,
      updates: report.updatesSent,
      killed: killed.length,
      killFailed: killFailed.length,
      deleted: report.deleted.length,
      deleteFailed: report.deleteFailed.length,
      deletedTasks: deletedTasks.length,
      refused: refused.length,
      bytesFreed: report.bytesFreed,
      inodesFreed: report.inodesFreed,
      killBudgetExceeded: report.killBudgetExceeded !== undefined,
      linksUnknown: linked === undefined,
      phaseMs: report.phaseMs,
      cpuSeconds: report.cpuSeconds,
    },
    'garbage collection finished',
  );
  return report;
}

/**
 * Lists and reads every task. Only the facts map leaves: the listing and the array of facts are
 * dropped here, not held for the rest of the run.
 */
async function scan(
  services: GcServices,
  roots: readonly string[],
  log: Logger,
  repeats: RepeatedWarnings,
): Promise<{ facts: Map<string, TaskFacts>; seenActive: number; rejectedNames: number }> {
  const listing = await services.listTasks(roots);
  for (const r of listing.rejected) repeats.warn(log, `${r.root}/${r.name}`, { root: r.root, name: r.name, reason: r.reason }, 'ignoring unsafe task name');
  const facts = new Map<string, TaskFacts>();
  let seenActive = 0;
  const unusable: Record<string, number> = {};
  let unusableCount = 0;
  for (const f of await services.readFacts(listing.refs)) {
    facts.set(f.taskId, f);
    if (f.state === 'active') seenActive++;
    if (f.error === undefined) continue;
    // A checkpoint that cannot be used makes a task look state-less: the first few are named at
    // warn with their code, all of them at debug, and one line counts them by code.
    const code = f.error.code;
    unusable[code] = (unusable[code] ?? 0) + 1;
    const what = { taskId: f.taskId, code, path: f.error.path, err: f.error.message };
    if (unusableCount++ < UNUSABLE_CHECKPOINTS_NAMED) repeats.warn(log, `${f.taskId}/${code}`, what, 'runner checkpoint cannot be used');
    else log.debug(what, 'runner checkpoint cannot be used');
  }
  if (unusableCount > 0) {
    log.warn({ unusableCheckpoints: unusableCount, byCode: unusable, named: Math.min(unusableCount, UNUSABLE_CHECKPOINTS_NAMED) }, 'runner checkpoints that cannot be used (their tasks count as having no states)');
  }
  return { facts, seenActive, rejectedNames: listing.rejected.length };
}

/** The linked executors, or undefined (logged) when they cannot be known. */
async function linkedOrUnknown(services: GcServices, log: Logger): Promise<Set<string> | undefined> {
  try {
    return await services.linkedExecutors();
  } catch (err) {
    const code = err instanceof ThermosGcError ? err.code : undefined;
    log.error({ code, err: errorMessage(err) }, 'cannot tell which executors Mesos keeps: deleting only tasks reconciliation marked (local_gc)');
    return undefined;
  }
}

function toRef(f: TaskRef): TaskRef {
  return { taskId: f.taskId, root: f.root, state: f.state };
}
