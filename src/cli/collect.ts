// `thermos-gc collect`: deletes finished tasks of one or more checkpoint roots by age, space and
// count (the modern form of Thermos' own `gc`), through the executor's sandbox policy and safe
// parallel deleter. Selection is core/collect-policy; this module scans, measures, asks, deletes.
import { lstat, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { compileConfig, configParseArgsOptions, parseDuration, parseSize, rawConfigFromParsed, type GcConfig } from '../config.js';
import { hasLimit, selectForCollection, type CollectCandidate, type CollectLimits } from '../core/collect-policy.js';
import type { DeletionTarget, TaskFacts } from '../core/facts.js';
import { UsageError, errorMessage } from '../errors.js';
import { createLocalServices } from '../services/local-services.js';
import type { GcServices } from '../services/services.js';
import { taskFilePath } from '../io/checkpoint-paths.js';
import { measureTask, type TaskSizes } from '../io/task-sizes.js';
import { mapBounded } from '../map-bounded.js';
import { createLogger } from '../log.js';
import { formatCollectPlan, formatCollectResult, type CollectJson } from '../report/collect-report.js';
import { createProgress } from '../report/progress.js';
import type { CliIo } from './io.js';

export const COLLECT_HELP = `usage: thermos-gc collect [options] [TASK_ID ...]

Deletes finished Thermos tasks (sandbox, and logs/metadata when asked) of the checkpoint roots.

selection (applied in this order; a task selected by an earlier rule stays selected):
  --max-age DURATION     tasks whose runner checkpoint is older than this (e.g. 7d, 12h)
  --max-space SIZE       keep the newest tasks whose total size fits (e.g. 20G); the older rest go
  --max-tasks N          keep at most N tasks; the oldest beyond go
  TASK_ID ...            only these tasks are candidates. With no --max-* option every named
                         task is selected (reason "named"); with limits, the limits apply within
                         the named tasks only. A named task that is active, linked or unknown is
                         refused and reported.
  Only finished tasks are candidates; tasks whose Mesos executor still has a run directory
  (linked) are skipped unless --include-linked. Sizes are allocated bytes on disk.

what goes (the sandbox always):
  --keep-logs | --delete-logs            default: keep logs
  --keep-metadata | --delete-metadata    default: keep checkpoints and the task file

  --include-linked       also consider tasks whose executor Mesos still keeps
  --dry-run              show the plan and delete nothing
  --yes, -y              delete without asking (otherwise a terminal is needed to confirm)
  --json                 print one JSON object: selected, tasks, deleted, freed_bytes,
                         freed_inodes, refused
  --checkpoint-root DIR  (repeatable) @default /var/run/thermos
  --mesos-root DIR       @default /var/lib/mesos; sandboxes are deleted only under --sandbox-root
                         (default: the Mesos root)
  --delete-parallelism N trees deleted at once

exit status: 0 done (or nothing to do, or declined), 1 some deletion failed or no terminal to
confirm on, 2 bad usage or a missing checkpoint root.
`;

interface CollectOptions {
  config: GcConfig;
  limits: CollectLimits;
  named: string[];
  includeLinked: boolean;
  dryRun: boolean;
  yes: boolean;
  json: boolean;
}

function parseCollectArgs(argv: string[], env: CliIo['env']): CollectOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...configParseArgsOptions(),
        'max-age': { type: 'string' },
        'max-space': { type: 'string' },
        'max-tasks': { type: 'string' },
        'keep-logs': { type: 'boolean' },
        'delete-logs': { type: 'boolean' },
        'keep-metadata': { type: 'boolean' },
        'delete-metadata': { type: 'boolean' },
        'include-linked': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  if (v['keep-logs'] === true && v['delete-logs'] === true) throw new UsageError('--keep-logs and --delete-logs exclude each other');
  if (v['keep-metadata'] === true && v['delete-metadata'] === true) throw new UsageError('--keep-metadata and --delete-metadata exclude each other');
  const limits: CollectLimits = {
    deleteLogs: v['delete-logs'] === true,
    deleteMetadata: v['delete-metadata'] === true,
    named: parsed.positionals.length > 0,
  };
  if (v['max-age'] !== undefined) limits.maxAgeMs = parseDuration(v['max-age'], '--max-age');
  if (v['max-space'] !== undefined) limits.maxSpaceBytes = parseSize(v['max-space'], '--max-space');
  if (v['max-tasks'] !== undefined) {
    if (!/^\d+$/.test(v['max-tasks'])) throw new UsageError(`--max-tasks: '${v['max-tasks']}' is not a whole number`);
    limits.maxTasks = Number(v['max-tasks']);
  }
  return {
    config: compileConfig(rawConfigFromParsed(v), env),
    limits,
    named: [...new Set(parsed.positionals)],
    includeLinked: v['include-linked'] === true,
    dryRun: v['dry-run'] === true,
    yes: v.yes === true,
    json: v.json === true,
  };
}

