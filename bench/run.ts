// `npm run bench` entry: scan, deletion, process inspection, peak RSS, the codec's replay bench
// and whole-process plan and collect against their references; each printed as a table and written to bench/results.json (`--quick`: a small version
// for CI, written to bench/results.quick.json). `--dir <path>` picks where agents are generated;
// `--only scan --only rss` runs some suites (replay, scan, delete, inspect, rss, whole, executor).
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deleteBench } from './delete.js';
import { inspectBench } from './inspect-processes.js';
import { replayBench } from './replay.js';
import { rssBench } from './rss.js';
import { scanBench } from './scan.js';
import { wholeProcessBench } from './whole-process.js';
import { executorRssBench } from './executor-rss.js';
import { printTable, type BenchContext } from './table.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, dir: { type: 'string' }, only: { type: 'string', multiple: true } },
});
const quick = values.quick === true;
const parallelism = availableParallelism();
const ctx: BenchContext = {
  quick,
  baseDir: values.dir ?? tmpdir(),
  workerCounts: [...new Set([0, 1, 2, parallelism])],
};
const wanted = (name: string): boolean => values.only === undefined || values.only.includes(name);

const started = Date.now();
console.log(`thermos-gc bench${quick ? ' (quick)' : ''}: node ${process.version}, ${parallelism} cpus (${cpus()[0]?.model ?? '?'}), dir ${ctx.baseDir}`);
const results: Record<string, unknown> = {
  meta: { date: new Date().toISOString(), quick, node: process.version, availableParallelism: parallelism, dir: ctx.baseDir },
};
if (wanted('replay')) {
  const replay = await replayBench({ quick });
  printTable(
    'Checkpoint replay (codec)',
    replay.map((r) => ({ name: r.name, 'ops/s': Math.round(r.opsPerSec), 'records/s': Math.round(r.recordsPerSec), 'MB/s': r.mbPerSec })),
  );
  results.replay = replay;
}
if (wanted('scan')) results.scan = await scanBench(ctx);
if (wanted('delete')) results.delete = await deleteBench(ctx);
if (wanted('inspect')) results.inspect = await inspectBench(ctx);
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
