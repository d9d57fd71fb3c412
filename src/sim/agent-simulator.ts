// A Mesos agent for tests and demos, as strict as a real one: the agent's side of the v1 executor
// HTTP API on 127.0.0.1 (and, with `socketPath`, on the executor domain socket, which serves only
// `/slave(1)/api/v1[/executor]`), with the real agent's request rules (agent-rules.ts), status
// update handling (agent-updates.ts: ACKNOWLEDGED only for the executor's own tasks, an invalid
// uuid carried in SUBSCRIBE aborts the agent), restarts (503 while recovering, then the
// re-registration window: an executor that has not re-subscribed by its end is killed), and
// events shaped as stout writes them (agent-events.ts). It records every call and what it did.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { statSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { encodeRecordIo } from '../io/mesos/recordio-stream.js';
import { decodeBase64Strict, type SubscribeCallJson, type TaskInfoJson, type TaskStatusJson } from '../io/mesos/types.js';
import {
  gcTaskMessage, heartbeatEvent, killEvent, launchGroupEvent, messageEvent, shutdownEvent, type SimIdentity,
} from './agent-events.js';
import { AgentEndpoint, type RecordedCall, type Transport } from './agent-endpoint.js';
import type { DroppedUpdate, ReceivedUpdate } from './agent-updates.js';
import { executorEnvironment, stringifyDuration } from './executor-env.js';
import { writeMessage } from './stout-json.js';

export type { ReceivedUpdate, DroppedUpdate } from './agent-updates.js';
export type { RecordedCall } from './agent-endpoint.js';

export interface AgentSimulatorOptions {
  /** TCP port. @default 0 (any free port) */
  port?: number;
  /** Also serve the executor domain socket here, and give executors MESOS_DOMAIN_SOCKET. */
  socketPath?: string;
  frameworkId?: string;
  /** @default 'aurora.gc' */
  executorId?: string;
  agentId?: string;
  /** When set, every call must carry `Authorization: Bearer <token>` (else 401). */
  token?: string;
  /** @default true: acknowledge every update about an own task as soon as it is taken. */
  autoAck?: boolean;
  /** executor_reregistration_timeout. @default 2000 (the agent's default, src/slave/constants.hpp:36) */
  reregistrationTimeoutMs?: number;
  /** @default 30 minutes (DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL) */
  heartbeatIntervalMs?: number;
}

export interface RestartOptions {
  /** Nothing listens for this long. @default 0 */
  downMs?: number;
  /** Then every call, SUBSCRIBE too, is answered 503 for this long. @default 0 */
  recoveringMs?: number;
  /** The first N SUBSCRIBE requests after the restart are read and never answered (a hung attempt). */
  swallowSubscribes?: number;
}

export interface ExecutorEnvOptions {
  /** MESOS_DIRECTORY and MESOS_SANDBOX. @default os.tmpdir() */
  sandbox?: string;
  /** @default true */
  checkpoint?: boolean;
  /** @default '15mins' */
  recoveryTimeout?: string;
  /** @default the re-registration timeout, as the agent sets it */
  subscriptionBackoffMax?: string;
  /** @default '5secs' */
  shutdownGracePeriod?: string;
  /** @default the simulator's token; null sends none. */
  token?: string | null;
}

export interface SpawnExecutorOptions extends ExecutorEnvOptions {
  /** Extra environment, over the agent's variables. */
  env?: Record<string, string>;
  /** @default 'pipe' */
  stdio?: StdioOptions;
}

type Phase = 'down' | 'recovering' | 'reregistering' | 'running';
const PID_ID = 'slave(1)';

export class AgentSimulator {
  /** Executors killed for not re-subscribing within the re-registration window. */
  readonly executorKills: string[] = [];
  /** Set when the agent aborted (what a real agent would log before dying); it stays down. */
  crashed: string | undefined;
  autoAck: boolean;
  readonly identity: SimIdentity;
  private readonly agent: AgentEndpoint;
  private readonly token: string | undefined;
  private readonly socketPath: string | undefined;
  private readonly reregistrationTimeoutMs: number;
  private listenPort: number;
  private servers: http.Server[] = [];
  private phase: Phase = 'down';
  private phaseTimer: NodeJS.Timeout | undefined;
  private child: ChildProcess | undefined;
  private readonly changes = new EventEmitter();

  private constructor(options: AgentSimulatorOptions) {
    this.identity = {
      frameworkId: options.frameworkId ?? `${randomUUID()}-0000`,
      executorId: options.executorId ?? 'aurora.gc',
      agentId: options.agentId ?? `${randomUUID()}-S0`,
      containerId: randomUUID(),
      hostname: 'localhost',
      role: 'aurora',
    };
    this.token = options.token;
    this.socketPath = options.socketPath;
    this.listenPort = options.port ?? 0;
    this.autoAck = options.autoAck ?? true;
    this.reregistrationTimeoutMs = options.reregistrationTimeoutMs ?? 2_000;
    this.changes.setMaxListeners(0);
    this.agent = new AgentEndpoint({
      identity: this.identity,
      pidId: PID_ID,
      token: this.token,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 30 * 60_000,
      port: () => this.listenPort,
      recovery: () => ({
        reconnect: this.phase === 'reregistering' || this.phase === 'running',
        recovering: this.phase === 'reregistering',
      }),
      autoAck: () => this.autoAck,
      crash: (reason) => this.crash(reason),
      changed: () => this.changed(),
    });
  }

