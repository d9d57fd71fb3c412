// Narrows one JSON event from the agent's stream to what the driver acts on. Pure: hostile or
// malformed input becomes an IGNORED event with a reason, never an exception.
import {
  decodeBase64Strict, idValue, isRecord, isTaskInfoJson, type SubscribedJson, type TaskInfoJson,
} from './types.js';

export type DecodedEvent =
  | { type: 'SUBSCRIBED'; info: SubscribedJson }
  /** `data` is null when the task's base64 is malformed; an absent `data` field is empty bytes. */
  | { type: 'LAUNCH'; taskId: string; task: TaskInfoJson; data: Uint8Array | null }
  | { type: 'LAUNCH_GROUP'; tasks: TaskInfoJson[] }
  | { type: 'KILL'; taskId: string }
  | { type: 'ACKNOWLEDGED'; taskId: string; uuid: string }
  | { type: 'MESSAGE'; data: Uint8Array }
  | { type: 'SHUTDOWN' }
  | { type: 'ERROR'; message: string }
  | { type: 'HEARTBEAT' }
  /** Unknown types (debug) and malformed known ones (warn). */
  | { type: 'IGNORED'; eventType: string | undefined; reason: string; malformed: boolean };

function ignored(eventType: string | undefined, reason: string, malformed = true): DecodedEvent {
  return { type: 'IGNORED', eventType, reason, malformed };
}

export function decodeExecutorEvent(raw: unknown): DecodedEvent {
  if (!isRecord(raw) || typeof raw.type !== 'string') return ignored(undefined, 'event without a type');
  const type = raw.type;
  switch (type) {
    case 'SUBSCRIBED':
      // Only the fact of the subscription matters to us; its contents are passed on as given.
      return isRecord(raw.subscribed)
        ? { type, info: raw.subscribed as unknown as SubscribedJson }
        : ignored(type, 'SUBSCRIBED without a body');
    case 'LAUNCH': {
      const task = isRecord(raw.launch) ? raw.launch.task : undefined;
      if (!isTaskInfoJson(task)) return ignored(type, 'LAUNCH without a task id');
      const data = task.data === undefined ? new Uint8Array(0) : decodeBase64Strict(task.data);
      return { type, taskId: task.task_id.value, task, data };
    }
    case 'LAUNCH_GROUP': {
      const group = raw.launch_group;
      const tasks = isRecord(group) && isRecord(group.task_group) && Array.isArray(group.task_group.tasks)
        ? group.task_group.tasks.filter(isTaskInfoJson)
        : [];
      return { type, tasks };
    }
    case 'KILL': {
      const taskId = idValue(raw.kill, 'task_id');
      return taskId === undefined ? ignored(type, 'KILL without a task id') : { type, taskId };
    }
    case 'ACKNOWLEDGED': {
      const ack = raw.acknowledged;
      const taskId = idValue(ack, 'task_id');
      const uuid = isRecord(ack) && typeof ack.uuid === 'string' ? ack.uuid : undefined;
      return taskId === undefined || uuid === undefined
        ? ignored(type, 'ACKNOWLEDGED without task id or uuid')
        : { type, taskId, uuid };
    }
    case 'MESSAGE': {
      const data = decodeBase64Strict(isRecord(raw.message) ? raw.message.data : undefined);
      return data === null ? ignored(type, 'MESSAGE with malformed base64 data') : { type, data };
    }
    case 'SHUTDOWN':
    case 'HEARTBEAT':
      return { type };
    case 'ERROR':
      return {
        type,
        message: isRecord(raw.error) && typeof raw.error.message === 'string' ? raw.error.message : '(no message)',
      };
    default:
      return ignored(type, 'unknown event type', false);
  }
}
