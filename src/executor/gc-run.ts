// One GC run (domain.md §6): scan → reconcile → kill → rescan → delete → tell the scheduler.
// Decisions come from the pure core; this module executes them over the injected services and
// records what actually happened to each task (never "assume removed").
import type { Logger } from 'pino';
import type { TaskPathFacts, TaskRef } from '../core/facts.js';
import type { Clock, Driver } from '../core/ports.js';
import { encodeSchedulerMessageDeletedTasks } from '../core/aurora-messages.js';
import { describeKillBudgetExceeded, type KillBudgetExceeded } from '../core/kill-budget.js';
import { deletedTasksToReport, describePlanItem, planGarbageCollection, type PlanItem } from '../core/reconcile.js';
import type { GcConfig } from '../config.js';
import { ThermosGcError, errorMessage } from '../errors.js';
import { cpuSecondsBetween, sampleCpu, type CpuSample, type CpuSeconds } from '../io/cpu-usage.js';
import { deleteTasks } from './delete-tasks.js';
import { scanAndDecide } from './gc-scan.js';
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
  /** `scan` includes each task's decision (made as its facts are read); `reconcile` is the status updates sent. */
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

  // Scan and reconcile: each task is decided as its facts are read; only its paths are kept.
  const repeats = deps.repeats ?? new RepeatedWarnings();
  const debug = log.isLevelEnabled('debug');
  // Tasks to delete whatever their executor's state, with why: all a run keeps of their decision.
  const localGc = new Map<string, string>();
  const { tasks, plan, compactor, seenActive, rejectedNames } = await scanAndDecide(services, {
    roots,
    log,
    repeats,
    decide: {
      retained: input.retained,
      startMs: input.startMs,
      minimumKillAgeMs: config.minimumKillAgeMs,
      killBudget: config.killBudget,
      // Most tasks need nothing: their items are logged (at debug) and not kept.
      onNoAction: (i) => {
        if (debug) log.debug({ taskId: i.taskId, reason: i.reason }, describePlanItem(i));
      },
      onLocalGc: (i) => localGc.set(i.taskId, i.reason),
    },
  });
  const seenTotal = tasks.size;
  const t1 = clock.now();

  // Report what the scheduler has wrong.
  for (const u of plan.updates) {
    log.info({ taskId: u.taskId, reason: u.reason, state: u.mesosState }, describePlanItem(u));
    driver.sendStatusUpdate({ taskId: u.taskId, state: u.mesosState, message: u.message });
  }
  // Each list of the plan is dropped once acted on: what the deletion needs is in the sets below.
  const updatesSent = plan.updates.length;
  plan.updates = [];
  const remoteGc = ids(plan.remoteGc);
  plan.remoteGc = [];
  if (plan.killBudgetExceeded !== undefined) {
    metrics.kill_budget_exceeded++;
    log.error({ ...plan.killBudgetExceeded }, describeKillBudgetExceeded(plan.killBudgetExceeded));
  }
  const t2 = clock.now();

  // Kill; a stale task whose kill failed is deleted instead.
  const killReasons = new Map<string, string>(plan.terminate.map((i) => [i.taskId, i.reason]));
  const staleIfKillFails = new Set(plan.staleIfKillFails.map((s) => s.taskId));
  const killed: string[] = [];
  const killFailed: string[] = [];
  // One batch: one process snapshot for all of them, kills of different tasks side by side.
  const toKill = plan.terminate.filter((t) => tasks.has(t.taskId));
  const outcomes = await services.killTasks(toKill.map((t) => toRef(tasks.get(t.taskId) as TaskRef)), 'kill');
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
        localGc.set(t.taskId, 'stale-checkpoint');
      }
    }
  }
  plan.terminate = [];
  plan.staleIfKillFails = [];
  const t3 = clock.now();

  // Rescan: the kills moved tasks to finished. The path facts are updated in place (a killed
  // task's file is now under finished/): no second copy of them for the deletion.
  const after = await services.listTasks(roots);
  const finishedAfter = new Set<string>();
  const presentAfter = new Set<string>();
  const missing: TaskRef[] = [];
  // Each ref is let go as it is read: the new listing's copies never all outlive the loop.
  const refs: Array<TaskRef | undefined> = after.refs;
  after.refs = [];
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i] as TaskRef;
    refs[i] = undefined;
    const f = tasks.get(ref.taskId);
    // The scan's own id strings, not the new listing's: the listing is dropped after this loop.
    const id = f?.taskId ?? ref.taskId;
    presentAfter.add(id);
    if (ref.state === 'finished') finishedAfter.add(id);
    // Facts for tasks that appeared between the scans (finished meanwhile, say) are read below.
    if (f === undefined) missing.push(ref);
    else if (f.state !== ref.state) f.state = ref.state;
  }
  // Only the executors of tasks still here: the deletion reads the finished ones' links, the
  // warning the active ones'.
  const linked = await linkedOrUnknown(services, log, presentAfter);
  if (linked !== undefined) {
    for (const id of presentAfter) if (!finishedAfter.has(id) && !linked.has(id)) repeats.warn(log, id, { taskId: id }, 'active task had its executor sandbox pulled');
  }
  // Links unknown: collect only what reconciliation marked, never (finished - linked).
  const gcPlan = planGarbageCollection({
    finishedAfterKills: linked === undefined ? new Set() : finishedAfter,
    linked: linked ?? new Set(),
    localGc: localGc.keys(),
    retained: input.retained,
    remoteGc,
  });
  // Done with: cleared rather than left to the end of the run (the deletion is its longest phase).
  finishedAfter.clear();
  const linksUnknown = linked === undefined;
  linked?.clear();
  if (missing.length > 0) for (const f of await services.readFacts(missing)) tasks.set(f.taskId, compactor.of(f));

  // From here on a task that stays is only its record in `kept`, for the policy to read its sandbox.
  const going = new Set(gcPlan.garbageCollect);
  const kept: TaskPathFacts[] = [];
  for (const [id, f] of tasks) {
    if (going.has(id)) continue;
    if (presentAfter.has(id)) kept.push(f);
    tasks.delete(id);
  }
  presentAfter.clear();
  going.clear();
  const outcome = await deleteTasks(
    {
      ids: gcPlan.garbageCollect,
      facts: tasks,
      kept,
      reasonOf: (id) => localGc.get(id) ?? killReasons.get(id) ?? 'finished-unlinked',
      ...(input.signal === undefined ? {} : { signal: input.signal }),
    },
    services,
    log,
  );
  const t4 = clock.now();
  const refused = outcome.refused;

  // Only tasks whose deletion actually happened are reported (scheduler-only ones always are).
  // Plus what disk-pressure GC deleted since the last run that the last scheduler view knew.
  const deletedTasks = [...new Set([...deletedTasksToReport(input.retained, outcome.deleted, remoteGc), ...(input.alsoDeleted ?? [])])].sort();
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
    updatesSent,
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
  if (linksUnknown) report.linksUnknown = true;

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
      linksUnknown,
      phaseMs: report.phaseMs,
      cpuSeconds: report.cpuSeconds,
    },
    'garbage collection finished',
  );
  return report;
}

/** The linked executors, or undefined (logged) when they cannot be known. */
async function linkedOrUnknown(services: GcServices, log: Logger, of: ReadonlySet<string>): Promise<Set<string> | undefined> {
  try {
    return await services.linkedExecutors(of);
  } catch (err) {
    const code = err instanceof ThermosGcError ? err.code : undefined;
    log.error({ code, err: errorMessage(err) }, 'cannot tell which executors Mesos keeps: deleting only tasks reconciliation marked (local_gc)');
    return undefined;
  }
}

function toRef(f: TaskRef): TaskRef {
  return { taskId: f.taskId, root: f.root, state: f.state };
}