  static async start(options: AgentSimulatorOptions = {}): Promise<AgentSimulator> {
    const sim = new AgentSimulator(options);
    await sim.listen();
    sim.phase = 'running';
    return sim;
  }

  get frameworkId(): string {
    return this.identity.frameworkId;
  }

  get executorId(): string {
    return this.identity.executorId;
  }

  get port(): number {
    return this.listenPort;
  }

  /** `127.0.0.1:<port>` (MESOS_AGENT_ENDPOINT). */
  get endpoint(): string {
    return `127.0.0.1:${this.listenPort}`;
  }

  /** True while an executor holds an open SUBSCRIBE stream. */
  get subscribed(): boolean {
    return this.agent.subscribed;
  }

  get calls(): readonly RecordedCall[] {
    return this.agent.calls;
  }

  get messages(): readonly Uint8Array[] {
    return this.agent.messages;
  }

  get subscriptions(): readonly SubscribeCallJson[] {
    return this.agent.subscriptions;
  }

  /** Updates the agent took (UPDATE or SUBSCRIBE), own and foreign, in order. */
  get updates(): readonly ReceivedUpdate[] {
    return this.agent.status.received;
  }

  /** Updates the agent answered 202 (or took from SUBSCRIBE) and then dropped. */
  get droppedUpdates(): readonly DroppedUpdate[] {
    return this.agent.status.dropped;
  }

  /** Updates about own tasks, taken and not yet acknowledged. */
  unacknowledged(): TaskStatusJson[] {
    return this.agent.status.unacknowledged();
  }

  // ---- events to the executor ----

  /** LAUNCH of a GC task; the task becomes the executor's own (acknowledged to it). */
  launch(taskId: string, data: Uint8Array): TaskInfoJson {
    const task = writeMessage('TaskInfo', gcTaskMessage(this.identity, taskId, data)) as unknown as TaskInfoJson;
    this.agent.status.ownTasks.set(taskId, task);
    this.sendEvent({ type: 'LAUNCH', launch: { task } });
    return task;
  }

  launchGroup(taskIds: readonly string[]): void {
    const tasks = taskIds.map((id) => gcTaskMessage(this.identity, id, new Uint8Array(0)));
    for (const task of tasks) {
      const id = (task.task_id as { value: string }).value;
      this.agent.status.ownTasks.set(id, writeMessage('TaskInfo', task) as unknown as TaskInfoJson);
    }
    this.sendEvent(launchGroupEvent(tasks));
  }

  kill(taskId: string): void {
    this.sendEvent(killEvent(taskId));
  }

  shutdown(): void {
    this.sendEvent(shutdownEvent());
  }

  heartbeat(): void {
    this.sendEvent(heartbeatEvent());
  }

  message(data: Uint8Array): void {
    this.sendEvent(messageEvent(data));
  }

  /** Any JSON value as one RecordIO record (hostile-input tests: a real agent sends only stout JSON). */
  sendEvent(obj: unknown): void {
    this.sendRaw(encodeRecordIo(obj));
  }

  /** Raw bytes on the event stream, framing included. */
  sendRaw(bytes: Uint8Array): void {
    if (!this.agent.write(bytes)) throw new Error('AgentSimulator: no executor is subscribed');
  }

  /** Acknowledges one own update (by its base64 uuid); false if it is not pending or nobody listens. */
  acknowledge(uuidBase64: string): boolean {
    const bytes = decodeBase64Strict(uuidBase64);
    const done = bytes !== null && this.agent.acknowledge(bytes);
    if (done) this.changed();
    return done;
  }

  /** Acknowledges every pending own update; returns how many. */
  ackAll(): number {
    let count = 0;
    for (const uuid of this.agent.status.unackedUuids()) if (this.agent.acknowledge(uuid)) count += 1;
    if (count > 0) this.changed();
    return count;
  }

  /** Ends the event stream (the agent stays up, the executor stays RUNNING), as a broken connection would. */
  dropSubscriber(): void {
    this.agent.dropStream();
    this.changed();
  }

  /**
   * The agent forgets the executor's subscription while its stream stays open (its state for the
   * executor is REGISTERING again, as after a restart the executor has not noticed yet): calls
   * other than SUBSCRIBE are answered 403 "Executor is not subscribed".
   */
  forgetSubscription(): void {
    this.agent.executorState = 'REGISTERING';
  }

