// The events a real Mesos agent sends an executor, as the simulator builds them: the protobuf
// messages (ExecutorInfo, FrameworkInfo, AgentInfo, TaskInfo as Aurora's scheduler and the
// master fill them) written through stout's JSON::Protobuf (stout-json.ts), so field order,
// defaults (`shell`, `extract`, `failover_timeout`, `checkpoint`, `port`, ...) and base64 bytes
// are what the agent writes (src/slave/slave.cpp:5420-5428, src/internal/evolve.cpp:522-588).
import type { ExecutorEventJson, TaskInfoJson } from '../io/mesos/types.js';
import { writeMessage, type ProtoMessage } from './stout-json.js';

export interface SimIdentity {
  frameworkId: string;
  executorId: string;
  agentId: string;
  containerId: string;
  hostname: string;
  /** The role Aurora runs as; the master stamps it into every resource's allocation_info. */
  role: string;
}

const SECOND_NS = 1_000_000_000;

function scalar(id: SimIdentity, name: string, value: number): ProtoMessage {
  return { name, type: 'SCALAR', scalar: { value }, allocation_info: { role: id.role } };
}

/** What Aurora's scheduler gives its GC executor (GcExecutorLauncher): small fixed resources. */
export function gcExecutorInfo(id: SimIdentity): ProtoMessage {
  return {
    type: 'CUSTOM',
    executor_id: { value: id.executorId },
    framework_id: { value: id.frameworkId },
    command: {
      uris: [{ value: '/usr/share/aurora/bin/thermos-gc', executable: true }],
      value: './thermos-gc executor',
    },
    resources: [scalar(id, 'cpus', 0.19), scalar(id, 'mem', 127), scalar(id, 'disk', 16)],
    name: 'aurora.gc',
    source: 'aurora.gc',
    labels: { labels: [{ key: 'org.apache.aurora.executor', value: 'gc' }] },
  };
}

function frameworkInfo(id: SimIdentity): ProtoMessage {
  return {
    user: 'root',
    name: 'Aurora',
    id: { value: id.frameworkId },
    failover_timeout: 21 * 24 * 3600,
    checkpoint: true,
    roles: [id.role],
    hostname: id.hostname,
    principal: 'aurora',
    capabilities: [{ type: 'REVOCABLE_RESOURCES' }, { type: 'PARTITION_AWARE' }, { type: 'MULTI_ROLE' }],
  };
}

function agentInfo(id: SimIdentity, port: number): ProtoMessage {
  const res = (name: string, value: number): ProtoMessage => ({ name, type: 'SCALAR', scalar: { value } });
  return {
    hostname: id.hostname,
    port,
    resources: [
      res('cpus', 32), res('mem', 257_000), res('disk', 3_500_000),
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } },
    ],
    attributes: [{ name: 'host', type: 'TEXT', text: { value: id.hostname } }],
    id: { value: id.agentId },
  };
}

function event(message: ProtoMessage): ExecutorEventJson {
  return writeMessage('Event', message) as unknown as ExecutorEventJson;
}

export function subscribedEvent(id: SimIdentity, port: number): ExecutorEventJson {
  return event({
    type: 'SUBSCRIBED',
    subscribed: {
      executor_info: gcExecutorInfo(id),
      framework_info: frameworkInfo(id),
      agent_info: agentInfo(id, port),
      container_id: { value: id.containerId },
    },
  });
}

/** A GC task as Aurora launches it; `data` is the Thrift AdjustRetainedTasks. */
export function gcTaskMessage(id: SimIdentity, taskId: string, data: Uint8Array): ProtoMessage {
  return {
    name: 'system-gc',
    task_id: { value: taskId },
    agent_id: { value: id.agentId },
    resources: [scalar(id, 'cpus', 0.19), scalar(id, 'mem', 127), scalar(id, 'disk', 16)],
    executor: gcExecutorInfo(id),
    kill_policy: { grace_period: { nanoseconds: 5 * SECOND_NS } },
    data,
    labels: { labels: [{ key: 'org.apache.aurora.tier', value: 'preferred' }] },
  };
}

/** The TaskInfo JSON of a GC task, exactly as the agent writes it inside LAUNCH. */
export function gcTaskInfo(id: SimIdentity, taskId: string, data: Uint8Array): TaskInfoJson {
  return writeMessage('TaskInfo', gcTaskMessage(id, taskId, data)) as unknown as TaskInfoJson;
}

/** LAUNCH around an already written TaskInfo JSON (hostile-input tests may pass a doctored one). */
export function launchEvent(task: TaskInfoJson): ExecutorEventJson {
  return { type: 'LAUNCH', launch: { task } };
}

export function launchGroupEvent(tasks: readonly ProtoMessage[]): ExecutorEventJson {
  return event({ type: 'LAUNCH_GROUP', launch_group: { task_group: { tasks: [...tasks] } } });
}

export function killEvent(taskId: string): ExecutorEventJson {
  return event({ type: 'KILL', kill: { task_id: { value: taskId } } });
}

export function acknowledgedEvent(taskId: string, uuid: Uint8Array): ExecutorEventJson {
  return event({ type: 'ACKNOWLEDGED', acknowledged: { task_id: { value: taskId }, uuid } });
}

export function messageEvent(data: Uint8Array): ExecutorEventJson {
  return event({ type: 'MESSAGE', message: { data } });
}

export function shutdownEvent(): ExecutorEventJson {
  return event({ type: 'SHUTDOWN' });
}

export function heartbeatEvent(): ExecutorEventJson {
  return event({ type: 'HEARTBEAT' });
}
