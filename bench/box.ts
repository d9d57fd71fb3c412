// Suite "box": the real executor in the box Aurora gives it (128 MB, 0.2 CPU, real cgroups)
// through whole GC runs on a generated agent, against the floor of the same work measured in the
// same run (bench/box-floor.ts). Reports CPU seconds per run against that floor, peak RSS per
// worker count and the sandbox's bytes after each run. `--quick`: one run at 1,000 tasks.
import { fileURLToPath } from 'node:url';
import { AGENT_PRESET_NAMES, type AgentPresetName } from '../src/sim/agent-presets.js';
import { runInBox, type BoxOptions, type BoxResult } from './aurora-box.js';
import { cgroupsUnavailable } from './box-cgroup.js';
import { measureFloor, type FloorResult } from './box-floor.js';
import { printTable, type BenchContext } from './table.js';

const MEMORY_BYTES = 128 * 2 ** 20;
const CPU = 0.2;
const SEED = 11;
// As Aurora starts it (-gc_executor_path).
const BIN = fileURLToPath(new URL('../../bin/thermos-gc-executor', import.meta.url));

export interface BoxRow {
  /** The agent's shape (src/sim/agent-presets.ts). */
  preset: AgentPresetName;
  tasks: number;
  workers: number | 'default';
  runs: number;
  finished: boolean;
  exit: string;
  oomKills: number;
  peakRssMiB: number;
  peakAnonRssMiB: number;
  /** What the executor planned (executor_vars.json). */
  plannedWorkers: number | undefined;
  /** CPU seconds of each GC run as the executor reports them (process + children). */
  runCpuSeconds: number[];
  runWallMs: number[];
  /** Sandbox bytes after each run. */
  sandboxBytesPerRun: number[];
  /** The first run's CPU seconds over the floor's, when the floor was measured at this size. */
  cpuXFloor?: number;
  error?: string;
}

export interface BoxBenchResult {
  skipped?: string;
  floors: Array<FloorResult & { tasks: number; preset: AgentPresetName }>;
  rows: BoxRow[];
}

function totalCpu(cpu: unknown): number {
  const t = (cpu as { total?: unknown } | undefined)?.total;
  return typeof t === 'number' ? t : Number.NaN;
}

function row(r: BoxResult, workers: number | 'default', floor: FloorResult | undefined): BoxRow {
  const runCpuSeconds = r.runs.map((m) => totalCpu(m.cpuSeconds));
  const out: BoxRow = {
    preset: r.options.preset ?? 'dense',
    tasks: r.options.tasks,
    workers,
    runs: r.options.runs,
    finished: r.finished && r.runs.length === r.options.runs,
    exit: r.exit.signal ?? String(r.exit.code),
    oomKills: r.oomKills,
    peakRssMiB: r.peakRssMiB,
    peakAnonRssMiB: r.peakAnonRssMiB,
    plannedWorkers: r.planned?.workers ?? undefined,
    runCpuSeconds,
    runWallMs: r.runs.map((m) => m.wallMs),
    sandboxBytesPerRun: r.runs.map((m) => m.sandboxBytesAfter),
  };
  if (floor !== undefined && runCpuSeconds[0] !== undefined) out.cpuXFloor = runCpuSeconds[0] / floor.cpuSeconds;
  if (r.error !== undefined) out.error = r.error;
  return out;
}

function options(ctx: BenchContext, tasks: number, runs: number, workers: number | undefined, preset: AgentPresetName = 'dense'): BoxOptions {
  const o: BoxOptions = {
    preset, tasks, runs, memoryBytes: MEMORY_BYTES, cpu: CPU, bin: BIN, cgroupPrefix: 'tgc-bench-box-', keep: false, extraArgs: [], seed: SEED, baseDir: ctx.baseDir,
  };
  if (workers !== undefined) o.workers = workers;
  return o;
}

/** One default-config box run at `tasks` on `preset` with its floor: the gate's CPU and peak-RSS measures. */
export async function boxGateRun(ctx: BenchContext, tasks: number, preset: AgentPresetName = 'dense'): Promise<{ floor: FloorResult; row: BoxRow }> {
  const floor = await measureFloor({ tasks, seed: SEED, preset, memoryBytes: MEMORY_BYTES, cpu: CPU, cgroupPrefix: 'tgc-bench-box-', baseDir: ctx.baseDir });
  return { floor, row: row(await runInBox(options(ctx, tasks, 1, undefined, preset)), 'default', floor) };
}

export async function boxBench(ctx: BenchContext): Promise<BoxBenchResult> {
  const skipped = cgroupsUnavailable();
  if (skipped !== undefined) {
    console.log(`\nBox suite skipped: ${skipped}`);
    return { skipped, floors: [], rows: [] };
  }
  const floors: BoxBenchResult['floors'] = [];
  const rows: BoxRow[] = [];
  // Every preset against its own floor (the gate takes the worst); the worker counts and the
  // large agents on the default preset.
  const gateTasks = ctx.quick ? 1_000 : 10_000;
  let denseFloor: FloorResult | undefined;
  for (const preset of AGENT_PRESET_NAMES) {
    const { floor, row: r } = await boxGateRun(ctx, gateTasks, preset);
    floors.push({ ...floor, tasks: gateTasks, preset });
    rows.push(r);
    if (preset === 'dense') denseFloor = floor;
  }
  if (!ctx.quick) {
    rows.push(row(await runInBox(options(ctx, 1_000, 3, undefined)), 'default', undefined));
    rows.push(row(await runInBox(options(ctx, 10_000, 3, undefined)), 'default', denseFloor));
    for (const w of [0, 1, 2, 8]) rows.push(row(await runInBox(options(ctx, 10_000, 1, w)), w, denseFloor));
    rows.push(row(await runInBox(options(ctx, 50_000, 1, undefined)), 'default', undefined));
    rows.push(row(await runInBox(options(ctx, 100_000, 1, undefined)), 'default', undefined));
  }
  const MiB = 2 ** 20;
  printTable(
    'The floor in the box: cat of every runner checkpoint + rm -rf of every collected tree, same limits',
    floors.map((f) => ({ preset: f.preset, tasks: f.tasks, checkpoints: f.checkpoints, 'collected tasks': f.collectedTasks, 'CPU s': f.cpuSeconds, 'wall ms': f.wallMs })),
  );
  printTable(
    `The executor in a ${MEMORY_BYTES / MiB} MiB / ${CPU} CPU cgroup (real limits), whole GC runs`,
    rows.map((r) => ({
      preset: r.preset,
      tasks: r.tasks,
      workers: r.plannedWorkers === undefined ? String(r.workers) : `${r.workers} (ran ${r.plannedWorkers})`,
      runs: r.runs,
      finished: r.finished ? 'yes' : `NO${r.error === undefined ? '' : `: ${r.error}`}`,
      'OOM kills': r.oomKills,
      'peak RSS MiB': r.peakRssMiB,
      'peak anon MiB': r.peakAnonRssMiB,
      'CPU s per run': r.runCpuSeconds.map((c) => c.toFixed(2)).join(' / '),
      'x floor (run 1)': r.cpuXFloor ?? '-',
      'wall s per run': r.runWallMs.map((w) => (w / 1000).toFixed(1)).join(' / '),
      'sandbox MiB per run': r.sandboxBytesPerRun.map((b) => (b / MiB).toFixed(2)).join(' / '),
    })),
  );
  return { floors, rows };
}