  /** Resolves once `predicate()` holds; rejects after `timeoutMs` (or at once if the agent crashed). */
  async waitFor(predicate: () => boolean, timeoutMs = 5_000, what = 'a condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.crashed !== undefined) throw new Error(`AgentSimulator.waitFor(${what}): the agent crashed: ${this.crashed}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`AgentSimulator.waitFor: timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        // Wake on any recorded change, or poll (the predicate may watch state outside the simulator).
        const wake = (): void => {
          clearTimeout(timer);
          this.changes.off('change', wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 20));
        this.changes.on('change', wake);
      });
    }
  }

  // ---- server lifecycle ----

  /** The agent process goes away: every server and connection closes (the event stream included). */
  async stop(): Promise<void> {
    clearTimeout(this.phaseTimer);
    this.phase = 'down';
    this.agent.dropStream();
    const servers = this.servers.splice(0);
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    })));
    this.changed();
  }

  /**
   * An agent restart: down for `downMs`, then listening on the same port and socket but
   * recovering (503 to everything) for `recoveringMs`, then the re-registration window: SUBSCRIBE
   * is served, other calls are 503, and an executor that has not re-subscribed when it ends is
   * killed (slave.cpp:8239, 8347-8351, 5906-5960). Resolves once the agent listens again.
   */
  async restart(options: RestartOptions = {}): Promise<void> {
    await this.stop();
    if ((options.downMs ?? 0) > 0) await sleep(options.downMs ?? 0);
    this.agent.swallowSubscribes = options.swallowSubscribes ?? 0;
    // A recovered executor is REGISTERING until it subscribes again.
    if (this.agent.executorState === 'RUNNING') this.agent.executorState = 'REGISTERING';
    await this.listen();
    this.phase = 'recovering';
    this.phaseTimer = setTimeout(() => this.openReregistrationWindow(), options.recoveringMs ?? 0);
  }

  private openReregistrationWindow(): void {
    this.phase = 'reregistering';
    this.changed();
    this.phaseTimer = setTimeout(() => {
      this.phase = 'running';
      if (this.agent.executorState === 'REGISTERING') this.killUnregisteredExecutor();
      this.changed();
    }, this.reregistrationTimeoutMs);
  }

  private killUnregisteredExecutor(): void {
    const why = `Executor did not reregister within ${stringifyDuration(this.reregistrationTimeoutMs)}`;
    this.executorKills.push(why);
    this.agent.executorState = 'TERMINATING';
    this.child?.kill('SIGKILL');
  }

  private async listen(): Promise<void> {
    const tcp = await this.serve('tcp');
    this.listenPort = (tcp.address() as AddressInfo).port;
    this.servers.push(tcp);
    if (this.socketPath !== undefined) this.servers.push(await this.serve('socket'));
  }

  private async serve(transport: Transport): Promise<http.Server> {
    const server = http.createServer((req, res) => {
      if (this.phase === 'down') res.destroy();
      else this.agent.handle(req, res, transport);
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (transport === 'socket' && this.socketPath !== undefined) {
        removeStaleSocket(this.socketPath);
        server.listen({ path: this.socketPath }, () => resolve());
      } else {
        server.listen({ host: '127.0.0.1', port: this.listenPort }, () => resolve());
      }
    });
    return server;
  }

  /** The agent ABORTs: nothing answers any more. */
  private crash(reason: string): void {
    this.crashed = reason;
    void this.stop();
  }

  // ---- the executor process ----

  /** The environment the agent gives the executor it launches, pointing at this simulator. */
  executorEnv(options: ExecutorEnvOptions = {}): Record<string, string> {
    const token = options.token === undefined ? this.token : options.token ?? undefined;
    return executorEnvironment({
      frameworkId: this.frameworkId,
      executorId: this.executorId,
      agentId: this.identity.agentId,
      pidId: PID_ID,
      host: '127.0.0.1',
      port: this.listenPort,
      sandbox: options.sandbox ?? tmpdir(),
      checkpoint: options.checkpoint !== false,
      recoveryTimeout: options.recoveryTimeout ?? '15mins',
      subscriptionBackoffMax: options.subscriptionBackoffMax ?? stringifyDuration(this.reregistrationTimeoutMs),
      shutdownGracePeriod: options.shutdownGracePeriod ?? '5secs',
      ...(this.socketPath === undefined ? {} : { domainSocket: this.socketPath }),
      ...(token === undefined ? {} : { token }),
    });
  }

  /** Spawns `command` as this agent's executor, in the sandbox, with the agent's environment. */
  spawnExecutor(command: readonly string[], options: SpawnExecutorOptions = {}): ChildProcess {
    const [file, ...args] = command;
    if (file === undefined) throw new Error('AgentSimulator.spawnExecutor: empty command');
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MESOS_') && k !== 'LIBPROCESS_PORT'));
    const env = { ...inherited, ...this.executorEnv(options), ...options.env };
    const child = spawn(file, args, { env, cwd: env.MESOS_SANDBOX, stdio: options.stdio ?? 'pipe' });
    this.child = child;
    this.agent.executorState = 'REGISTERING';
    return child;
  }

  private changed(): void {
    this.changes.emit('change');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function removeStaleSocket(path: string): void {
  try {
    if (statSync(path).isSocket()) unlinkSync(path);
  } catch {
    // absent: nothing to remove
  }
}
