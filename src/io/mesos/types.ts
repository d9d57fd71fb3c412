// The Mesos v1 executor API JSON shapes we use (executor.proto / mesos.proto through the JSON
// mapping: snake_case fields, enums as names, bytes as standard padded base64), and a strict
// base64 decoder. Only the fields this executor reads or writes are typed; the rest pass through.
import type { MesosTaskState } from '../../core/states.js';

export interface IdJson {
  value: string;
}

export interface ResourceJson {
  name: string;
  type: 'SCALAR' | 'RANGES' | 'SET';
  scalar?: { value: number };
  role?: string;
}

export interface CommandInfoJson {
  value?: string;
  shell?: boolean;
  arguments?: string[];
  uris?: { value: string; executable?: boolean }[];
}

export interface ExecutorInfoJson {
  executor_id: IdJson;
  framework_id?: IdJson;
  type?: 'DEFAULT' | 'CUSTOM';
  command?: CommandInfoJson;
  resources?: ResourceJson[];
  name?: string;
  source?: string;
  data?: string;
}

export interface TaskInfoJson {
  name: string;
  task_id: IdJson;
  agent_id: IdJson;
  resources?: ResourceJson[];
  executor?: ExecutorInfoJson;
  /** Base64 of the task's opaque data (for a GC task: Thrift AdjustRetainedTasks). */
  data?: string;
  labels?: { labels: { key: string; value?: string }[] };
}

export interface FrameworkInfoJson {
  user: string;
  name: string;
  id?: IdJson;
  checkpoint?: boolean;
  hostname?: string;
  role?: string;
}

export interface AgentInfoJson {
  hostname: string;
  port?: number;
  id?: IdJson;
}

export type TaskStatusSource = 'SOURCE_MASTER' | 'SOURCE_AGENT' | 'SOURCE_EXECUTOR';

export interface TaskStatusJson {
  task_id: IdJson;
  state: MesosTaskState;
  source?: TaskStatusSource;
  /** Base64 of an RFC 4122 version-4 UUID (16 raw bytes); the agent acknowledges by (task_id, uuid). */
  uuid?: string;
  message?: string;
  /** Epoch seconds. */
  timestamp?: number;
  executor_id?: IdJson;
  agent_id?: IdJson;
  reason?: string;
}

// ---- calls (executor → agent) ----

export interface CallUpdateJson {
  status: TaskStatusJson;
}

export interface SubscribeCallJson {
  type: 'SUBSCRIBE';
  framework_id: IdJson;
  executor_id: IdJson;
  subscribe: { unacknowledged_tasks: TaskInfoJson[]; unacknowledged_updates: CallUpdateJson[] };
}

export interface UpdateCallJson {
  type: 'UPDATE';
  framework_id: IdJson;
  executor_id: IdJson;
  update: CallUpdateJson;
}

export interface MessageCallJson {
  type: 'MESSAGE';
  framework_id: IdJson;
  executor_id: IdJson;
  message: { data: string };
}

export type ExecutorCallJson = SubscribeCallJson | UpdateCallJson | MessageCallJson;

// ---- events (agent → executor) ----

export interface SubscribedJson {
  executor_info: ExecutorInfoJson;
  framework_info: FrameworkInfoJson;
  agent_info: AgentInfoJson;
  container_id?: IdJson;
}

export type ExecutorEventJson =
  | { type: 'SUBSCRIBED'; subscribed: SubscribedJson }
  | { type: 'LAUNCH'; launch: { task: TaskInfoJson } }
  | { type: 'LAUNCH_GROUP'; launch_group: { task_group: { tasks: TaskInfoJson[] } } }
  | { type: 'KILL'; kill: { task_id: IdJson; kill_policy?: unknown } }
  | { type: 'ACKNOWLEDGED'; acknowledged: { task_id: IdJson; uuid: string } }
  | { type: 'MESSAGE'; message: { data: string } }
  | { type: 'SHUTDOWN' }
  | { type: 'ERROR'; error: { message: string } }
  | { type: 'HEARTBEAT' };

export type ExecutorEventType = ExecutorEventJson['type'];

// ---- runtime narrowing of what arrives on the wire ----

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `obj[key].value` when it is a string (an `*ID` message), else undefined. */
export function idValue(obj: unknown, key: string): string | undefined {
  if (!isRecord(obj)) return undefined;
  const id = obj[key];
  return isRecord(id) && typeof id.value === 'string' ? id.value : undefined;
}

/** A TaskInfo as far as we rely on it: an object with a string task_id.value. */
export function isTaskInfoJson(value: unknown): value is TaskInfoJson {
  return idValue(value, 'task_id') !== undefined;
}

const NOT_BASE64_ALPHABET = /[^A-Za-z0-9+/]/;

/** Decodes standard padded base64 (what the agent writes); null for anything else. */
export function decodeBase64Strict(text: unknown): Uint8Array | null {
  if (typeof text !== 'string' || text.length % 4 !== 0) return null;
  // A search for one bad character, not a whole-string pattern: linear even for a 100 MB payload.
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (NOT_BASE64_ALPHABET.test(text.slice(0, text.length - padding))) return null;
  const buf = Buffer.from(text, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function encodeBase64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}