async function assertRoots(roots: readonly string[]): Promise<void> {
  for (const root of roots) {
    const ok = await stat(root).then((s) => s.isDirectory(), () => false);
    if (!ok) throw new UsageError(`checkpoint root ${root} does not exist or is not a directory`);
  }
}

export interface MeasuredTask {
  facts: TaskFacts;
  ageMs: number;
  sizes: TaskSizes;
}

/** Age from the runner checkpoint's mtime; without one, from the task file's. */
async function ageOf(f: TaskFacts, nowMs: number): Promise<number> {
  let mtime = f.runnerMtimeMs;
  if (mtime === undefined) mtime = await lstat(taskFilePath(f.root, f.state, f.taskId)).then((s) => s.mtimeMs, () => nowMs);
  return Math.max(0, nowMs - mtime);
}

/** Reads a y/yes line from a terminal; anything else (or end of input) is no. */
async function confirm(io: CliIo, question: string): Promise<boolean> {
  io.stderr.write(question);
  const rl = createInterface({ input: io.stdin, terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^\s*(y|yes)\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const opts = parseCollectArgs(argv, io.env);
  if (opts === 'help') {
    io.stdout.write(COLLECT_HELP);
    return 0;
  }
  const { config, limits } = opts;
  await assertRoots(config.checkpointRoots);
  const logger = createLogger({ level: 'warn', stderr: io.stderr });
  const services: GcServices = createLocalServices({ config, logger });
  const nowMs = Date.now();

  const listing = await services.listTasks(config.checkpointRoots);
  const allFacts = await services.readFacts(listing.refs);
  const linked = await services.linkedExecutors();
  const refused: Record<string, string> = {};
  const named = new Set(opts.named);
  for (const id of named) if (!allFacts.some((f) => f.taskId === id)) refused[id] = 'not found in any checkpoint root';

  let linkedSkipped = 0;
  const candidatesFacts: TaskFacts[] = [];
  for (const f of allFacts) {
    if (named.size > 0 && !named.has(f.taskId)) continue;
    if (f.state !== 'finished') {
      if (named.has(f.taskId)) refused[f.taskId] = 'task is active';
      continue;
    }
    if (linked.has(f.taskId) && !opts.includeLinked) {
      if (named.has(f.taskId)) refused[f.taskId] = 'executor still linked (use --include-linked)';
      linkedSkipped++;
      continue;
    }
    candidatesFacts.push(f);
  }

  const measuring = createProgress({ stream: io.stderr, total: candidatesFacts.length, label: 'measuring' });
  const measured: MeasuredTask[] = await mapBounded(candidatesFacts, 8, async (f) => {
    const sizes = await measureTask({ taskId: f.taskId, sandbox: f.sandbox, logPaths: services.logPaths(f), metadataPaths: services.metadataPaths(f) });
    measuring.tick();
    return { facts: f, ageMs: await ageOf(f, nowMs), sizes };
  });
  measuring.done();

  const candidates: CollectCandidate[] = measured.map((m) => ({
    taskId: m.facts.taskId,
    ageMs: m.ageMs,
    sandboxBytes: m.sizes.sandbox.bytes,
    logBytes: m.sizes.logs.bytes,
    metadataBytes: m.sizes.metadata.bytes,
  }));
  const selection = selectForCollection(candidates, limits);
  const result: CollectJson = {
    selected: selection.selected,
    tasks: Object.fromEntries(
      [...candidates]
        .sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0))
        .map((c) => [
          c.taskId,
          { age_s: Math.floor(c.ageMs / 1000), sandbox_bytes: c.sandboxBytes, log_bytes: c.logBytes, metadata_bytes: c.metadataBytes, reason: selection.reasons.get(c.taskId) ?? null },
        ]),
    ),
    deleted: [],
    freed_bytes: 0,
    freed_inodes: 0,
    refused,
  };
  const finish = (code: number, note?: string): number => {
    if (opts.json) io.stdout.write(`${JSON.stringify(result)}\n`);
    else io.stdout.write(formatCollectResult(result, opts.dryRun));
    if (note !== undefined) io.stderr.write(`${note}\n`);
    return code;
  };

  if (!opts.json) io.stdout.write(formatCollectPlan(result, limits, { linkedSkipped, candidates: candidates.length }));
  if (!hasLimit(limits) && named.size === 0) return finish(0, 'no --max-age, --max-space, --max-tasks or task id given: nothing selected');
  if (opts.dryRun || selection.selected.length === 0) return finish(0);
  if (!opts.yes) {
    if (io.stdin.isTTY !== true) return finish(1, 'not deleting: no terminal to confirm on (pass --yes to delete without asking)');
    if (!(await confirm(io, `delete ${selection.selected.length} task(s)? [y/N] `))) return finish(0, 'not deleting: declined');
  }

  await deleteSelection(services, config, allFacts, selection.selected, limits, result, io);
  const failed = selection.selected.filter((id) => !result.deleted.includes(id));
  return finish(failed.length === 0 ? 0 : 1);
}

