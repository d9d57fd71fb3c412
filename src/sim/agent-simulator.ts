// A small Mesos agent for tests and demos: it speaks the agent's side of the v1 executor HTTP
// API on 127.0.0.1 or a Unix socket (SUBSCRIBE → 200 and a RecordIO event stream; UPDATE and
// MESSAGE → 202), records every call, acknowledges updates, and can restart on the same port.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { statSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { EXECUTOR_API_PATH } from '../io/mesos/agent-http.js';
import { encodeRecordIo } from '../io/mesos/recordio-stream.js';
import {
  decodeBase64Strict, idValue, isRecord, type SubscribeCallJson, type TaskInfoJson, type TaskStatusJson,
} from '../io/mesos/types.js';
import {
  acknowledgedEvent, gcTaskInfo, killEvent, launchEvent, launchGroupEvent, messageEvent, subscribedEvent,
  type SimIdentity,
} from './agent-events.js';

export interface AgentSimulatorOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** Listen on this Unix socket instead of TCP. */
  socketPath?: string;
  frameworkId?: string;
  /** @default 'aurora.gc' */
  executorId?: string;
  agentId?: string;
  /** When set, every call must carry `Authorization: Bearer <token>` (else 401). */
  token?: string;
  /** @default true: acknowledge every update as soon as it arrives. */
  autoAck?: boolean;
}

export interface RecordedCall {
  type: string;
  body: unknown;
  authorization: string | undefined;
  contentType: string | undefined;
  /** The HTTP status the simulator answered. */
  status: number;
}

export interface ReceivedUpdate {
  status: TaskStatusJson;
  /** UPDATE call, or carried in SUBSCRIBE's unacknowledged_updates. */
  via: 'UPDATE' | 'SUBSCRIBE';
}

export interface ExecutorEnvOptions {
  /** MESOS_DIRECTORY and MESOS_SANDBOX. @default os.tmpdir() */
  sandbox?: string;
  /** @default true */
  checkpoint?: boolean;
  /** @default '15mins' */
  recoveryTimeout?: string;
  /** @default '2secs' */
  subscriptionBackoffMax?: string;
  /** @default '5secs' */
  shutdownGracePeriod?: string;
  /** @default the simulator's token; null sends none. */
  token?: string | null;
}

export interface SpawnExecutorOptions extends ExecutorEnvOptions {
  /** Extra environment, over the MESOS_* variables. */
  env?: Record<string, string>;
  /** @default 'pipe' */
  stdio?: StdioOptions;
}

export class AgentSimulator {
  readonly calls: RecordedCall[] = [];
  readonly updates: ReceivedUpdate[] = [];
  readonly messages: Uint8Array[] = [];
  readonly subscriptions: SubscribeCallJson[] = [];
  autoAck: boolean;
  readonly identity: SimIdentity;
  private readonly token: string | undefined;
  private readonly socketPath: string | undefined;
  private listenPort: number;
  private server: http.Server | undefined;
  private subscriber: http.ServerResponse | undefined;
  /** Updates received and not yet acknowledged, by uuid. */
  private readonly unacked = new Map<string, TaskStatusJson>();
  private readonly changes = new EventEmitter();

  private constructor(options: AgentSimulatorOptions) {
    this.identity = {
      frameworkId: options.frameworkId ?? `${randomUUID()}-0000`,
      executorId: options.executorId ?? 'aurora.gc',
      agentId: options.agentId ?? `${randomUUID()}-S0`,
      containerId: randomUUID(),
      hostname: 'localhost',
    };
    this.token = options.token;
    this.socketPath = options.socketPath;
    this.listenPort = options.port ?? 0;
    this.autoAck = options.autoAck ?? true;
    this.changes.setMaxListeners(0);
  }

