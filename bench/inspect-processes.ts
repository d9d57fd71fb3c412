// Process inspection: one ps snapshot with /proc details for a few thousand pids, then the
// ownership check for each, against one lookup per pid (/proc, and the portable ps path on a
// sample). Live pids are `sleep` processes started here (and killed after); the rest are recorded
// pids that no longer exist, as on a node after a reboot.
import { spawn, type ChildProcess } from 'node:child_process';
import { isOurProcess } from '../src/core/pid-ownership.js';
import { lookupProcess, snapshotProcesses } from '../src/io/process-table.js';
import { printTable, timeAll, type BenchContext } from './table.js';

export interface InspectResult {
  method: string;
  pids: number;
  meanMs: number;
  /** Per-pid lookups' time / snapshot time (for the snapshot row: 1). */
  speedupOfSnapshot: number;
  note?: string;
}

async function startSleepers(count: number): Promise<ChildProcess[]> {
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const c = spawn('sleep', ['600'], { stdio: 'ignore' });
    c.on('error', () => undefined);
    children.push(c);
    if (i % 100 === 99) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 200));
  return children;
}

function stopSleepers(children: readonly ChildProcess[]): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

export async function inspectBench(ctx: BenchContext): Promise<InspectResult[]> {
  const live = ctx.quick ? 100 : 2_000;
  // Quick: 1,000 pids in all, most of them gone (cheap to set up). At 200 the one `ps` spawn alone
  // decided the ratio, and a VM where spawning costs twice as much (node -e 0: 70 ms, not 35)
  // measured 1.1-1.4 on the same code that gave 2.7-6.8 a week earlier.
  const dead = ctx.quick ? 900 : 1_000;
  const children = await startSleepers(live);
  try {
    const uid = process.getuid?.() ?? 0;
    const started = Date.now();
    const pids = [...children.flatMap((c) => (c.pid === undefined ? [] : [c.pid])), ...Array.from({ length: dead }, (_, i) => 4_200_000 + i)];
    const expected = { uid, timeMs: started };
    let ours = 0;
    const snapshotCheck = async (): Promise<void> => {
      const snap = await snapshotProcesses({ detailsFor: pids });
      ours = 0;
      for (const pid of pids) if (isOurProcess(snap.get(pid), expected, 60_000).ours) ours++;
    };
    const perPid = async (): Promise<void> => {
      for (const pid of pids) isOurProcess(await lookupProcess(pid), expected, 60_000);
    };
    const sample = pids.filter((_, i) => i % Math.ceil(pids.length / 20) === 0);
    const perPidPs = async (): Promise<void> => {
      for (const pid of sample) await lookupProcess(pid, 'pidusage');
    };
    const iterations = ctx.quick ? 3 : 5;
    const [snap, proc, ps] = await timeAll(
      [
        { name: 'snapshot', fn: snapshotCheck },
        { name: 'per-pid /proc', fn: perPid },
        { name: 'per-pid ps', fn: perPidPs },
      ],
      { iterations, warmup: 1 },
    );
    if (snap === undefined || proc === undefined || ps === undefined) throw new Error('missing timings');
    if (ours < live * 0.9) throw new Error(`snapshot saw only ${ours} of ${live} live sleepers as ours`);
    const psScaled = (ps.meanMs / sample.length) * pids.length;
    const out: InspectResult[] = [
      { method: 'one ps snapshot + checks', pids: pids.length, meanMs: snap.meanMs, speedupOfSnapshot: 1 },
      { method: 'lookup per pid (/proc)', pids: pids.length, meanMs: proc.meanMs, speedupOfSnapshot: proc.meanMs / snap.meanMs },
      {
        method: 'lookup per pid (ps, portable path)',
        pids: pids.length,
        meanMs: psScaled,
        speedupOfSnapshot: psScaled / snap.meanMs,
        note: `measured on ${sample.length} pids, scaled to ${pids.length}`,
      },
    ];
    printTable(
      `Process inspection: ${live} live + ${dead} recorded-but-gone pids`,
      out.map((r) => ({ method: r.method, pids: r.pids, 'mean ms': r.meanMs, 'snapshot speedup': r.speedupOfSnapshot, note: r.note ?? '' })),
    );
    return out;
  } finally {
    stopSleepers(children);
  }
}