async function deleteSelection(
  services: GcServices,
  config: GcConfig,
  allFacts: readonly TaskFacts[],
  selected: readonly string[],
  limits: CollectLimits,
  result: CollectJson,
  io: CliIo,
): Promise<void> {
  const chosen = new Set(selected);
  const byId = new Map(allFacts.map((f) => [f.taskId, f]));
  // Kept: every task not selected, active ones included.
  const decisions = services.decideSandboxes(
    selected.map((id) => ({ taskId: id, sandbox: byId.get(id)?.sandbox })),
    allFacts.filter((f) => !chosen.has(f.taskId)).map((f) => ({ taskId: f.taskId, sandbox: f.sandbox })),
  );
  const why = new Map<string, string[]>();
  const note = (id: string, text: string): void => void why.set(id, [...(why.get(id) ?? []), text]);
  for (const r of decisions.refused) note(r.taskId, r.path === undefined ? r.reason : `sandbox ${r.path}: ${r.reason}`);

  const targets: DeletionTarget[] = selected.map((id) => {
    const f = byId.get(id) as TaskFacts;
    const t: DeletionTarget = {
      taskId: id,
      reason: `collect-${result.tasks[id]?.reason ?? 'named'}`,
      logPaths: limits.deleteLogs ? services.logPaths(f) : [],
      metadataPaths: limits.deleteMetadata ? services.metadataPaths(f) : [],
    };
    const sandbox = decisions.approved.get(id);
    if (sandbox !== undefined) t.sandbox = sandbox;
    return t;
  });

  const progress = createProgress({ stream: io.stderr, total: targets.length, label: 'deleting' });
  const chunk = Math.max(1, config.deleteParallelism * 4);
  for (let i = 0; i < targets.length; i += chunk) {
    const part = targets.slice(i, i + chunk);
    const results = await services.deleteTargets(part);
    const byTask = new Map(results.map((r) => [r.taskId, r]));
    for (const t of part) {
      const r = byTask.get(t.taskId);
      if (r === undefined) {
        note(t.taskId, 'deleter returned no result');
        continue;
      }
      result.freed_bytes += r.bytesFreed;
      result.freed_inodes += r.inodesFreed;
      // A log directory others still use is left in place by design: not a refusal.
      for (const x of r.refused) if (!(x.reason === 'not-empty' && t.logPaths.includes(x.path))) note(t.taskId, `${x.path}: ${x.reason}`);
      for (const e of r.errors) note(t.taskId, `error: ${e.message}`);
      const gone = new Set(r.deleted);
      const wanted = [...(t.sandbox === undefined ? [] : [t.sandbox]), ...t.metadataPaths];
      if (r.errors.length === 0 && wanted.length > 0 && wanted.every((p) => gone.has(p))) result.deleted.push(t.taskId);
    }
    progress.tick(part.length);
  }
  progress.done();
  for (const [id, reasons] of why) result.refused[id] = reasons.join('; ');
}
