// The subset of the Mesos v1 protobuf schema (include/mesos/v1/mesos.proto and
// include/mesos/v1/executor/executor.proto at c1b42f79) that the agent simulator reads from an
// executor and writes to it: field names, labels, declaration order, `[default]`s and
// `deprecated`, as stout's JSON <-> protobuf mapping sees them. Fields of those messages that
// this project never reads or writes (container, health checks, discovery, disk info, ...) are
// left out: stout would ignore them on input like any unknown name, and they are never output.

export type ScalarType = 'string' | 'bytes' | 'bool' | 'double' | 'int32' | 'int64' | 'uint64';
export type Label = 'required' | 'optional' | 'repeated' | 'map';

export interface FieldSpec {
  readonly name: string;
  /** A scalar type, or the name of an enum in ENUMS or a message in MESSAGES. */
  readonly type: string;
  readonly label: Label;
  readonly defaultValue?: string | number | boolean;
  readonly deprecated?: boolean;
}

const req = (name: string, type: string): FieldSpec => ({ name, type, label: 'required' });
const opt = (name: string, type: string, extra: { defaultValue?: string | number | boolean; deprecated?: boolean } = {}): FieldSpec =>
  ({ name, type, label: 'optional', ...extra });
const rep = (name: string, type: string): FieldSpec => ({ name, type, label: 'repeated' });
/** `map<string, type>` (a repeated entry message on the wire; a JSON object in stout). */
const map = (name: string, type: string): FieldSpec => ({ name, type, label: 'map' });

/** Enum value names in declaration order (the first is what an unset field reads as). */
export const ENUMS: Readonly<Record<string, readonly string[]>> = {
  'Value.Type': ['SCALAR', 'RANGES', 'SET', 'TEXT'],
  'Resource.ReservationInfo.Type': ['UNKNOWN', 'STATIC', 'DYNAMIC'],
  'Environment.Variable.Type': ['UNKNOWN', 'VALUE', 'SECRET'],
  'ExecutorInfo.Type': ['UNKNOWN', 'DEFAULT', 'CUSTOM'],
  'FrameworkInfo.Capability.Type': [
    'UNKNOWN', 'REVOCABLE_RESOURCES', 'TASK_KILLING_STATE', 'GPU_RESOURCES', 'SHARED_RESOURCES', 'PARTITION_AWARE',
    'MULTI_ROLE', 'RESERVATION_REFINEMENT', 'REGION_AWARE',
  ],
  TaskState: [
    'TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED',
    'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_UNREACHABLE', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'TASK_UNKNOWN',
  ],
  'TaskStatus.Source': ['SOURCE_MASTER', 'SOURCE_AGENT', 'SOURCE_EXECUTOR'],
  'TaskStatus.Reason': [
    'REASON_COMMAND_EXECUTOR_FAILED', 'REASON_CONTAINER_LAUNCH_FAILED', 'REASON_CONTAINER_LIMITATION',
    'REASON_CONTAINER_LIMITATION_DISK', 'REASON_CONTAINER_LIMITATION_MEMORY', 'REASON_CONTAINER_PREEMPTED',
    'REASON_CONTAINER_UPDATE_FAILED', 'REASON_MAX_COMPLETION_TIME_REACHED', 'REASON_EXECUTOR_REGISTRATION_TIMEOUT',
    'REASON_EXECUTOR_REREGISTRATION_TIMEOUT', 'REASON_EXECUTOR_TERMINATED', 'REASON_EXECUTOR_UNREGISTERED',
    'REASON_FRAMEWORK_REMOVED', 'REASON_GC_ERROR', 'REASON_INVALID_FRAMEWORKID', 'REASON_INVALID_OFFERS',
    'REASON_IO_SWITCHBOARD_EXITED', 'REASON_MASTER_DISCONNECTED', 'REASON_RECONCILIATION', 'REASON_RESOURCES_UNKNOWN',
    'REASON_AGENT_DISCONNECTED', 'REASON_AGENT_DRAINING', 'REASON_AGENT_REMOVED', 'REASON_AGENT_REMOVED_BY_OPERATOR',
    'REASON_AGENT_REREGISTERED', 'REASON_AGENT_RESTARTED', 'REASON_AGENT_UNKNOWN', 'REASON_TASK_KILLED_DURING_LAUNCH',
    'REASON_TASK_CHECK_STATUS_UPDATED', 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED', 'REASON_TASK_GROUP_INVALID',
    'REASON_TASK_GROUP_UNAUTHORIZED', 'REASON_TASK_INVALID', 'REASON_TASK_UNAUTHORIZED', 'REASON_TASK_UNKNOWN',
  ],
  'Call.Type': ['UNKNOWN', 'SUBSCRIBE', 'UPDATE', 'MESSAGE', 'HEARTBEAT'],
  'Event.Type': ['UNKNOWN', 'SUBSCRIBED', 'LAUNCH', 'LAUNCH_GROUP', 'KILL', 'ACKNOWLEDGED', 'MESSAGE', 'ERROR', 'SHUTDOWN', 'HEARTBEAT'],
};

