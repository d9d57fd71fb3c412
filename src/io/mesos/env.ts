// The MESOS_* environment the agent gives an executor (domain.md §7), compiled once into a frozen
// object with explicit units. The environment is passed in; this module never reads process.env.
import { parseDuration } from '../../config.js';
import { UsageError } from '../../errors.js';

export interface MesosExecutorEnv {
  /** MESOS_AGENT_ENDPOINT as given (`host:port`); undefined only when a domain socket is used. */
  readonly agentEndpoint: string | undefined;
  readonly agentHost: string | undefined;
  readonly agentPort: number | undefined;
  /** MESOS_DOMAIN_SOCKET: when set, calls go over this Unix socket instead of TCP. */
  readonly domainSocket: string | undefined;
  readonly frameworkId: string;
  readonly executorId: string;
  /** MESOS_DIRECTORY: the sandbox path on the agent's filesystem. */
  readonly directory: string | undefined;
  /** MESOS_SANDBOX: the sandbox as seen inside the container (defaults to `directory`). */
  readonly sandbox: string | undefined;
  /** MESOS_CHECKPOINT = '1': the framework checkpoints, so reconnect after an agent restart. */
  readonly checkpoint: boolean;
  /** @default 15 mins (MESOS_RECOVERY_TIMEOUT) */
  readonly recoveryTimeoutMs: number;
  /** @default 2 secs (MESOS_SUBSCRIPTION_BACKOFF_MAX) */
  readonly subscriptionBackoffMaxMs: number;
  /** @default 5 secs (MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD) */
  readonly shutdownGracePeriodMs: number;
  /** MESOS_EXECUTOR_AUTHENTICATION_TOKEN, sent as `Authorization: Bearer <token>`. */
  readonly authenticationToken: string | undefined;
}

const DEFAULT_RECOVERY_TIMEOUT_MS = 15 * 60_000;
const DEFAULT_SUBSCRIPTION_BACKOFF_MAX_MS = 2_000;
const DEFAULT_SHUTDOWN_GRACE_PERIOD_MS = 5_000;

type Env = Readonly<Record<string, string | undefined>>;

function optional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function required(env: Env, name: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new UsageError(`${name} is not set (is this process running under a Mesos agent?)`);
  return value;
}

function duration(env: Env, name: string, fallback: number): number {
  const value = optional(env, name);
  return value === undefined ? fallback : parseDuration(value, name);
}

/** Splits `host:port` or `[v6]:port`. */
export function parseAgentEndpoint(text: string, what = 'MESOS_AGENT_ENDPOINT'): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || !(port >= 1 && port <= 65535)) {
    throw new UsageError(`${what}: '${text}' is not host:port`);
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

function flag(env: Env, name: string): boolean {
  const value = optional(env, name);
  if (value === undefined || value === '0') return false;
  if (value === '1') return true;
  throw new UsageError(`${name}: '${value}' must be 0 or 1`);
}

export function parseMesosEnv(env: Env): MesosExecutorEnv {
  const domainSocket = optional(env, 'MESOS_DOMAIN_SOCKET');
  // The agent always sets the endpoint; with a domain socket it is informational only.
  const agentEndpoint = domainSocket === undefined
    ? required(env, 'MESOS_AGENT_ENDPOINT')
    : optional(env, 'MESOS_AGENT_ENDPOINT');
  const hostPort = agentEndpoint === undefined ? undefined : parseAgentEndpoint(agentEndpoint);
  const directory = optional(env, 'MESOS_DIRECTORY');
  return Object.freeze({
    agentEndpoint,
    agentHost: hostPort?.host,
    agentPort: hostPort?.port,
    domainSocket,
    frameworkId: required(env, 'MESOS_FRAMEWORK_ID'),
    executorId: required(env, 'MESOS_EXECUTOR_ID'),
    directory,
    sandbox: optional(env, 'MESOS_SANDBOX') ?? directory,
    checkpoint: flag(env, 'MESOS_CHECKPOINT'),
    recoveryTimeoutMs: duration(env, 'MESOS_RECOVERY_TIMEOUT', DEFAULT_RECOVERY_TIMEOUT_MS),
    subscriptionBackoffMaxMs: duration(env, 'MESOS_SUBSCRIPTION_BACKOFF_MAX', DEFAULT_SUBSCRIPTION_BACKOFF_MAX_MS),
    shutdownGracePeriodMs: duration(env, 'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD', DEFAULT_SHUTDOWN_GRACE_PERIOD_MS),
    authenticationToken: optional(env, 'MESOS_EXECUTOR_AUTHENTICATION_TOKEN'),
  });
}
