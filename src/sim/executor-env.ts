// The environment a Mesos agent gives an executor it launches (executorEnvironment,
// src/slave/slave.cpp:11410-11537), for the simulator: pure, from plain values.

export interface AgentEnvSpec {
  frameworkId: string;
  executorId: string;
  agentId: string;
  /** The agent's libprocess id (`slave(1)`), host and port: MESOS_SLAVE_PID and MESOS_AGENT_ENDPOINT. */
  pidId: string;
  host: string;
  port: number;
  /** MESOS_DIRECTORY and MESOS_SANDBOX (the containerizer sets the latter). */
  sandbox: string;
  checkpoint: boolean;
  /** Durations as the agent writes them (stringifyDuration), e.g. `15mins`, `2secs`. */
  recoveryTimeout: string;
  /** MESOS_SUBSCRIPTION_BACKOFF_MAX: the agent passes its executor_reregistration_timeout. */
  subscriptionBackoffMax: string;
  shutdownGracePeriod: string;
  /** Only with `--http_executor_domain_sockets`. */
  domainSocket?: string;
  /** Only when executor authentication is on. */
  token?: string;
}

export function executorEnvironment(spec: AgentEnvSpec): Record<string, string> {
  const env: Record<string, string> = {
    LIBPROCESS_PORT: '0',
    MESOS_FRAMEWORK_ID: spec.frameworkId,
    MESOS_EXECUTOR_ID: spec.executorId,
    MESOS_DIRECTORY: spec.sandbox,
    MESOS_SLAVE_ID: spec.agentId,
    MESOS_SLAVE_PID: `${spec.pidId}@${spec.host}:${spec.port}`,
    MESOS_AGENT_ENDPOINT: `${spec.host}:${spec.port}`,
    MESOS_CHECKPOINT: spec.checkpoint ? '1' : '0',
    MESOS_HTTP_COMMAND_EXECUTOR: '0',
    MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: spec.shutdownGracePeriod,
    MESOS_SANDBOX: spec.sandbox,
  };
  if (spec.domainSocket !== undefined) env.MESOS_DOMAIN_SOCKET = spec.domainSocket;
  if (spec.checkpoint) {
    env.MESOS_RECOVERY_TIMEOUT = spec.recoveryTimeout;
    env.MESOS_SUBSCRIPTION_BACKOFF_MAX = spec.subscriptionBackoffMax;
  }
  if (spec.token !== undefined) env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN = spec.token;
  return env;
}

const UNITS: ReadonlyArray<readonly [number, string]> = [
  [7 * 86_400_000, 'weeks'], [86_400_000, 'days'], [3_600_000, 'hrs'], [60_000, 'mins'], [1_000, 'secs'], [1, 'ms'],
];

/**
 * stout's `operator<<(Duration)` (3rdparty/stout/include/stout/duration.hpp:276-340) for whole
 * milliseconds: the bucket the duration falls in, or one unit down when that one is whole.
 */
export function stringifyDuration(ms: number): string {
  if (ms < 0) return `-${stringifyDuration(-ms)}`;
  const bucket = UNITS.findIndex(([unit]) => ms >= unit);
  if (bucket < 0 || bucket === UNITS.length - 1) return `${ms}ms`;
  const [unit, name] = UNITS[bucket] as readonly [number, string];
  const [smaller, smallerName] = UNITS[bucket + 1] as readonly [number, string];
  if (ms % unit !== 0 && ms % smaller === 0) return `${ms / smaller}${smallerName}`;
  return `${Number((ms / unit).toPrecision(15))}${name}`;
}
