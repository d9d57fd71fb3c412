// Scan: list the tasks (partition active/finished), replay every runner checkpoint and find the
// linked executors, through the services with 0, 1, 2 and availableParallelism workers, against
// the raw floor of reading the same checkpoint files (open + read + close, nothing decoded).
import { closeSync, openSync, readSync } from 'node:fs';
import { defaultConfig, type GcConfig } from '../src/config.js';
import { partitionTasks } from '../src/io/task-detector.js';
import { silentLogger } from '../src/log.js';
import { createServices, type PooledServices } from '../src/pool/pool-services.js';
import { generateAgent, type DenseAgent } from '../src/sim/dense-agent.js';
import { benchDir, printTable, removeTree, timeAll, type BenchContext } from './table.js';

export interface ScanResult {
  tasks: number;
  workers: number | 'floor';
  meanMs: number;
  minMs: number;
  tasksPerSec: number;
  /** meanMs / floor meanMs at the same N. */
  ratioToFloor: number;
  /** minMs / floor minMs at the same N: what the gate reads (the fastest run of each is the least disturbed by a noisy machine). */
  minRatioToFloor: number;
}

const readBuffer = Buffer.alloc(1 << 20);

/** The floor: every checkpoint file opened, read to the end and closed, synchronously. */
export function readFloor(files: readonly string[]): number {
  let bytes = 0;
  for (const f of files) {
    const fd = openSync(f, 'r');
    try {
      for (let n = readSync(fd, readBuffer); n > 0; n = readSync(fd, readBuffer)) bytes += n;
    } finally {
      closeSync(fd);
    }
  }
  return bytes;
}

export function configForAgent(agent: DenseAgent, workers: number): GcConfig {
  return {
    ...defaultConfig(),
    checkpointRoots: [agent.checkpointRoot],
    mesosRoot: agent.mesosRoot,
    sandboxRoots: [agent.sandboxRoot],
    workers,
  };
}

/** One full scan as a GC run does it. */
export async function scanOnce(services: PooledServices, agent: DenseAgent): Promise<number> {
  const listing = await services.listTasks([agent.checkpointRoot]);
  partitionTasks(listing.refs);
  const [facts, linked] = await Promise.all([services.readFacts(listing.refs), services.linkedExecutors()]);
  if (facts.length !== agent.runnerCheckpoints.length || linked.size !== agent.linked.size) {
    throw new Error(`scan saw ${facts.length} tasks / ${linked.size} linked, expected ${agent.runnerCheckpoints.length} / ${agent.linked.size}`);
  }
  return facts.length;
}

export async function scanBench(ctx: BenchContext): Promise<ScanResult[]> {
  const sizes = ctx.quick ? [1_000] : [1_000, 10_000];
  const out: ScanResult[] = [];
  for (const n of sizes) {
    const dir = await benchDir(ctx.baseDir, `scan${n}`);
    try {
      const agent = await generateAgent(dir, { tasks: n, filesPerSandbox: 1, fileBytes: 64, seed: n });
      const services = ctx.workerCounts.map((w) => ({ w, s: createServices(configForAgent(agent, w), silentLogger()) }));
      try {
        const iterations = ctx.quick ? 7 : n >= 10_000 ? 5 : 10;
        const timings = await timeAll(
          [
            { name: 'floor', fn: () => readFloor(agent.runnerCheckpoints) },
            ...services.map(({ w, s }) => ({ name: `workers=${w}`, fn: () => scanOnce(s, agent) })),
          ],
          { iterations, warmup: 1 },
        );
        const floor = timings[0]?.meanMs ?? NaN;
        const floorMin = timings[0]?.minMs ?? NaN;
        for (const [i, t] of timings.entries()) {
          const workers = i === 0 ? 'floor' : (services[i - 1]?.w ?? 0);
          out.push({ tasks: n, workers, meanMs: t.meanMs, minMs: t.minMs, tasksPerSec: (n * 1000) / t.meanMs, ratioToFloor: t.meanMs / floor, minRatioToFloor: t.minMs / floorMin });
        }
      } finally {
        for (const { s } of services) await s.close();
      }
    } finally {
      await removeTree(dir);
    }
  }
  printTable(
    'Scan (list + partition + replay every runner checkpoint + linked executors) vs raw read floor',
    out.map((r) => ({ tasks: r.tasks, workers: String(r.workers), 'mean ms': r.meanMs, 'min ms': r.minMs, 'tasks/s': Math.round(r.tasksPerSec), 'x floor': r.ratioToFloor, 'x floor (min)': r.minRatioToFloor })),
  );
  return out;
}
