// Replay throughput over synthetic checkpoints: a busy task (5 processes × 20 runs, 400 process
// records) and a typical small one (header, two statuses, one run). The scan of 10,000 tasks
// replays one runner checkpoint per task, so records/s and MB/s here bound the scan's CPU cost.
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { replayCheckpoint } from '../src/core/checkpoint/replay.js';
import { scanRunnerSummary } from '../src/core/checkpoint/scan-summary.js';
import { decodeCheckpointStream, encodeCheckpointStream } from '../src/core/checkpoint/runner-ckpt.js';
import type { RunnerCkpt } from '../src/core/records.js';
import { ProcessState, TaskState } from '../src/core/states.js';
import { oracleDecodeStream } from './reference/thrift-oracle.js';

export interface ReplayBenchResult {
  name: string;
  opsPerSec: number;
  recordsPerSec: number;
  mbPerSec: number;
}

function syntheticTask(processes: number, runsPerProcess: number): RunnerCkpt[] {
  const launch = 1_700_000_000_000;
  const recs: RunnerCkpt[] = [
    { kind: 'task', task: { state: TaskState.ACTIVE, timestampMs: launch + 1, runnerPid: 31_000, runnerUid: 1000 } },
    {
      kind: 'header',
      header: {
        taskId: 'www-data-prod-hello-0-7f3c9a2e-1b4d-4c7e-9f1a-2b3c4d5e6f70',
        launchTimeMs: launch,
        sandbox: '/var/lib/mesos/slaves/S0/frameworks/F0/executors/thermos-hello/runs/R0/sandbox',
        logDir: '/var/lib/mesos/slaves/S0/frameworks/F0/executors/thermos-hello/runs/R0/.logs',
        hostname: 'agent-17.example.com',
        user: 'www-data',
        uid: 1000,
        ports: { http: 31_001, admin: 31_002 },
      },
    },
  ];
  let t = launch / 1000;
  for (let run = 0; run < runsPerProcess; run++) {
    for (let p = 0; p < processes; p++) {
      const process = `process_${p}`;
      const seq = run * 4;
      t += 1.25;
      recs.push(
        { kind: 'process', process: { seq, process, state: ProcessState.WAITING } },
        { kind: 'process', process: { seq: seq + 1, process, state: ProcessState.FORKED, coordinatorPid: 32_000 + p, forkTime: t } },
        { kind: 'process', process: { seq: seq + 2, process, state: ProcessState.RUNNING, pid: 33_000 + p, startTime: t + 0.01 } },
        { kind: 'process', process: { seq: seq + 3, process, state: ProcessState.FAILED, stopTime: t + 1, returnCode: 1 } },
      );
    }
  }
  recs.push({ kind: 'task', task: { state: TaskState.FAILED, timestampMs: Math.round(t * 1000), runnerPid: 31_000, runnerUid: 1000 } });
  return recs;
}

export async function replayBench(opts: { quick: boolean }): Promise<ReplayBenchResult[]> {
  const busy = syntheticTask(5, 20);
  const small = syntheticTask(1, 1);
  const cases = [
    { label: 'busy task (5×20 runs)', recs: busy, buf: encodeCheckpointStream(busy) },
    { label: 'small task (1 run)', recs: small, buf: encodeCheckpointStream(small) },
  ];
  const bench = new Bench({ time: opts.quick ? 300 : 1000, warmupTime: opts.quick ? 50 : 200 });
  const meta = new Map<string, { records: number; bytes: number }>();
  for (const c of cases) {
    const add = (name: string, fn: () => unknown): void => {
      const full = `${name} — ${c.label}`;
      meta.set(full, { records: c.recs.length, bytes: c.buf.byteLength });
      bench.add(full, fn);
    };
    // What every scan runs per checkpoint (the flat pass; replayTaskSummary is only its fallback).
    add('scanRunnerSummary', () => scanRunnerSummary(c.buf));
    add('replayCheckpoint', () => replayCheckpoint(c.buf));
    add('decodeCheckpointStream', () => decodeCheckpointStream(c.buf));
    // The independent decoder (the `thrift` package's TBinaryProtocol) over the same bytes: the
    // gate's replay bound is decodeCheckpointStream's speed-up over it.
    if (JSON.stringify(oracleDecodeStream(Buffer.from(c.buf))) !== JSON.stringify(decodeCheckpointStream(c.buf))) {
      throw new Error(`replay bench: the thrift package and our codec disagree on ${c.label}`);
    }
    add('thrift TBinaryProtocol', () => oracleDecodeStream(Buffer.from(c.buf.buffer, c.buf.byteOffset, c.buf.byteLength)));
  }
  await bench.run();
  const out: ReplayBenchResult[] = [];
  for (const task of bench.tasks) {
    const r = task.result;
    const m = meta.get(task.name)!;
    if (r.state !== 'completed') throw new Error(`bench ${task.name}: ${r.state}`);
    const opsPerSec = r.period > 0 ? 1000 / r.period : 0;
    out.push({ name: task.name, opsPerSec, recordsPerSec: opsPerSec * m.records, mbPerSec: (opsPerSec * m.bytes) / 1e6 });
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const rows = await replayBench({ quick });
  console.table(
    rows.map((r) => ({
      name: r.name,
      'ops/s': Math.round(r.opsPerSec),
      'records/s': Math.round(r.recordsPerSec),
      'MB/s': r.mbPerSec.toFixed(1),
    })),
  );
}
