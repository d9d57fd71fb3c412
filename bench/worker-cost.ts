// What one Piscina worker thread costs in memory: the RSS of a process that holds the pool with
// N threads idle (started, then waiting), and its peak while the N threads replay every
// checkpoint of a generated agent and walk its Mesos run dirs (the scan of a GC run), for
// N = 0 (jobs inline on the main thread), 1, 2, 4. Each N is measured in a fresh child process so
// one measurement's heap does not carry into the next.
//
//   node dist/bench/worker-cost.js [--tasks 10000] [--workers 0,1,2,4] [--scans 3] [--heap-mb 24]
// (--heap-mb: each thread's old-generation limit, as the executor derives it from a memory limit)
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/log.js';
import { createServices } from '../src/pool/pool-services.js';
import { generateAgent, type DenseAgent } from '../src/sim/dense-agent.js';
import { configForAgent } from './scan.js';
import { benchDir, printTable, removeTree } from './table.js';

const run = promisify(execFile);

interface ChildOut {
  workers: number;
  baseMiB: number;
  idleMiB: number;
  busyPeakMiB: number;
  vmHwmMiB: number;
  scanMs: number;
}

function statusKiB(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m === null ? Number.NaN : Number(m[1]);
}
const rssMiB = (): number => statusKiB('VmRSS') / 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function child(spec: { checkpointRoot: string; mesosRoot: string; sandboxRoot: string; workers: number; scans: number; heapMb?: number }): Promise<void> {
  const agent = { checkpointRoot: spec.checkpointRoot, mesosRoot: spec.mesosRoot, sandboxRoot: spec.sandboxRoot } as DenseAgent;
  const base = configForAgent(agent, spec.workers);
  const config = spec.heapMb === undefined ? base : { ...base, workerHeapMb: spec.heapMb };
  const services = createServices(config, silentLogger());
  const { refs } = await services.listTasks([agent.checkpointRoot]);
  global.gc?.();
  await sleep(200);
  const baseMiB = rssMiB();
  // Start every thread (Piscina creates them on demand): one small batch per thread at once.
  await Promise.all(Array.from({ length: Math.max(1, spec.workers) }, (_, i) => services.readFacts(refs.slice(i * 4, i * 4 + 4))));
  global.gc?.();
  await sleep(1_000);
  const idleMiB = rssMiB();
  let peak = idleMiB;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 5);
  const t0 = performance.now();
  for (let i = 0; i < spec.scans; i++) await Promise.all([services.readFacts(refs), services.linkedExecutors()]);
  const scanMs = (performance.now() - t0) / spec.scans;
  clearInterval(sampler);
  peak = Math.max(peak, rssMiB());
  const out: ChildOut = { workers: spec.workers, baseMiB, idleMiB, busyPeakMiB: peak, vmHwmMiB: statusKiB('VmHWM') / 1024, scanMs };
  await services.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { tasks: { type: 'string', default: '10000' }, workers: { type: 'string', default: '0,1,2,4' }, scans: { type: 'string', default: '3' }, dir: { type: 'string' }, 'heap-mb': { type: 'string' } },
  });
  const tasks = Number(values.tasks);
  const counts = (values.workers ?? '0,1,2,4').split(',').map(Number);
  const dir = await benchDir(values.dir ?? (await import('node:os')).tmpdir(), `worker-cost${tasks}`);
  try {
    const agent = await generateAgent(dir, { tasks, filesPerSandbox: 0, seed: 11 });
    const self = fileURLToPath(import.meta.url);
    const rows: ChildOut[] = [];
    for (const workers of counts) {
      const spec = JSON.stringify({ checkpointRoot: agent.checkpointRoot, mesosRoot: agent.mesosRoot, sandboxRoot: agent.sandboxRoot, workers, scans: Number(values.scans), ...(values['heap-mb'] === undefined ? {} : { heapMb: Number(values['heap-mb']) }) });
      const { stdout } = await run(process.execPath, ['--expose-gc', self, '--child', spec], { maxBuffer: 1 << 20 });
      rows.push(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ChildOut);
    }
    const zero = rows.find((r) => r.workers === 0);
    printTable(
      `RSS of a process holding the worker pool, ${tasks} tasks (idle: threads started and waiting; busy: peak during full scans)`,
      rows.map((r) => ({
        workers: r.workers,
        'base MiB': r.baseMiB,
        'idle MiB': r.idleMiB,
        'busy peak MiB': r.busyPeakMiB,
        'VmHWM MiB': r.vmHwmMiB,
        'idle per worker': r.workers === 0 || zero === undefined ? '-' : (r.idleMiB - zero.idleMiB) / r.workers,
        'busy per worker': r.workers === 0 || zero === undefined ? '-' : (r.busyPeakMiB - zero.busyPeakMiB) / r.workers,
        'scan ms': r.scanMs,
      })),
    );
    process.stdout.write(`${JSON.stringify(rows)}\n`);
  } finally {
    await removeTree(dir);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3] ?? '{}'));
  else await main();
}
