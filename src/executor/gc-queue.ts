// At most one GC task running and one waiting (domain.md §6 "Queue"). A newer task replaces the
// waiting one: the scheduler's latest map supersedes the older one. No I/O here: the executor
// sends the status updates the returned outcomes call for.

export interface QueuedGcTask {
  taskId: string;
  retained: ReadonlyMap<string, number>;
  /** When the task was received (epoch ms): the effective time of its map. */
  receivedMs: number;
}

export type OfferOutcome =
  | { kind: 'ignored-running' }
  | { kind: 'ignored-queued' }
  | { kind: 'queued'; replaced?: QueuedGcTask };

export type KillOutcomeKind = 'removed' | 'running' | 'unknown';

export class GcQueue {
  private runningId: string | undefined;
  private waiting: QueuedGcTask | undefined;
  /** Gauge: replacements since the queue was last found empty. */
  droppedTasks = 0;

  get running(): string | undefined {
    return this.runningId;
  }

  get queued(): QueuedGcTask | undefined {
    return this.waiting;
  }

  /** True when the id is the running or the waiting task (a repeated LAUNCH is ignored). */
  isKnown(taskId: string): OfferOutcome | undefined {
    if (taskId === this.runningId) return { kind: 'ignored-running' };
    if (taskId === this.waiting?.taskId) return { kind: 'ignored-queued' };
    return undefined;
  }

  offer(task: QueuedGcTask): OfferOutcome {
    const known = this.isKnown(task.taskId);
    if (known !== undefined) return known;
    const replaced = this.waiting;
    if (replaced === undefined) this.droppedTasks = 0;
    else this.droppedTasks++;
    this.waiting = task;
    return replaced === undefined ? { kind: 'queued' } : { kind: 'queued', replaced };
  }

  /** A KILL removes a waiting task; a running one is left to finish. */
  kill(taskId: string): KillOutcomeKind {
    if (taskId === this.waiting?.taskId) {
      this.waiting = undefined;
      return 'removed';
    }
    return taskId === this.runningId ? 'running' : 'unknown';
  }

  /** Moves the waiting task to running. */
  take(): QueuedGcTask | undefined {
    const task = this.waiting;
    if (task === undefined) return undefined;
    if (this.runningId !== undefined) throw new Error(`GC task ${this.runningId} is still running`);
    this.waiting = undefined;
    this.runningId = task.taskId;
    return task;
  }

  finishRunning(): void {
    this.runningId = undefined;
  }

  /** Empties the queue (shutdown), returning the task that was waiting. */
  drain(): QueuedGcTask | undefined {
    const task = this.waiting;
    this.waiting = undefined;
    return task;
  }
}
