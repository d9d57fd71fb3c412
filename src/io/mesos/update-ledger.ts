// What the executor owes the agent. Plain data, no I/O.
//
// Two kinds of status update, because the agent acknowledges an update only to the executor
// that owns the task (src/slave/slave.cpp:6415-6467: the ACK goes to
// framework->getExecutor(task_id)):
// - own: about a task LAUNCHed to this executor (a GC task). Kept until ACKNOWLEDGED, and while
//   unacknowledged it rides in every SUBSCRIBE's unacknowledged_updates, with its TaskInfo in
//   unacknowledged_tasks.
// - foreign: about any other task (every TASK_LOST and finish-detected update a GC run sends about
//   Aurora tasks). No ACKNOWLEDGED can come for it, so it is POSTed until the agent answers 202
//   and then forgotten. It stays in the POST outbox across re-subscriptions and never rides in
//   SUBSCRIBE: a carried update skips validateExecutorCall (slave.cpp:5349-5356 feeds it straight
//   to statusUpdate(), where a bad one aborts the agent), is silently lost when the agent answers
//   the SUBSCRIBE with SHUTDOWN (slave.cpp:5269-5298), and gives no per-update answer to count;
//   unacknowledged_updates is the executor's list of updates awaiting its own acknowledgements.
// A call the agent rejects (400, 415, ...) is dropped for good, own or foreign.
import type { TaskInfoJson, TaskStatusJson, CallUpdateJson } from './types.js';

export type Outgoing =
  | { kind: 'update'; uuid: string; own: boolean }
  | { kind: 'message'; data: string };

const TERMINAL = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR']);

export class UpdateLedger {
  /** Own updates not yet acknowledged, by uuid, in the order they were produced. */
  private readonly pending = new Map<string, TaskStatusJson>();
  /** Foreign updates not yet accepted (202), by uuid. */
  private readonly foreign = new Map<string, TaskStatusJson>();
  /** Own tasks none of whose updates is acknowledged yet (SUBSCRIBE's unacknowledged_tasks). */
  private readonly unackedTasks = new Map<string, TaskInfoJson>();
  /** Every task launched to this executor and not yet acknowledged terminal: what "own" means. */
  private readonly launched = new Set<string>();
  private outbox: Outgoing[] = [];

  /** Own updates waiting for ACKNOWLEDGED. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Calls not yet delivered (own updates before their first delivery, foreign updates, messages). */
  get undeliveredCount(): number {
    return this.outbox.length;
  }

  get unacknowledgedTaskCount(): number {
    return this.unackedTasks.size;
  }

  isOwn(taskId: string): boolean {
    return this.launched.has(taskId);
  }

  /** Records an update (its `uuid` must be set) and queues it for delivery; returns whether it is own. */
  addUpdate(status: TaskStatusJson & { uuid: string }): boolean {
    const own = this.launched.has(status.task_id.value);
    (own ? this.pending : this.foreign).set(status.uuid, status);
    this.outbox.push({ kind: 'update', uuid: status.uuid, own });
    return own;
  }

  addMessage(base64Data: string): void {
    this.outbox.push({ kind: 'message', data: base64Data });
  }

  noteLaunched(task: TaskInfoJson): void {
    const id = task.task_id.value;
    this.launched.add(id);
    if (!this.unackedTasks.has(id)) this.unackedTasks.set(id, task);
  }

  /**
   * Everything SUBSCRIBE must carry: own tasks and own updates not yet acknowledged. Those updates
   * are delivered by the SUBSCRIBE itself, so they leave the outbox (they must not be POSTed
   * again); foreign updates and messages stay in it.
   */
  takeForSubscribe(): { tasks: TaskInfoJson[]; updates: CallUpdateJson[] } {
    this.outbox = this.outbox.filter((item) => !(item.kind === 'update' && item.own));
    return {
      tasks: [...this.unackedTasks.values()],
      updates: [...this.pending.values()].map((status) => ({ status })),
    };
  }

  /** The next call to deliver, skipping updates settled meanwhile. */
  next(): { item: Outgoing; status?: TaskStatusJson } | undefined {
    while (this.outbox.length > 0) {
      const item = this.outbox[0] as Outgoing;
      if (item.kind === 'message') return { item };
      const status = (item.own ? this.pending : this.foreign).get(item.uuid);
      if (status !== undefined) return { item, status };
      this.outbox.shift();
    }
    return undefined;
  }

  /** The agent answered 202. A foreign update is done with; an own one now waits for ACKNOWLEDGED. */
  delivered(item: Outgoing): void {
    this.outbox = this.outbox.filter((other) => other !== item);
    if (item.kind === 'update' && !item.own) this.foreign.delete(item.uuid);
  }

  /** The agent refused the call for good: it is never sent again, nor carried in SUBSCRIBE. */
  rejected(item: Outgoing): void {
    this.outbox = this.outbox.filter((other) => other !== item);
    if (item.kind === 'update') (item.own ? this.pending : this.foreign).delete(item.uuid);
  }

  /** Applies an ACKNOWLEDGED event; returns the update it settles, or undefined if none matches. */
  acknowledge(taskId: string, uuid: string): TaskStatusJson | undefined {
    const status = this.pending.get(uuid);
    if (status === undefined || status.task_id.value !== taskId) return undefined;
    this.pending.delete(uuid);
    this.outbox = this.outbox.filter((item) => !(item.kind === 'update' && item.uuid === uuid));
    this.unackedTasks.delete(taskId);
    // Nothing more is said about a task once its terminal update is acknowledged: stop tracking it.
    if (TERMINAL.has(status.state)) this.launched.delete(taskId);
    return status;
  }
}
