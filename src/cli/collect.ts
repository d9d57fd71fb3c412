// `thermos-gc collect`: deletes finished tasks of one or more checkpoint roots by age, space and
// count (the modern form of Thermos' own `gc`), through the executor's own scan, sandbox policy,
// deletion step and deleter (its options choose what goes; they do not fork the path). Selection
// is core/collect-policy; this module scans, measures, asks, deletes.
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { compileConfig, configParseArgsOptions, parseDuration, parseSize, rawConfigFromParsed, type GcConfig } from '../config.js';
import { hasLimit, selectForCollection, type CollectLimits } from '../core/collect-policy.js';
import type { TaskFacts } from '../core/facts.js';
import { UsageError, errorMessage } from '../errors.js';
import { deleteTasks } from '../executor/delete-tasks.js';
import { createLogger } from '../log.js';
import { quietLogger } from '../services/quiet-logger.js';
// Its scan runs on this thread (scanOnThisThread): the scan's jobs load with the command, in one
// pass of the module loader, not in a second one when the first batch is sent.
import '../pool/jobs.js';
import { createServices, type PooledServices } from '../pool/pool-services.js';
import { formatCollectPlan, notCandidateNotes, formatCollectResult, type CollectJson } from '../report/collect-report.js';
import { createProgress } from '../report/progress.js';
import { collectCandidates, measureInto } from './collect-candidates.js';
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
                         freed_inodes, refused. With --yes and --delete-metadata and no
                         --max-space, a deleted task's sizes are what its deletion freed (its
                         trees are walked once, by the deleter)
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
  const { config } = opts;
  await assertRoots(config.checkpointRoots);
  const logger = createLogger({ level: 'warn', stderr: io.stderr });
  // The executor's scanner, measurer and deleter. The scan runs on this thread (as plan's does:
  // nothing else to serve here); the measuring and deletion on the pool (started only for work
  // larger than one batch), or on this thread too with --workers 0.
  const services = createServices(config, logger, { scanOnThisThread: true });
  try {
    return await collect(opts, services, io);
  } finally {
    await services.close();
  }
}

async function collect(opts: CollectOptions, services: PooledServices, io: CliIo): Promise<number> {
  const { config, limits } = opts;
  const nowMs = Date.now();
  const listing = await services.listTasks(config.checkpointRoots);
  // The threads boot on other cores while this one scans; only finished tasks can be deleted.
  const finishedIds = new Set<string>();
  for (const ref of listing.refs) if (ref.state === 'finished') finishedIds.add(ref.taskId);
  services.startThreadsFor(finishedIds.size);
  // Links are read for finished tasks only: an active one is refused before its link matters.
  const [allFacts, linked] = await Promise.all([services.readFacts(listing.refs), services.linkedExecutors(finishedIds)]);
  const refused: Record<string, string> = {};
  const named = new Set(opts.named);
  const known = new Set(allFacts.map((f) => f.taskId));
  for (const id of named) if (!known.has(id)) refused[id] = 'not found in any checkpoint root';

  let linkedSkipped = 0;
  const eligible: TaskFacts[] = [];
  const others: TaskFacts[] = [];
  for (const f of allFacts) {
    let why: string | undefined;
    if (named.size > 0 && !named.has(f.taskId)) why = '';
    else if (f.state !== 'finished') why = 'task is active';
    else if (linked.has(f.taskId) && !opts.includeLinked) {
      why = 'executor still linked (use --include-linked)';
      linkedSkipped++;
    }
    if (why === undefined) eligible.push(f);
    else {
      others.push(f);
      if (why !== '' && named.has(f.taskId)) refused[f.taskId] = why;
    }
  }

  // Sizes decide nothing and nothing is shown before the deletion: the deleter reports them.
  const sizesFromDeletion = opts.json && opts.yes && !opts.dryRun && limits.deleteMetadata && limits.maxSpaceBytes === undefined;
  const measuring = createProgress({ stream: io.stderr, total: eligible.length, label: 'measuring' });
  const scan = await collectCandidates(services, eligible, others, limits, nowMs, measuring, { measure: !sizesFromDeletion });
  const { candidates } = scan;
  const selection = selectForCollection(candidates, limits);
  if (sizesFromDeletion) {
    // Only the kept candidates are measured (the JSON lists them with their sizes).
    const selected = new Set(selection.selected);
    const keptOnes = candidates.filter((c) => !selected.has(c.taskId)).map((c) => ({ f: scan.facts.get(c.taskId) as TaskFacts, c }));
    if (keptOnes.length > 0) await measureInto(services, keptOnes, others, limits, measuring);
  }
  measuring.done();
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

  const counts = { linkedSkipped, candidates: candidates.length, alreadyCollected: scan.alreadyCollected.length, sandboxUnknown: scan.sandboxUnknown.length };
  if (!opts.json) io.stdout.write(formatCollectPlan(result, limits, counts));
  else for (const line of notCandidateNotes(counts)) io.stderr.write(`${line}\n`);
  if (!hasLimit(limits) && named.size === 0) return finish(0, 'no --max-age, --max-space, --max-tasks or task id given: nothing selected');
  if (opts.dryRun || selection.selected.length === 0) return finish(0);
  if (!opts.yes) {
    if (io.stdin.isTTY !== true) return finish(1, 'not deleting: no terminal to confirm on (pass --yes to delete without asking)');
    if (!(await confirm(io, `delete ${selection.selected.length} task(s)? [y/N] `))) return finish(0, 'not deleting: declined');
  }

  await deleteSelection(services, allFacts, scan.facts, selection.selected, limits, result, io, sizesFromDeletion);
  const done = new Set(result.deleted);
  return finish(selection.selected.every((id) => done.has(id)) ? 0 : 1);
}

