// `npm run bench` entry: the suites (replay, scan, delete, inspect, rss, whole, executor, box),
// each printed as a table and written to bench/results.json (`--quick`: a small version for CI,
// written to bench/results.quick.json), then the gate: the bounds of bench/thresholds.json
// (or --thresholds FILE) checked against the ratios measured in this run, a failed measure
// retaken once, exit 1 when a bound is not met. See bench/README.md for what is guarded and why.
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { boxBench } from './box.js';
import { deleteBench } from './delete.js';
import { executorRssBench } from './executor-rss.js';
import { formatGateLine, loadThresholds, runGate, type Thresholds } from './gate.js';
import { gateMeasures, suiteOf, type SuiteResults } from './gate-measures.js';
import { inspectBench } from './inspect-processes.js';
import { replayBench } from './replay.js';
import { rssBench } from './rss.js';
import { scanBench } from './scan.js';
import { printTable, type BenchContext } from './table.js';
import { wholeProcessBench } from './whole-process.js';

const SUITES = ['replay', 'scan', 'delete', 'inspect', 'rss', 'whole', 'executor', 'box'] as const;
const DEFAULT_THRESHOLDS = fileURLToPath(new URL('../../bench/thresholds.json', import.meta.url));
const HELP = `usage: npm run bench -- [--quick] [--only SUITE ...] [--dir PATH] [--thresholds FILE] [--no-gate]

suites: ${SUITES.join(', ')}
--quick       small sizes (CI); the gate checks bench/thresholds.json afterwards
--only SUITE  run some suites (repeatable); the gate then checks only their measures
--thresholds  check FILE instead of bench/thresholds.json (also gates a full run)
--no-gate     measure only

The gate: each bound in the thresholds file ({"<measure>": {"max": x} or {"min": y}}) is a ratio
measured in this run, or a size; a measure that misses its bound is retaken once (its suite runs
again) before the run fails with exit 1. How the committed bounds were chosen: bench/README.md.
`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    dir: { type: 'string' },
    only: { type: 'string', multiple: true },
    thresholds: { type: 'string' },
    'no-gate': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help === true) {
  process.stdout.write(HELP);
  process.exit(0);
}
for (const s of values.only ?? []) {
  if (!(SUITES as readonly string[]).includes(s)) {
    process.stderr.write(`bench: unknown suite '${s}'\n${HELP}`);
    process.exit(2);
  }
}
const quick = values.quick === true;
const parallelism = availableParallelism();
const ctx: BenchContext = {
  quick,
  baseDir: values.dir ?? tmpdir(),
  workerCounts: [...new Set([0, 1, 2, parallelism])],
};
const wanted = (name: string): boolean => values.only === undefined || values.only.includes(name);
const gating = values['no-gate'] !== true && (quick || values.thresholds !== undefined);
// Read the bounds first: a broken thresholds file fails before minutes of measuring.
let thresholds: Thresholds | undefined;
if (gating) {
  try {
    thresholds = await loadThresholds(values.thresholds ?? DEFAULT_THRESHOLDS);
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}

async function runReplay(): Promise<SuiteResults['replay']> {
  const replay = await replayBench({ quick });
  printTable(
    'Checkpoint replay (codec) and the thrift package decoding the same bytes',
    replay.map((r) => ({ name: r.name, 'ops/s': Math.round(r.opsPerSec), 'records/s': Math.round(r.recordsPerSec), 'MB/s': r.mbPerSec })),
  );
  return replay;
}

/** Runs one gated suite again and returns its measures (the gate's retake). */
async function rerun(suite: string): Promise<SuiteResults> {
  switch (suite) {
    case 'replay': return { replay: await runReplay() };
    case 'scan': return { scan: await scanBench(ctx) };
    case 'delete': return { delete: await deleteBench(ctx) };
    case 'inspect': return { inspect: await inspectBench(ctx) };
    case 'box': return { box: await boxBench(ctx) };
    default: return {};
  }
}

const started = Date.now();
console.log(`thermos-gc bench${quick ? ' (quick)' : ''}: node ${process.version}, ${parallelism} cpus (${cpus()[0]?.model ?? '?'}), dir ${ctx.baseDir}`);
const results: Record<string, unknown> = {
  meta: { date: new Date().toISOString(), quick, node: process.version, availableParallelism: parallelism, dir: ctx.baseDir },
};
const gated: SuiteResults = {};
if (wanted('replay')) results.replay = gated.replay = await runReplay();
if (wanted('scan')) results.scan = gated.scan = await scanBench(ctx);
if (wanted('delete')) results.delete = gated.delete = await deleteBench(ctx);
if (wanted('inspect')) results.inspect = gated.inspect = await inspectBench(ctx);
if (wanted('rss')) results.rss = await rssBench(ctx);
if (wanted('whole')) results.whole = await wholeProcessBench(ctx);
if (wanted('executor')) {
  const rows = await executorRssBench(ctx);
  printTable(
    'Whole executor process through one GC run (real executor, agent simulator, fresh agent): peak RSS per worker count',
    rows.map((r) => ({
      tasks: r.tasks,
      workers: String(r.workers),
      limit: r.memoryLimitMiB === undefined ? '-' : `${r.memoryLimitMiB} MiB`,
      'peak RSS MiB': r.vmHwmMiB,
      'idle RSS MiB': r.idleRssMiB ?? '-',
      'cgroup peak MiB': r.cgroupMaxUsageMiB ?? '-',
      'OOM kills': r.oomKills ?? '-',
      'run ms': r.runMs,
      exit: r.exitCode ?? String(r.signal),
    })),
  );
  results.executor = rows;
}
if (wanted('box')) results.box = gated.box = await boxBench(ctx);

let exitCode = 0;
if (thresholds !== undefined) {
  // With --only, the bounds of suites that did not run are not checked (and say so).
  const checked = new Map([...thresholds].filter(([measure]) => wanted(suiteOf(measure))));
  const unchecked = [...thresholds.keys()].filter((measure) => !checked.has(measure));
  console.log(`\nGate: ${values.thresholds ?? 'bench/thresholds.json'}`);
  if (checked.size === 0) {
    console.log('gate: no bound belongs to the suites run');
    exitCode = 1;
  } else {
    const gate = await runGate(gateMeasures(gated), checked, async (failed) => {
      const again: SuiteResults = {};
      for (const suite of new Set(failed.map(suiteOf))) Object.assign(again, await rerun(suite));
      return gateMeasures(again);
    });
    for (const line of gate.lines) console.log(formatGateLine(line));
    for (const measure of unchecked) console.log(`gate skipped ${measure}: its suite (${suiteOf(measure)}) was not run`);
    console.log(gate.passed ? 'gate: every bound met' : `gate: FAILED (${gate.lines.filter((l) => !l.met).map((l) => l.measure).join(', ')})`);
    if (!gate.passed) exitCode = 1;
    results.gate = gate.lines;
  }
}
(results.meta as Record<string, unknown>).totalMs = Date.now() - started;

// dist/bench/run.js → <repo>/bench/results*.json. With --only, the other suites' earlier results are kept.
const out = fileURLToPath(new URL(`../../bench/${quick ? 'results.quick.json' : 'results.json'}`, import.meta.url));
let merged = results;
if (values.only !== undefined) {
  const earlier = await readFile(out, 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>, () => ({}));
  merged = { ...earlier, ...results, meta: { ...results.meta as object, only: values.only } };
}
await writeFile(out, `${JSON.stringify(merged, null, 2)}\n`);
console.log(`\nwrote ${out} (${Math.round((Date.now() - started) / 1000)} s)`);
process.exitCode = exitCode;