  static async start(options: AgentSimulatorOptions = {}): Promise<AgentSimulator> {
    const sim = new AgentSimulator(options);
    await sim.listen();
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

  /** `127.0.0.1:<port>` (MESOS_AGENT_ENDPOINT); undefined on a Unix socket. */
  get endpoint(): string | undefined {
    return this.socketPath === undefined ? `127.0.0.1:${this.listenPort}` : undefined;
  }

  get subscribed(): boolean {
    return this.subscriber !== undefined;
  }

  /** Updates received and not yet acknowledged. */
  unacknowledged(): TaskStatusJson[] {
    return [...this.unacked.values()];
  }

  // ---- events to the executor ----

  launch(taskId: string, data: Uint8Array): TaskInfoJson {
    const task = gcTaskInfo(this.identity, taskId, data);
    this.sendEvent(launchEvent(task));
    return task;
  }

  launchGroup(taskIds: readonly string[]): TaskInfoJson[] {
    const tasks = taskIds.map((id) => gcTaskInfo(this.identity, id, new Uint8Array(0)));
    this.sendEvent(launchGroupEvent(tasks));
    return tasks;
  }

  kill(taskId: string): void {
    this.sendEvent(killEvent(taskId));
  }

  shutdown(): void {
    this.sendEvent({ type: 'SHUTDOWN' });
  }

  error(message: string): void {
    this.sendEvent({ type: 'ERROR', error: { message } });
  }

  heartbeat(): void {
    this.sendEvent({ type: 'HEARTBEAT' });
  }

  message(data: Uint8Array): void {
    this.sendEvent(messageEvent(data));
  }

  /** Any JSON value as one RecordIO record (hostile-input tests). */
  sendEvent(obj: unknown): void {
    this.sendRaw(encodeRecordIo(obj));
  }

  /** Raw bytes on the event stream, framing included. */
  sendRaw(bytes: Uint8Array): void {
    if (this.subscriber === undefined) throw new Error('AgentSimulator: no executor is subscribed');
    this.subscriber.write(bytes);
  }

  /** Acknowledges one received update (by its uuid); false if it is not pending. */
  acknowledge(uuid: string): boolean {
    const status = this.unacked.get(uuid);
    if (status === undefined || this.subscriber === undefined) return false;
    this.unacked.delete(uuid);
    this.sendEvent(acknowledgedEvent(status));
    this.changed();
    return true;
  }

  /** Acknowledges every pending update; returns how many. */
  ackAll(): number {
    let count = 0;
    for (const uuid of [...this.unacked.keys()]) if (this.acknowledge(uuid)) count += 1;
    return count;
  }

  /** Ends the event stream (the agent stays up), as a broken connection would. */
  dropSubscriber(): void {
    const res = this.subscriber;
    this.subscriber = undefined;
    res?.destroy();
    this.changed();
  }

  /** Resolves once `predicate()` holds; rejects after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs = 5_000, what = 'a condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
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

  /** Closes the server and every connection (the event stream included). */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.subscriber = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    this.changed();
  }

  /** An agent restart: stop, optionally stay down a while, listen again on the same port or socket. */
  async restart(downtimeMs = 0): Promise<void> {
    await this.stop();
    if (downtimeMs > 0) await new Promise((resolve) => setTimeout(resolve, downtimeMs));
    await this.listen();
  }

