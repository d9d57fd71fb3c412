// The last GC run's report as JSON in the sandbox (next to executor_vars.json), so an operator or
// the demo can print the run table (src/report/run-report.ts) of an executor in another process.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LAST_RUN_MAX_IDS } from '../config.js';
import { REPORT_LISTS, type GcRunReport } from './gc-run.js';

export const LAST_RUN_FILE = 'last_gc_run.json';

/** The report with each list cut to its first `maxIds` entries and the rest counted in `truncated`. */
export function boundedReport(report: GcRunReport, maxIds = LAST_RUN_MAX_IDS): GcRunReport {
  const out: GcRunReport = { ...report };
  const truncated: NonNullable<GcRunReport['truncated']> = { ...report.truncated };
  for (const list of REPORT_LISTS) {
    const items = report[list];
    if (items.length <= maxIds) continue;
    truncated[list] = (truncated[list] ?? 0) + items.length - maxIds;
    // Both list kinds keep their own element type.
    (out as unknown as Record<string, unknown[]>)[list] = items.slice(0, maxIds);
  }
  if (Object.keys(truncated).length > 0) out.truncated = truncated;
  return out;
}

/** Writes `<dir>/last_gc_run.json` atomically, its lists bounded (boundedReport). */
export async function writeLastRunReport(dir: string, report: GcRunReport): Promise<string> {
  const target = join(dir, LAST_RUN_FILE);
  const tmp = `${target}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(boundedReport(report))}\n`);
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
