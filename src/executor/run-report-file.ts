// The last GC run's report as JSON in the sandbox (next to executor_vars.json), so an operator or
// the demo can print the run table (src/report/run-report.ts) of an executor in another process.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GcRunReport } from './gc-run.js';

export const LAST_RUN_FILE = 'last_gc_run.json';

/** Writes `<dir>/last_gc_run.json` atomically. */
export async function writeLastRunReport(dir: string, report: GcRunReport): Promise<string> {
  const target = join(dir, LAST_RUN_FILE);
  const tmp = `${target}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(report)}\n`);
  await rename(tmp, target);
  return target;
}

/** Reads it back; undefined when no run has finished yet. */
export async function readLastRunReport(dir: string): Promise<GcRunReport | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, LAST_RUN_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as GcRunReport;
}
