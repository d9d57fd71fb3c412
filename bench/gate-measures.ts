// The measures the gate guards, taken from the suites' results: each a ratio measured in one run
// (or a size), named `<suite>.<what>`, so that a failed one is retaken by re-running its suite.
import type { BoxBenchResult } from './box.js';
import type { DeleteResult } from './delete.js';
import type { InspectResult } from './inspect-processes.js';
import type { ReplayBenchResult } from './replay.js';
import type { ScanResult } from './scan.js';

export interface SuiteResults {
  replay?: ReplayBenchResult[];
  scan?: ScanResult[];
  delete?: DeleteResult[];
  inspect?: InspectResult[];
  box?: BoxBenchResult;
}

/** Which suite takes a measure: the part of its name before the first dot (`gc_run` is the box suite's). */
export function suiteOf(measure: string): string {
  const prefix = measure.split('.')[0] ?? measure;
  return prefix === 'gc_run' ? 'box' : prefix;
}

const set = (m: Map<string, number>, name: string, v: number | undefined): void => {
  if (v !== undefined && Number.isFinite(v)) m.set(name, v);
};

export function gateMeasures(r: SuiteResults): Map<string, number> {
  const m = new Map<string, number>();
  if (r.replay !== undefined) {
    const ops = (name: string): number | undefined => r.replay?.find((x) => x.name === name)?.opsPerSec;
    const thrift = ops('thrift TBinaryProtocol — busy task (5×20 runs)');
    const ours = ops('replayCheckpoint — busy task (5×20 runs)');
    // How many times faster our replay is than the thrift package decoding the same bytes.
    if (thrift !== undefined && ours !== undefined) set(m, 'replay.x_thrift', ours / thrift);
  }
  if (r.scan !== undefined) {
    // The smallest agent the suite scanned (the quick run has one size), on the main thread.
    const n = Math.min(...r.scan.map((x) => x.tasks));
    set(m, 'scan.x_floor', r.scan.find((x) => x.tasks === n && x.workers === 0)?.minRatioToFloor);
  }
  if (r.delete !== undefined) set(m, 'delete.x_rm', r.delete.find((x) => x.method === 'deleter workers=0')?.ratioToRm);
  if (r.inspect !== undefined) set(m, 'inspect.snapshot_speedup', r.inspect.find((x) => x.method === 'lookup per pid (/proc)')?.speedupOfSnapshot);
  if (r.box !== undefined) {
    // Default config against its floor, one row per agent preset: the worst preset is the measure.
    const rows = r.box.rows.filter((x) => x.workers === 'default' && x.cpuXFloor !== undefined);
    if (rows.length > 0) {
      // A run that did not finish fails the gate (its ratio would flatter it).
      if (rows.every((x) => x.finished)) set(m, 'gc_run.cpu_x_floor', Math.max(...rows.map((x) => x.cpuXFloor as number)));
      else m.set('gc_run.cpu_x_floor', Number.POSITIVE_INFINITY);
      set(m, 'gc_run.peak_rss_mib', Math.max(...rows.map((x) => x.peakRssMiB)));
    }
  }
  return m;
}
