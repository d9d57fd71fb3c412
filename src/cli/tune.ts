// `thermos-gc tune`: measures this node's scan (list + replay + Mesos walk, the scanner every
// command uses, read-only) for each worker count up to the executor's default cap and a few batch
// sizes, every trial in a child process of its own (dist/src/cli/tune-trial.js) so its peak RSS
// is its own, and recommends the fastest trial whose peak fits the memory budget.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_BATCH_SIZE, MEMORY_BUDGET_SHARE, compileConfig, memoryBudgetBytes, planResources, workerHeapMbFor, type ResourcePlan } from '../config.js';
import { parseInt10 } from '../config-values.js';
import { defaultBatchSizes, recommend, summariseTrials, trialGrid, trialSchedule, type ScheduledTrial, type TrialSample } from '../core/tune-plan.js';
import { ThermosGcError, UsageError, errorMessage } from '../errors.js';
import { readCgroupLimits } from '../io/cgroup-limits.js';
import { formatTuneReport, tuneOutput, type TuneLimits } from '../report/tune-report.js';
import type { CliIo } from './io.js';
import type { TrialRequest, TrialResult } from './tune-trial.js';

const HELP = `usage: thermos-gc tune --checkpoint-root DIR [--checkpoint-root DIR ...] --mesos-root DIR [--json]
                       [--memory-limit SIZE] [--cpu-limit CPUS] [--reps N] [--max-workers N]
                       [--batch-sizes B,B,...]

Measures this node's scan — list the checkpoint roots, replay every runner checkpoint, walk the
Mesos work dir: the scanner every command uses, read-only (nothing is deleted, killed or written
under the roots) — with 0, 1, … workers up to the default the executor derives for this box
(cores, 8, the CPU quota, the memory limit; --max-workers N changes the top), each with batch
sizes ${defaultBatchSizes(DEFAULT_BATCH_SIZE).join(', ')} (--batch-sizes), --reps times each (default 3). One untimed scan first
warms the page cache. Every trial runs in a child process of its own, in this process's cgroup,
so its peak RSS (VmHWM) is its own and the CPU quota applies to it. A scan is timed with the
threads' start, as in a GC run (idle threads exit after 60 s, so a run usually starts them).
Above the default, the executor caps an explicit --workers to what its memory formula fits; the
table says so when the recommendation is above that.

Limits are the cgroup's (memory.limit_in_bytes / memory.max, the CFS quota), or --memory-limit /
--cpu-limit as the executor takes them. A trial fits when its highest peak RSS over its reps is
within the memory budget the executor plans with: ${MEMORY_BUDGET_SHARE * 100}% of the limit, the rest being the page cache
the kernel charges to the same cgroup (the limit itself would leave the cache nothing, and the
executor would be reclaimed or OOM-killed before its heap reached it). With no memory limit
every trial fits. VmHWM counts shared pages (the node binary) too: an upper bound of the charge.
A trial the kernel kills (SIGKILL: the OOM killer, in a cgroup) does not fit; the others go on,
and its scan ms and peak RSS are "killed" in the table, null in --json.

Prints a table (scan ms = median of the reps) and the recommended --workers and --batch-size:
the fitting trial with the lowest scan time. If no trial fits, it says so and recommends 0
workers with the smallest batch, the least memory the scan can use; that is still exit 0 (the
node has been measured). --json prints {"limits", "trials", "recommended"} on stdout instead.
A progress line per trial goes to stderr. Exit 2 on a missing root or bad usage.
`;

const MAX_REPS = 100;
const MAX_TRIAL_WORKERS = 64;

/** The compiled trial entry: beside this module in dist/, or in dist/ when this runs from sources. */
function trialFile(): string {
  const candidates = [new URL('./tune-trial.js', import.meta.url), new URL('../../dist/src/cli/tune-trial.js', import.meta.url)];
  for (const url of candidates) {
    const file = fileURLToPath(url);
    if (existsSync(file)) return file;
  }
  throw new ThermosGcError('ERR_CONFIG', `tune-trial.js not found (run npm run build): looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')}`);
}

async function requireDirectory(flag: string, dir: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${flag} ${dir} does not exist` : `${flag} ${dir}: ${errorMessage(err)}`);
  }
  if (!isDir) throw new UsageError(`${flag} ${dir} is not a directory`);
}

function parseBatchSizes(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw new UsageError(`--batch-sizes: '${text}' is not a comma-separated list of whole numbers`);
  return parts.map((p) => parseInt10(p, '--batch-sizes', 1, 1_000_000));
}

/** Runs one trial in a child process; its stdout is one TrialResult line. */
export function runTrial(file: string, req: TrialRequest): Promise<TrialResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, JSON.stringify(req)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const what = `trial with --workers ${req.workers} --batch-size ${req.batchSize}`;
      // The kernel's OOM killer sends SIGKILL: that trial does not fit, the others may.
      if (signal === 'SIGKILL') {
        resolve({ scanMs: Number.POSITIVE_INFINITY, peakRssBytes: Number.POSITIVE_INFINITY, tasks: 0, linked: 0 });
        return;
      }
      if (code !== 0) {
        const how = signal !== null ? `was killed by ${signal}` : `exited ${code}`;
        reject(new ThermosGcError('ERR_WORKER', `${what} ${how}: ${err.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as TrialResult);
      } catch {
        reject(new ThermosGcError('ERR_WORKER', `${what} printed no result: ${out.trim()} ${err.trim()}`));
      }
    });
  });
}

