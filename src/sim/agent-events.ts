// The JSON a real Mesos agent sends an executor (executor.proto's Event, mesos.proto's TaskInfo,
// ExecutorInfo, FrameworkInfo through the JSON mapping), as the simulator builds it.
import type {
  ExecutorEventJson, ExecutorInfoJson, ResourceJson, SubscribedJson, TaskInfoJson, TaskStatusJson,
} from '../io/mesos/types.js';

export interface SimIdentity {
  frameworkId: string;
  executorId: string;
  agentId: string;
  containerId: string;
  hostname: string;
}

function scalar(name: string, value: number): ResourceJson {
  return { name, type: 'SCALAR', scalar: { value }, role: '*' };
}

/** What Aurora's scheduler gives its GC executor (GcExecutorLauncher): small fixed resources. */
export function gcExecutorInfo(id: SimIdentity): ExecutorInfoJson {
  return {
    executor_id: { value: id.executorId },
    framework_id: { value: id.frameworkId },
    type: 'CUSTOM',
    name: 'aurora.gc',
    source: 'aurora.gc',
    command: { value: './thermos-gc executor', shell: true },
    resources: [scalar('cpus', 0.19), scalar('mem', 127), scalar('disk', 16)],
  };
}

export function subscribedEvent(id: SimIdentity, port: number): ExecutorEventJson {
  const subscribed: SubscribedJson = {
    executor_info: gcExecutorInfo(id),
    framework_info: {
      user: 'root',
      name: 'Aurora',
      id: { value: id.frameworkId },
      checkpoint: true,
      hostname: id.hostname,
      role: '*',
    },
    agent_info: { hostname: id.hostname, port, id: { value: id.agentId } },
    container_id: { value: id.containerId },
  };
  return { type: 'SUBSCRIBED', subscribed };
}

export function gcTaskInfo(id: SimIdentity, taskId: string, data: Uint8Array): TaskInfoJson {
  return {
    name: 'system-gc',
    task_id: { value: taskId },
    agent_id: { value: id.agentId },
    resources: [scalar('cpus', 0.19), scalar('mem', 127), scalar('disk', 16)],
    executor: gcExecutorInfo(id),
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
  };
}

export function launchEvent(task: TaskInfoJson): ExecutorEventJson {
  return { type: 'LAUNCH', launch: { task } };
}

export function launchGroupEvent(tasks: TaskInfoJson[]): ExecutorEventJson {
  return { type: 'LAUNCH_GROUP', launch_group: { task_group: { tasks } } };
}

export function killEvent(taskId: string): ExecutorEventJson {
  return { type: 'KILL', kill: { task_id: { value: taskId } } };
}

export function acknowledgedEvent(status: TaskStatusJson): ExecutorEventJson {
  return { type: 'ACKNOWLEDGED', acknowledged: { task_id: status.task_id, uuid: status.uuid ?? '' } };
}

export function messageEvent(data: Uint8Array): ExecutorEventJson {
  return { type: 'MESSAGE', message: { data: Buffer.from(data).toString('base64') } };
}
