// How V8 sizes this process's heaps, set once per thread at start (bin/thermos-gc.js, and each
// worker as it loads: starting a worker thread re-applies V8's command-line flags, undoing a
// setting made earlier). Both flags are read at every resize, so they work after startup:
// - the young generation stays at its initial 1 MiB semi-spaces: by default V8 doubles it (up to
//   2 × 16 MiB) while many new objects survive scavenges, which is exactly what a scan of
//   thousands of tasks does;
// - after a full GC the old generation may grow by 20% of what is live before the next one, not
//   by up to 4×: a GC run's short-lived per-window data (deletion targets and results, log lines)
//   is collected instead of piling up.
// Measured on a 10,000-task agent (bench "whole process", bench/executor-rss.ts): `plan` peaks at
// ~75 MiB instead of ~98, the executor's GC run (no workers) at ~100 MiB instead of ~163.
import { setFlagsFromString } from 'node:v8';

export const HEAP_FLAGS: readonly string[] = ['--semi-space-growth-factor=1', '--heap-growing-percent=20'];

export function tuneHeap(): void {
  for (const flag of HEAP_FLAGS) setFlagsFromString(flag);
}