function limitsOf(plan: ResourcePlan): TuneLimits {
  return {
    memoryLimitBytes: plan.memoryLimitBytes ?? null,
    memoryLimitFrom: plan.memoryLimitFrom,
    memoryBudgetBytes: plan.memoryLimitBytes === undefined ? null : Math.floor(memoryBudgetBytes(plan.memoryLimitBytes)),
    cpuLimit: plan.cpuLimit ?? null,
    cpuLimitFrom: plan.cpuLimitFrom,
    cores: plan.cores,
    defaultWorkers: plan.workers,
    workersThatFit: plan.workersThatFit ?? null,
  };
}

/** One line per trial: redrawn in place on a terminal, one line each on a pipe. */
function progressWriter(stream: CliIo['stderr']): { line(text: string): void; done(): void } {
  const tty = stream.isTTY === true;
  let drawn = false;
  return {
    line(text) {
      stream.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
      drawn = tty;
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'checkpoint-root': { type: 'string', multiple: true },
        'mesos-root': { type: 'string' },
        'memory-limit': { type: 'string' },
        'cpu-limit': { type: 'string' },
        reps: { type: 'string' },
        'max-workers': { type: 'string' },
        'batch-sizes': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const raw = {
    ...(values['checkpoint-root'] === undefined ? {} : { checkpointRoots: values['checkpoint-root'] }),
    ...(values['mesos-root'] === undefined ? {} : { mesosRoot: values['mesos-root'] }),
    ...(values['memory-limit'] === undefined ? {} : { memoryLimitBytes: values['memory-limit'] }),
    ...(values['cpu-limit'] === undefined ? {} : { cpuLimit: values['cpu-limit'] }),
  };
  // Roots and limits as every command reads them (flags over THERMOS_GC_* over defaults).
  const config = compileConfig(raw, io.env);
  const reps = values.reps === undefined ? 3 : parseInt10(values.reps, '--reps', 1, MAX_REPS);
  const batchSizes = values['batch-sizes'] === undefined ? defaultBatchSizes(DEFAULT_BATCH_SIZE) : parseBatchSizes(values['batch-sizes']);
  const maxWorkersFlag = values['max-workers'] === undefined ? undefined : parseInt10(values['max-workers'], '--max-workers', 0, MAX_TRIAL_WORKERS);
  for (const root of config.checkpointRoots) await requireDirectory('--checkpoint-root', root);
  await requireDirectory('--mesos-root', config.mesosRoot);
  const file = trialFile();

  // The box as the executor plans it: its cgroup, with --memory-limit / --cpu-limit over it.
  const box = { cores: availableParallelism(), cgroup: await readCgroupLimits() };
  const plan = planResources(box, { memoryLimitBytes: config.memoryLimitBytes, cpuLimit: config.cpuLimit });
  const limits = limitsOf(plan);
  const grid = trialGrid(maxWorkersFlag ?? plan.workers, batchSizes);
  const schedule = trialSchedule(grid, reps);
  const request = (t: Pick<ScheduledTrial, 'workers' | 'batchSize'>): TrialRequest => ({
    checkpointRoots: [...config.checkpointRoots],
    mesosRoot: config.mesosRoot,
    workers: t.workers,
    batchSize: t.batchSize,
    workerHeapMb: workerHeapMbFor(plan.memoryLimitBytes, t.workers),
  });

  const progress = progressWriter(io.stderr);
  const samples: TrialSample[] = [];
  try {
    progress.line(`warm-up: one untimed scan (workers 0, batch ${DEFAULT_BATCH_SIZE})`);
    const warm = await runTrial(file, request({ workers: 0, batchSize: DEFAULT_BATCH_SIZE }));
    progress.line(`warm-up: ${warm.tasks} tasks, ${warm.linked} linked executors, ${warm.scanMs.toFixed(0)} ms`);
    for (const [i, t] of schedule.entries()) {
      progress.line(`trial ${i + 1}/${schedule.length}: workers ${t.workers}, batch ${t.batchSize}, rep ${t.rep}/${reps}`);
      const r = await runTrial(file, request(t));
      if (!Number.isFinite(r.peakRssBytes)) progress.line(`trial ${i + 1}/${schedule.length}: killed by SIGKILL (the OOM killer?): does not fit`);
      samples.push({ workers: t.workers, batchSize: t.batchSize, scanMs: r.scanMs, peakRssBytes: r.peakRssBytes });
    }
  } finally {
    progress.done();
  }
  const trials = summariseTrials(grid, samples, limits.memoryBudgetBytes ?? undefined);
  const rec = recommend(trials);
  const out = tuneOutput(limits, trials, rec);
  io.stdout.write(values.json ? `${JSON.stringify(out, null, 2)}\n` : formatTuneReport(out, rec, reps));
  return 0;
}
