// What `collect` may select, from the shared scan: finished tasks (unlinked unless asked), each
// with its age and what its deletion would free, measured on the pool. Two rules on top of the
// measurement, so that sizes add up to what a deletion really frees (a sandbox nested inside
// another is still counted in both: the policy refuses such pairs unless both go):
// - a sandbox is counted once: among candidates naming the same sandbox, for the newest (the one
//   `--max-space` keeps first); a sandbox another, kept, task names is not counted at all (the
//   sandbox policy will keep it);
// - with metadata kept, a task whose sandbox (and, with --delete-logs, logs) are already gone was
//   collected before: it is done, not a candidate, so `--max-tasks` does not select it again.
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { CollectCandidate, CollectLimits } from '../core/collect-policy.js';
import { oldestFirst } from '../core/collect-policy.js';
import type { TaskFacts, TaskSizes } from '../core/facts.js';
import { taskFilePath } from '../io/checkpoint-paths.js';
import { mapBounded } from '../map-bounded.js';
import type { Progress } from '../report/progress.js';
import type { GcServices } from '../services/services.js';

export interface CandidateScan {
  candidates: CollectCandidate[];
  /** Facts of every candidate, by id. */
  facts: Map<string, TaskFacts>;
  /** Finished tasks already collected by an earlier run (metadata kept): done, not candidates. */
  alreadyCollected: string[];
  /**
   * Finished tasks whose sandbox is unknown (the runner checkpoint cannot be read or names none)
   * and that have nothing else this collect would delete: not candidates, and not "collected".
   */
  sandboxUnknown: string[];
}

/** Why a measured task is not a candidate. */
export type NotCandidate = 'already-collected' | 'sandbox-unknown';

/** Age from the runner checkpoint's mtime; without one, from the task file's. */
async function ageOf(f: TaskFacts, nowMs: number): Promise<number> {
  let mtime = f.runnerMtimeMs;
  if (mtime === undefined) mtime = await lstat(taskFilePath(f.root, f.state, f.taskId)).then((s) => s.mtimeMs, () => nowMs);
  return Math.max(0, nowMs - mtime);
}

const sandboxKey = (f: TaskFacts): string | undefined => (f.sandbox === undefined || !path.isAbsolute(f.sandbox) ? undefined : path.normalize(f.sandbox));

/** Measured in pieces of this many tasks, so the progress bar moves. */
const MEASURE_PIECE = 1024;

export interface CandidateOptions {
  /**
   * Measure now. False when nothing decided before the deletion needs sizes (no --max-space,
   * metadata deleted, nothing printed first): the deleter's own tally reports what went, and
   * the trees are walked once instead of twice.
   */
  measure: boolean;
}

export async function collectCandidates(
  services: Pick<GcServices, 'measureTasks'>,
  eligible: readonly TaskFacts[],
  others: readonly TaskFacts[],
  limits: Pick<CollectLimits, 'deleteLogs' | 'deleteMetadata'>,
  nowMs: number,
  progress: Progress,
  opts: CandidateOptions = { measure: true },
): Promise<CandidateScan> {
  const ages = await mapBounded(eligible, 16, (f) => ageOf(f, nowMs));
  const order = eligible.map((f, i) => ({ f, c: { taskId: f.taskId, ageMs: ages[i] as number, sandboxBytes: 0, logBytes: 0, metadataBytes: 0 } }));
  order.sort((a, b) => oldestFirst(a.c, b.c));
  const out: CandidateScan = { candidates: [], facts: new Map(), alreadyCollected: [], sandboxUnknown: [] };
  if (!opts.measure) {
    for (const { f, c } of order) {
      out.candidates.push(c);
      out.facts.set(f.taskId, f);
    }
    return out;
  }
  const done = await measureInto(services, order, others, limits, progress);
  for (const { f, c } of order) {
    const why = done.get(f.taskId);
    if (why === 'already-collected') out.alreadyCollected.push(f.taskId);
    else if (why === 'sandbox-unknown') out.sandboxUnknown.push(f.taskId);
    else {
      out.candidates.push(c);
      out.facts.set(f.taskId, f);
    }
  }
  return out;
}

/** Measures candidates (oldest first) into their sizes; returns the ones that are not candidates, and why. */
export async function measureInto(
  services: Pick<GcServices, 'measureTasks'>,
  order: ReadonlyArray<{ f: TaskFacts; c: CollectCandidate }>,
  others: readonly TaskFacts[],
  limits: Pick<CollectLimits, 'deleteLogs' | 'deleteMetadata'>,
  progress: Progress,
): Promise<Map<string, NotCandidate>> {
  // The newest candidate naming a sandbox owns it.
  const owner = new Map<string, string>();
  for (const { f } of order) {
    const key = sandboxKey(f);
    if (key !== undefined) owner.set(key, f.taskId);
  }
  const keptSandboxes = new Set<string>();
  for (const f of others) {
    const key = sandboxKey(f);
    if (key !== undefined) keptSandboxes.add(key);
  }
  // A shared sandbox is walked once per task naming it (rare), and counted for its owner only.
  const sizes: TaskSizes[] = [];
  for (let i = 0; i < order.length; i += MEASURE_PIECE) {
    const piece = order.slice(i, i + MEASURE_PIECE).map((o) => o.f);
    sizes.push(...(await services.measureTasks(piece)));
    progress.tick(piece.length);
  }
  const sandboxExists = new Map<string, boolean>();
  order.forEach(({ f }, i) => {
    const key = sandboxKey(f);
    if (key !== undefined && owner.get(key) === f.taskId) sandboxExists.set(key, (sizes[i] as TaskSizes).sandbox.inodes > 0);
  });
  const notCandidates = new Map<string, NotCandidate>();
  order.forEach(({ f, c }, i) => {
    const s = sizes[i] as TaskSizes;
    const key = sandboxKey(f);
    const hasSandbox = key !== undefined && sandboxExists.get(key) === true;
    // Nothing left to delete with metadata kept: gone before, or never known (a checkpoint that
    // cannot be read names no sandbox: it is not "gone", and saying so would hide the task).
    if (!limits.deleteMetadata && !hasSandbox && (!limits.deleteLogs || s.logs.inodes === 0)) {
      notCandidates.set(f.taskId, key === undefined ? 'sandbox-unknown' : 'already-collected');
    }
    // Counted for the owner only, and not at all when a kept task names it (it stays).
    const counted = key !== undefined && owner.get(key) === f.taskId && !keptSandboxes.has(key);
    c.sandboxBytes = counted ? s.sandbox.bytes : 0;
    c.logBytes = s.logs.bytes;
    c.metadataBytes = s.metadata.bytes;
  });
  return notCandidates;
}
