// The agent's side of status updates (src/slave/slave.cpp Slave::statusUpdate and
// ___statusUpdate, 5991-6467) for the simulator: which updates it takes, which it drops, when it
// aborts, and to whom it acknowledges. Plain data, no I/O.
import type { TaskInfoJson, TaskStatusJson } from '../io/mesos/types.js';
import { isValidUuidBytes } from './agent-rules.js';
import type { ProtoMessage } from './stout-json.js';

export interface ReceivedUpdate {
  /** The TaskStatus JSON as the executor sent it. */
  status: TaskStatusJson;
  /** UPDATE call, or carried in SUBSCRIBE's unacknowledged_updates. */
  via: 'UPDATE' | 'SUBSCRIBE';
  /** The task was launched to this executor: only then does the agent acknowledge to it. */
  own: boolean;
}

export interface DroppedUpdate {
  status: unknown;
  why: string;
}

export type UpdateOutcome =
  | { kind: 'taken'; own: boolean; taskId: string; uuid: Uint8Array }
  | { kind: 'dropped'; why: string }
  /** `LOG(INFO) << update` decodes the uuid with a call that aborts the agent (messages.cpp:107-114). */
  | { kind: 'abort'; reason: string }
  /** TASK_STAGING from the executor on the unvalidated path: the agent shuts the executor down (6184-6191). */
  | { kind: 'shutdown-executor'; why: string };

function idValue(id: unknown): string | undefined {
  return typeof id === 'object' && id !== null ? ((id as ProtoMessage).value as string | undefined) : undefined;
}

const key = (uuid: Uint8Array): string => Buffer.from(uuid.buffer, uuid.byteOffset, uuid.byteLength).toString('hex');

export class AgentStatusUpdates {
  readonly received: ReceivedUpdate[] = [];
  readonly dropped: DroppedUpdate[] = [];
  /** Tasks launched to the executor (the agent's executor->launchedTasks). */
  readonly ownTasks = new Map<string, TaskInfoJson>();
  /** Own updates taken and not yet acknowledged, by uuid (hex). */
  private readonly unacked = new Map<string, { taskId: string; uuid: Uint8Array; status: TaskStatusJson }>();

  constructor(private readonly agentId: string) {}

  /**
   * One update reaching statusUpdate(): `parsed` is the TaskStatus after stout's conversion,
   * `raw` its JSON. SUBSCRIBE's updates arrive here unvalidated (slave.cpp:5349-5356).
   */
  take(parsed: ProtoMessage, raw: TaskStatusJson, via: ReceivedUpdate['via']): UpdateOutcome {
    const uuid = parsed.uuid as Uint8Array | undefined;
    if (uuid !== undefined && !isValidUuidBytes(uuid)) {
      return { kind: 'abort', reason: `id::UUID::fromBytes(${key(uuid)}).get(): Not a valid UUID (status update for task '${idValue(parsed.task_id) ?? '?'}' via ${via})` };
    }
    if (uuid === undefined) return this.drop(raw, "status update without 'uuid'");
    const agentId = idValue(parsed.agent_id);
    if (agentId !== undefined && agentId !== this.agentId) {
      return this.drop(raw, `Slave ID mismatch; expected '${this.agentId}', received '${agentId}'`);
    }
    const taskId = idValue(parsed.task_id) ?? '';
    if (parsed.state === 'TASK_STAGING') return { kind: 'shutdown-executor', why: `TASK_STAGING for task '${taskId}' from the executor` };
    const own = this.ownTasks.has(taskId);
    this.received.push({ status: raw, via, own });
    if (own) this.unacked.set(key(uuid), { taskId, uuid, status: raw });
    return { kind: 'taken', own, taskId, uuid };
  }

  private drop(status: unknown, why: string): UpdateOutcome {
    this.dropped.push({ status, why });
    return { kind: 'dropped', why };
  }

  /** Own updates taken and not acknowledged yet. */
  unacknowledged(): TaskStatusJson[] {
    return [...this.unacked.values()].map((u) => u.status);
  }

  /** Marks one own update acknowledged; returns what the ACKNOWLEDGED event carries, or undefined. */
  acknowledge(uuid: Uint8Array): { taskId: string; uuid: Uint8Array } | undefined {
    const entry = this.unacked.get(key(uuid));
    if (entry === undefined) return undefined;
    this.unacked.delete(key(uuid));
    return { taskId: entry.taskId, uuid: entry.uuid };
  }

  unackedUuids(): Uint8Array[] {
    return [...this.unacked.values()].map((u) => u.uuid);
  }
}
