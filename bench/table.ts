// Shared bench plumbing: timing with tinybench (a fixed number of iterations), table printing,
// temp dirs and the JSON shape written to bench/results*.json.
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Bench } from 'tinybench';

export interface Timing {
  name: string;
  /** Mean wall time of one iteration (ms). */
  meanMs: number;
  minMs: number;
  samples: number;
}

/** Times each function with tinybench: `iterations` runs after `warmup` unmeasured ones. */
export async function timeAll(
  cases: ReadonlyArray<{ name: string; fn: () => Promise<unknown> | unknown }>,
  opts: { iterations: number; warmup: number },
): Promise<Timing[]> {
  const bench = new Bench({ iterations: opts.iterations, time: 0, warmupIterations: opts.warmup, warmupTime: 0, warmup: opts.warmup > 0 });
  for (const c of cases) bench.add(c.name, c.fn);
  await bench.run();
  return bench.tasks.map((task) => {
    const r = task.result;
    if (r.state !== 'completed') throw new Error(`bench ${task.name}: ${r.state}${r.state === 'errored' ? `: ${r.error.message}` : ''}`);
    return { name: task.name, meanMs: r.latency.mean, minMs: r.latency.min, samples: r.latency.samplesCount ?? opts.iterations };
  });
}

/** Times one destructive run (it cannot be repeated on the same tree). */
export async function timeOnce(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export type Cell = string | number;

export function printTable(title: string, rows: ReadonlyArray<Record<string, Cell>>): void {
  console.log(`\n${title}`);
  if (rows.length === 0) {
    console.log('  (no rows)');
    return;
  }
  const cols = Object.keys(rows[0] as Record<string, Cell>);
  const text = (v: Cell | undefined): string => (typeof v === 'number' ? fmt(v) : (v ?? ''));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => text(r[c]).length)));
  const line = (cells: string[]): string => `  ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`;
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => text(r[c]))));
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export async function benchDir(base: string, prefix: string): Promise<string> {
  return mkdtemp(path.join(base, `thermos-gc-bench-${prefix}-`));
}

export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface BenchContext {
  quick: boolean;
  /** Where generated agents are written. */
  baseDir: string;
  /** Worker counts to compare (deduplicated, e.g. 0, 1, 2, availableParallelism). */
  workerCounts: number[];
}