/** Fields in declaration order (stout writes them in this order). */
export const MESSAGES: Readonly<Record<string, readonly FieldSpec[]>> = {
  FrameworkID: [req('value', 'string')],
  AgentID: [req('value', 'string')],
  TaskID: [req('value', 'string')],
  ExecutorID: [req('value', 'string')],
  ContainerID: [req('value', 'string'), opt('parent', 'ContainerID')],
  TimeInfo: [req('nanoseconds', 'int64')],
  DurationInfo: [req('nanoseconds', 'int64')],
  'Value.Scalar': [req('value', 'double')],
  'Value.Range': [req('begin', 'uint64'), req('end', 'uint64')],
  'Value.Ranges': [rep('range', 'Value.Range')],
  'Value.Set': [rep('item', 'string')],
  'Value.Text': [req('value', 'string')],
  Label: [req('key', 'string'), opt('value', 'string')],
  Labels: [rep('labels', 'Label')],
  Attribute: [
    req('name', 'string'), req('type', 'Value.Type'), opt('scalar', 'Value.Scalar'), opt('ranges', 'Value.Ranges'),
    opt('set', 'Value.Set'), opt('text', 'Value.Text'),
  ],
  'Resource.AllocationInfo': [opt('role', 'string')],
  'Resource.ReservationInfo': [
    opt('type', 'Resource.ReservationInfo.Type'), opt('role', 'string'), opt('principal', 'string'), opt('labels', 'Labels'),
  ],
  'Resource.RevocableInfo': [],
  'Resource.SharedInfo': [],
  Resource: [
    req('name', 'string'), req('type', 'Value.Type'), opt('scalar', 'Value.Scalar'), opt('ranges', 'Value.Ranges'),
    opt('set', 'Value.Set'), opt('role', 'string', { defaultValue: '*', deprecated: true }),
    opt('allocation_info', 'Resource.AllocationInfo'), opt('reservation', 'Resource.ReservationInfo'),
    rep('reservations', 'Resource.ReservationInfo'), opt('revocable', 'Resource.RevocableInfo'),
    opt('shared', 'Resource.SharedInfo'),
  ],
  'Environment.Variable': [
    req('name', 'string'), opt('type', 'Environment.Variable.Type', { defaultValue: 'VALUE' }), opt('value', 'string'),
  ],
  Environment: [rep('variables', 'Environment.Variable')],
  'CommandInfo.URI': [
    req('value', 'string'), opt('executable', 'bool'), opt('extract', 'bool', { defaultValue: true }), opt('cache', 'bool'),
    opt('output_file', 'string'),
  ],
  CommandInfo: [
    rep('uris', 'CommandInfo.URI'), opt('environment', 'Environment'), opt('shell', 'bool', { defaultValue: true }),
    opt('value', 'string'), rep('arguments', 'string'), opt('user', 'string'),
  ],
  KillPolicy: [opt('grace_period', 'DurationInfo')],
  ExecutorInfo: [
    opt('type', 'ExecutorInfo.Type'), req('executor_id', 'ExecutorID'), opt('framework_id', 'FrameworkID'),
    opt('command', 'CommandInfo'), rep('resources', 'Resource'), opt('name', 'string'),
    opt('source', 'string', { deprecated: true }), opt('data', 'bytes'), opt('shutdown_grace_period', 'DurationInfo'),
    opt('labels', 'Labels'),
  ],
  TaskInfo: [
    req('name', 'string'), req('task_id', 'TaskID'), req('agent_id', 'AgentID'), rep('resources', 'Resource'),
    opt('executor', 'ExecutorInfo'), opt('command', 'CommandInfo'), opt('kill_policy', 'KillPolicy'), opt('data', 'bytes'),
    opt('labels', 'Labels'), opt('max_completion_time', 'DurationInfo'), map('limits', 'Value.Scalar'),
  ],
  TaskGroupInfo: [rep('tasks', 'TaskInfo')],
  'FrameworkInfo.Capability': [opt('type', 'FrameworkInfo.Capability.Type')],
  FrameworkInfo: [
    req('user', 'string'), req('name', 'string'), opt('id', 'FrameworkID'),
    opt('failover_timeout', 'double', { defaultValue: 0 }), opt('checkpoint', 'bool', { defaultValue: false }),
    opt('role', 'string', { defaultValue: '*', deprecated: true }), rep('roles', 'string'), opt('hostname', 'string'),
    opt('principal', 'string'), opt('webui_url', 'string'), rep('capabilities', 'FrameworkInfo.Capability'),
    opt('labels', 'Labels'),
  ],
  AgentInfo: [
    req('hostname', 'string'), opt('port', 'int32', { defaultValue: 5051 }), rep('resources', 'Resource'),
    rep('attributes', 'Attribute'), opt('id', 'AgentID'),
  ],
  TaskStatus: [
    req('task_id', 'TaskID'), req('state', 'TaskState'), opt('message', 'string'), opt('source', 'TaskStatus.Source'),
    opt('reason', 'TaskStatus.Reason'), opt('data', 'bytes'), opt('agent_id', 'AgentID'), opt('executor_id', 'ExecutorID'),
    opt('timestamp', 'double'), opt('uuid', 'bytes'), opt('healthy', 'bool'), opt('labels', 'Labels'),
    opt('unreachable_time', 'TimeInfo'),
  ],
  // executor.proto
  'Call.Subscribe': [rep('unacknowledged_tasks', 'TaskInfo'), rep('unacknowledged_updates', 'Call.Update')],
  'Call.Update': [req('status', 'TaskStatus')],
  'Call.Message': [req('data', 'bytes')],
  Call: [
    req('executor_id', 'ExecutorID'), req('framework_id', 'FrameworkID'), opt('type', 'Call.Type'),
    opt('subscribe', 'Call.Subscribe'), opt('update', 'Call.Update'), opt('message', 'Call.Message'),
  ],
  'Event.Subscribed': [
    req('executor_info', 'ExecutorInfo'), req('framework_info', 'FrameworkInfo'), req('agent_info', 'AgentInfo'),
    opt('container_id', 'ContainerID'),
  ],
  'Event.Launch': [req('task', 'TaskInfo')],
  'Event.LaunchGroup': [req('task_group', 'TaskGroupInfo')],
  'Event.Kill': [req('task_id', 'TaskID'), opt('kill_policy', 'KillPolicy')],
  'Event.Acknowledged': [req('task_id', 'TaskID'), req('uuid', 'bytes')],
  'Event.Message': [req('data', 'bytes')],
  'Event.Error': [req('message', 'string')],
  Event: [
    opt('type', 'Event.Type'), opt('subscribed', 'Event.Subscribed'), opt('acknowledged', 'Event.Acknowledged'),
    opt('launch', 'Event.Launch'), opt('launch_group', 'Event.LaunchGroup'), opt('kill', 'Event.Kill'),
    opt('message', 'Event.Message'), opt('error', 'Event.Error'),
  ],
};

const SCALARS: ReadonlySet<string> = new Set<ScalarType>(['string', 'bytes', 'bool', 'double', 'int32', 'int64', 'uint64']);

export type TypeKind = { kind: 'scalar'; type: ScalarType } | { kind: 'enum'; values: readonly string[] } | { kind: 'message'; fields: readonly FieldSpec[] };

/** What a field's type name refers to. Throws on a name the schema does not define (a bug here). */
export function resolveType(type: string): TypeKind {
  if (SCALARS.has(type)) return { kind: 'scalar', type: type as ScalarType };
  const values = ENUMS[type];
  if (values !== undefined) return { kind: 'enum', values };
  const fields = MESSAGES[type];
  if (fields !== undefined) return { kind: 'message', fields };
  throw new Error(`mesos-proto: unknown type '${type}'`);
}
