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
  /** The id part of MESOS_SLAVE_PID (`slave(1)` of `slave(1)@10.0.0.5:5051`), when given and well formed. */
  readonly agentPidId: string | undefined;
  /** MESOS_SLAVE_ID (informational: logged, never sent). */
  readonly agentId: string | undefined;
  /**
   * The path every call is POSTed to: `/api/v1/executor` over TCP, `/<pid id>/api/v1/executor`
   * over the domain socket (the only executor path the agent serves there).
   */
  readonly executorApiPath: string;
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

/**
 * Splits MESOS_SLAVE_PID, a libprocess UPID `id@host:port` (`slave(1)@10.0.0.5:5051`). The id
 * becomes a URL path segment, so only the characters libprocess ids use are taken.
 */
export function parseAgentPid(text: string): { id: string; host: string; port: number } | undefined {
  const at = text.indexOf('@');
  if (at <= 0) return undefined;
  const id = text.slice(0, at);
  if (!/^[A-Za-z0-9_.()-]+$/.test(id)) return undefined;
  try {
    return { id, ...parseAgentEndpoint(text.slice(at + 1), 'MESOS_SLAVE_PID') };
  } catch {
    return undefined;
  }
}

export const EXECUTOR_API_PATH = '/api/v1/executor';
/** Erased from the process environment once read (src/executor/executor.cpp:293-295). */
export const AUTH_TOKEN_VARIABLE = 'MESOS_EXECUTOR_AUTHENTICATION_TOKEN';

/**
 * The executor API path (src/executor/executor.cpp:262-284 builds `upid.id + "/api/v1/executor"`
 * for both transports). Over TCP libprocess also serves the unprefixed path (it delegates to the
 * agent process), so `/api/v1/executor` needs nothing from MESOS_SLAVE_PID. Over the domain
 * socket only `/slave(N)/api/v1/executor` is served (src/slave/slave.cpp:808-815) and N cannot be
 * guessed: a missing or malformed MESOS_SLAVE_PID is refused at startup, as the C++ library
 * refuses to start without it (executor.cpp:225-233), instead of failing every call with 403.
 */
function executorApiPath(env: Env, domainSocket: string | undefined): { path: string; pidId: string | undefined } {
  const text = optional(env, 'MESOS_SLAVE_PID');
  const pid = text === undefined ? undefined : parseAgentPid(text);
  if (domainSocket === undefined) return { path: EXECUTOR_API_PATH, pidId: pid?.id };
  if (text === undefined) {
    throw new UsageError('MESOS_SLAVE_PID is not set: with MESOS_DOMAIN_SOCKET the executor path is /<agent pid id>/api/v1/executor');
  }
  if (pid === undefined) throw new UsageError(`MESOS_SLAVE_PID: '${text}' is not id@host:port (e.g. slave(1)@10.0.0.5:5051)`);
  return { path: `/${pid.id}${EXECUTOR_API_PATH}`, pidId: pid.id };
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
  const api = executorApiPath(env, domainSocket);
  return Object.freeze({
    agentEndpoint,
    agentHost: hostPort?.host,
    agentPort: hostPort?.port,
    domainSocket,
    agentPidId: api.pidId,
    agentId: optional(env, 'MESOS_SLAVE_ID'),
    executorApiPath: api.path,
    frameworkId: required(env, 'MESOS_FRAMEWORK_ID'),
    executorId: required(env, 'MESOS_EXECUTOR_ID'),
    directory,
    sandbox: optional(env, 'MESOS_SANDBOX') ?? directory,
    checkpoint: flag(env, 'MESOS_CHECKPOINT'),
    recoveryTimeoutMs: duration(env, 'MESOS_RECOVERY_TIMEOUT', DEFAULT_RECOVERY_TIMEOUT_MS),
    subscriptionBackoffMaxMs: duration(env, 'MESOS_SUBSCRIPTION_BACKOFF_MAX', DEFAULT_SUBSCRIPTION_BACKOFF_MAX_MS),
    shutdownGracePeriodMs: duration(env, 'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD', DEFAULT_SHUTDOWN_GRACE_PERIOD_MS),
    authenticationToken: optional(env, AUTH_TOKEN_VARIABLE),
  });
}
