// An in-memory GcServices: a scripted node (tasks, linked executors, kill results) whose state
// changes as the run kills and deletes, so tests check the final state like kubelet's GC tests.
import type { DeletionResult, DeletionTarget, TaskFacts, TaskRef, TaskSizes } from '../../src/core/facts.js';
import type {
  GcServices,
  KillMode,
  KillOutcome,
  OrphanOutcome,
  SandboxCandidate,
  SandboxDecisions,
  TaskListing,
} from '../../src/services/services.js';

export class FakeServices implements GcServices {
  readonly tasks = new Map<string, TaskFacts>();
  readonly linked = new Set<string>();
  readonly failKills = new Set<string>();
  readonly failMetadata = new Set<string>();
  readonly calls: string[] = [];
  readonly deletedTargets: DeletionTarget[] = [];
  /** Task ids the next orphan pass finds orphaned (and loses, unless in failKills). */
  orphans: string[] = [];
  trashFinished = 0;
  /** Resolves the next deleteTargets call only when released (to hold a run in flight). */
  holdDeletes: Promise<void> | undefined;

  add(f: TaskFacts): this {
    this.tasks.set(f.taskId, f);
    return this;
  }

  async listTasks(): Promise<TaskListing> {
    this.calls.push('listTasks');
    return {
      refs: [...this.tasks.values()].map((f) => ({ taskId: f.taskId, root: f.root, state: f.state })),
      rejected: [],
    };
  }

  async readFacts(refs: readonly TaskRef[]): Promise<TaskFacts[]> {
    this.calls.push('readFacts');
    return refs.flatMap((r) => {
      const f = this.tasks.get(r.taskId);
      return f === undefined ? [] : [structuredClone(f)];
    });
  }

  /** Ids each linkedExecutors call asked about (undefined: every executor). */
  readonly linkedAsked: Array<string[] | undefined> = [];

  async linkedExecutors(of?: Iterable<string>): Promise<Set<string>> {
    const asked = of === undefined ? undefined : [...of];
    this.linkedAsked.push(asked);
    return asked === undefined ? new Set(this.linked) : new Set(asked.filter((id) => this.linked.has(id)));
  }

  async killTask(ref: TaskRef, mode: KillMode): Promise<KillOutcome> {
    this.calls.push(`${mode}:${ref.taskId}`);
    if (this.failKills.has(ref.taskId)) return { taskId: ref.taskId, ok: false, error: { code: 'ERR_KILL', message: 'no' } };
    const f = this.tasks.get(ref.taskId);
    if (f !== undefined) f.state = 'finished';
    return { taskId: ref.taskId, ok: true, outcome: mode === 'kill' ? 'killed' : 'lost' };
  }

  /** Batches handed to killTasks, by task id. */
  readonly killBatches: string[][] = [];

  async killTasks(refs: readonly TaskRef[], mode: KillMode): Promise<KillOutcome[]> {
    this.killBatches.push(refs.map((r) => r.taskId));
    const out: KillOutcome[] = [];
    for (const r of refs) out.push(await this.killTask(r, mode));
    return out;
  }

  decideSandboxes(candidates: readonly SandboxCandidate[], kept: Iterable<SandboxCandidate>): SandboxDecisions {
    const keptPaths = new Set([...kept].map((k) => k.sandbox));
    const out: SandboxDecisions = { approved: new Map(), refused: [] };
    for (const c of candidates) {
      if (c.sandbox === undefined) continue;
      if (keptPaths.has(c.sandbox)) out.refused.push({ taskId: c.taskId, path: c.sandbox, reason: 'kept-task-shares-sandbox' });
      else out.approved.set(c.taskId, c.sandbox);
    }
    return out;
  }

  logPaths(f: TaskFacts): string[] {
    return [`${f.root}/logs/${f.taskId}`];
  }

  metadataPaths(f: TaskFacts): string[] {
    return [`${f.root}/tasks/${f.state}/${f.taskId}`, `${f.root}/checkpoints/${f.taskId}`];
  }

  async deleteTargets(targets: readonly DeletionTarget[]): Promise<DeletionResult[]> {
    this.calls.push('deleteTargets');
    if (this.holdDeletes !== undefined) await this.holdDeletes;
    return targets.map((t) => {
      this.deletedTargets.push(t);
      const paths = [...(t.sandbox === undefined ? [] : [t.sandbox]), ...t.logPaths, ...t.metadataPaths];
      if (this.failMetadata.has(t.taskId)) {
        return { taskId: t.taskId, deleted: paths.slice(0, -1), refused: [], errors: [{ code: 'ERR_DELETE', message: 'EBUSY', taskId: t.taskId }], bytesFreed: 10, inodesFreed: 1 };
      }
      this.tasks.delete(t.taskId);
      return { taskId: t.taskId, deleted: paths, refused: [], errors: [], bytesFreed: 100, inodesFreed: 3 };
    });
  }

  /** Every task measures 100 bytes of sandbox in 3 inodes (what its deletion frees here). */
  async measureTasks(facts: readonly TaskFacts[]): Promise<TaskSizes[]> {
    this.calls.push('measureTasks');
    return facts.map(() => ({ sandbox: { bytes: 100, inodes: 3 }, logs: { bytes: 0, inodes: 0 }, metadata: { bytes: 0, inodes: 0 } }));
  }

  async finishTrash(): Promise<void> {
    this.trashFinished++;
  }

  async cleanOrphans(): Promise<OrphanOutcome[]> {
    this.calls.push('cleanOrphans');
    const out: OrphanOutcome[] = [];
    for (const taskId of this.orphans) {
      const f = this.tasks.get(taskId);
      const ok = f !== undefined && !this.failKills.has(taskId);
      if (ok) f.state = 'finished';
      this.calls.push(`lose:${taskId}`);
      out.push({ taskId, action: 'lose', why: 'runner dead', lostOk: ok });
    }
    this.orphans = [];
    return out;
  }
}
