// One `thermos-gc tune` trial, in a process of its own so its peak RSS is its own: scans the
// roots once (the scanner every command uses) with the given worker count and batch size, and
// prints `{"scanMs", "peakRssBytes", "tasks", "linked"}` on stdout. Read-only, like `plan`.
// Usage: node dist/src/cli/tune-trial.js '<TrialRequest as JSON>'
import { tuneHeap } from '../heap-tuning.js';

// Before anything else allocates, as bin/thermos-gc.js does: the trial's heap is the executor's.
tuneHeap();

export interface TrialRequest {
  checkpointRoots: string[];
  mesosRoot: string;
  workers: number;
  batchSize: number;
  /** Each worker's old-generation limit, as the executor would plan it for this count. */
  workerHeapMb: number;
}

export interface TrialResult {
  scanMs: number;
  peakRssBytes: number;
  tasks: number;
  linked: number;
}

/** The process's peak resident set: VmHWM (threads included), else getrusage's maxrss. */
async function peakRssBytes(): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(await readFile('/proc/self/status', 'utf8'));
    if (m !== null) return Number(m[1]) * 1024;
  } catch {
    // Not Linux: fall through.
  }
  return process.resourceUsage().maxRSS * 1024;
}

async function trial(req: TrialRequest): Promise<TrialResult> {
  const [{ compileConfig }, { createServices }, { quietLogger }, { scanRoots }] = await Promise.all([
    import('../config.js'),
    import('../pool/pool-services.js'),
    import('../services/quiet-logger.js'),
    import('./scan-roots.js'),
  ]);
  // The roots only; the worker count, batch and heap are the trial's, not re-planned here.
  const base = compileConfig({ checkpointRoots: req.checkpointRoots, mesosRoot: req.mesosRoot });
  const config = { ...base, workers: req.workers, batchSize: req.batchSize, workerHeapMb: req.workerHeapMb };
  const services = createServices(config, quietLogger());
  try {
    // Timed as a GC run's scan: the lazy pool starts inside it, as it does in a run.
    const t0 = performance.now();
    const scan = await scanRoots(services, config);
    const scanMs = performance.now() - t0;
    return { scanMs, peakRssBytes: 0, tasks: scan.facts.size, linked: scan.linked.size };
  } finally {
    await services.close();
  }
}

function parseRequest(text: string | undefined): TrialRequest {
  const req = JSON.parse(text ?? '') as TrialRequest;
  const ok =
    Array.isArray(req.checkpointRoots) &&
    req.checkpointRoots.every((r) => typeof r === 'string') &&
    typeof req.mesosRoot === 'string' &&
    Number.isInteger(req.workers) &&
    req.workers >= 0 &&
    Number.isInteger(req.batchSize) &&
    req.batchSize >= 1 &&
    Number.isInteger(req.workerHeapMb);
  if (!ok) throw new Error(`not a trial request: ${text ?? '(none)'}`);
  return req;
}

try {
  const result = await trial(parseRequest(process.argv[2]));
  // Read after the threads were closed: VmHWM keeps the peak they reached.
  result.peakRssBytes = await peakRssBytes();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
