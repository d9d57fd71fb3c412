// Peak RSS of one full GC run (scan, reconcile, kill, rescan, delete) at N tasks, measured in a
// child process so the generator's memory is not counted: `node dist/bench/rss.js --child <spec>`.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { StatusUpdate } from '../src/core/ports.js';
import { runGc } from '../src/executor/gc-run.js';
import { GcMetrics } from '../src/executor/metrics.js';
import { silentLogger } from '../src/log.js';
import { createServices } from '../src/pool/pool-services.js';
import { generateAgent, type DenseAgent } from '../src/sim/dense-agent.js';
import { configForAgent } from './scan.js';
import { benchDir, printTable, removeTree, type BenchContext } from './table.js';

const run = promisify(execFile);

interface ChildSpec {
  checkpointRoot: string;
  mesosRoot: string;
  sandboxRoot: string;
  nowMs: number;
  workers: number;
  retained: Array<[string, number]>;
}

export interface RssResult {
  tasks: number;
  workers: number;
  maxRssMiB: number;
  vmHwmMiB: number | undefined;
  runMs: number;
  deleted: number;
  killed: number;
  updates: number;
}

function vmHwmKiB(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

async function child(specFile: string): Promise<void> {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as ChildSpec;
  const agentLike = { checkpointRoot: spec.checkpointRoot, mesosRoot: spec.mesosRoot, sandboxRoot: spec.sandboxRoot } as DenseAgent;
  const config = { ...configForAgent(agentLike, spec.workers), minimumKillAgeMs: 10 * 60_000 };
  const services = createServices(config, silentLogger());
  let updates = 0;
  const driver = {
    sendStatusUpdate: (_u: StatusUpdate) => void updates++,
    sendFrameworkMessage: () => undefined,
    stop: async () => undefined,
  };
  const clock = { now: () => spec.nowMs, sleep: async () => undefined };
  const t0 = performance.now();
  const report = await runGc(
    { gcTaskId: 'gc-bench', retained: new Map(spec.retained), startMs: spec.nowMs },
    { services, driver, clock, config, logger: silentLogger(), metrics: new GcMetrics() },
  );
  const runMs = performance.now() - t0;
  await services.close();
  const mem = process.memoryUsage();
  const out = {
    mainHeapTotalMiB: mem.heapTotal / 2 ** 20,
    maxRssKiB: process.resourceUsage().maxRSS,
    vmHwmKiB: vmHwmKiB(),
    runMs,
    deleted: report.deleted.length,
    killed: report.killed.length,
    updates,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

export async function rssBench(ctx: BenchContext): Promise<RssResult[]> {
  const n = ctx.quick ? 200 : 10_000;
  const workers = Math.max(...ctx.workerCounts);
  const dir = await benchDir(ctx.baseDir, `rss${n}`);
  try {
    const agent = await generateAgent(dir, { tasks: n, filesPerSandbox: 8, fileBytes: 1024, seed: 11 });
    const spec: ChildSpec = {
      checkpointRoot: agent.checkpointRoot,
      mesosRoot: agent.mesosRoot,
      sandboxRoot: agent.sandboxRoot,
      nowMs: agent.nowMs,
      workers,
      retained: [...agent.retained],
    };
    const specFile = path.join(dir, 'spec.json');
    await writeFile(specFile, JSON.stringify(spec));
    const self = fileURLToPath(import.meta.url);
    const { stdout } = await run(process.execPath, [self, '--child', specFile], { maxBuffer: 1 << 20 });
    const r = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { maxRssKiB: number; vmHwmKiB?: number; runMs: number; deleted: number; killed: number; updates: number };
    const out: RssResult[] = [
      {
        tasks: n,
        workers,
        maxRssMiB: r.maxRssKiB / 1024,
        vmHwmMiB: r.vmHwmKiB === undefined ? undefined : r.vmHwmKiB / 1024,
        runMs: r.runMs,
        deleted: r.deleted,
        killed: r.killed,
        updates: r.updates,
      },
    ];
    printTable(
      `Peak RSS of a full GC run (scan, reconcile, kill, rescan, delete) at N = ${n}`,
      out.map((x) => ({ tasks: x.tasks, workers: x.workers, 'peak RSS MiB': x.maxRssMiB, 'VmHWM MiB': x.vmHwmMiB ?? '-', 'run ms': x.runMs, deleted: x.deleted, killed: x.killed, updates: x.updates })),
    );
    return out;
  } finally {
    await removeTree(dir);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--child') {
  await child(process.argv[3] ?? '');
}
