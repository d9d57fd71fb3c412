// What the executor owes the agent: status updates not yet acknowledged, launched tasks none of
// whose updates is acknowledged, and calls not yet delivered (in order). Plain data, no I/O.
import type { TaskInfoJson, TaskStatusJson, CallUpdateJson } from './types.js';

export type Outgoing = { kind: 'update'; uuid: string } | { kind: 'message'; data: string };

export class UpdateLedger {
  /** Unacknowledged updates by uuid, in the order they were produced. */
  private readonly pending = new Map<string, TaskStatusJson>();
  private readonly unackedTasks = new Map<string, TaskInfoJson>();
  private outbox: Outgoing[] = [];

  get pendingCount(): number {
    return this.pending.size;
  }

  get undeliveredCount(): number {
    return this.outbox.length;
  }

  get unacknowledgedTaskCount(): number {
    return this.unackedTasks.size;
  }

  /** Records an update (its `uuid` must be set) and queues it for delivery. */
  addUpdate(status: TaskStatusJson & { uuid: string }): void {
    this.pending.set(status.uuid, status);
    this.outbox.push({ kind: 'update', uuid: status.uuid });
  }

  addMessage(base64Data: string): void {
    this.outbox.push({ kind: 'message', data: base64Data });
  }

  noteLaunched(task: TaskInfoJson): void {
    if (!this.unackedTasks.has(task.task_id.value)) this.unackedTasks.set(task.task_id.value, task);
  }

  /**
   * Everything SUBSCRIBE must carry. The updates ride in SUBSCRIBE (the agent forwards them), so
   * they leave the outbox: they must not be POSTed again.
   */
  takeForSubscribe(): { tasks: TaskInfoJson[]; updates: CallUpdateJson[] } {
    this.outbox = this.outbox.filter((item) => item.kind !== 'update');
    return {
      tasks: [...this.unackedTasks.values()],
      updates: [...this.pending.values()].map((status) => ({ status })),
    };
  }

  /** The next call to deliver, skipping updates acknowledged meanwhile. */
  next(): { item: Outgoing; status?: TaskStatusJson } | undefined {
    while (this.outbox.length > 0) {
      const item = this.outbox[0] as Outgoing;
      if (item.kind === 'message') return { item };
      const status = this.pending.get(item.uuid);
      if (status !== undefined) return { item, status };
      this.outbox.shift();
    }
    return undefined;
  }

  delivered(item: Outgoing): void {
    this.outbox = this.outbox.filter((other) => other !== item);
  }

  /** Applies an ACKNOWLEDGED event; returns the update it settles, or undefined if none matches. */
  acknowledge(taskId: string, uuid: string): TaskStatusJson | undefined {
    const status = this.pending.get(uuid);
    if (status === undefined || status.task_id.value !== taskId) return undefined;
    this.pending.delete(uuid);
    this.outbox = this.outbox.filter((item) => !(item.kind === 'update' && item.uuid === uuid));
    this.unackedTasks.delete(taskId);
    return status;
  }
}