/**
 * Deletes the selection through the executor's deletion step (sandbox policy, targets, deleter,
 * outcome), with collect's options choosing what goes. Every task not selected is kept.
 */
async function deleteSelection(
  services: PooledServices,
  allFacts: readonly TaskFacts[],
  facts: ReadonlyMap<string, TaskFacts>,
  selected: readonly string[],
  limits: CollectLimits,
  result: CollectJson,
  io: CliIo,
  sizesFromDeletion: boolean,
): Promise<void> {
  const why = new Map<string, string[]>();
  const note = (id: string, text: string): void => void why.set(id, [...(why.get(id) ?? []), text]);
  const progress = createProgress({ stream: io.stderr, total: selected.length, label: 'deleting' });
  await deleteTasks(
    {
      ids: selected,
      facts,
      kept: allFacts,
      reasonOf: (id) => `collect-${result.tasks[id]?.reason ?? 'named'}`,
      parts: { logs: limits.deleteLogs, metadata: limits.deleteMetadata },
      onTask: (t) => {
        result.freed_bytes += t.bytes;
        result.freed_inodes += t.inodes;
        const entry = result.tasks[t.taskId];
        if (sizesFromDeletion && entry !== undefined && t.freedByKind !== undefined) {
          entry.sandbox_bytes = t.freedByKind.sandbox;
          entry.log_bytes = t.freedByKind.log;
          entry.metadata_bytes = t.freedByKind.metadata;
        }
        for (const r of t.policyRefused) note(t.taskId, r.path === undefined ? r.reason : `sandbox ${r.path}: ${r.reason}`);
        // A log directory others still use is left in place by design: not a refusal.
        for (const x of t.refused) if (x.reason !== 'not-empty') note(t.taskId, `${x.path}: ${x.reason}`);
        for (const e of t.errors) note(t.taskId, `error: ${e.message}`);
        // Done when what identifies the task is gone, its approved sandbox too, with no error.
        if (t.deleted && (!t.sandboxApproved || t.sandboxGone) && t.errors.length === 0) result.deleted.push(t.taskId);
        progress.tick();
      },
    },
    services,
    // Everything deleteTasks would log is in collect's own output (deleted, refused, freed).
    quietLogger(),
  );
  progress.done();
  for (const [id, reasons] of why) result.refused[id] = reasons.join('; ');
}