  async listen(): Promise<void> {
    if (this.server !== undefined) return;
    const server = http.createServer((req, res) => this.onRequest(req, res));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (this.socketPath !== undefined) {
        removeStaleSocket(this.socketPath);
        server.listen({ path: this.socketPath }, () => resolve());
      } else {
        server.listen({ host: '127.0.0.1', port: this.listenPort }, () => resolve());
      }
    });
    if (this.socketPath === undefined) this.listenPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  // ---- the executor process ----

  /** The MESOS_* environment an agent gives the executor it launches, pointing at this simulator. */
  executorEnv(options: ExecutorEnvOptions = {}): Record<string, string> {
    const sandbox = options.sandbox ?? tmpdir();
    const env: Record<string, string> = {
      MESOS_FRAMEWORK_ID: this.frameworkId,
      MESOS_EXECUTOR_ID: this.executorId,
      MESOS_DIRECTORY: sandbox,
      MESOS_SANDBOX: sandbox,
      MESOS_CHECKPOINT: options.checkpoint === false ? '0' : '1',
      MESOS_RECOVERY_TIMEOUT: options.recoveryTimeout ?? '15mins',
      MESOS_SUBSCRIPTION_BACKOFF_MAX: options.subscriptionBackoffMax ?? '2secs',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: options.shutdownGracePeriod ?? '5secs',
    };
    if (this.socketPath !== undefined) env.MESOS_DOMAIN_SOCKET = this.socketPath;
    else env.MESOS_AGENT_ENDPOINT = `127.0.0.1:${this.listenPort}`;
    const token = options.token === undefined ? this.token : options.token;
    if (token !== undefined && token !== null) env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN = token;
    return env;
  }

  /** Spawns `command` as this agent's executor, in the sandbox, with the MESOS_* environment. */
  spawnExecutor(command: readonly string[], options: SpawnExecutorOptions = {}): ChildProcess {
    const [file, ...args] = command;
    if (file === undefined) throw new Error('AgentSimulator.spawnExecutor: empty command');
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MESOS_')));
    const env = { ...inherited, ...this.executorEnv(options), ...options.env };
    return spawn(file, args, { env, cwd: env.MESOS_SANDBOX, stdio: options.stdio ?? 'pipe' });
  }

  // ---- the agent's executor endpoint ----

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => this.onCall(req, res, Buffer.concat(parts)));
  }

  private onCall(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void {
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    const type = isRecord(body) && typeof body.type === 'string' ? body.type : '(none)';
    const record: RecordedCall = {
      type,
      body,
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      status: 0,
    };
    this.calls.push(record);
    const answer = (status: number, text = '', headers: http.OutgoingHttpHeaders = {}): void => {
      record.status = status;
      res.writeHead(status, { 'Content-Type': 'text/plain', ...headers }).end(text);
      this.changed();
    };
    if (req.method !== 'POST') return answer(405, 'Expecting a POST request');
    if (req.url !== EXECUTOR_API_PATH) return answer(404);
    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
      return answer(401, '', { 'WWW-Authenticate': 'Bearer realm="mesos-agent-executor"' });
    }
    if (req.headers['content-type'] !== 'application/json') return answer(415, 'Expecting Content-Type: application/json');
    if (!isRecord(body)) return answer(400, 'Failed to parse body into Call: not a JSON object');
    if (idValue(body, 'framework_id') !== this.frameworkId) return answer(400, 'Framework cannot be found');
    if (idValue(body, 'executor_id') !== this.executorId) return answer(400, 'Executor cannot be found');
    switch (type) {
      case 'SUBSCRIBE': {
        record.status = 200;
        return this.onSubscribe(body as unknown as SubscribeCallJson, res);
      }
      case 'UPDATE': {
        const status = isRecord(body.update) ? body.update.status : undefined;
        if (!isStatus(status)) return answer(400, 'Invalid UPDATE: status needs task_id, state, uuid, SOURCE_EXECUTOR');
        answer(202);
        return this.receiveUpdate(status, 'UPDATE');
      }
      case 'MESSAGE': {
        const data = decodeBase64Strict(isRecord(body.message) ? body.message.data : undefined);
        if (data === null) return answer(400, 'Invalid MESSAGE: data is not base64');
        this.messages.push(data);
        return answer(202);
      }
      default:
        return answer(400, `Unexpected call type '${type}'`);
    }
  }

  private onSubscribe(call: SubscribeCallJson, res: http.ServerResponse): void {
    // A resubscribing executor replaces its old stream, as on a real agent.
    this.subscriber?.destroy();
    this.subscriber = res;
    this.subscriptions.push(call);
    res.writeHead(200, { 'Content-Type': 'application/json', Connection: 'keep-alive' });
    res.on('close', () => {
      if (this.subscriber === res) this.subscriber = undefined;
      this.changed();
    });
    res.write(encodeRecordIo(subscribedEvent(this.identity, this.listenPort)));
    const carried = Array.isArray(call.subscribe?.unacknowledged_updates) ? call.subscribe.unacknowledged_updates : [];
    for (const update of carried) {
      if (isRecord(update) && isStatus(update.status)) this.receiveUpdate(update.status, 'SUBSCRIBE');
    }
    this.changed();
  }

  private receiveUpdate(status: TaskStatusJson & { uuid: string }, via: ReceivedUpdate['via']): void {
    this.updates.push({ status, via });
    this.unacked.set(status.uuid, status);
    if (this.autoAck) this.acknowledge(status.uuid);
    this.changed();
  }

  private changed(): void {
    this.changes.emit('change');
  }
}

function isStatus(value: unknown): value is TaskStatusJson & { uuid: string } {
  return isRecord(value) && idValue(value, 'task_id') !== undefined && typeof value.state === 'string'
    && typeof value.uuid === 'string' && decodeBase64Strict(value.uuid) !== null && value.source === 'SOURCE_EXECUTOR';
}

function removeStaleSocket(path: string): void {
  try {
    if (statSync(path).isSocket()) unlinkSync(path);
  } catch {
    // absent: nothing to remove
  }
}
